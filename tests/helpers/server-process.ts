/**
 * A Branchline server in its own process, for tests that kill a server or run two of them on one
 * database: `node --import tsx tests/helpers/server-process.ts <databaseUrl> <port>`. Prints one
 * JSON line `{ "url": ... }` once it listens; SIGKILL it to simulate a crash.
 */
import { buildApp } from '../../src/app.ts';
import { createLogger } from '../../src/logger.ts';

const [databaseUrl, port] = process.argv.slice(2);
if (!databaseUrl || port === undefined) {
  process.stderr.write('usage: server-process.ts <databaseUrl> <port>\n');
  process.exit(2);
}
const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
const app = buildApp({ databaseUrl, log, poolSize: 6, feed: { pollMs: 1000, heartbeatMs: 500 } });
const { url } = await app.start(Number(port), '127.0.0.1');
process.stdout.write(`${JSON.stringify({ url })}\n`);
process.on('SIGTERM', () => {
  void app.stop().then(() => process.exit(0));
});
