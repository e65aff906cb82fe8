/**
 * Password hashing with scrypt (Node's crypto; memory-hard, no native addon), at current guidance
 * by default: N = 2^17, r = 8, p = 1 (128 MiB and about 0.4 s per hash here).
 * Stored form: `scrypt$<N>$<r>$<p>$<salt b64>$<hash b64>`, with a fresh 16-byte salt per hash, so
 * parameters can be raised later without invalidating existing hashes: `needsRehash` tells a
 * sign-in that the stored hash is weaker than today's target, and it stores a new one.
 *
 * The cost is a process setting (`configurePasswordHashing`, from PASSWORD_HASH_COST): lowering it
 * is for tests only, where thousands of sign-ins would otherwise take minutes.
 */
import { randomBytes, type ScryptOptions, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';

/** log2 of scrypt's N by default (OWASP: N = 2^17 with r = 8, p = 1). */
export const DEFAULT_HASH_COST = 17;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;
/** The largest N a stored hash may ask for (2^20: 1 GiB), so a forged hash cannot exhaust memory. */
const MAX_N = 2 ** 20;

let target = { N: 2 ** DEFAULT_HASH_COST, r: R, p: P };

/** Sets the cost (log2 N) of new hashes in this process. */
export function configurePasswordHashing(opts: { cost: number }): void {
  target = { N: 2 ** opts.cost, r: R, p: P };
}

function scrypt(password: string, salt: Buffer, o: { N: number; r: number; p: number }): Promise<Buffer> {
  // Node refuses more than 32 MiB by default; scrypt needs 128 * N * r bytes.
  const options: ScryptOptions = { ...o, maxmem: 128 * o.N * o.r * o.p + 32 * 1024 * 1024 };
  return new Promise((resolve, reject) =>
    scryptCb(password, salt, KEY_LENGTH, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const { N, r, p } = target;
  const key = await scrypt(password, salt, target);
  return ['scrypt', N, r, p, salt.toString('base64'), key.toString('base64')].join('$');
}

function parseHash(stored: string) {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  if (scheme !== 'scrypt' || !salt || !hash) return null;
  if (![params.N, params.r, params.p].every(Number.isInteger) || params.N > MAX_N || params.r * params.p > 64)
    return null;
  return { params, salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') };
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored);
  if (!parsed) return false;
  const key = await scrypt(password, parsed.salt, parsed.params);
  return key.length === parsed.hash.length && timingSafeEqual(key, parsed.hash);
}

/** Whether a stored hash is weaker than what `hashPassword` makes now (re-hash it after a sign-in). */
export function needsRehash(stored: string): boolean {
  const parsed = parseHash(stored);
  if (!parsed) return true;
  const { N, r, p } = parsed.params;
  return N < target.N || r < target.r || p < target.p;
}

/** Letters and digits that cannot be mistaken for each other (no I, O, l, 0, 1). */
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/** A random password (an initial or one-time one): 16 characters of ALPHABET, about 93 bits. */
export function generatePassword(length = 16): string {
  const out: string[] = [];
  // Rejection sampling keeps every character equally likely.
  const below = 256 - (256 % ALPHABET.length);
  while (out.length < length) {
    for (const byte of randomBytes(32)) {
      if (byte < below && out.length < length) out.push(ALPHABET[byte % ALPHABET.length] as string);
    }
  }
  return out.join('');
}
