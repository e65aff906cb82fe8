/**
 * `npm start`: database (embedded unless DATABASE_URL), migrations, the first users (and sample
 * data) on a database without users, then the server. SIGINT/SIGTERM stop the server, the database pool and the embedded
 * PostgreSQL in that order; a second signal forces exit.
 */
import { existsSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { type App, buildApp } from './app.ts';
import { configurePasswordHashing } from './auth/password.ts';
import { BackupScheduler, backupDirOf } from './backup/automatic.ts';
import { shopBanner } from './banner.ts';
import { ConfigError, loadConfig } from './config.ts';
import { type Database, migrateDatabase, openDatabase } from './database/bootstrap.ts';
import { firstStart, initialPasswordFile } from './database/first-start.ts';
import { createLogger, wantsPrettyLogs } from './logger.ts';
import { ensureWebBuild, webDist } from './web/build.ts';

async function main() {
  const config = loadConfig();
  // Readable lines on a terminal, JSON lines for log collectors (LOG_FORMAT).
  const pretty = wantsPrettyLogs(config.LOG_FORMAT);
  const log = createLogger(config.LOG_LEVEL, { pretty });
  const backupDir = backupDirOf(config);
  const backupSettings = { dir: backupDir, keep: config.BACKUP_KEEP, hour: config.BACKUP_HOUR };
  let database: Database | undefined;
  let app: App | undefined;
  let backups: BackupScheduler | undefined;
  let stopping = false;
  // Installed first, so a signal at any point of start-up stops what has started so far.
  const shutdown = async (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    await backups?.stop().catch((err) => log.error({ err }, 'error while stopping the backups'));
    await app?.stop().catch((err) => log.error({ err }, 'error while stopping the server'));
    await database?.stop().catch((err) => log.error({ err }, 'error while stopping the database'));
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  database = await openDatabase(config, log);
  try {
    // A database in use with migrations pending is backed up (and verified) first.
    await migrateDatabase(database.url, log, { backup: backupSettings });
    configurePasswordHashing({ cost: config.PASSWORD_HASH_COST });
    // No users yet: the admin (and the sample data) with BRANCHLINE_INITIAL_PASSWORD or a random
    // password shown once on the console and kept in DATA_DIR/initial-password.
    await firstStart(
      {
        databaseUrl: database.url,
        dataDir: config.DATA_DIR,
        sampleData: config.SEED_SAMPLE_DATA,
        initialPassword: config.BRANCHLINE_INITIAL_PASSWORD,
      },
      log,
    );
    // The web app: built when web/dist is missing or older than web/; a failed build leaves the
    // API running (with the previous build, if any).
    const webReady = await ensureWebBuild(log).then(
      () => true,
      (err) => {
        log.error({ err }, 'web app build failed');
        return existsSync(webDist);
      },
    );
    app = buildApp({
      databaseUrl: database.url,
      log,
      webDist: webReady ? webDist : undefined,
      corsOrigins: config.CORS_ORIGINS,
      metricsToken: config.METRICS_TOKEN,
      sales: {
        pricePolicy: config.OFFLINE_PRICE_POLICY,
        businessName: config.BUSINESS_NAME,
        taxRatePercent: config.TAX_RATE_PERCENT ?? null,
        taxLabel: config.TAX_LABEL,
        currency: config.CURRENCY,
        currencySymbol: config.CURRENCY_SYMBOL ?? null,
      },
      documents: {
        maxBodyBytes: config.MAX_BODY_BYTES,
        maxTokens: config.MAX_TOKENS,
        maxDepth: config.MAX_DEPTH,
        maxNesting: config.MAX_NESTING,
        maxAliases: config.MAX_ALIASES,
        maxDirectives: config.MAX_DIRECTIVES,
        maxCost: config.MAX_COST,
        documentCacheChars: config.DOCUMENT_CACHE_CHARS,
      },
      poolSize: config.DB_POOL_SIZE,
      sessionTtlHours: config.SESSION_TTL_HOURS,
      accounts: {
        sessionsPerUser: config.SESSIONS_PER_USER,
        apiTokenMaxDays: config.API_TOKEN_MAX_DAYS,
        clerkMaxStockChange: config.CLERK_MAX_STOCK_CHANGE,
      },
      statementTimeoutMs: config.STATEMENT_TIMEOUT_MS,
      idleInTransactionTimeoutMs: config.IDLE_IN_TRANSACTION_TIMEOUT_MS,
      login: {
        maxFailures: config.LOGIN_MAX_FAILURES,
        addressMaxFailures: config.LOGIN_ADDRESS_MAX_FAILURES,
        windowMs: config.LOGIN_WINDOW_SECONDS * 1000,
        firstDelayMs: config.LOGIN_FIRST_DELAY_SECONDS * 1000,
        maxDelayMs: config.LOGIN_MAX_DELAY_SECONDS * 1000,
        maxConcurrentHashes: config.LOGIN_MAX_CONCURRENT_HASHES,
        hashQueue: config.LOGIN_HASH_QUEUE,
        maxEntries: config.LOGIN_THROTTLE_ENTRIES,
      },
      feed: {
        pollMs: config.FEED_POLL_MS,
        heartbeatMs: config.FEED_HEARTBEAT_MS,
        maxQueue: config.FEED_SUBSCRIBER_QUEUE,
        maxBufferedBytes: config.FEED_SUBSCRIBER_MAX_BYTES,
        retentionDays: config.FEED_RETENTION_DAYS,
        catchUpPoolSize: config.FEED_CATCHUP_POOL_SIZE,
      },
      shares: {
        wsConnectionsPerUser: config.WS_MAX_CONNECTIONS_PER_USER,
        wsConnectionsPerAddress: config.WS_MAX_CONNECTIONS_PER_ADDRESS,
        wsInitTimeoutMs: config.WS_INIT_TIMEOUT_MS,
        subscriptionsPerConnection: config.MAX_SUBSCRIPTIONS_PER_CONNECTION,
        subscriptionsPerUser: config.MAX_SUBSCRIPTIONS_PER_USER,
      },
      http: {
        headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS,
        requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
        bodyIdleTimeoutMs: config.HTTP_BODY_IDLE_TIMEOUT_MS,
      },
    });
    const { url } = await app.start(config.PORT, config.HOST);
    log.info({ web: `${url}/`, graphql: `${url}/graphql`, health: `${url}/health` }, 'Branchline is up');
    if (backupDir) {
      backups = new BackupScheduler({
        url: database.url,
        settings: { ...backupSettings, dir: backupDir },
        log,
      }).start();
    }
    // The shop banner: on stdout beside readable logs, on stderr beside JSON ones.
    const passwordFile = initialPasswordFile(config.DATA_DIR);
    (pretty ? process.stdout : process.stderr).write(
      shopBanner({
        host: config.HOST,
        port: new URL(url).port ? Number(new URL(url).port) : config.PORT,
        interfaces: networkInterfaces(),
        passwordFile: existsSync(passwordFile) ? passwordFile : null,
        backups: backupDir ? { dir: backupDir, hour: config.BACKUP_HOUR } : null,
      }),
    );
  } catch (err) {
    await app?.stop().catch(() => {});
    await database.stop().catch(() => {});
    throw err;
  }
}

main().catch((err) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
  } else {
    createLogger('error').fatal({ err }, 'Branchline failed to start');
  }
  process.exit(1);
});
