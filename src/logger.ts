/**
 * Structured logging (pino). One root logger; modules take children with a `module` binding.
 * JSON lines by default; `pretty` (npm start on a terminal, LOG_FORMAT) writes readable lines
 * through pino-pretty, synchronously, so nothing is lost when the process exits.
 */
import { type Logger, pino } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export function createLogger(level: string, opts: { pretty?: boolean } = {}): Logger {
  if (!opts.pretty) return pino({ level, base: { app: 'branchline' } });
  const stream = pretty({
    colorize: true,
    sync: true,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,app,module',
    messageFormat: '{if module}[{module}] {end}{msg}',
    hideObject: false,
    singleLine: true,
  });
  return pino({ level, base: { app: 'branchline' } }, stream);
}

/** Whether logs should be readable lines: LOG_FORMAT, or `auto` and stdout is a terminal. */
export function wantsPrettyLogs(
  format: 'auto' | 'pretty' | 'json',
  stdout: { isTTY?: boolean } = process.stdout,
): boolean {
  return format === 'pretty' || (format === 'auto' && Boolean(stdout.isTTY));
}
