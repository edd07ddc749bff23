/**
 * The gates a candidate passes, one registration line each. Adding a gate touches three files:
 *   1. lifecycle/gates/<name>.ts: the gate module (spec part, check, card section; see `gate.ts`),
 *   2. this file: its line in {@link gateRegistry},
 *   3. test/unit/lifecycle/gates/<name>.test.ts: its test.
 * The spec's `gates` schema, the stage activities, the manifest and the model card all read this
 * registry; the workflow summarises whatever verdicts the stages return.
 *
 * `personalData.ts` and `personalSource.ts` are not gates: they are checks that both the ingest stage
 * (refusing a source before any row is read) and the security gate (its `no-personal-data` check)
 * call, so they stay helpers with no spec part and no verdict of their own.
 */
import type { z } from 'zod';
import { strictObject } from '../spec/syntax';
import { fairnessGate } from './fairness';
import type { Gate, GateOutcome, GateStage, StageContexts } from './gate';
import { qualityGate } from './quality';
import { securityGate } from './security';
import type { GateVerdict } from './verdict';

/** What a stage's gates found: every verdict in registration order, and their merged reports. */
export interface StageRun {
  verdicts: GateVerdict[];
  /** The first verdict that failed, which stops the run. */
  failed: GateVerdict | undefined;
  reports: Record<string, unknown>;
}

/** The `gates` spec schema's shape: each gate's part, defaulting to its own defaults. */
type GatesShape<Gates extends readonly Gate[]> = {
  [G in Gates[number] as G['name']]: z.ZodDefault<G['spec']>;
};

/** A set of gates and what is built from it. The shipped set is {@link gateRegistry}. */
export function defineGateRegistry<const Gates extends readonly Gate[]>(gates: Gates) {
  const names = gates.map((gate) => gate.name);
  if (new Set(names).size !== names.length) throw new Error(`two gates share a name: ${names.join(', ')}`);
  const shape = Object.fromEntries(
    gates.map((gate) => [gate.name, gate.spec.default(() => gate.spec.parse({}))]),
  ) as GatesShape<Gates>;
  const gatesSchema = strictObject(shape);
  return {
    gates,
    names: names as [Gates[number]['name'], ...Gates[number]['name'][]],
    /** The spec's `gates` object: one part per gate. */
    gatesSchema,
    /** The gate whose verdicts carry this name, if it is registered. */
    byName(name: string): Gate | undefined {
      return gates.find((gate) => gate.name === name);
    },
    /** Runs every gate of a stage, in registration order, on the stage's context. */
    runStage<Stage extends GateStage>(stage: Stage, context: StageContexts[Stage]): StageRun {
      const outcomes = gates
        .filter((gate) => gate.stage === stage)
        .map((gate): GateOutcome => {
          // A spec parsed before this gate existed has no part: the gate's defaults apply.
          const given = (context.spec.gates as Record<string, unknown>)[gate.name];
          const found = gate.check(given === undefined ? gate.spec.parse({}) : given, context);
          return 'verdict' in found ? found : { verdict: found };
        });
      const verdicts = outcomes.map((outcome) => outcome.verdict);
      return {
        verdicts,
        failed: verdicts.find((verdict) => !verdict.passed),
        reports: outcomes.reduce<Record<string, unknown>>(
          (all, outcome) => ({ ...all, ...outcome.report }),
          {},
        ),
      };
    },
  };
}

export type GateRegistry = ReturnType<typeof defineGateRegistry>;

/** The shipped gates, in the order their stages and the model card show them. */
export const gateRegistry = defineGateRegistry([qualityGate, fairnessGate, securityGate]);
