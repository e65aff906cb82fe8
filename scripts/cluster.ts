/**
 * `npm run cluster -- --instances 3 [--port 4000]`: several server processes on one PostgreSQL
 * (DATABASE_URL, or the embedded one of DATA_DIR), for local trials. With nginx installed, nginx
 * listens on --port and spreads requests and WebSockets over the processes (ports --port+1 ...);
 * without it the processes listen on --port, --port+1, ... directly.
 *
 * The first process starts alone (migrations, first users, web build), the others after it is
 * ready; only the first one makes the automatic backups. A process that exits is started again
 * after 2 s. The script polls each process's /ready and prints changes. Ctrl-C (or SIGTERM) stops
 * nginx, then the processes (SIGTERM), then the embedded PostgreSQL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../src/config.ts';
import { type Database, migrateDatabase, openDatabase } from '../src/database/bootstrap.ts';
import { createLogger } from '../src/logger.ts';
import { findNginx, nginxSite, startNginx } from '../src/ops/nginx.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

const { values } = parseArgs({
  options: {
    instances: { type: 'string', default: '3' },
    port: { type: 'string' },
    'no-nginx': { type: 'boolean', default: false },
  },
});

async function main() {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL).child({ module: 'cluster' });
  const instances = Number(values.instances);
  if (!Number.isInteger(instances) || instances < 1 || instances > 32)
    throw new Error('--instances: 1 to 32');
  const port = values.port === undefined ? config.PORT : Number(values.port);
  const nginxBinary = values['no-nginx'] ? null : findNginx();
  const firstPort = nginxBinary ? port + 1 : port;
  const host = nginxBinary ? '127.0.0.1' : config.HOST;

  let database: Database | undefined;
  let nginx: ChildProcess | undefined;
  const children: (ChildProcess | undefined)[] = [];
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, 'stopping the cluster');
    nginx?.kill('SIGQUIT');
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((r) => {
            if (!c || c.exitCode !== null || c.signalCode !== null) return r();
            c.once('exit', () => r());
            c.kill('SIGTERM');
          }),
      ),
    );
    await database?.stop().catch(() => {});
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  database = await openDatabase(config, log);
  await migrateDatabase(database.url, log);
  const url = database.url;

  const start = (i: number) => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: url,
      HOST: host,
      PORT: String(firstPort + i),
      LOG_FORMAT: process.env.LOG_FORMAT ?? 'json',
    };
    if (i > 0) env.BACKUP_DIR = 'off';
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    children[i] = child;
    child.once('exit', (code, signal) => {
      if (stopping) return;
      log.warn({ instance: i, code, signal }, 'server process exited; starting it again in 2 s');
      setTimeout(() => {
        if (!stopping) start(i);
      }, 2000);
    });
  };
  const ready = async (i: number) => {
    try {
      return (await fetch(`http://127.0.0.1:${firstPort + i}/ready`)).status === 200;
    } catch {
      return false;
    }
  };
  const waitReady = async (i: number) => {
    const deadline = Date.now() + 180_000;
    while (!(await ready(i))) {
      if (Date.now() > deadline || stopping) throw new Error(`instance ${i} did not become ready`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  start(0);
  await waitReady(0);
  for (let i = 1; i < instances; i++) start(i);
  await Promise.all(Array.from({ length: instances - 1 }, (_, i) => waitReady(i + 1)));
  const upstreams = Array.from({ length: instances }, (_, i) => `127.0.0.1:${firstPort + i}`);

  if (nginxBinary) {
    const dir = await mkdtemp(path.join(tmpdir(), 'branchline-nginx-'));
    nginx = await startNginx(nginxBinary, {
      listen: `${config.HOST === '127.0.0.1' ? '127.0.0.1:' : ''}${port}`,
      upstreams,
      dir,
    });
    nginx.once('exit', (code) => {
      if (!stopping) log.error({ code, dir }, 'nginx exited');
    });
    log.info(
      { nginx: `http://localhost:${port}/`, config: path.join(dir, 'nginx.conf'), upstreams },
      'cluster is up behind nginx',
    );
    process.stderr.write(
      `\nnginx site configuration in use:\n\n${nginxSite({ listen: String(port), upstreams })}\n`,
    );
  } else {
    log.info(
      { instances: upstreams.map((u) => `http://${u}/`) },
      values['no-nginx']
        ? 'cluster is up (no nginx)'
        : 'cluster is up (nginx is not installed: open any instance)',
    );
  }

  // Readiness of each process, reported when it changes.
  const last: boolean[] = [];
  setInterval(async () => {
    for (let i = 0; i < instances; i++) {
      const now = await ready(i);
      if (last[i] !== undefined && last[i] !== now)
        log.info({ instance: i, ready: now }, 'readiness changed');
      last[i] = now;
    }
  }, 2000).unref();
}

main().catch((err) => {
  if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
  else createLogger('error').fatal({ err }, 'the cluster failed to start');
  process.exit(1);
});
