/**
 * Who is asking: the user behind a bearer token, with the branches they may see. Resolved once
 * per HTTP request or per subscription, from one indexed query.
 */
import type pg from 'pg';
import type { Db } from '../db.ts';
import { bearerToken, hashToken } from './tokens.ts';

export type Role = 'ADMIN' | 'MANAGER' | 'CLERK';

export interface Viewer {
  userId: string;
  email: string;
  name: string;
  role: Role;
  /** Branches a MANAGER or CLERK may see; ignored for ADMIN, who sees every branch. */
  branchIds: string[];
  tokenId: string;
  /** When the token stops working (null: never); open subscriptions end then (src/listeners/grants.ts). */
  expiresAt?: Date | null;
  /**
   * `performance.now()` just before these rights were read: a subscription re-reads them when an
   * access change reached this process after that moment (src/listeners/grants.ts).
   */
  readAt?: number;
  /**
   * After createUser or resetPassword, until changePassword: every operation but changePassword,
   * logout and me is refused (src/auth/gate.ts).
   */
  mustChangePassword?: boolean;
}

/** The viewer for an Authorization header value, or null when absent, unknown, revoked or expired. */
export async function authenticate(db: Db, authorization: string | null | undefined): Promise<Viewer | null> {
  const token = bearerToken(authorization);
  if (!token || token.length > 200) return null;
  return readViewer(db.pool, 'token_hash', hashToken(token));
}

/**
 * The viewer of a token by its id, or null when it is unknown, revoked or expired or its user is
 * inactive: the same rights `authenticate` reads (src/listeners/grants.ts re-reads them for open
 * subscriptions after an access change).
 */
export function viewerOfToken(pool: pg.Pool, tokenId: string): Promise<Viewer | null> {
  return readViewer(pool, 'id', tokenId);
}

async function readViewer(pool: pg.Pool, by: 'token_hash' | 'id', value: string): Promise<Viewer | null> {
  const readAt = performance.now();
  const { rows } = await pool.query<{
    token_id: string;
    user_id: string;
    email: string;
    name: string;
    role: Role;
    branch_ids: string[];
    expires_at: Date | null;
    must_change_password: boolean;
  }>(
    `SELECT t.id AS token_id, u.id AS user_id, u.email, u.name, u.role, u.must_change_password,
            coalesce(array_agg(ub.branch_id) FILTER (WHERE ub.branch_id IS NOT NULL), '{}') AS branch_ids,
            t.expires_at
       FROM api_tokens t
       JOIN users u ON u.id = t.user_id
       LEFT JOIN user_branches ub ON ub.user_id = u.id
      WHERE t.${by} = $1 AND t.revoked_at IS NULL
        AND (t.expires_at IS NULL OR t.expires_at > now()) AND u.active
      GROUP BY t.id, u.id`,
    [value],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    userId: row.user_id,
    email: row.email,
    name: row.name,
    role: row.role,
    branchIds: row.branch_ids,
    tokenId: row.token_id,
    expiresAt: row.expires_at,
    readAt,
    mustChangePassword: row.must_change_password,
  };
}
