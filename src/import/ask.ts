/**
 * `copies.winner: "ask"` at a terminal: before a real import, every row that differs between
 * copies and that the mapping does not decide is shown side by side (each copy's values,
 * updated_at and updated_by) and the person picks a copy or skips the row. The choices go into
 * the mapping's `copies.resolve` for this run, and are printed so they can be kept in the file.
 * Without a terminal (or in a dry run) nothing is asked: such rows are skipped and reported.
 */
import { createInterface } from 'node:readline/promises';
import type { Mapping } from './mapping.ts';
import { mergeSources } from './merge.ts';
import type { SourceCopy } from './sources.ts';

export async function askConflicts(copies: SourceCopy[], mapping: Mapping): Promise<Record<string, string>> {
  if (mapping.copies.winner !== 'ask') return {};
  const open = mergeSources(copies, mapping).conflicts.filter((c) => c.winner === null);
  if (open.length === 0) return {};
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const chosen: Record<string, string> = {};
  try {
    process.stdout.write(
      `\n${open.length} row(s) differ between copies. For each, pick the copy that wins.\n`,
    );
    for (const c of open) {
      const shown = c.versions.map((v, i) => [
        `[${i + 1}] ${v.copy}`,
        v.updatedAt,
        v.updatedBy,
        ...c.fields.map((f) => v.values[f]),
      ]);
      const width = Math.max(12, ...shown.flat().map((x) => (x ?? '—').length)) + 1;
      const line = (label: string, cells: (string | null)[]) =>
        `  ${label.padEnd(12)} ${cells.map((x) => (x ?? '—').padEnd(width)).join(' ')}\n`;
      process.stdout.write(`\n${c.type} ${c.key}\n`);
      process.stdout.write(
        line(
          '',
          c.versions.map((v, i) => `[${i + 1}] ${v.copy}`),
        ),
      );
      process.stdout.write(
        line(
          'updated_at',
          c.versions.map((v) => v.updatedAt),
        ),
      );
      process.stdout.write(
        line(
          'updated_by',
          c.versions.map((v) => v.updatedBy),
        ),
      );
      for (const f of c.fields)
        process.stdout.write(
          line(
            f,
            c.versions.map((v) => v.values[f] ?? null),
          ),
        );
      for (;;) {
        const answer = (await rl.question(`  winner (1-${c.versions.length}, s to skip): `))
          .trim()
          .toLowerCase();
        if (answer === 's') break;
        const pick = c.versions[Number(answer) - 1];
        if (pick) {
          chosen[`${c.type}:${c.key}`] = pick.copy;
          break;
        }
      }
    }
  } finally {
    rl.close();
  }
  Object.assign(mapping.copies.resolve, chosen);
  if (Object.keys(chosen).length) {
    process.stdout.write(
      `\nTo keep these choices, put them in the mapping's copies.resolve:\n${JSON.stringify(chosen, null, 2)}\n\n`,
    );
  }
  return chosen;
}
