-- What Kerf told people and how it reached them: one row per announcement (approval requested, a
-- reminder, the deadline reached, deployed, rolled back, the nightly check's news), keyed so that a
-- retried activity announces the same event once, and one row per attempt to post it to each
-- webhook (the URL without credentials or query), delivered or with why not.
CREATE TABLE registry.announcements (
  announcement_id bigserial PRIMARY KEY,
  event           text NOT NULL CHECK (event ~ '^[a-z]+(-[a-z]+)*$'),
  model           text NOT NULL,
  version         integer,
  dedupe_key      text NOT NULL UNIQUE CHECK (dedupe_key <> ''),
  body            jsonb NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX announcements_by_model ON registry.announcements (model, announcement_id);

CREATE TABLE registry.announcement_deliveries (
  delivery_id     bigserial PRIMARY KEY,
  announcement_id bigint NOT NULL REFERENCES registry.announcements,
  url             text NOT NULL,
  attempt         integer NOT NULL CHECK (attempt >= 1),
  delivered       boolean NOT NULL,
  http_status     integer,
  error           text CHECK (length(error) <= 500),
  at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX announcement_deliveries_by_announcement ON registry.announcement_deliveries (announcement_id);

-- History: added, never changed.
GRANT SELECT, INSERT ON registry.announcements, registry.announcement_deliveries TO kerf_app;
GRANT USAGE ON SEQUENCE registry.announcements_announcement_id_seq,
  registry.announcement_deliveries_delivery_id_seq TO kerf_app;
