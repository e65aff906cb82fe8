import { defineConfig } from 'prisma/config';

// Prisma's own env() helper throws during `generate` when the variable is unset, so read it here.
// Migrations are applied by scripts/migrate.ts, not by `prisma migrate` (see README).
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/branchline' },
});
