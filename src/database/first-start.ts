/**
 * The first start on a database without users: no known password, ever.
 *
 * Guarantees:
 * - The admin (`admin@example.com`) and, when sample data is loaded, the sample users get the
 *   password in BRANCHLINE_INITIAL_PASSWORD when it is set (demos, tests); otherwise a random one
 *   (16 characters, about 93 bits) that is written to `DATA_DIR/initial-password` (mode 0600)
 *   before any user is created, so a crash cannot lose it, and printed once, as plain lines on
 *   stderr, after they were created.
 * - The password never goes through the logger: logs are JSON lines that end up in log
 *   collectors; the console banner and the 0600 file are the only copies. The log says where
 *   the file is.
 * - Two processes starting on one empty database: a session advisory lock lets one of them
 *   create the users; the other finds them and prints nothing.
 * - A later start (users exist) does nothing, whatever BRANCHLINE_INITIAL_PASSWORD says.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { seedSampleData } from '../../prisma/seed.ts';
import { generatePassword, hashPassword } from '../auth/password.ts';
import type { Logger } from '../logger.ts';

export const INITIAL_ADMIN_EMAIL = 'admin@example.com';
const FIRST_START_LOCK = 'branchline:first-start';

export interface FirstStartOptions {
  databaseUrl: string;
  dataDir: string;
  /** Load the sample data (SEED_SAMPLE_DATA). */
  sampleData: boolean;
  /** BRANCHLINE_INITIAL_PASSWORD; unset: a random one. */
  initialPassword?: string;
  /** Where the banner goes (stderr). */
  console?: NodeJS.WritableStream;
}

export const initialPasswordFile = (dataDir: string) => path.resolve(dataDir, 'initial-password');

/** Creates the first users when there are none (and the sample data, when asked). */
export async function firstStart(opts: FirstStartOptions, log: Logger): Promise<void> {
  const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: 2 });
  const lock = await pool.connect();
  try {
    await lock.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [FIRST_START_LOCK]);
    // Not the first start: nothing to do (sample data is only ever loaded with the first users).
    if ((await pool.query('SELECT 1 FROM users LIMIT 1')).rowCount) return;
    const random = !opts.initialPassword;
    const password = opts.initialPassword || generatePassword();
    const file = initialPasswordFile(opts.dataDir);
    if (random) {
      await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      await writeFile(file, `${password}\n`, { mode: 0o600 });
      await chmod(file, 0o600);
    }
    const seeded = opts.sampleData && (await seedSampleData(pool, log, { password }));
    if (!seeded) await createAdmin(pool, password);
    log.info(
      {
        module: 'first-start',
        admin: INITIAL_ADMIN_EMAIL,
        sampleUsers: seeded,
        password: random ? { file } : 'BRANCHLINE_INITIAL_PASSWORD',
      },
      random
        ? 'first start: initial password printed on the console and written to the file'
        : 'first start: initial password from BRANCHLINE_INITIAL_PASSWORD',
    );
    if (random) (opts.console ?? process.stderr).write(banner(password, file, seeded));
  } finally {
    await lock
      .query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [FIRST_START_LOCK])
      .catch(() => {});
    lock.release();
    await pool.end();
  }
}

async function createAdmin(pool: pg.Pool, password: string): Promise<void> {
  const hash = await hashPassword(password);
  const client = await pool.connect();
  try {
    await client.query("BEGIN; SET LOCAL app.actor = 'first-start'");
    await client.query(
      `INSERT INTO users (name, email, password_hash, role) VALUES ('Admin', $1, $2, 'ADMIN')
       ON CONFLICT (email) DO NOTHING`,
      [INITIAL_ADMIN_EMAIL, hash],
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

function banner(password: string, file: string, sampleUsers: boolean): string {
  const rule = '='.repeat(72);
  return [
    '',
    rule,
    `Branchline first start. Sign in as ${INITIAL_ADMIN_EMAIL}${sampleUsers ? ' (or any sample user)' : ''} with:`,
    '',
    `    ${password}`,
    '',
    `This password is shown only now; a copy is in ${file} (readable by you only).`,
    'Change it under "My account" after signing in, then delete that file.',
    rule,
    '',
    '',
  ].join('\n');
}
