/**
 * The client address that sign-in throttling counts by: the TCP peer of the HTTP request or of
 * the WebSocket's upgrade request.
 *
 * Not trusted: `X-Forwarded-For` / `Forwarded`. Anyone can send them, so honouring them would let
 * an attacker pick a fresh "address" per request. Behind a reverse proxy every client therefore
 * shares the proxy's address; a setting naming trusted proxies would be the way to change that.
 */
import type { IncomingMessage } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';

/** The peer address of a Node request (`unknown` when there is none, e.g. `yoga.fetch` in tests). */
export function peerAddress(req: IncomingMessage | undefined): string {
  const address = req?.socket?.remoteAddress;
  if (!address) return 'unknown';
  return address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
}

/**
 * The throttling key of an address: an IPv4 address as is, an IPv6 address by its /64 (one host
 * usually holds a whole /64, so counting single IPv6 addresses would be no limit at all).
 */
export function addressKey(address: string): string {
  const plain = address.split('%')[0] ?? address;
  if (!isIPv6(plain)) return plain;
  const [left = '', right] = plain.split('::');
  const head = left.split(':').filter(Boolean);
  const tail = right === undefined ? [] : right.split(':').filter(Boolean);
  const groups =
    right === undefined
      ? head
      : [...head, ...Array(Math.max(0, 8 - head.length - tail.length)).fill('0'), ...tail];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
