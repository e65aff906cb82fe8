/**
 * A Branchline server in its own process, for tests that kill a server, run two of them on one
 * database, or attack one (a crash then shows as a dead process, not a dead test worker):
 * `node --import tsx tests/helpers/server-process.ts <databaseUrl> <port>`. Extra buildApp
 * options come as JSON in BRANCHLINE_APP_OPTIONS. Prints one JSON line `{ "url", "pid" }` once
 * it listens; SIGKILL it to simulate a crash.
 */
import { type AppOptions, buildApp } from '../../src/app.ts';
import { createLogger } from '../../src/logger.ts';
import { TEST_HASH_COST } from './password-cost.ts';

const [databaseUrl, port] = process.argv.slice(2);
if (!databaseUrl || port === undefined) {
  process.stderr.write('usage: server-process.ts <databaseUrl> <port>\n');
  process.exit(2);
}
const extra = JSON.parse(process.env.BRANCHLINE_APP_OPTIONS ?? '{}') as Partial<AppOptions>;
const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
const app = buildApp({
  databaseUrl,
  log,
  poolSize: 6,
  passwordHashCost: TEST_HASH_COST,
  ...extra,
  feed: { pollMs: 1000, heartbeatMs: 500, ...extra.feed },
});
const { url } = await app.start(Number(port), '127.0.0.1');
process.stdout.write(`${JSON.stringify({ url, pid: process.pid })}\n`);
process.on('SIGTERM', () => {
  void app.stop().then(() => process.exit(0));
});
