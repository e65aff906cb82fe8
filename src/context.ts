/** The per-request (per-subscription) GraphQL context: a fresh object for each operation. */
import type { Db } from './db.ts';
import type { Logger } from './logger.ts';
import type { HealthProbe } from './resolvers/health.ts';

export interface AppServices {
  db: Db;
  log: Logger;
  healthProbes: HealthProbe[];
}

export interface Context extends AppServices {
  request?: Request;
}
