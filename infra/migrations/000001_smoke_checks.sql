-- A smoke check proves one worker reached PostgreSQL and S3 from a workflow.
-- Keyed by workflow id so a retried activity updates its row instead of adding another.
CREATE TABLE smoke_checks (
  id          bigserial PRIMARY KEY,
  workflow_id text NOT NULL UNIQUE,
  note        text NOT NULL,
  object_key  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
