/** schema.graphql is the printed SDL of the running schema; regenerate with `npm run schema:print`. */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { printSdl, SCHEMA_FILE } from '../scripts/print-schema.ts';

describe('schema.graphql', () => {
  it('matches the schema the server builds (run npm run schema:print after changing it)', async () => {
    const committed = await readFile(SCHEMA_FILE, 'utf8');
    expect(committed === printSdl(), 'schema.graphql is stale: run npm run schema:print').toBe(true);
  });
});
