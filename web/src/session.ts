/**
 * The signed-in user, their token and the branch they work in, kept in localStorage so the app
 * reopens signed in (also offline). Signing out clears the session, the cached data and the outbox.
 */
import { createStore } from './lib/store.ts';

export type Role = 'ADMIN' | 'MANAGER' | 'CLERK';

export interface SessionBranch {
  id: string;
  code: string;
  name: string;
}

export interface Session {
  token: string;
  user: { id: string; name: string; email: string; role: Role };
  branches: SessionBranch[];
  branchId: string;
  /** The password was set by an administrator: the app shows only the password-change screen. */
  mustChangePassword?: boolean;
}

const KEY = 'branchline.session';

function load(): Session | null {
  try {
    const raw = localStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

export const session = createStore<Session | null>(load());

session.subscribe(() => {
  const s = session.get();
  if (s) localStorage.setItem(KEY, JSON.stringify(s));
  else localStorage.removeItem(KEY);
});

export function currentBranch(s: Session): SessionBranch | undefined {
  return s.branches.find((b) => b.id === s.branchId);
}

export const canEditCatalog = (s: Session) => s.user.role !== 'CLERK';
export const canManage = (s: Session) => s.user.role === 'ADMIN' || s.user.role === 'MANAGER';
export const isAdmin = (s: Session) => s.user.role === 'ADMIN';
