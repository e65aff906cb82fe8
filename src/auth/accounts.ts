/**
 * Account limits and the password rule. Who may manage whom lives with every other access rule
 * in access.ts; this module holds the numbers and what a new password must be.
 */
import { z } from 'zod';

export interface AccountLimits {
  /** Open sessions per user (SESSIONS_PER_USER); a sign-in beyond it ends the oldest. */
  sessionsPerUser: number;
  /** The longest lifetime of an API token, in days (API_TOKEN_MAX_DAYS); also the default. */
  apiTokenMaxDays: number;
  /**
   * The largest quantity change a clerk may make by receiving or counting stock
   * (CLERK_MAX_STOCK_CHANGE); a larger one needs a manager.
   */
  clerkMaxStockChange: number;
}

export const DEFAULT_ACCOUNT_LIMITS: AccountLimits = {
  sessionsPerUser: 10,
  apiTokenMaxDays: 365,
  clerkMaxStockChange: 50,
};

export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 200;

/** A new password for the account `email`: long enough, not the email (nor its name part). */
export function newPasswordSchema(email: string) {
  const lower = email.toLowerCase();
  const local = lower.split('@')[0] ?? lower;
  return z
    .string()
    .min(PASSWORD_MIN_LENGTH, `must be at least ${PASSWORD_MIN_LENGTH} characters`)
    .max(PASSWORD_MAX_LENGTH, `must be at most ${PASSWORD_MAX_LENGTH} characters`)
    .refine((p) => !p.includes('\u0000'), 'must not contain NUL characters')
    .refine((p) => {
      const t = p.trim().toLowerCase();
      return t !== lower && t !== local;
    }, 'must not be your email address');
}
