-- Backups (src/backup/): one row per backup written by the server (daily, before a migration) or
-- by `npm run backup`, with its result, so the admins' view (backupStatus) can say when the last
-- good one was made. Not synced (no change-feed triggers) and not itself in backups: it describes
-- the files of the machine that wrote them.
CREATE TABLE "backup_runs" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "kind" VARCHAR(20) NOT NULL,
    "file" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "finished_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "ok" BOOLEAN NOT NULL,
    "size_bytes" BIGINT,
    "tables" INTEGER,
    "rows" BIGINT,
    "schema_version" VARCHAR(255),
    "error" TEXT,
    CONSTRAINT "backup_runs_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "backup_runs_started_at_idx" ON "backup_runs"("started_at");
