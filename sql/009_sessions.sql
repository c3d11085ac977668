-- A session lives only as long as its account is active: deactivating an agent or a staff
-- account ends their sessions in the same transaction, whichever path deactivates it (the
-- officer's API, or an operator's SQL). core/auth.c also refuses a session whose account is
-- no longer active, so a session left behind by any other way still stops working.

CREATE FUNCTION session_end_inactive() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'agent' THEN
    DELETE FROM session WHERE agent_id = NEW.id;
  ELSE
    DELETE FROM session WHERE staff_id = NEW.id;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER agent_deactivated AFTER UPDATE OF active ON agent
  FOR EACH ROW WHEN (OLD.active AND NOT NEW.active) EXECUTE FUNCTION session_end_inactive();
CREATE TRIGGER staff_deactivated AFTER UPDATE OF active ON staff
  FOR EACH ROW WHEN (OLD.active AND NOT NEW.active) EXECUTE FUNCTION session_end_inactive();

CREATE INDEX session_agent ON session (agent_id) WHERE agent_id IS NOT NULL;
CREATE INDEX session_staff ON session (staff_id) WHERE staff_id IS NOT NULL;
