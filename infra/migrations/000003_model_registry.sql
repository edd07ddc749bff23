-- The model registry: models, immutable versions, aliases and their history, approvals, the
-- append-only audit log of every decision, and the public halves of manifest signing keys.
-- The code in registry/ is the way in; the triggers below hold the rules even for hand-written SQL.
CREATE SCHEMA registry;

-- One model per pipeline: the pipeline spec's kebab-case name.
CREATE TABLE registry.models (
  name        text PRIMARY KEY CHECK (name ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(name) <= 63),
  task        text NOT NULL CHECK (task IN ('regression', 'binary', 'multiclass')),
  description text,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- A version is content-addressed by (spec hash, data snapshot hash): the same pair is the same
-- version. Its content is write-once; only the status (and its timestamp) moves afterwards.
CREATE TABLE registry.versions (
  model             text NOT NULL REFERENCES registry.models (name),
  version           integer NOT NULL CHECK (version >= 1),
  spec_hash         text NOT NULL CHECK (spec_hash <> ''),
  snapshot_hash     text NOT NULL CHECK (snapshot_hash <> ''),
  run_id            text NOT NULL CHECK (run_id <> ''),
  params            jsonb NOT NULL DEFAULT '{}'::jsonb,
  code_version      text NOT NULL CHECK (code_version <> ''),
  status            text NOT NULL DEFAULT 'training' CHECK (
    status IN ('training', 'candidate', 'approved', 'rejected', 'deployed', 'retired', 'failed')
  ),
  onnx_key          text,
  manifest_key      text,
  card_key          text,
  metrics           jsonb,
  gate_verdicts     jsonb,
  evaluated_at      timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  status_changed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model, version),
  UNIQUE (model, spec_hash, snapshot_hash),
  -- A version a person may approve, or that may serve, has its artifacts and evaluation recorded.
  CONSTRAINT versions_evaluated_before_candidate CHECK (
    status IN ('training', 'rejected', 'failed')
    OR (onnx_key IS NOT NULL AND manifest_key IS NOT NULL AND metrics IS NOT NULL AND gate_verdicts IS NOT NULL)
  )
);

-- Allowed status moves; registry/status.ts holds the same table and the tests compare the two.
CREATE FUNCTION registry.version_transition_allowed(from_status text, to_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT (from_status, to_status) IN (
    ('training', 'candidate'), ('training', 'rejected'), ('training', 'failed'),
    ('candidate', 'approved'), ('candidate', 'rejected'),
    ('approved', 'deployed'), ('approved', 'retired'),
    ('deployed', 'retired'),
    ('retired', 'deployed'),
    ('failed', 'training')
  )
$$;

CREATE FUNCTION registry.guard_version_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.model IS DISTINCT FROM OLD.model OR NEW.version IS DISTINCT FROM OLD.version
     OR NEW.spec_hash IS DISTINCT FROM OLD.spec_hash OR NEW.snapshot_hash IS DISTINCT FROM OLD.snapshot_hash
     OR NEW.run_id IS DISTINCT FROM OLD.run_id OR NEW.params IS DISTINCT FROM OLD.params
     OR NEW.code_version IS DISTINCT FROM OLD.code_version OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
    RAISE EXCEPTION 'version % of model % is immutable: its identity, spec, data, parameters and code cannot change',
      OLD.version, OLD.model
      USING HINT = 'Train again: a changed spec or data snapshot makes a new version.';
  END IF;
  IF (OLD.onnx_key IS NOT NULL AND NEW.onnx_key IS DISTINCT FROM OLD.onnx_key)
     OR (OLD.manifest_key IS NOT NULL AND NEW.manifest_key IS DISTINCT FROM OLD.manifest_key)
     OR (OLD.card_key IS NOT NULL AND NEW.card_key IS DISTINCT FROM OLD.card_key)
     OR (OLD.metrics IS NOT NULL AND NEW.metrics IS DISTINCT FROM OLD.metrics)
     OR (OLD.gate_verdicts IS NOT NULL AND NEW.gate_verdicts IS DISTINCT FROM OLD.gate_verdicts)
     OR (OLD.evaluated_at IS NOT NULL AND NEW.evaluated_at IS DISTINCT FROM OLD.evaluated_at) THEN
    RAISE EXCEPTION 'version % of model % already has its artifacts and evaluation recorded; they cannot change',
      OLD.version, OLD.model
      USING HINT = 'Train again: a changed spec or data snapshot makes a new version.';
  END IF;
  IF NEW.status IS DISTINCT FROM OLD.status THEN
    IF NOT registry.version_transition_allowed(OLD.status, NEW.status) THEN
      RAISE EXCEPTION 'version % of model % cannot go from % to %', OLD.version, OLD.model, OLD.status, NEW.status;
    END IF;
    NEW.status_changed_at := now();
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER versions_guard BEFORE UPDATE ON registry.versions
  FOR EACH ROW EXECUTE FUNCTION registry.guard_version_update();

CREATE FUNCTION registry.refuse_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is part of the registry''s history and cannot be deleted', TG_TABLE_NAME
    USING HINT = 'Retire or reject a version instead.';
END
$$;

CREATE TRIGGER versions_keep BEFORE DELETE ON registry.versions
  FOR EACH ROW EXECUTE FUNCTION registry.refuse_delete();

-- Where serving looks: production serves; canary serves a share of the requests; shadow scores
-- alongside production without answering.
CREATE TABLE registry.aliases (
  model         text NOT NULL REFERENCES registry.models (name),
  alias         text NOT NULL CHECK (alias IN ('production', 'canary', 'shadow')),
  version       integer NOT NULL,
  traffic_share double precision CHECK (traffic_share > 0 AND traffic_share < 1),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  updated_by    text NOT NULL CHECK (updated_by <> ''),
  PRIMARY KEY (model, alias),
  FOREIGN KEY (model, version) REFERENCES registry.versions (model, version),
  CONSTRAINT aliases_share_only_for_canary CHECK ((alias = 'canary') = (traffic_share IS NOT NULL))
);

-- Serving listens on kerf_registry and reloads when an alias moves, whoever moved it.
CREATE FUNCTION registry.notify_alias_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  payload jsonb;
BEGIN
  IF TG_OP = 'DELETE' THEN
    payload := jsonb_build_object('event', 'alias-changed', 'model', OLD.model, 'alias', OLD.alias,
      'version', NULL, 'previousVersion', OLD.version, 'trafficShare', NULL, 'updatedBy', NULL, 'at', now());
  ELSE
    payload := jsonb_build_object('event', 'alias-changed', 'model', NEW.model, 'alias', NEW.alias,
      'version', NEW.version, 'previousVersion', CASE WHEN TG_OP = 'UPDATE' THEN OLD.version END,
      'trafficShare', NEW.traffic_share, 'updatedBy', NEW.updated_by, 'at', NEW.updated_at);
  END IF;
  PERFORM pg_notify('kerf_registry', payload::text);
  RETURN NULL;
END
$$;

CREATE TRIGGER aliases_notify AFTER INSERT OR UPDATE OR DELETE ON registry.aliases
  FOR EACH ROW EXECUTE FUNCTION registry.notify_alias_change();

-- Every alias move, so a rollback knows where production was before. version NULL: alias removed.
CREATE TABLE registry.alias_history (
  id               bigserial PRIMARY KEY,
  model            text NOT NULL REFERENCES registry.models (name),
  alias            text NOT NULL CHECK (alias IN ('production', 'canary', 'shadow')),
  kind             text NOT NULL CHECK (kind IN ('move', 'rollback', 'remove')),
  version          integer,
  previous_version integer,
  traffic_share    double precision,
  actor            text NOT NULL CHECK (actor <> ''),
  reason           text NOT NULL CHECK (reason <> ''),
  moved_at         timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (model, version) REFERENCES registry.versions (model, version),
  CONSTRAINT alias_history_version_unless_removed CHECK ((kind = 'remove') = (version IS NULL))
);
CREATE INDEX alias_history_by_alias ON registry.alias_history (model, alias, id);

-- One decision per version by a person (the lifecycle checks them against the spec's approvers).
CREATE TABLE registry.approvals (
  model      text NOT NULL,
  version    integer NOT NULL,
  decision   text NOT NULL CHECK (decision IN ('approved', 'rejected')),
  approver   text NOT NULL CHECK (approver <> ''),
  comment    text,
  decided_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model, version),
  FOREIGN KEY (model, version) REFERENCES registry.versions (model, version)
);

-- Append-only record of every decision: gate verdicts, approvals, status changes, alias moves,
-- rollbacks, signing keys, and later operators' mappings for unseen categories.
CREATE TABLE registry.audit_log (
  id      bigserial PRIMARY KEY,
  at      timestamptz NOT NULL DEFAULT now(),
  actor   text NOT NULL CHECK (actor <> ''),
  action  text NOT NULL CHECK (action ~ '^[a-z]+(-[a-z]+)*$'),
  model   text REFERENCES registry.models (name),
  version integer,
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  FOREIGN KEY (model, version) REFERENCES registry.versions (model, version),
  CONSTRAINT audit_log_version_needs_model CHECK (version IS NULL OR model IS NOT NULL)
);
CREATE INDEX audit_log_by_model ON registry.audit_log (model, id);

CREATE FUNCTION registry.refuse_audit_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'registry.audit_log is append-only: % is refused', TG_OP
    USING HINT = 'Record a correction as a new audit entry.';
END
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON registry.audit_log
  FOR EACH ROW EXECUTE FUNCTION registry.refuse_audit_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON registry.audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION registry.refuse_audit_change();

-- Public halves of the Ed25519 keys that sign artifact manifests; deploy and serving verify with them.
CREATE TABLE registry.signing_keys (
  key_id         text PRIMARY KEY CHECK (key_id <> ''),
  public_key_pem text NOT NULL CHECK (public_key_pem LIKE '-----BEGIN PUBLIC KEY-----%'),
  created_at     timestamptz NOT NULL DEFAULT now()
);
