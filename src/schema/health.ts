import { builder } from '../builder.ts';
import { type ComponentHealth, checkHealth, type Health } from '../resolvers/health.ts';

const ComponentHealthRef = builder.objectRef<ComponentHealth>('ComponentHealth').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    ok: t.exposeBoolean('ok'),
    detail: t.exposeString('detail'),
  }),
});

const HealthRef = builder.objectRef<Health>('Health').implement({
  description: 'Whether the server and the components it depends on are working.',
  fields: (t) => ({
    ok: t.exposeBoolean('ok'),
    components: t.field({ type: [ComponentHealthRef], resolve: (h) => h.components }),
  }),
});

builder.queryField('health', (t) =>
  t.field({
    type: HealthRef,
    description: 'Database and change-feed listener status (also served as JSON at GET /health).',
    resolve: (_root, _args, ctx) => checkHealth(ctx, ctx.healthProbes),
  }),
);
