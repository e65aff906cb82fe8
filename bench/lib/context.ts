/** What every benchmark part gets from the runner. */
import type { BenchDatabase } from './cluster.ts';
import type { Seqs } from './load.ts';
import type { Results } from './report.ts';

export interface Scale {
  /** Subscriber counts of the propagation-latency and fan-out parts. */
  sizes: number[];
  /** Rounds per measurement (medians over them). */
  rounds: number;
  /** Length of one latency / throughput round. */
  roundMs: number;
  /** Moderate paced rates (changes/s); the highest sustained rate is found per size. */
  moderateRates: number[];
  /** Concurrent HTTP clients of the write-throughput part. */
  writeConcurrency: number[];
  /** Changes the catch-up subscriber starts behind. */
  catchUpChanges: number;
  /** Idle subscriber counts of the memory part. */
  idleSizes: number[];
  /** Products of the import part (4 stock rows each). */
  importProducts: number;
}

export const FULL: Scale = {
  sizes: [100, 1000, 5000],
  rounds: 3,
  roundMs: 6000,
  moderateRates: [20, 50, 200],
  writeConcurrency: [16, 64],
  catchUpChanges: 100_000,
  idleSizes: [0, 1000, 10_000],
  importProducts: 50_000,
};

/** A few seconds per part: proves the harness works (tests/bench-smoke.test.ts, `--quick`). */
export const QUICK: Scale = {
  sizes: [20],
  rounds: 1,
  roundMs: 1000,
  moderateRates: [50],
  writeConcurrency: [4],
  catchUpChanges: 2000,
  idleSizes: [0, 50],
  importProducts: 2000,
};

export interface BenchContext {
  db: BenchDatabase;
  results: Results;
  seqs: Seqs;
  scale: Scale;
  /** Extra node arguments of the Branchline server (e.g. --cpu-prof). */
  serverNodeArgs: string[];
  /** With `--profile`: where CPU profiles of the first measured Branchline round of each figure go. */
  profileDir: string | null;
  progress(message: string): void;
}
