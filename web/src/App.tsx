/**
 * The app: sign-in, then the signed-in shell (navigation, the current view, status bar, outbox
 * and conflict dialog). Signing in builds one urql client per user and starts the transport,
 * the outbox and the change feed; signing out stops them and clears this device's data.
 */
import type { IntrospectionQuery } from 'graphql';
import { useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import { gql, Provider, useQuery } from 'urql';
import { createUrqlClient, senderFor } from './client.ts';
import { feedReady, reloadEpoch, startFeed, stopFeed } from './feed.ts';
import { currency, parseRoute, setCurrency } from './lib/format.ts';
import { useStore } from './lib/store.ts';
import { clearOutbox, pump, startOutbox } from './outbox/queue.ts';
import { canEditCatalog, canManage, currentBranch, isAdmin, type Session, session } from './session.ts';
import { status } from './status.ts';
import { CSRF_HEADERS, startTransport, stopTransport } from './transport.ts';
import { AccountView } from './views/AccountView.tsx';
import { BackupView, BackupWarning } from './views/BackupView.tsx';
import { ConflictDialog } from './views/ConflictDialog.tsx';
import { CustomersView } from './views/CustomersView.tsx';
import { DashboardView } from './views/DashboardView.tsx';
import { ForcePasswordChange } from './views/ForcePasswordChange.tsx';
import { HistoryView } from './views/HistoryView.tsx';
import { ImportView } from './views/ImportView.tsx';
import { Login } from './views/Login.tsx';
import { OrderDetail } from './views/OrderDetail.tsx';
import { OrdersView } from './views/OrdersView.tsx';
import { OutboxPanel } from './views/OutboxPanel.tsx';
import { ProductsView } from './views/ProductsView.tsx';
import { ReceiptView } from './views/Receipt.tsx';
import { SentNotices } from './views/SentNotices.tsx';
import { StatusBar } from './views/StatusBar.tsx';
import { StockView } from './views/StockView.tsx';
import { SyncStatusView } from './views/SyncStatusView.tsx';
import { TillView } from './views/TillView.tsx';
import { TokensView } from './views/TokensView.tsx';
import { TransfersView } from './views/TransfersView.tsx';
import { UsersView } from './views/UsersView.tsx';

const getToken = () => session.get()?.token ?? null;

/**
 * The server no longer accepts the token (expired or revoked): back to sign-in, keeping this
 * device's queued changes, which are sent once the same user signs in again.
 */
export function expireSession() {
  stopFeed();
  stopTransport();
  session.set(null);
}

/** Ends the session on the server (best effort: offline, the token simply expires later). */
async function logoutOnServer(token: string) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 3000);
  try {
    await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...CSRF_HEADERS },
      body: JSON.stringify({ query: 'mutation Logout { logout { __typename } }' }),
      signal: controller.signal,
    });
  } catch {
    // offline or unreachable: nothing more to do here
  } finally {
    clearTimeout(timer);
  }
}

export async function signOut() {
  const s = session.get();
  stopFeed();
  stopTransport();
  if (s) await logoutOnServer(s.token);
  await clearOutbox().catch(() => {});
  if (s) {
    localStorage.removeItem(`branchline.cursor.${s.user.id}`);
    indexedDB.deleteDatabase(`branchline-cache-${s.user.id}`);
  }
  session.set(null);
}

function useHash() {
  return useSyncExternalStore(
    (cb) => {
      window.addEventListener('hashchange', cb);
      return () => window.removeEventListener('hashchange', cb);
    },
    () => location.hash,
  );
}

export function App({ schema }: { schema: IntrospectionQuery }) {
  const s = useStore(session);
  if (!s) return <Login />;
  if (s.mustChangePassword) return <ForcePasswordChange s={s} onSignOut={() => void signOut()} />;
  return <SignedIn key={s.user.id} s={s} schema={schema} />;
}

function SignedIn({ s, schema }: { s: Session; schema: IntrospectionQuery }) {
  const userId = s.user.id;
  const client = useMemo(
    () =>
      createUrqlClient({
        schema,
        userId,
        getToken,
        onUnauthenticated: expireSession,
        // An administrator reset the password meanwhile: only the password-change screen works now.
        onPasswordChangeRequired: () => {
          const current = session.get();
          if (current) session.set({ ...current, mustChangePassword: true });
        },
      }),
    [schema, userId],
  );

  // The feed follows every branch the user may see, so it does not restart on a branch switch (s).
  // biome-ignore lint/correctness/useExhaustiveDependencies: started once per signed-in user
  useEffect(() => {
    startTransport(getToken, expireSession);
    startOutbox(userId, senderFor(client));
    startFeed(client, s);
    let was = status.get().connection;
    const off = status.subscribe(() => {
      const now = status.get().connection;
      if (now === 'connected' && was !== 'connected') void pump();
      was = now;
    });
    return () => {
      off();
      stopFeed();
      stopTransport();
    };
  }, [client, userId]);

  // Views load their lists once the feed knows its starting cursor (see feedReady).
  const ready = useStore(feedReady);
  return (
    <Provider value={client}>
      {ready ? (
        <Shell s={s} />
      ) : (
        <p className="connecting" role="status">
          Connecting…
        </p>
      )}
    </Provider>
  );
}

const NAV: { view: string; label: string; show: (s: Session) => boolean }[] = [
  { view: 'stock', label: 'Stock', show: () => true },
  { view: 'till', label: 'Till', show: () => true },
  { view: 'orders', label: 'Orders', show: () => true },
  { view: 'transfers', label: 'Transfers', show: canManage },
  { view: 'products', label: 'Products', show: canEditCatalog },
  { view: 'customers', label: 'Customers', show: canManage },
  { view: 'dashboard', label: 'Dashboard', show: canManage },
  { view: 'import', label: 'Import', show: (s) => s.user.role === 'ADMIN' },
  { view: 'users', label: 'Users', show: canManage },
  { view: 'tokens', label: 'API tokens', show: isAdmin },
  { view: 'backups', label: 'Backups', show: (s) => s.user.role === 'ADMIN' },
  { view: 'sync', label: 'Sync status', show: (s) => s.user.role === 'ADMIN' },
];

const App_SettingsQuery = gql`
  query App_SettingsQuery {
    salesSettings {
      currency
      currencySymbol
    }
  }
`;

/** The business's currency for money() (kept on the device for offline starts). */
function useCurrencySetting() {
  const [{ data }] = useQuery<{ salesSettings: { currency: string; currencySymbol: string | null } }>({
    query: App_SettingsQuery,
  });
  const settings = data?.salesSettings;
  useEffect(() => {
    if (settings) setCurrency({ code: settings.currency, symbol: settings.currencySymbol ?? null });
  }, [settings]);
  return useStore(currency);
}

function Shell({ s }: { s: Session }) {
  const route = parseRoute(useHash());
  const epoch = useStore(reloadEpoch);
  const money = useCurrencySetting();
  const branch = currentBranch(s);
  const view = route.view || 'stock';
  // On a phone the navigation folds into a menu under the one-row top bar; a route change closes it.
  const [menu, setMenu] = useState(false);
  // biome-ignore lint/correctness/useExhaustiveDependencies: closes the menu whenever the route changes
  useEffect(() => setMenu(false), [view, route.id]);
  useEffect(() => {
    if (!menu) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') setMenu(false);
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [menu]);

  useEffect(() => {
    const label =
      NAV.find((n) => n.view === view)?.label ??
      (view === 'history' ? 'History' : view === 'account' ? 'My account' : 'Branchline');
    document.title = `${label} · Branchline`;
  }, [view]);

  const content = (() => {
    switch (view) {
      case 'till':
        return <TillView s={s} />;
      case 'orders':
        return route.id ? <OrderDetail id={route.id} /> : <OrdersView s={s} />;
      case 'receipt':
        return <ReceiptView id={route.id ?? ''} />;
      case 'products':
        return <ProductsView s={s} id={route.id} />;
      case 'customers':
        return <CustomersView s={s} id={route.id} />;
      case 'dashboard':
        return <DashboardView s={s} />;
      case 'import':
        return <ImportView />;
      case 'backups':
        return <BackupView />;
      case 'sync':
        return <SyncStatusView />;
      case 'history':
        return <HistoryView table={route.table ?? ''} id={route.id ?? ''} />;
      case 'users':
        return canManage(s) ? <UsersView s={s} /> : <StockView s={s} />;
      case 'tokens':
        return isAdmin(s) ? <TokensView s={s} /> : <StockView s={s} />;
      case 'transfers':
        return canManage(s) ? <TransfersView s={s} /> : <StockView s={s} />;
      case 'account':
        return <AccountView s={s} />;
      default:
        return <StockView s={s} />;
    }
  })();

  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className={menu ? 'topbar menu-open' : 'topbar'}>
        <span className="brand">Branchline</span>
        <span className="here" aria-hidden="true">
          {NAV.find((n) => n.view === view)?.label}
        </span>
        <button
          type="button"
          className="menu-toggle"
          aria-expanded={menu}
          aria-controls="topbar-menu"
          onClick={() => setMenu((m) => !m)}
        >
          Menu
        </button>
        <div className="menu" id="topbar-menu">
          <nav aria-label="Main">
            <ul>
              {NAV.filter((n) => n.show(s)).map((n) => (
                <li key={n.view}>
                  <a href={`#/${n.view}`} aria-current={view === n.view ? 'page' : undefined}>
                    {n.label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
          <div className="who">
            <label>
              <span className="sr-only">Branch</span>
              <select
                value={s.branchId}
                onChange={(e) => session.set({ ...s, branchId: e.target.value })}
                aria-label="Branch"
              >
                {s.branches.map((b) => (
                  <option key={b.id} value={b.id}>
                    {b.code} · {b.name}
                  </option>
                ))}
              </select>
            </label>
            <span className="user" title={s.user.email}>
              {s.user.name} <small>({s.user.role.toLowerCase()})</small>
            </span>
            <a href="#/account" aria-current={view === 'account' ? 'page' : undefined}>
              My account
            </a>
            <button type="button" className="link" onClick={() => void confirmSignOut()}>
              Sign out
            </button>
          </div>
        </div>
      </header>
      <main
        id="main"
        tabIndex={-1}
        key={`${epoch}:${s.branchId}:${money.code}:${money.symbol}`}
        aria-label={branch?.name}
      >
        {s.user.role === 'ADMIN' && view !== 'backups' && <BackupWarning />}
        {content}
      </main>
      <OutboxPanel />
      <SentNotices />
      <ConflictDialog />
      <StatusBar />
    </div>
  );
}

async function confirmSignOut() {
  const pending = status.get().pending + status.get().attention;
  if (
    pending > 0 &&
    !window.confirm(`${pending} change(s) have not reached the server yet and will be lost. Sign out?`)
  ) {
    return;
  }
  await signOut();
}
