/** Structured logging (pino). One root logger; modules take children with a `module` binding. */
import { type Logger, pino } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({ level, base: { app: 'branchline' } });
}
