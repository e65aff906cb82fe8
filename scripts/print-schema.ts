/**
 * Prints the GraphQL SDL to schema.graphql (or, with --check, exits 1 when the committed file is
 * stale). Run with `npm run schema:print`; tests/schema-sdl.test.ts fails when it was forgotten.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { schema } from '../src/schema/index.ts';

// graphql through require: the same (CommonJS) copy Pothos built the schema with, also under
// vitest, which would otherwise resolve an ESM import to graphql's index.mjs, a second copy.
const { lexicographicSortSchema, printSchema } = createRequire(import.meta.url)(
  'graphql',
) as typeof import('graphql');

export const SCHEMA_FILE = fileURLToPath(new URL('../schema.graphql', import.meta.url));

export function printSdl(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const sdl = printSdl();
  if (process.argv.includes('--check')) {
    const current = await readFile(SCHEMA_FILE, 'utf8').catch(() => '');
    if (current !== sdl) {
      process.stderr.write('schema.graphql is stale: run npm run schema:print\n');
      process.exit(1);
    }
  } else {
    await writeFile(SCHEMA_FILE, sdl);
  }
}
