import type { BenchContext } from '../lib/context.ts';

export async function runMemory(_ctx: BenchContext): Promise<void> {}
