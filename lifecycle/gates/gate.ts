/**
 * What a gate is: one module that owns its spec part (`gates.<name>`), its check and how its verdict
 * shows in the model card, and names the lifecycle stage that runs it. The stage's activity builds
 * one context and runs every registered gate of that stage (`registry.ts`), so a new gate needs no
 * activity, workflow or spec edit.
 */
import type { z } from 'zod';
import type { SpecTask } from '../spec/metrics';
import type { SliceOptions, TaskMetrics } from '../../ml/slices';
import { checkRows, escapeHtml, htmlTable } from '../../reports/html';
import type { ModelCardInput } from '../modelCard';
import type { PipelineSpec } from '../spec';
import type { FeatureSample } from './personalData';
import type { GateVerdict } from './verdict';

/** The lifecycle stages that run gates, in the order the workflow runs them. */
export const GATE_STAGES = ['evaluate', 'fairness', 'security'] as const;
export type GateStage = (typeof GATE_STAGES)[number];

/** The evaluate stage's context: the candidate scored on the test rows, and the champion if any. */
export interface EvaluateContext {
  spec: PipelineSpec;
  /** The candidate's metrics on the test set. */
  metrics: TaskMetrics;
  /** The deployed champion's metrics on the same test rows; undefined without a comparable champion. */
  championMetrics: TaskMetrics | undefined;
  /** Targets of the test rows: values for regression, class ids otherwise. */
  y: ArrayLike<number>;
  /** The candidate's predictions on the test rows (as `evaluateOnTestSet` returns them). */
  prediction: ArrayLike<number>;
  /** Class labels, classification only. */
  classLabels?: string[];
  /** The baseline fitted on the training rows, scored on the same test rows: the floor to beat. */
  floor?: { kind: string; metrics: TaskMetrics };
}

/** The fairness stage's context: the test predictions and the spec's segment columns over the test rows. */
export interface FairnessContext {
  spec: PipelineSpec;
  /** The spec's segment columns over the test rows, by column name. */
  segments: Readonly<Record<string, SliceOptions['segment']>>;
  y: ArrayLike<number>;
  prediction: ArrayLike<number>;
  /** Number of classes (multiclass only). */
  k?: number;
}

/** The security stage's context: the exported artifact and the feature columns with their values. */
export interface SecurityContext {
  spec: PipelineSpec;
  /** The ONNX file as exported (its SHA-256 already checked against training's). */
  onnx: Uint8Array;
  /** The spec's features; categorical ones carry the snapshot's categories as `sampleValues`. */
  features: readonly FeatureSample[];
}

/** The context each stage gives its gates. */
export interface StageContexts {
  evaluate: EvaluateContext;
  fairness: FairnessContext;
  security: SecurityContext;
}

/**
 * A check's verdict and, optionally, a report the stage stores for the model card (the fairness
 * gate's slice table). Reports of one stage are merged into one JSON object.
 */
export interface GateOutcome {
  verdict: GateVerdict;
  report?: Record<string, unknown>;
}

/** Reports a problem at a path inside a gate's spec part (`['thresholds', 0, 'metric']`). */
export type SpecIssue = (path: (string | number)[], message: string) => void;

/** How a gate shows in the model card. */
export interface GateCardSection {
  /**
   * The gate's part of the card's "Gates" section.
   * @default {@link checksSection}: a heading with the badge and the checks table
   */
  checks?: (verdict: GateVerdict, card: ModelCardInput) => string | Promise<string>;
  /**
   * Sections of its own, right after "Gates" (the fairness gate's "Per slice"), drawn on every card.
   * @default none
   */
  sections?: (card: ModelCardInput) => string | Promise<string>;
}

/** One gate. `Part` is the zod schema of its `gates.<name>` spec part, with its defaults. */
export interface Gate<
  Name extends string = string,
  Part extends z.ZodType = z.ZodType,
  Stage extends GateStage = GateStage,
> {
  /** The key of its spec part and the `gate` of its verdicts (`quality`). */
  name: Name;
  /** The lifecycle stage whose activity runs it. */
  stage: Stage;
  /** Its spec part; `{}` must parse, giving the defaults. */
  spec: Part;
  /**
   * Pure: the spec part and the stage's context in, the verdict (and an optional report) out. (A
   * method, so a specific gate still fits where any gate is expected.)
   */
  check(part: z.output<Part>, context: StageContexts[Stage]): GateVerdict | GateOutcome;
  /**
   * Checks of its spec part against the rest of the spec (the task), run with the spec's other
   * cross-field checks. It reads the raw part defensively: it also runs when fields failed to parse.
   * @default none
   */
  crossCheck?(part: unknown, task: SpecTask | undefined, issue: SpecIssue): void;
  /** @default the checks table under the gate's heading */
  card?: GateCardSection;
}

/** A number as the model card shows it: `–` where undefined, 4 significant digits, grouped thousands. */
export const cardNumber = (value: number | null | undefined): string =>
  value === null || value === undefined || !Number.isFinite(value)
    ? '–'
    : Math.abs(value) >= 1000 || Number.isInteger(value)
      ? value.toLocaleString('en-GB', { maximumFractionDigits: 1 })
      : value.toPrecision(4);

/** The default card section of a gate: its name, passed or failed, and the table of its checks. */
export function checksSection(verdict: GateVerdict): string {
  const rows = checkRows(verdict.checks);
  const badge = verdict.passed ? '<span class="pass">passed</span>' : '<span class="fail">failed</span>';
  return `<h3>${escapeHtml(verdict.gate)} gate: ${badge}</h3>${htmlTable(['', 'check', 'what was found'], rows)}`;
}
