-- Moving in (issue 15): stock imported from another system arrives as IMPORT movements; the
-- import map remembers which source row became which Branchline row (so a second run of the same
-- sources creates nothing), and import_runs records the runs started from the web app (status,
-- progress, report), readable by any server process. Neither table is synced: no change-feed
-- triggers.

ALTER TYPE "MovementKind" ADD VALUE 'IMPORT';

CREATE TABLE "import_map" (
    "namespace" VARCHAR(100) NOT NULL,
    "record" VARCHAR(20) NOT NULL,
    "source_key" VARCHAR(500) NOT NULL,
    "target_id" UUID NOT NULL,
    "source_values" JSONB NOT NULL,
    "imported_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "import_map_pkey" PRIMARY KEY ("namespace", "record", "source_key")
);

CREATE TABLE "import_runs" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "user_id" UUID,
    "actor" VARCHAR(320) NOT NULL,
    "status" VARCHAR(20) NOT NULL,
    "done" INTEGER NOT NULL DEFAULT 0,
    "total" INTEGER NOT NULL DEFAULT 0,
    "counts" JSONB,
    "report" TEXT,
    "error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),
    CONSTRAINT "import_runs_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "import_runs_status_check" CHECK ("status" IN ('running', 'done', 'failed'))
);
CREATE INDEX "import_runs_created_at_idx" ON "import_runs"("created_at");
