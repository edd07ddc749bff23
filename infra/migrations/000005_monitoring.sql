-- Nightly monitoring: one report per production model and night, and what operators taught serving
-- about categories a model has not seen yet.
CREATE SCHEMA monitoring;

CREATE TABLE monitoring.reports (
  report_id      bigserial PRIMARY KEY,
  model          text NOT NULL,
  version        integer NOT NULL,
  run_id         text NOT NULL,               -- the nightly workflow's id
  window_from    timestamptz NOT NULL,
  window_to      timestamptz NOT NULL,
  predictions    integer NOT NULL,
  labelled       integer NOT NULL,
  stale          boolean NOT NULL,
  alarms         jsonb NOT NULL,              -- one sentence per alarm
  report         jsonb NOT NULL,              -- the whole report
  html_key       text NOT NULL,               -- the page in S3
  created_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (run_id, model)
);
CREATE INDEX reports_model_window ON monitoring.reports (model, window_to DESC);

-- `kerf teach <model> <column> <value> --like <known>`: until a version trained on the value serves,
-- serving treats it like a known category, says so in its answers, and the audit log records who
-- taught what. A deploy of a version that knows the value retires the mapping.
CREATE TABLE monitoring.category_mappings (
  mapping_id   bigserial PRIMARY KEY,
  model        text NOT NULL,
  column_name  text NOT NULL,
  unseen_value text NOT NULL,
  like_value   text NOT NULL,
  taught_by    text NOT NULL,
  taught_at    timestamptz NOT NULL DEFAULT now(),
  retired_at   timestamptz,
  retired_by_version integer,
  CHECK (unseen_value <> like_value)
);
CREATE UNIQUE INDEX category_mappings_active ON monitoring.category_mappings (model, column_name, unseen_value)
  WHERE retired_at IS NULL;
