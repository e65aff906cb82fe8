/**
 * Results of a run: figures grouped by workload (each group printed with its exact workload
 * above it), the correctness check of every phase, and the files in bench/results/
 * (`<stamp>.json`, `<stamp>.md`, and `latest.json` / `latest.md`).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BENCH_DIR } from './ipc.ts';
import type { PhaseReport } from './systems.ts';

export interface Figure {
  metric: string;
  unit: string;
  branchline: number;
  baseline: number | null;
  /** branchline / baseline (for latencies and memory lower is better, for rates higher is). */
  ratio: number | null;
  target?: string;
  met?: boolean;
}

export interface Group {
  part: string;
  workload: string;
  figures: Figure[];
  details?: Record<string, unknown>;
}

export interface CorrectnessCheck {
  part: string;
  system: string;
  phase: string;
  subscribers: number;
  expected: number;
  missing: number;
  duplicates: number;
  outOfOrder: number;
  unexpected: number;
  errors: string[];
}

export class Results {
  readonly groups: Group[] = [];
  readonly checks: CorrectnessCheck[] = [];
  readonly started = new Date();
  private readonly loadAtStart = os.loadavg();

  add(group: Group): void {
    this.groups.push(group);
    process.stdout.write(`\n${renderGroup(group)}\n`);
  }

  check(part: string, system: string, phase: string, r: PhaseReport): boolean {
    const c: CorrectnessCheck = {
      part,
      system,
      phase,
      subscribers: r.subscribers,
      expected: r.expected,
      missing: r.missing,
      duplicates: r.duplicates,
      outOfOrder: r.outOfOrder,
      unexpected: r.unexpected,
      errors: r.errors.slice(0, 3),
    };
    this.checks.push(c);
    const ok = passed(c);
    if (!ok) {
      process.stdout.write(
        `CORRECTNESS FAILED: ${part} / ${system} / ${phase}: missing ${c.missing}, duplicates ${c.duplicates}, ` +
          `out of order ${c.outOfOrder}, unexpected ${c.unexpected} ${c.errors.join(' | ')}\n`,
      );
    }
    return ok;
  }

  get failed(): CorrectnessCheck[] {
    return this.checks.filter((c) => !passed(c));
  }

  markdown(command: string, settings: Record<string, unknown>): string {
    const lines = [
      `# Branchline benchmarks`,
      '',
      `- Date: ${this.started.toISOString()}`,
      `- Command: \`${command}\``,
      `- Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ` +
        `Node ${process.version}, all processes on one box (shared with other work)`,
      `- Load average of the machine (1/5/15 min): at start ${this.loadAtStart.map((l) => l.toFixed(1)).join(' / ')}, ` +
        `at the end ${os
          .loadavg()
          .map((l) => l.toFixed(1))
          .join(' / ')} (2 cores: above 2 means other work competed for the CPU)`,
      `- PostgreSQL (embedded, private per run, same for Branchline and baselines): ${Object.entries(settings)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}`,
      '- Ratio: Branchline ÷ the raw baseline measured in the same run (for latencies and memory lower is ' +
        "better, for rates higher is). Latencies: p50 and p99 are medians over rounds of each round's " +
        'percentile, max is over all rounds; rates are medians over rounds.',
      '',
    ];
    for (const g of this.groups) lines.push(renderGroup(g), '');
    lines.push('## Correctness (every phase, every subscriber)', '');
    lines.push(
      '| Part | System | Phase | Subscribers | Changes | Missing | Duplicates | Out of order | Result |',
    );
    lines.push('|---|---|---|---:|---:|---:|---:|---:|---|');
    for (const c of this.checks) {
      lines.push(
        `| ${c.part} | ${c.system} | ${c.phase} | ${c.subscribers} | ${c.expected} | ${c.missing} | ` +
          `${c.duplicates} | ${c.outOfOrder + c.unexpected} | ${passed(c) ? 'pass' : '**FAIL**'} |`,
      );
    }
    return `${lines.join('\n')}\n`;
  }

  async save(command: string, settings: Record<string, unknown>): Promise<string> {
    const dir = path.join(BENCH_DIR, 'results');
    await mkdir(dir, { recursive: true });
    const stamp = this.started.toISOString().replace(/[:.]/g, '-');
    const json = JSON.stringify(
      { date: this.started.toISOString(), command, settings, groups: this.groups, checks: this.checks },
      null,
      2,
    );
    const md = this.markdown(command, settings);
    await writeFile(path.join(dir, `${stamp}.json`), json);
    await writeFile(path.join(dir, `${stamp}.md`), md);
    await writeFile(path.join(dir, 'latest.json'), json);
    await writeFile(path.join(dir, 'latest.md'), md);
    return path.join(dir, `${stamp}.md`);
  }
}

function passed(c: CorrectnessCheck): boolean {
  return c.missing === 0 && c.duplicates === 0 && c.outOfOrder === 0 && c.unexpected === 0;
}

export function fmt(v: number | null | undefined, unit = ''): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  const abs = Math.abs(v);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  const text = v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
  return unit ? `${text} ${unit}` : text;
}

export function renderGroup(g: Group): string {
  const rows = [
    `### ${g.part}`,
    '',
    `Workload: ${g.workload}`,
    '',
    '| Metric | Branchline | Baseline | Ratio | Target | Met |',
    '|---|---:|---:|---:|---|---|',
  ];
  for (const f of g.figures) {
    rows.push(
      `| ${f.metric} | ${fmt(f.branchline, f.unit)} | ${fmt(f.baseline, f.unit)} | ` +
        `${f.ratio === null ? '–' : `${fmt(f.ratio)}×`} | ${f.target ?? ''} | ${
          f.met === undefined ? '' : f.met ? 'yes' : '**no**'
        } |`,
    );
  }
  return rows.join('\n');
}
