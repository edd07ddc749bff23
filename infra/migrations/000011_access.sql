-- People and keys: users with roles and the models they may act on, their CLI keys, the service
-- tokens of API clients, one-time decision codes, and who started each lifecycle run. Secrets are
-- stored as scrypt hashes (with salt and parameters); only the id prefix of a secret is stored clear,
-- so a lookup is by id and scrypt runs once per attempt. Nothing here is ever deleted: a user is
-- disabled, a key or token revoked, a code used or expired.
CREATE SCHEMA access;

CREATE TABLE access.users (
  name text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9._-]{0,62}$'),
  display_name text NOT NULL DEFAULT '' CHECK (length(display_name) <= 200),
  -- admin (users, tokens, keys), starter (start runs), approver (approve/reject the models below),
  -- operator (teach, roll back the models below), reader (read only).
  roles text[] NOT NULL CHECK (
    cardinality(roles) >= 1 AND roles <@ ARRAY['admin', 'starter', 'approver', 'operator', 'reader']
  ),
  -- Pipeline names, or '*' for every model.
  models text[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL,
  disabled_at timestamptz
);

CREATE TABLE access.user_keys (
  key_id text PRIMARY KEY CHECK (key_id ~ '^[a-z2-7]{10}$'),
  user_name text NOT NULL REFERENCES access.users (name),
  -- scrypt:<N>:<r>:<p>:<salt>:<hash>
  secret_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  last_used_at timestamptz
);
CREATE INDEX user_keys_user ON access.user_keys (user_name);

CREATE TABLE access.service_tokens (
  token_id text PRIMARY KEY CHECK (token_id ~ '^[a-z2-7]{10}$'),
  name text NOT NULL UNIQUE CHECK (name ~ '^[a-z][a-z0-9._-]{0,62}$'),
  scopes text[] NOT NULL CHECK (
    cardinality(scopes) >= 1 AND scopes <@ ARRAY['predict', 'outcomes', 'read', 'admin']
  ),
  secret_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL,
  revoked_at timestamptz,
  last_used_at timestamptz
);

CREATE TABLE access.decision_codes (
  code_id text PRIMARY KEY CHECK (code_id ~ '^[a-z2-7]{8}$'),
  secret_hash text NOT NULL,
  run_id text NOT NULL,
  model text NOT NULL,
  version integer NOT NULL CHECK (version >= 1),
  action text NOT NULL CHECK (action IN ('approve', 'reject', 'rollback')),
  user_name text NOT NULL REFERENCES access.users (name),
  -- How the person proved who they are when the code was issued and will be used.
  authenticated_by text NOT NULL CHECK (authenticated_by IN ('cli-key', 'approval-code')),
  issued_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  -- Wrong secrets tried against this code id; at 5 the code is locked.
  failed_attempts integer NOT NULL DEFAULT 0,
  used_at timestamptz,
  -- The activity that redeemed it, so a retried activity redeems the same code again.
  used_in text
);
CREATE INDEX decision_codes_run ON access.decision_codes (run_id);
-- One decision per run, enforced by the database: a second valid code cannot decide again.
CREATE UNIQUE INDEX decision_codes_one_decision ON access.decision_codes (run_id)
  WHERE used_at IS NOT NULL AND action IN ('approve', 'reject');
CREATE UNIQUE INDEX decision_codes_one_rollback ON access.decision_codes (run_id)
  WHERE used_at IS NOT NULL AND action = 'rollback';

CREATE TABLE access.run_starters (
  run_id text PRIMARY KEY,
  user_name text NOT NULL REFERENCES access.users (name),
  authenticated_by text NOT NULL CHECK (authenticated_by IN ('cli-key')),
  started_at timestamptz NOT NULL DEFAULT now()
);

-- The application reads and appends; it changes only the columns that record a state change.
GRANT USAGE ON SCHEMA access TO kerf_app;
GRANT SELECT, INSERT ON access.users, access.user_keys, access.service_tokens, access.decision_codes,
  access.run_starters TO kerf_app;
GRANT UPDATE (disabled_at) ON access.users TO kerf_app;
GRANT UPDATE (revoked_at, last_used_at) ON access.user_keys TO kerf_app;
GRANT UPDATE (revoked_at, last_used_at) ON access.service_tokens TO kerf_app;
GRANT UPDATE (failed_attempts, used_at, used_in) ON access.decision_codes TO kerf_app;
