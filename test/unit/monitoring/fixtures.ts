/**
 * Press-brake jobs as the shop makes them, seeded, for the monitoring tests: a training set, and
 * nights like it or departing from it (titanium parts, thicker sheet).
 */
import { regressionMetrics } from '../../../ml/metrics';
import { Random } from '../../../ml/random';
import { categoricalFromLabels, numericFromValues, Table } from '../../../ml/table';
import { buildReferenceProfile, type ReferenceProfile } from '../../../monitoring';
import { buildSpec, features } from '../../specBuilder';

/** Standard normal draw (Box-Muller). */
export function gaussian(random: Random): number {
  const u = 1 - random.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.next());
}

export const FAMILIES = ['mild_steel', 'aluminium', 'stainless_steel'] as const;

export interface NightOptions {
  rows: number;
  seed: number;
  /** Share of parts in titanium, a family never seen at training. @default 0 */
  titaniumShare?: number;
  /** Added to every thickness, in mm. @default 0 */
  thicker?: number;
}

export interface Jobs {
  /** Prediction inputs, one row per job. */
  table: Table;
  /** Actual press-brake seconds per part. */
  bendSeconds: Float64Array;
  /** What a model that learned the shop predicts. */
  predicted: Float64Array;
}

/** Jobs of the shop: thickness, bends, material family, press brake and shift, with their bend times. */
export function jobs(options: NightOptions): Jobs {
  const random = new Random(options.seed);
  const thickness: number[] = [];
  const bends: number[] = [];
  const family: string[] = [];
  const machine: string[] = [];
  const shift: string[] = [];
  const bendSeconds: number[] = [];
  const predicted: number[] = [];
  for (let i = 0; i < options.rows; i++) {
    const draw = random.next();
    const material =
      draw < (options.titaniumShare ?? 0)
        ? 'titanium'
        : (FAMILIES[random.next() < 0.5 ? 0 : random.next() < 0.6 ? 1 : 2] as string);
    const mm = 3 * Math.exp(0.4 * gaussian(random)) + (options.thicker ?? 0);
    const count = random.below(13);
    thickness.push(mm);
    bends.push(count);
    family.push(material);
    machine.push(random.next() < 0.5 ? 'PB-1' : 'PB-2');
    shift.push(['early', 'late', 'night'][random.below(3)] as string);
    const expected = 20 + 4 * count + 2 * mm;
    bendSeconds.push(expected + 3 * gaussian(random));
    predicted.push(expected);
  }
  return {
    table: new Table([
      numericFromValues('thickness_mm', thickness),
      numericFromValues('bend_count', bends),
      categoricalFromLabels('material_family', family),
      categoricalFromLabels('machine_id', machine),
      categoricalFromLabels('shift', shift),
    ]),
    bendSeconds: Float64Array.from(bendSeconds),
    predicted: Float64Array.from(predicted),
  };
}

/**
 * The bend-time spec the monitoring tests watch: press-brake seconds from the jobs above, sliced by
 * material family, with every gate and monitoring threshold at its default.
 */
export const spec = buildSpec({
  name: 'bend-time',
  description: 'Press-brake seconds per part',
  source: { kind: 'table', table: 'jobs' },
  target: 'bend_seconds_per_part',
  features: features({
    thickness_mm: 'numeric',
    bend_count: 'numeric',
    material_family: 'categorical',
    machine_id: 'categorical',
    shift: 'categorical',
  }),
  segments: ['material_family'],
});

export const thresholds = spec.monitoring;

/** The profile of a bend-time model trained on 4000 jobs and tested on 1000. */
export function trainedProfile(): ReferenceProfile {
  const training = jobs({ rows: 4000, seed: 1 });
  const test = jobs({ rows: 1000, seed: 2 });
  return buildReferenceProfile({
    table: training.table,
    spec,
    predictions: test.predicted,
    metrics: regressionMetrics(test.bendSeconds, test.predicted),
  });
}
