-- Retention: the prediction log partitioned by month, so whole months older than the retention
-- setting are dropped at once, and the record of what garbage collection (`kerf gc`, the nightly
-- check) removed from the object store.
--
-- serving.predictions becomes a table partitioned by range on served_at: one partition per UTC month
-- (serving.predictions_YYYY_MM) and a DEFAULT partition (serving.predictions_default), so an insert
-- never fails for want of its month. serving.maintain_prediction_partitions, which serving runs at
-- start and the nightly check and `kerf gc` run with the retention setting, makes the partitions of
-- this month and the months ahead, moves the rows the default partition caught into their month,
-- and drops whole months older than the retention (each drop audited).
--
-- A partitioned table's primary key must hold the partition key: (prediction_id, served_at).
-- Prediction ids are random UUIDs serving draws, and the log's retried writes carry the same
-- served_at, so a prediction is still written once. No foreign key points at serving.predictions
-- (an outcome names its prediction by id or by key, a shadow score its answer by id), so the table is
-- swapped under the view that joins them, which is made again as 000004 made it.

DROP VIEW serving.labelled_predictions;
ALTER TABLE serving.predictions RENAME TO predictions_before_partitioning;
-- Its constraint and index names go to the new table.
ALTER TABLE serving.predictions_before_partitioning DROP CONSTRAINT predictions_pkey;
DROP INDEX serving.predictions_by_time;
DROP INDEX serving.predictions_by_key;
DROP INDEX serving.predictions_by_answer;

-- As 000004 made it, partitioned by month of served_at.
CREATE TABLE serving.predictions (
  prediction_id uuid NOT NULL,
  model         text NOT NULL CHECK (model <> ''),
  version       integer NOT NULL CHECK (version >= 1),
  alias         text NOT NULL CHECK (alias IN ('production', 'canary', 'shadow')),
  key           text,
  inputs        jsonb NOT NULL,
  output        jsonb NOT NULL,
  warnings      jsonb NOT NULL DEFAULT '[]'::jsonb,
  served_at     timestamptz NOT NULL,
  shadow_of     uuid,
  CONSTRAINT predictions_shadow_points_at_answer CHECK ((alias = 'shadow') = (shadow_of IS NOT NULL)),
  PRIMARY KEY (prediction_id, served_at)
) PARTITION BY RANGE (served_at);
CREATE INDEX predictions_by_time ON serving.predictions (model, served_at);
CREATE INDEX predictions_by_key ON serving.predictions (model, key, served_at) WHERE key IS NOT NULL;
CREATE INDEX predictions_by_answer ON serving.predictions (shadow_of) WHERE shadow_of IS NOT NULL;

-- Rows of a month without its partition land here until maintenance moves them.
CREATE TABLE serving.predictions_default PARTITION OF serving.predictions DEFAULT;

-- The partition of the UTC month starting at month_start, made unless it exists. Rows the default
-- partition holds for that month move into it first (attaching fails while the default holds any).
-- Writers of the log wait meanwhile (readers do not), so no row lands in the default partition
-- between the move and the attach. Not granted to anyone: maintain_prediction_partitions calls it.
CREATE FUNCTION serving.add_prediction_month(month_start timestamptz, OUT partition_name text, OUT moved bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC' AS $$
DECLARE
  month_end timestamptz := month_start + interval '1 month';
BEGIN
  IF month_start IS DISTINCT FROM date_trunc('month', month_start) THEN
    RAISE EXCEPTION 'a month partition starts at the first of a month (UTC), not at %', month_start;
  END IF;
  partition_name := 'predictions_' || to_char(month_start, 'YYYY_MM');
  moved := 0;
  IF to_regclass('serving.' || partition_name) IS NOT NULL THEN
    RETURN;
  END IF;
  LOCK TABLE serving.predictions IN SHARE ROW EXCLUSIVE MODE;
  EXECUTE format('CREATE TABLE serving.%I (LIKE serving.predictions INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                 partition_name);
  EXECUTE format('WITH gone AS (DELETE FROM serving.predictions_default WHERE served_at >= $1 AND served_at < $2 RETURNING *)
                  INSERT INTO serving.%I SELECT * FROM gone', partition_name)
    USING month_start, month_end;
  GET DIAGNOSTICS moved = ROW_COUNT;
  EXECUTE format('ALTER TABLE serving.predictions ATTACH PARTITION serving.%I FOR VALUES FROM (%L) TO (%L)',
                 partition_name, month_start, month_end);
END
$$;
REVOKE ALL ON FUNCTION serving.add_prediction_month(timestamptz) FROM PUBLIC;

-- Keeps the prediction log's partitions, one action per row:
-- - `create`: the partitions of this month and the next months_ahead, and of any month the default
--   partition caught rows of (rows = the rows moved into it);
-- - `expire`: with a retention, the default partition's rows older than retention_months (deleted);
-- - `drop`: with a retention, each month partition whose whole month is older than retention_months
--   (rows = the rows it held).
-- Every prediction younger than retention_months is kept. Each `expire` and `drop` is audited as
-- `actor`. With dry_run nothing changes: the rows say what would be done. The application role may
-- run it (the retention comes from Kerf's configuration); it can do nothing else to the partitions.
CREATE FUNCTION serving.maintain_prediction_partitions(
  months_ahead integer, retention_months integer, actor text, dry_run boolean
) RETURNS TABLE (action text, partition_name text, range_from timestamptz, range_to timestamptz, row_count bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC' AS $$
DECLARE
  this_month timestamptz := date_trunc('month', now());
  cutoff timestamptz;
  month_start timestamptz;
  part record;
  counted bigint;
  made record;
BEGIN
  IF months_ahead IS NULL OR months_ahead < 0 OR months_ahead > 24 THEN
    RAISE EXCEPTION 'months_ahead must be 0 to 24, got %', months_ahead;
  END IF;
  IF retention_months IS NOT NULL AND (retention_months < 1 OR retention_months > 1200) THEN
    RAISE EXCEPTION 'retention_months must be 1 to 1200 (or null: keep everything), got %', retention_months;
  END IF;
  IF actor IS NULL OR btrim(actor) = '' THEN
    RAISE EXCEPTION 'actor must say who maintains the partitions';
  END IF;
  IF dry_run IS NULL THEN
    RAISE EXCEPTION 'dry_run must be true or false';
  END IF;
  -- One maintainer at a time: serving at start, the nightly checks of several models, kerf gc.
  PERFORM pg_advisory_xact_lock(hashtext('kerf: serving.predictions partitions'));
  -- A long reader must not hold the log's writers up behind a waiting drop: give up, try next night.
  PERFORM set_config('lock_timeout', '10s', true);
  IF retention_months IS NOT NULL THEN
    cutoff := now() - make_interval(months => retention_months);
    SELECT count(*) INTO counted FROM serving.predictions_default WHERE served_at < cutoff;
    IF counted > 0 THEN
      IF NOT dry_run THEN
        DELETE FROM serving.predictions_default WHERE served_at < cutoff;
        INSERT INTO registry.audit_log (actor, action, details)
        VALUES (actor, 'prediction-rows-expired', jsonb_build_object(
          'partition', 'predictions_default', 'before', cutoff, 'rows', counted,
          'retentionMonths', retention_months));
      END IF;
      action := 'expire'; partition_name := 'predictions_default';
      range_from := NULL; range_to := cutoff; row_count := counted;
      RETURN NEXT;
    END IF;
  END IF;
  FOR month_start IN
    SELECT this_month + make_interval(months => ahead) FROM generate_series(0, months_ahead) AS ahead
    UNION
    SELECT DISTINCT date_trunc('month', served_at) FROM serving.predictions_default
     WHERE cutoff IS NULL OR served_at >= cutoff
    ORDER BY 1
  LOOP
    IF to_regclass('serving.predictions_' || to_char(month_start, 'YYYY_MM')) IS NOT NULL THEN
      CONTINUE;
    END IF;
    IF dry_run THEN
      SELECT count(*) INTO counted FROM serving.predictions_default
       WHERE served_at >= month_start AND served_at < month_start + interval '1 month'
         AND (cutoff IS NULL OR served_at >= cutoff);
      partition_name := 'predictions_' || to_char(month_start, 'YYYY_MM');
    ELSE
      made := serving.add_prediction_month(month_start);
      partition_name := made.partition_name;
      counted := made.moved;
    END IF;
    action := 'create'; range_from := month_start; range_to := month_start + interval '1 month';
    row_count := counted;
    RETURN NEXT;
  END LOOP;
  IF retention_months IS NULL THEN
    RETURN;
  END IF;
  FOR part IN
    SELECT c.relname AS name, bounds.range_from, bounds.range_to
      FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
      CROSS JOIN LATERAL (
        SELECT substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM \(''([^'']+)''\)')::timestamptz AS range_from,
               substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \(''([^'']+)''\)')::timestamptz AS range_to
      ) bounds
     WHERE i.inhparent = 'serving.predictions'::regclass AND c.relnamespace = 'serving'::regnamespace
       AND bounds.range_to IS NOT NULL
       AND bounds.range_to <= cutoff
     ORDER BY bounds.range_from
  LOOP
    EXECUTE format('SELECT count(*) FROM serving.%I', part.name) INTO counted;
    IF NOT dry_run THEN
      EXECUTE format('DROP TABLE serving.%I', part.name);
      INSERT INTO registry.audit_log (actor, action, details)
      VALUES (actor, 'prediction-partition-dropped', jsonb_build_object(
        'partition', part.name, 'from', part.range_from, 'to', part.range_to, 'rows', counted,
        'retentionMonths', retention_months));
    END IF;
    action := 'drop'; partition_name := part.name;
    range_from := part.range_from; range_to := part.range_to; row_count := counted;
    RETURN NEXT;
  END LOOP;
END
$$;
REVOKE ALL ON FUNCTION serving.maintain_prediction_partitions(integer, integer, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION serving.maintain_prediction_partitions(integer, integer, text, boolean) TO kerf_app;

-- The months the existing rows fall in, this month and the next three; then the rows move over.
SELECT serving.add_prediction_month(months.month_start)
  FROM (SELECT DISTINCT date_trunc('month', served_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS month_start
          FROM serving.predictions_before_partitioning) months;
SELECT count(*) FROM serving.maintain_prediction_partitions(3, NULL, 'migration 000016', false);
INSERT INTO serving.predictions
  (prediction_id, model, version, alias, key, inputs, output, warnings, served_at, shadow_of)
SELECT prediction_id, model, version, alias, key, inputs, output, warnings, served_at, shadow_of
  FROM serving.predictions_before_partitioning;
DROP TABLE serving.predictions_before_partitioning;

-- As 000004 made it: each outcome with the prediction that answered it (by id, or else the latest
-- answer for its model and key), plus the shadow predictions of that same row.
CREATE VIEW serving.labelled_predictions AS
WITH answered AS (
  SELECT o.outcome_id, p.prediction_id, 'prediction-id'::text AS matched_by
  FROM serving.outcomes o
  JOIN serving.predictions p ON p.prediction_id = o.prediction_id AND p.model = o.model
  WHERE p.alias <> 'shadow'
  UNION ALL
  SELECT o.outcome_id, latest.prediction_id, 'key'::text
  FROM serving.outcomes o
  CROSS JOIN LATERAL (
    SELECT p.prediction_id FROM serving.predictions p
    WHERE p.model = o.model AND p.key = o.key AND p.alias <> 'shadow'
    ORDER BY p.served_at DESC, p.prediction_id DESC
    LIMIT 1
  ) latest
  WHERE o.prediction_id IS NULL
),
scored AS (
  SELECT a.outcome_id, a.matched_by, a.prediction_id AS answered_by, a.prediction_id FROM answered a
  UNION ALL
  SELECT a.outcome_id, a.matched_by, a.prediction_id, s.prediction_id
  FROM answered a JOIN serving.predictions s ON s.shadow_of = a.prediction_id
)
SELECT
  o.outcome_id,
  o.model,
  p.prediction_id,
  sc.answered_by,
  p.version,
  p.alias,
  coalesce(o.key, p.key) AS key,
  p.inputs,
  p.output,
  (p.output ->> 'value')::double precision AS predicted_value,
  p.output ->> 'label' AS predicted_label,
  o.actual_value,
  o.actual_label,
  p.warnings,
  p.served_at,
  o.observed_at,
  o.recorded_at,
  sc.matched_by
FROM scored sc
JOIN serving.outcomes o ON o.outcome_id = sc.outcome_id
JOIN serving.predictions p ON p.prediction_id = sc.prediction_id;

-- 000007's grants, again for the new table and view; the partitions are reached through the table.
GRANT SELECT, INSERT ON serving.predictions TO kerf_app;
GRANT SELECT ON serving.labelled_predictions TO kerf_app;

-- What garbage collection removed from the object store, one row per object: the version it belonged
-- to (null for an object no version was made from), why, and who removed it. Rollback, serving and
-- the model card read it to say that a version's artifacts were collected rather than lost. A
-- version collected and then trained again (failed -> training) has new artifacts: a collection
-- counts only when it is later than the version's last status change. Appended, never changed.
CREATE TABLE registry.collected_objects (
  collected_id bigserial PRIMARY KEY,
  model        text NOT NULL REFERENCES registry.models (name),
  version      integer,
  object_key   text NOT NULL CHECK (object_key <> ''),
  bytes        bigint NOT NULL CHECK (bytes >= 0),
  reason       text NOT NULL CHECK (reason <> ''),
  collected_by text NOT NULL CHECK (collected_by <> ''),
  collected_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (model, version) REFERENCES registry.versions (model, version)
);
CREATE INDEX collected_objects_by_version ON registry.collected_objects (model, version, collected_at);

GRANT SELECT, INSERT ON registry.collected_objects TO kerf_app;
GRANT USAGE ON SEQUENCE registry.collected_objects_collected_id_seq TO kerf_app;
