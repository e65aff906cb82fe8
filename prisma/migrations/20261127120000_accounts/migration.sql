-- Accounts (issue 10): a password a user must change at their next sign-in (after createUser or
-- resetPassword), when the password last changed, and two kinds of write that are not changes of
-- the record and so neither move its version nor reach the change feed:
-- - api_tokens.last_used_at, written at most once a minute per token when the token is used;
-- - users.password_hash alone, as when a sign-in re-hashes a password at higher cost. A password
--   the user or an admin sets also sets password_changed_at, so that change is versioned and fed
--   like any other (the hash itself never enters the log: branchline_log_change drops it).
-- Any other update, a no-op included, still moves the version and is logged, as before.

ALTER TABLE "users" ADD COLUMN "must_change_password" BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE "users" ADD COLUMN "password_changed_at" TIMESTAMPTZ(3);

-- Sessions of a user, newest first (mySessions, the per-user session cap).
CREATE INDEX "api_tokens_user_id_kind_created_at_idx" ON "api_tokens"("user_id", "kind", "created_at");

DROP TRIGGER "users_stamp" ON "users";
DROP TRIGGER "users_log" ON "users";
CREATE TRIGGER "users_stamp" BEFORE INSERT ON "users" FOR EACH ROW EXECUTE FUNCTION branchline_stamp_row();
CREATE TRIGGER "users_stamp_update" BEFORE UPDATE ON "users" FOR EACH ROW
  WHEN ((to_jsonb(OLD) - 'password_hash') IS DISTINCT FROM (to_jsonb(NEW) - 'password_hash') OR OLD.password_hash IS NOT DISTINCT FROM NEW.password_hash)
  EXECUTE FUNCTION branchline_stamp_row();
CREATE TRIGGER "users_log" AFTER INSERT OR DELETE ON "users" FOR EACH ROW EXECUTE FUNCTION branchline_log_change();
CREATE TRIGGER "users_log_update" AFTER UPDATE ON "users" FOR EACH ROW
  WHEN ((to_jsonb(OLD) - 'password_hash') IS DISTINCT FROM (to_jsonb(NEW) - 'password_hash') OR OLD.password_hash IS NOT DISTINCT FROM NEW.password_hash)
  EXECUTE FUNCTION branchline_log_change();

DROP TRIGGER "api_tokens_stamp" ON "api_tokens";
DROP TRIGGER "api_tokens_log" ON "api_tokens";
CREATE TRIGGER "api_tokens_stamp" BEFORE INSERT ON "api_tokens" FOR EACH ROW EXECUTE FUNCTION branchline_stamp_row();
CREATE TRIGGER "api_tokens_stamp_update" BEFORE UPDATE ON "api_tokens" FOR EACH ROW
  WHEN ((to_jsonb(OLD) - 'last_used_at') IS DISTINCT FROM (to_jsonb(NEW) - 'last_used_at') OR OLD.last_used_at IS NOT DISTINCT FROM NEW.last_used_at)
  EXECUTE FUNCTION branchline_stamp_row();
CREATE TRIGGER "api_tokens_log" AFTER INSERT OR DELETE ON "api_tokens" FOR EACH ROW EXECUTE FUNCTION branchline_log_change();
CREATE TRIGGER "api_tokens_log_update" AFTER UPDATE ON "api_tokens" FOR EACH ROW
  WHEN ((to_jsonb(OLD) - 'last_used_at') IS DISTINCT FROM (to_jsonb(NEW) - 'last_used_at') OR OLD.last_used_at IS NOT DISTINCT FROM NEW.last_used_at)
  EXECUTE FUNCTION branchline_log_change();
