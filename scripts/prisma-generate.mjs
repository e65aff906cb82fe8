// Runs `prisma generate` with PRISMA_SCHEMA_ENGINE_BINARY pointing at a stand-in: the CLI would
// otherwise try to download the native engine, which these machines cannot reach.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const engine = fileURLToPath(new URL('./no-schema-engine.sh', import.meta.url));
const result = spawnSync(process.execPath, ['node_modules/prisma/build/index.js', 'generate'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? engine },
});
process.exit(result.status ?? 1);
