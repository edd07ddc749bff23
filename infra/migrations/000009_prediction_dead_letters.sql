-- Predictions the log could not write (PostgreSQL refused the row itself: a value it cannot store, a
-- nesting too deep for jsonb). Each is set aside here with the reason, so it never blocks the rows
-- behind it and an operator can see what was lost. The excerpt is the start of the row's JSON, cut to
-- a few thousand characters; it is not the row.
CREATE TABLE serving.prediction_dead_letters (
  dead_letter_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  prediction_id  uuid,
  model          text NOT NULL,
  version        integer,
  reason         text NOT NULL CHECK (length(reason) <= 1000),
  excerpt        text NOT NULL CHECK (length(excerpt) <= 4000),
  failed_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX prediction_dead_letters_by_time ON serving.prediction_dead_letters (failed_at);

-- Serving writes and reads them (for /v1/status); nothing updates or deletes them at run time.
GRANT USAGE ON SCHEMA serving TO kerf_app;
GRANT SELECT, INSERT ON serving.prediction_dead_letters TO kerf_app;
GRANT USAGE ON SEQUENCE serving.prediction_dead_letters_dead_letter_id_seq TO kerf_app;
