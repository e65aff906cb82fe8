-- Stock between branches (issue 13): a branch asks another for stock; the other approves (all or
-- part) or declines; approval ships it (TRANSFER_OUT at the supplying branch, in transit from
-- then on); the asking branch confirms receipt (TRANSFER_IN). Both movements carry the request's
-- id as transfer_id. Synced like the others: version and change-log triggers. branch_id is the
-- asking branch (the one that receives); from_branch_id the branch asked. The feed shows a
-- request to the users of either branch (src/listeners/access.ts).
CREATE TYPE "StockRequestStatus" AS ENUM ('REQUESTED', 'DECLINED', 'IN_TRANSIT', 'RECEIVED', 'CANCELLED');

CREATE TABLE "stock_requests" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "branch_id" UUID NOT NULL,
    "from_branch_id" UUID NOT NULL,
    "product_id" UUID NOT NULL,
    "quantity" INTEGER NOT NULL,
    "approved_quantity" INTEGER,
    "status" "StockRequestStatus" NOT NULL DEFAULT 'REQUESTED',
    "note" VARCHAR(500),
    "response_note" VARCHAR(500),
    "version" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_by" VARCHAR(320),
    CONSTRAINT "stock_requests_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "stock_requests_branches_check" CHECK ("branch_id" <> "from_branch_id"),
    CONSTRAINT "stock_requests_quantity_check" CHECK ("quantity" > 0),
    CONSTRAINT "stock_requests_approved_check" CHECK ("approved_quantity" IS NULL OR ("approved_quantity" > 0 AND "approved_quantity" <= "quantity"))
);
CREATE INDEX "stock_requests_branch_id_idx" ON "stock_requests"("branch_id");
CREATE INDEX "stock_requests_from_branch_id_idx" ON "stock_requests"("from_branch_id");
ALTER TABLE "stock_requests" ADD CONSTRAINT "stock_requests_branch_id_fkey" FOREIGN KEY ("branch_id") REFERENCES "branches"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "stock_requests" ADD CONSTRAINT "stock_requests_from_branch_id_fkey" FOREIGN KEY ("from_branch_id") REFERENCES "branches"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "stock_requests" ADD CONSTRAINT "stock_requests_product_id_fkey" FOREIGN KEY ("product_id") REFERENCES "products"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE TRIGGER "stock_requests_stamp" BEFORE INSERT OR UPDATE ON "stock_requests" FOR EACH ROW EXECUTE FUNCTION branchline_stamp_row();
CREATE TRIGGER "stock_requests_log" AFTER INSERT OR UPDATE OR DELETE ON "stock_requests" FOR EACH ROW EXECUTE FUNCTION branchline_log_change('branch_id');
