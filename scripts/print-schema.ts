/**
 * Prints the GraphQL SDL to schema.graphql (or, with --check, exits 1 when the committed file is
 * stale). Run with `npm run schema:print`; tests/schema-sdl.test.ts fails when it was forgotten.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { schema } from '../src/schema/index.ts';

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
