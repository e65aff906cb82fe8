/**
 * What the backup and restore commands show on the terminal: a progress bar (cli-progress) when
 * stdout is a terminal, a line per step otherwise, and sizes people read.
 */
import cliProgress from 'cli-progress';

export const out = (s = '') => process.stdout.write(`${s}\n`);

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export interface Progress {
  /** Starts (or restarts) the bar for one phase. */
  phase(label: string, total: number): void;
  update(value: number, detail?: string): void;
  /** A line of its own (above the bar on a terminal). */
  note(line: string): void;
  stop(): void;
}

export function progress(unit: 'rows' | 'bytes'): Progress {
  if (!process.stdout.isTTY) {
    return { phase: (label) => out(`${label}...`), update: () => {}, note: out, stop: () => {} };
  }
  const scale = unit === 'bytes' ? 1024 * 1024 : 1;
  const shown = unit === 'bytes' ? 'MiB' : 'rows';
  const bar = new cliProgress.SingleBar(
    {
      format: `{label} [{bar}] {percentage}% | {value}/{total} ${shown} | {duration_formatted} {detail}`,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let running = false;
  const round = (v: number) => (unit === 'bytes' ? Math.round((v / scale) * 10) / 10 : v);
  return {
    phase(label, total) {
      if (running) bar.stop();
      bar.start(round(total), 0, { label, detail: '' });
      running = true;
    },
    update(value, detail = '') {
      if (running) bar.update(round(value), { detail });
    },
    note(line) {
      if (running) {
        bar.stop();
        running = false;
      }
      out(line);
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}
