/**
 * `kerf run`, `kerf status`, `kerf approve`, `kerf reject`, `kerf approval-code`, `kerf rollback`:
 * people and lifecycle runs. Every decision is taken as the logged-in person: the CLI issues itself
 * a one-time code for that run, version and decision, and the run's decision activity redeems it.
 */
import path from 'node:path';
import {
  Client,
  type Connection,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import type { Command } from 'commander';
import type pg from 'pg';
import {
  type CodeAction,
  type Identity,
  issueDecisionCode,
  recordRunStarter,
  requireRole,
  endCanaryAs,
  rollbackProductionAs,
} from '../../access';
import { RegistryError } from '../../registry/errors';
import { announceTo } from '../../activities/announcements';
import { loadConfig, type KerfConfig } from '../../platform/config';
import {
  followRun,
  type LifecycleHandle,
  lifecycleStatus,
  lifecycleWorkflowId,
  startLifecycle,
  type TrainingProgress,
} from '../../workflows/client/lifecycleRuns';
import { defaultPaths } from '../../platform/paths';
import { loadPipelineSpec } from '../../lifecycle/spec';
import type { LifecycleStatus } from '../../workflows/lifecycleTypes';
import { decideUpdate, rollbackUpdate } from '../../workflows/lifecycleMessages';
import { isShownMetric } from '../../ml/metrics';
import type { modelLifecycle } from '../../workflows/modelLifecycle';
import { AS_REMOVED, asLoggedIn } from './login';
import { connectTemporalClient } from '../../platform/temporalConnection';

/** A lifecycle command that failed in a way a person can act on; printed as one line. */
export class LifecycleCommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LifecycleCommandError';
  }
}

/** The Web UI page of one workflow execution. */
export function workflowUiUrl(config: KerfConfig, workflowId: string): string {
  const { uiUrl, namespace } = config.temporal;
  return `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/** Runs `work` with a Temporal client, or fails in one line saying how to start the stack. */
export async function withClient<T>(work: (client: Client, config: KerfConfig) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env, defaultPaths);
  let connection: Connection;
  try {
    connection = await connectTemporalClient(config.temporal, { connectTimeout: '5 seconds' });
  } catch (error) {
    throw new LifecycleCommandError(
      `cannot reach Temporal at ${config.temporal.address} (${error instanceof Error ? error.message : String(error)}); start the stack with \`kerf stack up\` or check TEMPORAL_ADDRESS.`,
    );
  }
  try {
    return await work(new Client({ connection, namespace: config.temporal.namespace }), config);
  } finally {
    await connection.close();
  }
}

async function existingRun(client: Client, runId: string): Promise<LifecycleHandle> {
  const handle = client.workflow.getHandle<typeof modelLifecycle>(runId);
  try {
    await handle.describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) {
      throw new LifecycleCommandError(
        `no lifecycle run ${runId}; \`kerf status\` lists none by name yet, so copy the id \`kerf run\` printed.`,
      );
    }
    throw error;
  }
  return handle;
}

/**
 * Training progress on one line that rewrites itself in a terminal; elsewhere (a pipe, CI) one
 * line per tenth of the iterations.
 */
class TrainingLine {
  private shown = false;
  private lastTenth = -1;

  show(progress: TrainingProgress): void {
    const total = progress.totalIterations ?? 0;
    const loss =
      progress.validationLoss !== undefined
        ? `, validation loss ${Number(progress.validationLoss.toPrecision(4))}`
        : progress.trainLoss !== undefined
          ? `, training loss ${Number(progress.trainLoss.toPrecision(4))}`
          : '';
    const retry = progress.attempt > 1 ? ` (attempt ${progress.attempt})` : '';
    const text = `    iteration ${progress.iteration ?? 0}${total ? ` of ${total}` : ''}${loss}${retry}`;
    if (process.stdout.isTTY) {
      process.stdout.write(`\r${text.padEnd(78)}`);
      this.shown = true;
      return;
    }
    const tenth = total ? Math.floor(((progress.iteration ?? 0) / total) * 10) : 0;
    if (tenth > this.lastTenth) {
      this.lastTenth = tenth;
      console.log(text);
    }
  }

  end(): void {
    if (this.shown) process.stdout.write('\n');
    this.shown = false;
  }
}

/** The lines `kerf status` prints for a run. */
export function describeStatus(status: LifecycleStatus, config: KerfConfig, runId: string): string[] {
  const lines = [
    `${status.pipeline}: ${status.stage}${status.version ? ` (version ${status.version})` : ''}`,
  ];
  if (status.snapshot)
    lines.push(`  data: ${status.snapshot.rows} rows, snapshot ${status.snapshot.sha256.slice(0, 12)}`);
  if (status.metrics) {
    const shown = Object.entries(status.metrics)
      .filter(([name]) => isShownMetric(name))
      .map(([name, value]) => `${name} ${Number(value.toPrecision(4))}`);
    lines.push(`  test metrics: ${shown.join(', ')}`);
  }
  if (status.champion) {
    lines.push(
      status.champion.comparable
        ? `  champion: version ${status.champion.version}`
        : `  champion: version ${status.champion.version}, not comparable (${status.champion.reason ?? ''})`,
    );
  }
  for (const verdict of status.verdicts) {
    lines.push(
      `  ${verdict.gate} gate: ${verdict.passed ? 'passed' : `FAILED: ${verdict.failed.join('; ')}`}`,
    );
  }
  if (status.cardKey) lines.push(`  model card: s3 object ${status.cardKey}`);
  for (const warning of status.warnings) lines.push(`  data warning: ${warning}`);
  if (status.approval && status.stage === 'awaiting-approval') {
    lines.push(
      `  waiting for one of: ${status.approval.approvers.join(', ')} (until ${status.approval.deadlineAt})`,
    );
    lines.push(`  approve here, logged in as an approver: npx kerf approve ${runId}`);
    lines.push(
      `  or in the Web UI: npx kerf approval-code ${runId}, then ${workflowUiUrl(config, runId)} -> Send a Signal "approve" with {"code": "kc_...", "comment": "..."}`,
    );
  }
  if (status.approval?.refusedCount)
    lines.push(
      `  refused decisions: ${status.approval.refusedCount} (kerf status --json shows the last ones)`,
    );
  if (status.approval?.decision) {
    const how = status.approval.authenticatedBy ? ` (${status.approval.authenticatedBy})` : '';
    lines.push(`  ${status.approval.decision} by ${status.approval.approver ?? '?'}${how}`);
  }
  if (status.deployed)
    lines.push(`  serving: ${status.deployed.alias} -> version ${status.deployed.version}`);
  if (status.reason) lines.push(`  ${status.reason}`);
  return lines;
}

/** The stage a decision needs, and how long the CLI's own code lives at most. */
const CODE_STAGE: Record<CodeAction, string> = {
  approve: 'awaiting-approval',
  reject: 'awaiting-approval',
  rollback: 'deployed',
};
const CLI_CODE_MINUTES = 10;

/**
 * Issues a one-time code for the logged-in person's decision on a run's current version. The code
 * expires with the approval deadline (and, for the CLI's own use, within ten minutes).
 */
export async function codeForRun(
  pool: pg.Pool,
  handle: LifecycleHandle,
  identity: Identity,
  action: CodeAction,
  authenticatedBy: 'cli-key' | 'approval-code',
): Promise<{ code: string; status: LifecycleStatus; expiresAt: Date }> {
  const status = await lifecycleStatus(handle);
  if (status.stage !== CODE_STAGE[action] || status.version === undefined) {
    throw new LifecycleCommandError(
      `run ${handle.workflowId} is at stage ${status.stage}; a ${action} needs it ${CODE_STAGE[action]}`,
    );
  }
  const soon = Date.now() + CLI_CODE_MINUTES * 60_000;
  const deadline = status.approval ? new Date(status.approval.deadlineAt).getTime() : soon;
  const expiresAt = new Date(
    action === 'rollback' ? soon : authenticatedBy === 'cli-key' ? Math.min(deadline, soon) : deadline,
  );
  const issued = await issueDecisionCode(pool, {
    identity,
    runId: handle.workflowId,
    model: status.pipeline,
    version: status.version,
    action,
    expiresAt,
    authenticatedBy,
  });
  return { code: issued.code, status, expiresAt };
}

function refusedLine(error: unknown): never {
  if (error instanceof WorkflowUpdateFailedError) {
    throw new LifecycleCommandError(`refused: ${error.cause?.message ?? error.message}`);
  }
  if (error instanceof RegistryError) throw new LifecycleCommandError(`refused: ${error.message}`);
  throw error;
}

/** A `--to` version number, or a clear refusal. */
function versionNumberOption(text: string): number {
  const version = Number(text);
  if (!/^[0-9]{1,9}$/.test(text) || version < 1) {
    throw new LifecycleCommandError(
      `--to must be a version number such as 3, got ${JSON.stringify(text).slice(0, 40)}`,
    );
  }
  return version;
}

async function decide(
  runId: string,
  decision: 'approve' | 'reject',
  comment: string | undefined,
  asJson: boolean,
) {
  await asLoggedIn(`kerf ${decision}`, async (pool, identity) => {
    await withClient(async (client) => {
      const handle = await existingRun(client, runId);
      const { code } = await codeForRun(pool, handle, identity, decision, 'cli-key');
      const answer = await handle
        .executeUpdate(decideUpdate, { args: [{ decision, code, ...(comment ? { comment } : {}) }] })
        .catch(refusedLine);
      if (asJson) console.log(JSON.stringify(answer));
      else console.log(`${answer.decision} version ${answer.version} of this run as ${answer.approver}`);
    });
  });
}

export function registerLifecycleCommands(program: Command): void {
  program
    .command('run')
    .description(
      'start a model lifecycle for a pipeline spec and follow it until it waits for approval or stops',
    )
    .argument('<spec>', 'pipeline spec file, e.g. pipelines/cut-time.json')
    .option('--as <name>', 'removed: you start runs as the logged-in person')
    .option('--detach', 'print the run id and return at once')
    .addHelpText(
      'after',
      '\nYou start the run as the logged-in person (a starter); you may not approve it.\n' +
        'Examples:\n  kerf run pipelines/cut-time.json\n  kerf run pipelines/quote-price.json --detach',
    )
    .action(async (file: string, options: { as?: string; detach?: boolean }) => {
      if (options.as !== undefined) throw new LifecycleCommandError(AS_REMOVED);
      const spec = await loadPipelineSpec(path.resolve(file)).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new LifecycleCommandError(
            `no spec file ${file}; the shipped ones are in pipelines/ (e.g. pipelines/cut-time.json).`,
          );
        }
        throw error;
      });
      const workflowId = lifecycleWorkflowId(spec.name);
      const startedBy = await asLoggedIn('kerf run', async (pool, identity) => {
        requireRole(identity, 'starter');
        // Recorded before the run starts: its approvers are checked against this identity.
        await recordRunStarter(pool, workflowId, identity);
        return identity.user.name;
      });
      await withClient(async (client, config) => {
        const handle = await startLifecycle(client, config, spec, { startedBy, workflowId });
        console.log(`Started ${handle.workflowId}: ${workflowUiUrl(config, handle.workflowId)}`);
        if (options.detach) return;
        // Ctrl-C detaches: the run goes on in Temporal; `kerf status` finds it again.
        const detach = () => {
          process.stdout.write(
            `\nDetached; the run goes on. Follow it with: npx kerf status ${handle.workflowId}\n`,
          );
          process.exit(0);
        };
        process.once('SIGINT', detach);
        const progress = new TrainingLine();
        const status = await followRun(handle, {
          pollMs: 1000,
          onStage: (current) => {
            progress.end();
            console.log(`  ${current.stage}`);
          },
          onTraining: (current) => progress.show(current),
        });
        progress.end();
        process.removeListener('SIGINT', detach);
        for (const line of describeStatus(status, config, handle.workflowId)) console.log(line);
      });
    });
  program
    .command('status')
    .description("print a lifecycle run's stage, metrics, gate verdicts and approval state")
    .argument('<run>', 'the run id `kerf run` printed')
    .option('--json', 'print the status as JSON')
    .action(async (runId: string, options: { json?: boolean }) => {
      await withClient(async (client, config) => {
        const status = await lifecycleStatus(await existingRun(client, runId));
        if (options.json) console.log(JSON.stringify(status, null, 2));
        else for (const line of describeStatus(status, config, runId)) console.log(line);
      });
    });
  for (const decision of ['approve', 'reject'] as const) {
    program
      .command(decision)
      .description(
        `${decision} the candidate a run waits with (refused, with the reason, for anyone not in the spec's approvers)`,
      )
      .argument('<run>', 'the run id')
      .option('--as <name>', 'removed: you decide as the logged-in person')
      .option('--comment <text>', 'why, for the audit log')
      .option('--json', 'print the answer as JSON')
      .addHelpText(
        'after',
        `\nYou decide as the logged-in person (kerf login, or KERF_KEY).\nExample:\n  kerf ${decision} lifecycle-cut-time-20260101T020000Z-ab12 --comment "checked the card"`,
      )
      .action(async (runId: string, options: { as?: string; comment?: string; json?: boolean }) => {
        if (options.as !== undefined) throw new LifecycleCommandError(AS_REMOVED);
        await decide(runId, decision, options.comment, options.json ?? false);
      });
  }
  program
    .command('approval-code')
    .description(
      'issue yourself a one-time code to approve (or reject) a waiting run by a Signal in the Temporal Web UI',
    )
    .argument('<run>', 'the run id')
    .option('--reject', 'a code to reject instead of approve')
    .option('--json', 'print the code and its expiry as JSON')
    .addHelpText(
      'after',
      '\nThe code is bound to you, the run, its version and the decision, and expires with the approval deadline.\n' +
        'Example:\n  kerf approval-code lifecycle-cut-time-20260101T020000Z-ab12',
    )
    .action(async (runId: string, options: { reject?: boolean; json?: boolean }) => {
      const action = options.reject ? 'reject' : 'approve';
      await asLoggedIn('kerf approval-code', async (pool, identity) => {
        await withClient(async (client, config) => {
          const handle = await existingRun(client, runId);
          const { code, expiresAt } = await codeForRun(pool, handle, identity, action, 'approval-code');
          const payload = JSON.stringify({ code, comment: '...' });
          if (options.json) {
            console.log(
              JSON.stringify({ code, signal: action, payload, expiresAt: expiresAt.toISOString() }),
            );
            return;
          }
          console.log(
            `Code for ${identity.user.name} to ${action} this run (one use, until ${expiresAt.toISOString()}):`,
          );
          console.log(`  ${code}`);
          console.log(`In the Web UI: ${workflowUiUrl(config, runId)} -> Send a Signal "${action}" with:`);
          console.log(`  ${payload}`);
        });
      });
    });
  program
    .command('canary')
    .description("end a model's canary: promote makes its version production, abort takes it away")
    .argument('<decision>', 'promote or abort')
    .argument('<model>', 'the model (pipeline name), e.g. cut-time')
    .requiredOption('--reason <text>', 'why, for the audit log')
    .action(async (decision: string, model: string, options: { reason: string }) => {
      if (decision !== 'promote' && decision !== 'abort') {
        throw new LifecycleCommandError(
          `the decision must be promote or abort, not ${JSON.stringify(decision).slice(0, 40)}`,
        );
      }
      await asLoggedIn('kerf canary', async (pool, identity) => {
        const ended = await endCanaryAs(pool, identity, { model, decision, reason: options.reason }).catch(
          refusedLine,
        );
        console.log(
          decision === 'promote'
            ? `${model}: canary v${ended.canary} promoted; production is v${ended.production ?? '?'} (by ${identity.user.name}, audited)`
            : `${model}: canary v${ended.canary} aborted; production v${ended.production ?? '?'} answers alone (by ${identity.user.name}, audited)`,
        );
        await announceTo(
          pool,
          loadConfig(process.env, defaultPaths).webhooks,
          {
            event: decision === 'promote' ? 'canary-promoted' : 'canary-aborted',
            model,
            version: ended.canary,
            production: ended.production,
            actor: identity.user.name,
            reason: options.reason,
          },
          `kerf-canary:${identity.user.name}:${Date.now()}`,
        );
      });
    });
  program
    .command('rollback')
    .description(
      'move production back: to the version before the one a deployed run put there (in its window), ' +
        'or, with --model, at any time to the version production served before or to an approved version (--to)',
    )
    .argument('[run]', 'the id of the run that deployed the current version (inside its rollback window)')
    .option('--model <name>', 'roll back this model at any time, without its run')
    .option('--to <version>', 'with --model: the approved version to go back to (default: the one before)')
    .option('--as <name>', 'removed: you roll back as the logged-in person (an operator of the model)')
    .requiredOption('--reason <text>', 'why, for the audit log')
    .addHelpText(
      'after',
      '\nExamples:\n  kerf rollback --model cut-time --reason "v7 quotes too short on stainless"\n' +
        '  kerf rollback --model cut-time --to 5 --reason "back to the spring model"\n' +
        '  kerf rollback lifecycle-cut-time-20261206T... --reason "wrong within the hour"',
    )
    .action(
      async (
        runId: string | undefined,
        options: { as?: string; reason: string; model?: string; to?: string },
      ) => {
        if (options.as !== undefined) throw new LifecycleCommandError(AS_REMOVED);
        if (options.model !== undefined) {
          const model = options.model;
          const to = options.to === undefined ? undefined : versionNumberOption(options.to);
          await asLoggedIn('kerf rollback', async (pool, identity) => {
            const moved = await rollbackProductionAs(pool, identity, {
              model,
              reason: options.reason,
              ...(to === undefined ? {} : { to }),
            }).catch(refusedLine);
            console.log(
              `${model}: production moved back from version ${moved.previousVersion ?? 'none'} to ${moved.alias.version} (by ${identity.user.name}, audited)`,
            );
            const announced = await announceTo(
              pool,
              loadConfig(process.env, defaultPaths).webhooks,
              {
                event: 'rolled-back',
                model,
                version: moved.alias.version,
                from: moved.previousVersion,
                to: moved.alias.version,
                actor: identity.user.name,
                reason: options.reason,
              },
              `kerf-rollback:${identity.user.name}:${Date.now()}`,
            );
            if (announced.failed > 0) {
              console.log(
                `  ${announced.failed} webhook(s) did not take the announcement (the delivery log says why)`,
              );
            }
          });
          return;
        }
        if (runId === undefined) {
          throw new LifecycleCommandError(
            'name the run that deployed the version, or the model with --model',
          );
        }
        await asLoggedIn('kerf rollback', async (pool, identity) => {
          await withClient(async (client) => {
            const handle = await existingRun(client, runId);
            const { code } = await codeForRun(pool, handle, identity, 'rollback', 'cli-key');
            const answer = await handle
              .executeUpdate(rollbackUpdate, { args: [{ code, reason: options.reason }] })
              .catch(refusedLine);
            console.log(`production moved back from version ${answer.from} to ${answer.to}`);
          });
        });
      },
    );
}
