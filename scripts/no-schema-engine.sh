#!/bin/sh
# Stand-in for Prisma's native schema engine, which cannot be downloaded on these machines.
# `prisma generate` never runs it; anything that would (migrate, db push/pull) is not used here:
# Branchline applies prisma/migrations itself (npm run db:migrate, and on every npm start).
echo "Branchline: Prisma's schema engine is not installed. Migrations are applied by 'npm run db:migrate' (scripts/migrate.ts); 'prisma migrate deploy' also works where the engine can be downloaded." >&2
exit 1
