-- The trust root for manifest signatures: the public keys an admin trusted (`kerf keys trust`) and
-- revoked (`kerf keys revoke`). Deploy, evaluation and serving verify manifests only against the
-- unrevoked rows here, and a worker refuses to start with a key that is not among them.
--
-- Only the owner role writes this table (the admin command runs on the owner connection); the
-- application role kerf_app, which workers and serving use, may only read it, so a process that can
-- write the registry cannot make its own key trusted. registry.signing_keys, where workers used to
-- record their own key at start, no longer confers trust and is kept only as history.
CREATE TABLE registry.trusted_signing_keys (
  -- The key id manifests carry: the first 16 hex digits of SHA-256 over the key's SPKI DER.
  key_id         text PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{16}$'),
  name           text NOT NULL CHECK (btrim(name) <> ''),
  public_key_pem text NOT NULL CHECK (public_key_pem LIKE '-----BEGIN PUBLIC KEY-----%'),
  trusted_by     text NOT NULL CHECK (btrim(trusted_by) <> ''),
  trusted_at     timestamptz NOT NULL DEFAULT now(),
  revoked_by     text,
  revoked_at     timestamptz,
  revoke_reason  text,
  CHECK ((revoked_by IS NULL) = (revoked_at IS NULL))
);

-- A revoked key stays revoked, and a trusted key's id and public half never change: anything else
-- would let an old, withdrawn signature count again.
CREATE FUNCTION registry.keep_signing_key_trust_honest() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('DELETE', 'TRUNCATE') THEN
    RAISE EXCEPTION 'registry.trusted_signing_keys keeps every key it ever trusted: % is refused', TG_OP
      USING HINT = 'Revoke the key instead (kerf keys revoke KEY_ID).';
  END IF;
  IF NEW.key_id IS DISTINCT FROM OLD.key_id
     OR NEW.public_key_pem IS DISTINCT FROM OLD.public_key_pem
     OR NEW.trusted_by IS DISTINCT FROM OLD.trusted_by
     OR NEW.trusted_at IS DISTINCT FROM OLD.trusted_at THEN
    RAISE EXCEPTION 'registry.trusted_signing_keys: a trusted key''s id, public half and origin never change'
      USING HINT = 'Trust the new key under its own id (kerf keys trust FILE --name NAME).';
  END IF;
  IF OLD.revoked_at IS NOT NULL AND (NEW.revoked_at IS DISTINCT FROM OLD.revoked_at
     OR NEW.revoked_by IS DISTINCT FROM OLD.revoked_by) THEN
    RAISE EXCEPTION 'registry.trusted_signing_keys: key % was revoked and stays revoked', OLD.key_id
      USING HINT = 'Sign with a new key and have an admin trust it.';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER trusted_signing_keys_honest BEFORE UPDATE OR DELETE ON registry.trusted_signing_keys
  FOR EACH ROW EXECUTE FUNCTION registry.keep_signing_key_trust_honest();
CREATE TRIGGER trusted_signing_keys_no_truncate BEFORE TRUNCATE ON registry.trusted_signing_keys
  FOR EACH STATEMENT EXECUTE FUNCTION registry.keep_signing_key_trust_honest();

-- Readers of the trust root: workers (their own key at start, the champion at evaluate, deploy) and
-- serving. No INSERT, UPDATE or DELETE: those are the admin's, on the owner connection.
GRANT USAGE ON SCHEMA registry TO kerf_app;
GRANT SELECT ON registry.trusted_signing_keys TO kerf_app;

-- Workers no longer record their own key: the runtime role keeps only reading the old key list.
REVOKE INSERT ON registry.signing_keys FROM kerf_app;
