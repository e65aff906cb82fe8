import type { BenchContext } from '../lib/context.ts';

export async function runWrites(_ctx: BenchContext): Promise<void> {}
