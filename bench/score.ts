/**
 * `npm run bench -- score [case]`: onnxruntime-node (through Kerf's `OnnxScorer`) against Python
 * onnxruntime (bench/peers/score.py) on the same ONNX file and the same 200,000 rows, two intra-op
 * threads each, in the same run. The sides take turns, ROUNDS times, so a busy moment of the machine
 * slows both alike; each figure is the best round (a shared machine only ever slows a round down),
 * with the medians beside them. One JSON line per case:
 *
 * - `kerf_rows_per_s`: `OnnxScorer.scoreTable` on Kerf's columns, inputs built each time (what
 *   serving and batch scoring do), with Kerf's session options (`scoringSessionOptions`: intra-op
 *   threads that do not spin). Categories go in as codes: the scorer lifts the file's category
 *   encoders out of the graph (`ml/onnx/categoryCodes.ts`) and maps each column's dictionary once;
 * - `node_run_rows_per_s`: onnxruntime-node's `run` alone on the file's own graph, on tensors built
 *   once (text for categories), same session options: onnxruntime-node as anyone would call it;
 * - `kerf_threads_rows_per_s`: the rows as batch scoring scores them: split between two chunks side
 *   by side, each scoring its rows in batches of `BATCH_ROWS` in a scoring thread of its own
 *   (`ThreadScorer`: one intra-op thread, its inputs built in that thread, the columns copied to it
 *   and the scores back);
 * - `python_rows_per_s`: Python onnxruntime's `run` on float32 and str arrays built once, at
 *   onnxruntime's defaults (as a Python user runs it);
 * - `python_kerf_config_rows_per_s`: the same with Kerf's session config entries, so the part of
 *   the ratio that is the options and the part that is the languages' bindings can be told apart;
 * - `ratio`: Kerf's over Python's (the issue's goal: at least 0.9); `cpu_ratio`: Python's CPU time
 *   per row (all threads, median round) over Kerf's, which a busy machine does not skew as much;
 *   `same_config_ratio`: Kerf's over Python's with Kerf's config entries; `threads_ratio`: batch
 *   scoring's threads over Python's.
 *
 * Cases: `cut-time`, a Kerf GBDT with the cut-time spec's inputs (9 numbers, 4 categories: each row
 * hands onnxruntime four texts) and trainer (up to 400 trees of 63 leaves, early stopping on the
 * last tenth) on generated rows; `friedman1`, 200 trees of 31 leaves on 20 numbers, no text.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { env as onnxruntimeEnv, InferenceSession } from 'onnxruntime-node';
import { prepareDataLike, prepareTrainingData } from '../ml/dataset';
import type { GbdtOptions } from '../ml/gbdt';
import { trainGbdt } from '../ml/gbdt/train';
import {
  exportOnnx,
  OnnxScorer,
  readMetadata,
  SCORING_SESSION_CONFIG,
  scoringSessionOptions,
} from '../ml/onnx';
import { tableFeeds } from '../ml/onnx/inputs';
import { Random } from '../ml/random';
import { friedman1 } from '../ml/referenceDatasets';
import { MISSING_CODE, Table, type Column } from '../ml/table';
import { BATCH_ROWS } from '../serving/batch/chunk';
import { ThreadScorer } from '../serving/batch/threadScorer';
import { FAMILIES, MACHINES, MATERIALS, SHIFTS } from '../shop/catalogue';
import { type CaseLine, round, runCaseWhenStarted } from './caseLine';
import { writeArrowFile } from './peerData';
import { type PeerSession, peersSwitchedOff, pythonPeers, startPeerSession } from './pythonPeers';

/** Rows scored, intra-op threads per side, and the rounds (each side scoring for half a second in each). */
const SCORED_ROWS = 200_000;
const THREADS = 2;
const ROUNDS = 8;
const ROUND_SECONDS = 0.5;

interface ScoreCase {
  /** The rows the model is trained on (the last tenth validates, for early stopping), and the rows scored. */
  tables: () => { train: Table; scored: Table; target: string };
  params: GbdtOptions;
}

export const CASES: Record<string, ScoreCase> = {
  'cut-time': {
    tables: () => ({
      train: cutTimeRows(40_000, 1),
      scored: cutTimeRows(SCORED_ROWS, 2),
      target: CUT_TIME_TARGET,
    }),
    // pipelines/cut-time.json's trainer, early stopping included.
    params: {
      iterations: 400,
      learningRate: 0.1,
      maxLeaves: 63,
      minSamplesLeaf: 20,
      earlyStoppingRounds: 30,
    },
  },
  friedman1: {
    tables: () => {
      // 250,000 rows generate 200,000 in the first (train) part: those are scored, the first 40,000 fit.
      const data = friedman1(250_000);
      return { train: data.train.slice(0, 40_000), scored: data.train, target: data.target };
    },
    params: { iterations: 200, learningRate: 0.1, maxLeaves: 31 },
  },
};

const CUT_TIME_TARGET = 'cut_seconds_per_part';
const LASERS = MACHINES.filter((machine) => machine.kind === 'laser');
const STOCKED = MATERIALS.filter((material) => material.family !== 'titanium');
const FAMILY_NAMES = [...new Set(STOCKED.map((material) => material.family))];

/**
 * Rows shaped like the cut-time query's (pipelines/cut-time.json): the part's drawing, its material,
 * the laser, the lot size and the shift, the spec's two derived columns, and a cut time that grows
 * with them (scattered by up to ±20 %); about 1 % of holes and shifts missing.
 */
function cutTimeRows(rows: number, seed: number): Table {
  const random = new Random(seed);
  const numbers = Object.fromEntries(
    [
      'thickness_mm',
      'sheet_area_m2',
      'cut_length_mm',
      'pierce_count',
      'hole_count',
      'laser_power_kw',
      'quantity',
      'contour_seconds',
      'pierce_load',
      CUT_TIME_TARGET,
    ].map((name) => [name, new Float64Array(rows)]),
  ) as Record<string, Float64Array>;
  const codes = {
    material_family: new Int32Array(rows),
    material_id: new Int32Array(rows),
    machine_id: new Int32Array(rows),
    shift: new Int32Array(rows),
  };
  const set = (name: string, row: number, value: number) => ((numbers[name] as Float64Array)[row] = value);
  for (let row = 0; row < rows; row++) {
    const materialCode = random.below(STOCKED.length);
    const material = STOCKED[materialCode] as (typeof STOCKED)[number];
    const family = FAMILIES[material.family];
    const laserCode = random.below(LASERS.length);
    const power = (LASERS[laserCode] as (typeof LASERS)[number]).powerKw;
    const thickness = family.thicknessesMm[random.below(family.thicknessesMm.length)] as number;
    const area = 0.05 + 2 * random.next();
    const cutLength = 200 + 6000 * Math.sqrt(area) * random.next();
    const pierces = 1 + random.below(40);
    const quantity = 1 + random.below(200);
    const contour = (cutLength * thickness * Math.sqrt(Math.sqrt(thickness))) / Math.max(power ** 0.75, 0.1);
    const pierceLoad = pierces * (1 + 0.1 * thickness * Math.sqrt(thickness));
    const noise = 1 + 0.2 * (random.next() + random.next() - 1);
    set('thickness_mm', row, thickness);
    set('sheet_area_m2', row, area);
    set('cut_length_mm', row, cutLength);
    set('pierce_count', row, pierces);
    set('hole_count', row, random.next() < 0.01 ? Number.NaN : random.below(pierces));
    set('laser_power_kw', row, power);
    set('quantity', row, quantity);
    set('contour_seconds', row, contour);
    set('pierce_load', row, pierceLoad);
    set(
      CUT_TIME_TARGET,
      row,
      (contour / (400 * family.laserSpeed) + 0.4 * family.pierce * pierceLoad + 30 / quantity) * noise,
    );
    codes.material_family[row] = FAMILY_NAMES.indexOf(material.family);
    codes.material_id[row] = materialCode;
    codes.machine_id[row] = laserCode;
    codes.shift[row] = random.next() < 0.01 ? MISSING_CODE : random.below(SHIFTS.length);
  }
  const dictionaries: Record<keyof typeof codes, string[]> = {
    material_family: FAMILY_NAMES,
    material_id: STOCKED.map((material) => material.materialId),
    machine_id: LASERS.map((laser) => laser.machineId),
    shift: [...SHIFTS],
  };
  return new Table([
    ...Object.entries(numbers).map(([name, values]): Column => ({ kind: 'numeric', name, values })),
    ...(Object.keys(codes) as (keyof typeof codes)[]).map((name): Column => ({
      kind: 'categorical',
      name,
      codes: codes[name],
      dictionary: dictionaries[name],
    })),
  ]);
}

/**
 * `inputs` scored as batch scoring's chunks score them: one chunk per thread, side by side, each
 * handing its thread one batch of at most BATCH_ROWS rows at a time.
 */
async function scoreInThreads(threads: readonly ThreadScorer[], inputs: Table): Promise<void> {
  const perThread = Math.ceil(inputs.rowCount / threads.length);
  await Promise.all(
    threads.map(async (thread, index) => {
      const end = Math.min(inputs.rowCount, (index + 1) * perThread);
      for (let start = index * perThread; start < end; start += BATCH_ROWS) {
        await thread.scoreTable(inputs.slice(start, Math.min(end, start + BATCH_ROWS)));
      }
    }),
  );
}

/** One side's round: rows per second of wall time, and CPU microseconds (all threads) per row. */
interface Round {
  rowsPerSecond: number;
  cpuMicrosPerRow: number;
}

/** Scores `rows` rows with `score` for at least ROUND_SECONDS and two calls. */
async function measure(rows: number, score: () => Promise<unknown>): Promise<Round> {
  let runs = 0;
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  while (runs < 2 || performance.now() - started < ROUND_SECONDS * 1000) {
    await score();
    runs++;
  }
  const cpu = process.cpuUsage(cpuStarted);
  return {
    rowsPerSecond: (rows * runs) / ((performance.now() - started) / 1000),
    cpuMicrosPerRow: (cpu.user + cpu.system) / (rows * runs),
  };
}

/**
 * Python onnxruntime on the same file and rows, loaded and warmed up, twice: at its defaults and
 * with Kerf's session config entries; or why it cannot run.
 */
async function startPython(
  onnx: Uint8Array,
  inputs: Table,
  dir: string,
): Promise<{ defaults: PeerSession; kerfConfig: PeerSession } | string> {
  if (peersSwitchedOff(process.env)) return 'KERF_BENCH_PEERS=off';
  const python = await pythonPeers();
  if (!python.available) return python.reason;
  const modelFile = path.join(dir, 'model.onnx');
  const rowsFile = path.join(dir, 'rows.arrow');
  await writeFile(modelFile, onnx);
  await writeArrowFile(rowsFile, inputs.columns);
  const args = [modelFile, rowsFile, String(THREADS)];
  const kerfConfig = Object.fromEntries(
    Object.entries(SCORING_SESSION_CONFIG).map(([key, value]) => [`session.${key}`, value]),
  );
  const defaults = await startPeerSession(python.python, 'score.py', args);
  try {
    return {
      defaults,
      kerfConfig: await startPeerSession(python.python, 'score.py', [...args, JSON.stringify(kerfConfig)]),
    };
  } catch (error) {
    await defaults.close();
    throw error;
  }
}

/** One Python round of `peer`. */
async function pythonRound(peer: PeerSession): Promise<Round> {
  const answer = await peer.ask(String(ROUND_SECONDS));
  return { rowsPerSecond: Number(answer.rows_per_s), cpuMicrosPerRow: Number(answer.cpu_us_per_row) };
}

/** The best round's rows per second (a shared machine only ever slows a round down). */
const best = (rounds: Round[]) => Math.max(...rounds.map((round) => round.rowsPerSecond));
/** The median round's figure. */
const median = (rounds: Round[], figure: (round: Round) => number) => {
  const sorted = rounds.map(figure).sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};
const medianRate = (rounds: Round[]) => median(rounds, (round) => round.rowsPerSecond);
const medianCpu = (rounds: Round[]) => median(rounds, (round) => round.cpuMicrosPerRow);

export async function runCase(name: string): Promise<CaseLine> {
  const scoreCase = CASES[name];
  if (!scoreCase) throw new Error(`Unknown case "${name}"; cases: ${Object.keys(CASES).join(', ')}`);
  const { train, scored, target } = scoreCase.tables();
  const features = train.columnNames.filter((column) => column !== target);
  const validationStart = Math.floor(train.rowCount * 0.9);
  const fitRows = prepareTrainingData(train.slice(0, validationStart), {
    target,
    features,
    task: 'regression',
  });
  const validation = prepareDataLike(train.slice(validationStart, train.rowCount), fitRows, target);
  const model = trainGbdt(fitRows, scoreCase.params, validation);
  const onnx = exportOnnx(model);
  // Only the model's inputs are scored and handed over, as serving gets them.
  const inputs = new Table(features.map((feature) => scored.column(feature)));
  const rows = inputs.rowCount;

  const scorer = await OnnxScorer.load(onnx, { intraOpNumThreads: THREADS });
  const session = await InferenceSession.create(onnx, scoringSessionOptions({ intraOpNumThreads: THREADS }));
  const threads = await Promise.all(
    Array.from({ length: THREADS }, () => ThreadScorer.start(onnx, scorer.metadata)),
  );
  const dir = await mkdtemp(path.join(tmpdir(), 'kerf-bench-score-'));
  let python: { defaults: PeerSession; kerfConfig: PeerSession } | string = 'not started';
  const rounds = {
    kerf: [] as Round[],
    nodeRun: [] as Round[],
    threads: [] as Round[],
    python: [] as Round[],
    pythonKerfConfig: [] as Round[],
  };
  try {
    const feeds = tableFeeds(readMetadata(onnx).features, inputs);
    const output = session.outputNames[0] as string;
    const kerfScore = () => scorer.scoreTable(inputs);
    const nodeRun = () => session.run(feeds, [output]);
    const threadsScore = () => scoreInThreads(threads, inputs);
    await kerfScore();
    await nodeRun();
    await threadsScore();
    python = await startPython(onnx, inputs, dir);
    // Rounds alternate between the sides, so a busy moment of the machine slows both alike.
    for (let round = 1; round <= ROUNDS; round++) {
      process.stderr.write(`score: ${name}: round ${round} of ${ROUNDS}\n`);
      rounds.kerf.push(await measure(rows, kerfScore));
      rounds.nodeRun.push(await measure(rows, nodeRun));
      rounds.threads.push(await measure(rows, threadsScore));
      if (typeof python !== 'string') {
        rounds.python.push(await pythonRound(python.defaults));
        rounds.pythonKerfConfig.push(await pythonRound(python.kerfConfig));
      }
    }
  } finally {
    if (typeof python !== 'string') await Promise.all([python.defaults.close(), python.kerfConfig.close()]);
    await rm(dir, { recursive: true, force: true });
    await session.release();
    await scorer.release();
    await Promise.all(threads.map((thread) => thread.release()));
  }
  return {
    bench: 'score',
    case: name,
    rows,
    threads: THREADS,
    trees: model.trees.length,
    onnxruntime_node: onnxruntimeEnv.versions.node,
    kerf_rows_per_s: Math.round(best(rounds.kerf)),
    node_run_rows_per_s: Math.round(best(rounds.nodeRun)),
    kerf_threads_rows_per_s: Math.round(best(rounds.threads)),
    ...(typeof python === 'string'
      ? { python_skipped: python }
      : {
          onnxruntime_python: python.defaults.ready.version,
          python_rows_per_s: Math.round(best(rounds.python)),
          python_kerf_config_rows_per_s: Math.round(best(rounds.pythonKerfConfig)),
          ratio: round(best(rounds.kerf) / best(rounds.python), 3),
          same_config_ratio: round(best(rounds.kerf) / best(rounds.pythonKerfConfig), 3),
          node_run_ratio: round(best(rounds.nodeRun) / best(rounds.python), 3),
          threads_ratio: round(best(rounds.threads) / best(rounds.python), 3),
          median_ratio: round(medianRate(rounds.kerf) / medianRate(rounds.python), 3),
          // Python's CPU time per row over Kerf's: how the two compare when the machine is shared.
          cpu_ratio: round(medianCpu(rounds.python) / medianCpu(rounds.kerf), 3),
        }),
    median_rows_per_s: {
      kerf: Math.round(medianRate(rounds.kerf)),
      node_run: Math.round(medianRate(rounds.nodeRun)),
      threads: Math.round(medianRate(rounds.threads)),
      ...(rounds.python.length > 0
        ? {
            python: Math.round(medianRate(rounds.python)),
            python_kerf_config: Math.round(medianRate(rounds.pythonKerfConfig)),
          }
        : {}),
    },
    median_cpu_us_per_row: {
      kerf: round(medianCpu(rounds.kerf), 3),
      node_run: round(medianCpu(rounds.nodeRun), 3),
      threads: round(medianCpu(rounds.threads), 3),
      ...(rounds.python.length > 0
        ? {
            python: round(medianCpu(rounds.python), 3),
            python_kerf_config: round(medianCpu(rounds.pythonKerfConfig), 3),
          }
        : {}),
    },
  };
}

runCaseWhenStarted('score.ts', runCase);
