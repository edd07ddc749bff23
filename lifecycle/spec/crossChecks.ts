/** Checks that span several fields of a spec, and the defaults derived from other fields. */
import { type z } from 'zod';
import { isTrainerKind, trainerOf } from '../../ml/trainers';
import { tuningSpaceProblems } from './tuning';
import { DEFAULT_PRIMARY_METRIC, type QualityMetric, type SpecObject, TASKS } from './parts';
import { modelTaskOf, type SpecTask } from './metrics';
import { gateRegistry } from '../gates/registry';
import { checkDerivedFeatures, MAX_DERIVED_FEATURES } from '../features/expression';
import { historyCrossCheck } from './history';
import { forecastCrossCheck } from './forecast';
import { isRecord } from './syntax';

/**
 * Checks that span fields. It also runs when some fields failed, so it reads the value defensively and
 * skips whatever is malformed (that already has its own issue).
 */
export function crossCheck(value: unknown, ctx: z.core.$RefinementCtx<SpecObject>): void {
  if (!isRecord(value)) return;
  const issue = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: 'custom', path, message, continue: true });
  const task =
    typeof value.task === 'string' && (TASKS as readonly string[]).includes(value.task)
      ? (value.task as SpecTask)
      : undefined;
  const target = typeof value.target === 'string' ? value.target : undefined;

  // Features: unique names, not the target.
  const featureKinds = new Map<string, unknown>();
  if (Array.isArray(value.features)) {
    value.features.forEach((feature: unknown, index) => {
      if (!isRecord(feature) || typeof feature.name !== 'string') return;
      const name = feature.name;
      if (featureKinds.has(name)) {
        issue(['features', index, 'name'], `"${name}" is listed twice`);
      } else {
        featureKinds.set(name, feature.kind);
      }
      if (name === target) {
        issue(['features', index, 'name'], `"${name}" is the target and cannot also be a feature`);
      }
    });
  }

  // Derived features: names unique and free, expressions well formed, names used only after
  // they are derived (their column types are checked against the source, in sourceCheck.ts).
  // Past the limit the schema refuses the list; its expressions are not parsed at all then.
  if (Array.isArray(value.derived) && value.derived.length <= MAX_DERIVED_FEATURES) {
    const { problems } = checkDerivedFeatures(value.derived, () => ({ kind: 'deferred' }));
    for (const problem of problems) issue(['derived', problem.index, problem.field], problem.message);
    const derivedNames = new Set(
      value.derived.map((derived: unknown) => (isRecord(derived) ? derived.name : undefined)),
    );
    value.derived.forEach((derived: unknown, index) => {
      if (!isRecord(derived) || typeof derived.name !== 'string') return;
      if (derived.name === target) {
        issue(
          ['derived', index, 'name'],
          `"${derived.name}" is the target; give the derived feature another name`,
        );
      }
      if (derived.name === value.timeColumn) {
        issue(
          ['derived', index, 'name'],
          `"${derived.name}" is the time column; give the derived feature another name`,
        );
      }
    });
    if (Array.isArray(value.features)) {
      // A derived feature is a number the features stage builds; the model takes it as one.
      value.features.forEach((feature: unknown, index) => {
        if (!isRecord(feature) || !derivedNames.has(feature.name) || feature.kind === 'numeric') return;
        issue(
          ['features', index, 'kind'],
          `"${String(feature.name)}" is a derived feature, which is a number: list it as numeric`,
        );
      });
    }
  }

  // History features: a time column, free names, keys that do not leak the target.
  historyCrossCheck(value, issue);

  // Forecast: its part, a time column, categorical series keys, an ordered split.
  forecastCrossCheck(value, issue);

  // Segments: unique, each a categorical feature.
  if (Array.isArray(value.segments) && Array.isArray(value.features)) {
    const seen = new Set<string>();
    value.segments.forEach((segment: unknown, index) => {
      if (typeof segment !== 'string') return;
      if (seen.has(segment)) issue(['segments', index], `"${segment}" is listed twice`);
      seen.add(segment);
      if (!featureKinds.has(segment)) {
        issue(['segments', index], `"${segment}" is not a feature; a segment must be a categorical feature`);
      } else if (featureKinds.get(segment) !== 'categorical') {
        issue(
          ['segments', index],
          `"${segment}" is a ${String(featureKinds.get(segment))} feature; a segment must be a categorical feature`,
        );
      }
    });
  }

  if (typeof value.timeColumn === 'string' && value.timeColumn === target) {
    issue(['timeColumn'], `"${value.timeColumn}" is the target and cannot order the rows`);
  }

  // Split: room left for training.
  const split = isRecord(value.split) ? value.split : undefined;
  const hasValidation = typeof split?.validationFraction === 'number';
  if (
    split &&
    typeof split.testFraction === 'number' &&
    typeof split.validationFraction === 'number' &&
    split.testFraction + split.validationFraction >= 0.9
  ) {
    issue(
      ['split', 'validationFraction'],
      'testFraction + validationFraction must be below 0.9 to leave rows for training',
    );
  }

  // Trainer: its entry checks its parameters against the task and the split.
  const trainer = isRecord(value.trainer) ? value.trainer : undefined;
  const params = isRecord(trainer?.params) ? trainer.params : undefined;
  if (isTrainerKind(trainer?.kind) && params) {
    for (const problem of trainerOf(trainer.kind).checkParams?.(params, {
      task: task && modelTaskOf(task),
      // A forecast always holds out the periods before each cut-off for early stopping.
      hasValidation: hasValidation || task === 'forecast',
    }) ?? []) {
      issue(['trainer', 'params', ...problem.path], problem.message);
    }
  }

  // Tuning: the space names the trainer's parameters, within the trainer's ranges.
  const tuning = isRecord(value.tuning) ? value.tuning : undefined;
  if (tuning && task === 'forecast') {
    issue(
      ['tuning'],
      'applies to regression and classification models; a forecast is judged on its rolling-origin backtest: remove it',
    );
  }
  if (tuning && isRecord(tuning.space) && isTrainerKind(trainer?.kind)) {
    for (const problem of tuningSpaceProblems(trainerOf(trainer.kind), tuning.space)) {
      issue(['tuning', 'space', ...problem.path], problem.message);
    }
  }

  // Gates: each gate's own checks against the task, at `gates.<name>`.
  const gates = isRecord(value.gates) ? value.gates : undefined;
  for (const gate of gateRegistry.gates) {
    gate.crossCheck?.(gates?.[gate.name], task, (path, message) =>
      issue(['gates', gate.name, ...path], message),
    );
  }

  // Deploy: canaryShare with canary only.
  const deploy = isRecord(value.deploy) ? value.deploy : undefined;
  if (deploy?.strategy === 'canary' && deploy.canaryShare === undefined) {
    issue(['deploy', 'canaryShare'], 'required for the canary strategy: the share of requests, in (0, 1)');
  }
  if ((deploy?.strategy === 'replace' || deploy?.strategy === 'shadow') && deploy.canaryShare !== undefined) {
    issue(['deploy', 'canaryShare'], `only applies to the canary strategy, not ${deploy.strategy}`);
  }
  // The canary's bound and the shadow's tolerance, each with its own strategy only.
  const strategyOnly = {
    canaryMaxErrorRatio: 'canary',
    canaryMinOutcomes: 'canary',
    shadowTolerance: 'shadow',
  };
  const strategy = deploy?.strategy;
  if (deploy && (strategy === 'replace' || strategy === 'canary' || strategy === 'shadow')) {
    for (const [field, only] of Object.entries(strategyOnly)) {
      if (deploy[field] !== undefined && strategy !== only) {
        issue(['deploy', field], `only applies to the ${only} strategy, not ${strategy}`);
      }
    }
  }

  // Outcomes: joined to served predictions by key, which a forecast does not have.
  if (task === 'forecast' && value.outcomes !== undefined) {
    issue(
      ['outcomes'],
      'applies to regression and classification models; a forecast learns its actuals from the periods its source brings in: remove it',
    );
  }

  // Batch scoring scores rows; a forecast forecasts periods.
  if (task === 'forecast' && value.scoring !== undefined) {
    issue(
      ['scoring'],
      'applies to regression and classification models; a forecast answers by series and period (POST /v1/models/:name/forecast): remove it',
    );
  }

  // Approvers: unique.
  const approval = isRecord(value.approval) ? value.approval : undefined;
  if (Array.isArray(approval?.approvers)) {
    const seen = new Set<unknown>();
    approval.approvers.forEach((approver: unknown, index) => {
      if (seen.has(approver))
        issue(['approval', 'approvers', index], `"${String(approver)}" is listed twice`);
      seen.add(approver);
    });
  }
}

/** Fills the defaults that depend on other fields: the trainer's (the gbdt loss) and the primary quality metric. */
export function resolveDerivedDefaults(spec: SpecObject) {
  const entry = trainerOf(spec.trainer.kind);
  const trainer = entry.resolveParams
    ? ({
        ...spec.trainer,
        params: entry.resolveParams(spec.trainer.params, modelTaskOf(spec.task)),
      } as typeof spec.trainer)
    : spec.trainer;
  const quality = spec.gates.quality;
  const primaryMetric: QualityMetric =
    quality.primaryMetric ?? quality.thresholds[0]?.metric ?? DEFAULT_PRIMARY_METRIC[spec.task];
  return { ...spec, trainer, gates: { ...spec.gates, quality: { ...quality, primaryMetric } } };
}
