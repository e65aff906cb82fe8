/**
 * A bare graphql-ws (graphql-transport-ws) client on `ws`, for attack tests: it can skip
 * `connection_init`, send many subscribe messages at once, stop reading (pause the socket) and
 * report how the server closed it. No retries, no protocol checks of its own.
 */
import WebSocket from 'ws';

export interface RawMessage {
  type: string;
  id?: string;
  payload?: any;
}

export interface RawSocket {
  ws: WebSocket;
  messages: RawMessage[];
  /** Resolves with the close code and reason (1006 when the connection dropped). */
  closed: Promise<{ code: number; reason: string }>;
  /** Set when the upgrade was refused with an HTTP status (no WebSocket at all). */
  refusedStatus: number | null;
  /** Resolves once open (true) or refused/failed before opening (false). */
  opened: Promise<boolean>;
  /** Resolves once connection_ack arrives (true) or the socket closes before (false). */
  acked: Promise<boolean>;
  send(message: RawMessage): void;
}

export function openRaw(
  url: string,
  opts: { localAddress?: string; init?: false | Record<string, unknown> } = {},
): RawSocket {
  const ws = new WebSocket(url, 'graphql-transport-ws', { localAddress: opts.localAddress });
  const messages: RawMessage[] = [];
  let ack!: (v: boolean) => void;
  let open!: (v: boolean) => void;
  let finish!: (v: { code: number; reason: string }) => void;
  const raw: RawSocket = {
    ws,
    messages,
    refusedStatus: null,
    closed: new Promise((resolve) => {
      finish = (v) => {
        ack(false);
        open(false);
        resolve(v);
      };
    }),
    opened: new Promise((r) => {
      open = r;
    }),
    acked: new Promise((r) => {
      ack = r;
    }),
    send: (m) => ws.send(JSON.stringify(m)),
  };
  ws.once('close', (code, reason) => finish({ code, reason: reason.toString() }));
  ws.on('unexpected-response', (req, res) => {
    raw.refusedStatus = res.statusCode ?? 0;
    res.resume();
    req.destroy();
    finish({ code: 1006, reason: `HTTP ${res.statusCode}` });
  });
  ws.on('error', () => {});
  ws.on('open', () => {
    open(true);
    if (opts.init !== false) raw.send({ type: 'connection_init', payload: opts.init ?? {} });
  });
  ws.on('message', (data) => {
    const m = JSON.parse(String(data)) as RawMessage;
    messages.push(m);
    if (m.type === 'connection_ack') ack(true);
  });
  return raw;
}

/** The `error` messages' first codes, by operation id. */
export function errorCodes(messages: RawMessage[]): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  for (const m of messages) {
    if (m.type === 'error' && m.id !== undefined) out.set(m.id, m.payload?.[0]?.extensions?.code);
  }
  return out;
}
