import { describe, expect, it } from 'vitest';
import type { Feature } from '../../../ml/model';
import type { Table } from '../../../ml/table';
import type { UnseenCategory } from '../../../serving/contract';
import type { LoadedVersion } from '../../../serving/loadVersion';
import { ScoringQueue } from '../../../serving/scoringQueue';

const features: Feature[] = [
  { kind: 'numeric', name: 'thickness_mm' },
  { kind: 'categorical', name: 'material_family', categories: ['mild_steel', 'aluminium'] },
];

/**
 * A version whose "model" answers thickness x 10 a millisecond after a run starts (requests can
 * arrive while it is in flight) and records the size of every run; a row with thickness 13 makes the
 * whole run fail, as a broken session would.
 */
function fakeVersion(): { version: LoadedVersion; runs: number[] } {
  const runs: number[] = [];
  const scorer = {
    metadata: { output: { width: 1 } },
    scoreTable: (table: Table) => {
      const column = table.column('thickness_mm');
      if (column.kind !== 'numeric') throw new Error('thickness_mm is not numeric');
      runs.push(table.rowCount);
      return new Promise((resolve, reject) =>
        setTimeout(() => {
          if (column.values.includes(13)) reject(new Error('the run failed'));
          else resolve({ prediction: Float64Array.from(column.values, (value) => value * 10) });
        }, 1),
      );
    },
  };
  const version = { model: 'cut-time', version: 1, task: 'regression', features, scorer };
  return { version: version as unknown as LoadedVersion, runs };
}

/** Until the event loop's next check phase: a run the queue started by then is in flight. */
const runStarted = () => new Promise((resolve) => setImmediate(resolve));

const row = (thickness: number, material = 'mild_steel') => ({
  thickness_mm: thickness,
  material_family: material,
});

describe('the scoring queue', () => {
  it('scores the requests handed in during one turn of the event loop in one run, each its own rows', async () => {
    const { version, runs } = fakeVersion();
    const unseen: UnseenCategory[] = [];
    const queue = new ScoringQueue(version, (met) => unseen.push(...met));
    const answers = await Promise.all([
      queue.score([row(1)], undefined),
      queue.score([row(2), row(3, 'titanium')], undefined),
      queue.score([row(4)], undefined),
    ]);
    // The run starts once the turn's requests are in: the three share it.
    expect(runs).toEqual([4]);
    expect(answers.map((scored) => scored.map((one) => one.value))).toEqual([[10], [20, 30], [40]]);
    expect(answers[1][1]?.warnings).toEqual([
      expect.objectContaining({ column: 'material_family', value: 'titanium' }),
    ]);
    expect(answers[1][0]?.warnings).toEqual([]);
    expect(unseen).toEqual([{ column: 'material_family', mapped: false }]);
  });

  it('scores what arrives during a run in the next run', async () => {
    const { version, runs } = fakeVersion();
    const queue = new ScoringQueue(version, () => undefined);
    const first = queue.score([row(1)], undefined);
    await runStarted();
    const later = await Promise.all([queue.score([row(2)], undefined), queue.score([row(3)], undefined)]);
    expect((await first).map((one) => one.value)).toEqual([10]);
    expect(later.map((scored) => scored[0]?.value)).toEqual([20, 30]);
    expect(runs).toEqual([1, 2]);
  });

  it('fails only the request whose rows fail, scoring the others alone, and counts unseen categories once', async () => {
    const { version, runs } = fakeVersion();
    const unseen: UnseenCategory[] = [];
    const queue = new ScoringQueue(version, (met) => unseen.push(...met));
    // A run in flight, so the next three share one.
    const busy = queue.score([row(5)], undefined);
    await runStarted();
    const [good, bad, other] = await Promise.allSettled([
      queue.score([row(1, 'titanium')], undefined),
      queue.score([row(13)], undefined),
      queue.score([row(2)], undefined),
    ]);
    expect(good).toMatchObject({ status: 'fulfilled', value: [{ value: 10 }] });
    expect(bad).toMatchObject({ status: 'rejected', reason: new Error('the run failed') });
    expect(other).toMatchObject({ status: 'fulfilled', value: [{ value: 20 }] });
    await busy;
    expect(runs).toEqual([1, 3, 1, 1, 1]);
    expect(unseen).toEqual([{ column: 'material_family', mapped: false }]);
  });

  it('never mixes requests scored with different taught mappings in one run', async () => {
    const { version, runs } = fakeVersion();
    const queue = new ScoringQueue(version, () => undefined);
    const taught = new Map([['material_family', new Map([['titanium', 'aluminium']])]]);
    const [, plain, mapped] = await Promise.all([
      queue.score([row(5)], undefined),
      queue.score([row(1, 'titanium')], undefined),
      queue.score([row(2, 'titanium')], taught),
    ]);
    // The first request's run takes the plain one along, never the one with taught mappings.
    expect(runs).toEqual([2, 1]);
    expect(plain[0]?.warnings[0]?.message).toMatch(/scored as a missing value/);
    expect(mapped[0]?.warnings[0]?.message).toMatch(/scored as "aluminium"/);
  });
});
