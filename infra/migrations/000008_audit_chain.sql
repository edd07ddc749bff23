-- A tamper-evident audit log: each row carries the SHA-256 of its own canonical text together with
-- the previous row's hash, so changing, removing or reordering a row breaks the chain from there on
-- (`kerf audit verify` names the first row that no longer matches). The chain head lives in a
-- one-row table; the trigger that extends it is owned by the owner role and runs with its rights,
-- so the application role keeps INSERT and SELECT on the log and nothing on the head.

ALTER TABLE registry.audit_log ADD COLUMN prev_hash text, ADD COLUMN row_hash text;

-- The canonical text of a row: a JSON array of its fields, the time in UTC with microseconds (not
-- in the session's time zone), details as jsonb prints them (keys sorted), and the previous hash.
-- registry/auditChain.ts computes the same text in its own query, so the check does not trust
-- this function.
CREATE FUNCTION registry.audit_row_hash(
  id bigint, at timestamptz, actor text, action text, model text, version integer, details jsonb, prev_hash text
) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT encode(sha256(convert_to(jsonb_build_array(
    id::text, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), actor, action, model,
    version, details, prev_hash
  )::text, 'UTF8')), 'hex')
$$;

CREATE TABLE registry.audit_chain_head (
  only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  last_id   bigint,
  last_hash text
);

-- Chain the rows already there, in id order.
ALTER TABLE registry.audit_log DISABLE TRIGGER audit_log_append_only;
DO $$
DECLARE
  entry record;
  previous text := NULL;
  last bigint := NULL;
  hash text;
BEGIN
  FOR entry IN SELECT * FROM registry.audit_log ORDER BY id LOOP
    hash := registry.audit_row_hash(entry.id, entry.at, entry.actor, entry.action, entry.model,
                                    entry.version, entry.details, previous);
    UPDATE registry.audit_log SET prev_hash = previous, row_hash = hash WHERE id = entry.id;
    previous := hash;
    last := entry.id;
  END LOOP;
  INSERT INTO registry.audit_chain_head (last_id, last_hash) VALUES (last, previous);
END
$$;
ALTER TABLE registry.audit_log ENABLE TRIGGER audit_log_append_only;
ALTER TABLE registry.audit_log ALTER COLUMN row_hash SET NOT NULL;

-- Extends the chain. Locking the head row serialises writers until they commit, and the row's id
-- is drawn under that lock, so id order is chain order even when transactions interleave.
CREATE FUNCTION registry.chain_audit_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, registry AS $$
DECLARE
  previous text;
BEGIN
  SELECT last_hash INTO previous FROM registry.audit_chain_head FOR UPDATE;
  NEW.id := nextval('registry.audit_log_id_seq');
  NEW.prev_hash := previous;
  NEW.row_hash := registry.audit_row_hash(NEW.id, NEW.at, NEW.actor, NEW.action, NEW.model,
                                          NEW.version, NEW.details, previous);
  UPDATE registry.audit_chain_head SET last_id = NEW.id, last_hash = NEW.row_hash;
  RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION registry.chain_audit_row() FROM PUBLIC;

CREATE TRIGGER audit_log_chain BEFORE INSERT ON registry.audit_log
  FOR EACH ROW EXECUTE FUNCTION registry.chain_audit_row();

-- The application role reads the head (to verify the tail) but cannot move it.
GRANT SELECT ON registry.audit_chain_head TO kerf_app;
