/**
 * Who is asking: the user behind a bearer token, with the branches they may see. Resolved once
 * per HTTP request or per subscription, from one indexed query.
 */
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
  const { rows } = await db.pool.query<{
    token_id: string;
    user_id: string;
    email: string;
    name: string;
    role: Role;
    branch_ids: string[];
    must_change_password: boolean;
  }>(
    `SELECT t.id AS token_id, u.id AS user_id, u.email, u.name, u.role, u.must_change_password,
            coalesce(array_agg(ub.branch_id) FILTER (WHERE ub.branch_id IS NOT NULL), '{}') AS branch_ids
       FROM api_tokens t
       JOIN users u ON u.id = t.user_id
       LEFT JOIN user_branches ub ON ub.user_id = u.id
      WHERE t.token_hash = $1 AND t.revoked_at IS NULL
        AND (t.expires_at IS NULL OR t.expires_at > now()) AND u.active
      GROUP BY t.id, u.id`,
    [hashToken(token)],
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
    mustChangePassword: row.must_change_password,
  };
}
