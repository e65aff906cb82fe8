import type { BenchContext } from '../lib/context.ts';

export async function runCatchUp(_ctx: BenchContext): Promise<void> {}
