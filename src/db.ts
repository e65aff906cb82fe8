/**
 * The PostgreSQL pool and the Prisma client built on it (driver adapter @prisma/adapter-pg).
 * Raw SQL (change log reads, row locks) and Prisma share one pool. Every connection gets a
 * statement timeout and an idle-in-transaction timeout: an abandoned transaction would otherwise
 * hold back the change feed's horizon for everybody.
 */
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from './generated/prisma/client.ts';
import type { Logger } from './logger.ts';

export interface DbOptions {
  url: string;
  poolSize: number;
  statementTimeoutMs: number;
  idleInTransactionTimeoutMs: number;
}

export interface Db {
  pool: pg.Pool;
  prisma: PrismaClient;
  close(): Promise<void>;
}

export function createDb(opts: DbOptions, log: Logger): Db {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolSize,
    statement_timeout: opts.statementTimeoutMs,
    idle_in_transaction_session_timeout: opts.idleInTransactionTimeoutMs,
    keepAlive: true,
    connectionTimeoutMillis: 10_000,
  });
  // An idle pooled connection that dies (database restart) must not crash the process.
  pool.on('error', (err) => log.warn({ module: 'db', err: err.message }, 'idle pooled connection failed'));
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    pool,
    prisma,
    async close() {
      await prisma.$disconnect().catch(() => {});
      await pool.end().catch(() => {});
    },
  };
}
