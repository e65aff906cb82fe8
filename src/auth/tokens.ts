/**
 * Bearer tokens (login sessions and API tokens). A token is 32 random bytes, shown to its owner
 * once; only its SHA-256 is stored, so a leaked database does not leak working tokens.
 */
import { createHash, randomBytes } from 'node:crypto';

const PREFIX = 'bl_';

export function generateToken(): string {
  return PREFIX + randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The token of an `Authorization: Bearer <token>` value, or undefined. */
export function bearerToken(header: string | null | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
