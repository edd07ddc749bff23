-- Serving: every prediction the API makes (answers and shadow scores), the outcomes that arrive
-- later, and the view that joins the two for monitoring. Written by serving/ in batches, off the
-- request path; outcomes come through POST /v1/outcomes or a SQL query (recordOutcomesFromQuery).
CREATE SCHEMA serving;

-- One row per scored row. output is {"value": n} for regression and {"label": "...",
-- "probabilities": {"label": p, ...}} for classification; warnings is the list the caller got
-- ([{"column", "value", "message"}]). A shadow prediction was never returned: it points at the
-- prediction that answered the same row (shadow_of).
CREATE TABLE serving.predictions (
  prediction_id uuid PRIMARY KEY,
  model         text NOT NULL CHECK (model <> ''),
  version       integer NOT NULL CHECK (version >= 1),
  alias         text NOT NULL CHECK (alias IN ('production', 'canary', 'shadow')),
  key           text,
  inputs        jsonb NOT NULL,
  output        jsonb NOT NULL,
  warnings      jsonb NOT NULL DEFAULT '[]'::jsonb,
  served_at     timestamptz NOT NULL,
  shadow_of     uuid,
  CONSTRAINT predictions_shadow_points_at_answer CHECK ((alias = 'shadow') = (shadow_of IS NOT NULL))
);
CREATE INDEX predictions_by_time ON serving.predictions (model, served_at);
CREATE INDEX predictions_by_key ON serving.predictions (model, key, served_at) WHERE key IS NOT NULL;
CREATE INDEX predictions_by_answer ON serving.predictions (shadow_of) WHERE shadow_of IS NOT NULL;

-- What actually happened, joined to a prediction by its id or by a business key (a job id): a
-- number for regression (actual_value), a class label for classification (actual_label). One
-- outcome per prediction id and per key; sending it again replaces it (a correction).
CREATE TABLE serving.outcomes (
  outcome_id    bigserial PRIMARY KEY,
  model         text NOT NULL REFERENCES registry.models (name),
  prediction_id uuid,
  key           text,
  actual_value  double precision CHECK (actual_value > '-Infinity' AND actual_value < 'Infinity'),
  actual_label  text,
  observed_at   timestamptz NOT NULL DEFAULT now(),
  recorded_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT outcomes_name_a_prediction CHECK (prediction_id IS NOT NULL OR key IS NOT NULL),
  CONSTRAINT outcomes_one_actual CHECK ((actual_value IS NULL) <> (actual_label IS NULL))
);
CREATE UNIQUE INDEX outcomes_by_prediction ON serving.outcomes (model, prediction_id)
  WHERE prediction_id IS NOT NULL;
CREATE UNIQUE INDEX outcomes_by_key ON serving.outcomes (model, key) WHERE prediction_id IS NULL;

-- Each outcome with the prediction that answered it: by prediction id, or else the latest answer
-- (production or canary) for its model and key; plus the shadow predictions of that same row, so
-- a shadow version is judged on the same outcomes. Outcomes with no logged prediction yet are left
-- out until their prediction is written.
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
