/** `npm run db:migrate`: applies prisma/migrations to DATABASE_URL (or the embedded database). */
import { loadConfig } from '../src/config.ts';
import { migrateDatabase, openDatabase } from '../src/database/bootstrap.ts';
import { createLogger } from '../src/logger.ts';

const config = loadConfig();
const log = createLogger(config.LOG_LEVEL);
const database = await openDatabase(config, log);
try {
  await migrateDatabase(database.url, log);
} catch (err) {
  log.fatal({ err }, 'migration failed');
  process.exitCode = 1;
} finally {
  await database.stop();
}
