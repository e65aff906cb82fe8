-- Branch memberships in the change feed (DESIGN.md "Authorization"): a user's branches decide
-- what their open subscriptions may see, so a change of them must reach every server process in
-- feed order, like a change of the user's role or of a token (src/listeners/grants.ts).
--
-- user_branches has no id and no version: its change_log rows carry the user's id as row_id (so a
-- process can match them to that user's subscriptions), the branch as branch_id, version NULL,
-- and the row image {user_id, branch_id} (NULL for a delete, as for every table). An update that
-- moves a membership is logged as the delete of the old one and the insert of the new one.

CREATE FUNCTION branchline_log_user_branch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.user_id = NEW.user_id AND OLD.branch_id = NEW.branch_id THEN
    RETURN NULL;
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    INSERT INTO change_log (tbl, op, row_id, version, data, changed, actor, branch_id)
    VALUES (TG_TABLE_NAME, 'D', OLD.user_id, NULL, NULL, NULL, branchline_actor(), OLD.branch_id);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO change_log (tbl, op, row_id, version, data, changed, actor, branch_id)
    VALUES (TG_TABLE_NAME, 'I', NEW.user_id, NULL, to_jsonb(NEW), NULL, branchline_actor(), NEW.branch_id);
  END IF;
  PERFORM pg_notify('change_log', TG_TABLE_NAME);
  RETURN NULL;
END
$$;

CREATE TRIGGER "user_branches_log" AFTER INSERT OR UPDATE OR DELETE ON "user_branches"
  FOR EACH ROW EXECUTE FUNCTION branchline_log_user_branch();
