-- A version is made by its model's definition, not by every word of its spec: `model_hash` covers
-- the spec fields that change the model (lifecycle/spec/versionHash.ts), and a run whose spec
-- differs only in the others (description, segments, gates, approval, deploy, monitoring, outcomes)
-- on the same data finds the version and records a revision of it here, which applies without
-- retraining. Versions made before take their spec hash as their model hash: a spec unchanged since
-- still finds them.
ALTER TABLE registry.versions ADD COLUMN model_hash text;
UPDATE registry.versions SET model_hash = spec_hash;
ALTER TABLE registry.versions ALTER COLUMN model_hash SET NOT NULL;
ALTER TABLE registry.versions ADD CONSTRAINT versions_model_hash_set CHECK (model_hash <> '');
CREATE UNIQUE INDEX versions_by_model_hash ON registry.versions (model, model_hash, snapshot_hash);

-- The model hash is part of a version's identity, as immutable as its spec hash.
CREATE OR REPLACE FUNCTION registry.guard_version_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.model IS DISTINCT FROM OLD.model OR NEW.version IS DISTINCT FROM OLD.version
     OR NEW.spec_hash IS DISTINCT FROM OLD.spec_hash OR NEW.model_hash IS DISTINCT FROM OLD.model_hash OR NEW.snapshot_hash IS DISTINCT FROM OLD.snapshot_hash
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

CREATE TABLE registry.spec_revisions (
  model              text NOT NULL,
  version            integer NOT NULL,
  revision           integer NOT NULL CHECK (revision >= 1),
  spec_hash          text NOT NULL CHECK (spec_hash ~ '^[0-9a-f]{64}$'),
  previous_spec_hash text NOT NULL CHECK (previous_spec_hash ~ '^[0-9a-f]{64}$'),
  -- The top-level spec fields that changed, e.g. ["description", "monitoring"].
  fields             jsonb NOT NULL CHECK (jsonb_typeof(fields) = 'array'),
  revised_by         text NOT NULL CHECK (revised_by <> ''),
  revised_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model, version, revision),
  FOREIGN KEY (model, version) REFERENCES registry.versions (model, version)
);

-- Revisions are history: added, never changed.
GRANT SELECT, INSERT ON registry.spec_revisions TO kerf_app;
