/** Server health: database reachability (and, once registered, other components' status). */
import type { AppServices } from '../context.ts';

export interface ComponentHealth {
  name: string;
  ok: boolean;
  detail: string;
}

export interface Health {
  ok: boolean;
  components: ComponentHealth[];
}

/** Other parts of the server (the change-feed listener) report their status through probes. */
export type HealthProbe = () => ComponentHealth | Promise<ComponentHealth>;

export async function databaseHealth(services: AppServices): Promise<ComponentHealth> {
  const started = performance.now();
  try {
    await services.db.pool.query('SELECT 1');
    return {
      name: 'database',
      ok: true,
      detail: `reachable in ${(performance.now() - started).toFixed(1)} ms`,
    };
  } catch (err) {
    return { name: 'database', ok: false, detail: err instanceof Error ? err.message : String(err) };
  }
}

export async function checkHealth(services: AppServices, probes: HealthProbe[]): Promise<Health> {
  const components = await Promise.all([databaseHealth(services), ...probes.map((p) => p())]);
  return { ok: components.every((c) => c.ok), components };
}
