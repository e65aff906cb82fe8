/**
 * The one place that reads the environment. Parsed once at boot with zod; a bad value stops the
 * process with a readable message naming the variable.
 */
import { z } from 'zod';
import { DEFAULT_ACCOUNT_LIMITS as ACCOUNTS } from './auth/accounts.ts';
import { DEFAULT_LOGIN_LIMITS as LOGIN } from './auth/login-guard.ts';
import { DEFAULT_HASH_COST } from './auth/password.ts';
import { DEFAULT_DOCUMENT_LIMITS as DOCUMENTS } from './limits/defaults.ts';
import { DEFAULT_SALES_SETTINGS as SALES } from './sales.ts';
import { CATCH_UP_POOL_DEFAULT, HTTP_TIMEOUT_DEFAULTS as HTTP, SHARE_DEFAULTS as SHARES } from './shares.ts';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const schema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // auto: readable lines (pino-pretty) when stdout is a terminal, JSON lines otherwise.
  LOG_FORMAT: z.enum(['auto', 'pretty', 'json']).default('auto'),
  // Automatic backups (src/backup/automatic.ts): folder (unset: backups/ beside DATA_DIR; off:
  // none), the hour of the daily one (local time), and how many automatic ones to keep.
  BACKUP_DIR: z.string().min(1).optional(),
  BACKUP_HOUR: z.coerce.number().int().min(0).max(23).default(2),
  BACKUP_KEEP: z.coerce.number().int().min(1).max(1000).default(14),
  DATA_DIR: z.string().min(1).default('.data'),
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65535).default(54329),
  SEED_SAMPLE_DATA: bool.default(true),
  SESSION_TTL_HOURS: z.coerce
    .number()
    .positive()
    .max(24 * 365)
    .default(24 * 7),
  // Accounts (src/auth/accounts.ts): the first users' password, hashing cost, caps and role limits.
  BRANCHLINE_INITIAL_PASSWORD: z.string().max(200).optional(),
  PASSWORD_HASH_COST: z.coerce.number().int().min(10).max(20).default(DEFAULT_HASH_COST),
  SESSIONS_PER_USER: z.coerce.number().int().min(1).max(1000).default(ACCOUNTS.sessionsPerUser),
  API_TOKEN_MAX_DAYS: z.coerce.number().positive().max(3650).default(ACCOUNTS.apiTokenMaxDays),
  CLERK_MAX_STOCK_CHANGE: z.coerce.number().int().min(0).max(1_000_000).default(ACCOUNTS.clerkMaxStockChange),
  // Sales at the till (src/sales.ts): a price changed while a till was offline, receipts.
  OFFLINE_PRICE_POLICY: z.enum(['shown', 'current']).default(SALES.pricePolicy),
  BUSINESS_NAME: z.string().trim().min(1).max(200).default(SALES.businessName),
  TAX_RATE_PERCENT: z.coerce.number().min(0).max(100).optional(),
  TAX_LABEL: z.string().trim().min(1).max(40).default(SALES.taxLabel),
  // The money everywhere in the app: an ISO 4217 code, and optionally the symbol to write.
  CURRENCY: z
    .string()
    .trim()
    .toUpperCase()
    .refine(
      (c) => /^[A-Z]{3}$/.test(c) && Intl.supportedValuesOf('currency').includes(c),
      'must be an ISO 4217 code such as EUR',
    )
    .default(SALES.currency),
  CURRENCY_SYMBOL: z.string().trim().min(1).max(8).optional(),
  FEED_RETENTION_DAYS: z.coerce.number().positive().max(3650).default(7),
  FEED_POLL_MS: z.coerce.number().int().min(100).max(5000).default(2000),
  FEED_HEARTBEAT_MS: z.coerce.number().int().min(200).max(60_000).default(2000),
  FEED_SUBSCRIBER_QUEUE: z.coerce.number().int().min(10).max(1_000_000).default(2000),
  FEED_SUBSCRIBER_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(16_384)
    .default(4 * 1024 * 1024),
  DB_POOL_SIZE: z.coerce.number().int().min(2).max(200).default(10),
  STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).default(15_000),
  IDLE_IN_TRANSACTION_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  // What one GraphQL request may cost before it runs (src/limits/).
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(DOCUMENTS.maxBodyBytes),
  MAX_TOKENS: z.coerce.number().int().min(100).max(1_000_000).default(DOCUMENTS.maxTokens),
  MAX_DEPTH: z.coerce.number().int().min(2).max(100).default(DOCUMENTS.maxDepth),
  MAX_NESTING: z.coerce.number().int().min(16).max(1000).default(DOCUMENTS.maxNesting),
  MAX_ALIASES: z.coerce.number().int().min(0).max(10_000).default(DOCUMENTS.maxAliases),
  MAX_DIRECTIVES: z.coerce.number().int().min(0).max(1000).default(DOCUMENTS.maxDirectives),
  MAX_COST: z.coerce.number().int().min(100).max(1_000_000_000).default(DOCUMENTS.maxCost),
  DOCUMENT_CACHE_CHARS: z.coerce
    .number()
    .int()
    .min(1024)
    .max(256 * 1024 * 1024)
    .default(DOCUMENTS.documentCacheChars),
  // Fair shares (src/shares.ts): WebSockets, subscriptions and catch-up reads per user and address.
  WS_MAX_CONNECTIONS_PER_USER: z.coerce
    .number()
    .int()
    .min(1)
    .max(100_000)
    .default(SHARES.wsConnectionsPerUser),
  WS_MAX_CONNECTIONS_PER_ADDRESS: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(SHARES.wsConnectionsPerAddress),
  WS_INIT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(SHARES.wsInitTimeoutMs),
  MAX_SUBSCRIPTIONS_PER_CONNECTION: z.coerce
    .number()
    .int()
    .min(1)
    .max(100_000)
    .default(SHARES.subscriptionsPerConnection),
  MAX_SUBSCRIPTIONS_PER_USER: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(SHARES.subscriptionsPerUser),
  FEED_CATCHUP_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(CATCH_UP_POOL_DEFAULT),
  HTTP_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(HTTP.headersTimeoutMs),
  HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1000).max(3_600_000).default(HTTP.requestTimeoutMs),
  HTTP_BODY_IDLE_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(HTTP.bodyIdleTimeoutMs),
  LOGIN_MAX_FAILURES: z.coerce.number().int().min(1).max(1000).default(LOGIN.maxFailures),
  LOGIN_ADDRESS_MAX_FAILURES: z.coerce.number().int().min(1).max(100_000).default(LOGIN.addressMaxFailures),
  LOGIN_WINDOW_SECONDS: z.coerce
    .number()
    .positive()
    .max(86_400)
    .default(LOGIN.windowMs / 1000),
  LOGIN_FIRST_DELAY_SECONDS: z.coerce
    .number()
    .positive()
    .max(3600)
    .default(LOGIN.firstDelayMs / 1000),
  LOGIN_MAX_DELAY_SECONDS: z.coerce
    .number()
    .min(1)
    .max(86_400)
    .default(LOGIN.maxDelayMs / 1000),
  LOGIN_MAX_CONCURRENT_HASHES: z.coerce.number().int().min(1).max(64).default(LOGIN.maxConcurrentHashes),
  LOGIN_HASH_QUEUE: z.coerce.number().int().min(0).max(10_000).default(LOGIN.hashQueue),
  LOGIN_THROTTLE_ENTRIES: z.coerce.number().int().min(100).max(10_000_000).default(LOGIN.maxEntries),
  // Bearer token for /metrics and the detailed /health and /ready bodies (unset: loopback only).
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').max(200).optional(),
  // Browser origins besides the server's own that may call the API (CORS) and open WebSockets.
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    )
    .refine(
      (list) => list.every((o) => URL.canParse(o) && new URL(o).origin === o),
      'must be comma-separated origins such as https://shop.example.com (scheme, host, port; no path)',
    ),
});

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {}

/** Parses `env` (process.env by default); throws ConfigError listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}\nSee .env.example.`);
  }
  return parsed.data;
}
