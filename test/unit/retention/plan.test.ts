/**
 * Which objects garbage collection plans to remove, on a model with every case side by side: a
 * superseded version sharing its snapshot and built features with an approved one, a rejected version
 * with data of its own, a version rejected too recently, a failed version without a manifest, objects
 * no version names (old and new), and the snapshot records that always stay.
 */
import { describe, expect, it } from 'vitest';
import type { StoredObject } from '../../../platform/objectStore';
import { formatBytes, type ModelInventory, planCollection, type VersionFacts } from '../../../retention';

const NOW = new Date('2026-03-01T02:00:00Z');
const DAY = 86_400_000;
const daysAgo = (days: number) => new Date(NOW.getTime() - days * DAY);
const hash = (digit: string) => digit.repeat(64);
const M = 'cut-time';

function version(facts: Partial<VersionFacts> & Pick<VersionFacts, 'version'>): VersionFacts {
  return {
    status: 'rejected',
    statusChangedAt: daysAgo(40),
    snapshotHash: hash('0'),
    everApproved: false,
    closedAs: 'rejected',
    featureTable: null,
    ...facts,
  };
}

function object(key: string, size = 100, age = 40): StoredObject {
  return { key, size, lastModified: daysAgo(age) };
}

function folder(number: number): StoredObject[] {
  return ['model.onnx', 'manifest.json', 'card.html'].map((name) => object(`models/${M}/v${number}/${name}`));
}

const shared = `features/${M}/${hash('a')}.arrow`;
const ownFeatures = `features/${M}/${hash('c')}.arrow`;
const orphanOld = `features/${M}/${hash('e')}.arrow`;
const orphanNew = `features/${M}/${hash('f')}.arrow`;

function inventory(versions: VersionFacts[]): ModelInventory {
  return {
    model: M,
    versions,
    versionObjects: [1, 2, 3, 4, 5].flatMap(folder),
    snapshots: [
      object(`snapshots/${M}/${hash('1')}.arrow`, 5000),
      object(`snapshots/${M}/${hash('1')}.json`),
      object(`snapshots/${M}/${hash('3')}.arrow`, 7000),
      object(`snapshots/${M}/${hash('3')}.json`),
      object(`snapshots/${M}/${hash('4')}.arrow`, 9000),
      object(`snapshots/${M}/${hash('9')}.arrow`, 11_000, 60),
    ],
    featureTables: [
      object(shared, 300),
      object(ownFeatures, 400),
      object(orphanOld, 500),
      object(orphanNew, 600, 2),
    ],
  };
}

const everyCase = [
  version({ version: 1, closedAs: 'superseded', snapshotHash: hash('1'), featureTable: shared }),
  version({
    version: 2,
    status: 'deployed',
    everApproved: true,
    statusChangedAt: daysAgo(90),
    snapshotHash: hash('1'),
    featureTable: shared,
  }),
  version({
    version: 3,
    closedAs: 'rejected by shop-manager',
    snapshotHash: hash('3'),
    featureTable: ownFeatures,
  }),
  version({ version: 4, statusChangedAt: daysAgo(5), snapshotHash: hash('4') }),
  version({
    version: 5,
    status: 'failed',
    closedAs: 'failed',
    snapshotHash: hash('3'),
    featureTable: undefined,
  }),
];

describe('planCollection', () => {
  const plan = planCollection(inventory(everyCase), { now: NOW, afterDays: 30 });

  it("removes exactly the old rejected and failed versions' objects that nothing kept uses", () => {
    expect(plan.collectible.map((facts) => facts.version)).toEqual([1, 3, 5]);
    expect(plan.removals.map((removal) => [removal.version, removal.key])).toEqual([
      [1, `models/${M}/v1/card.html`],
      [1, `models/${M}/v1/manifest.json`],
      [1, `models/${M}/v1/model.onnx`],
      [3, ownFeatures],
      [3, `models/${M}/v3/card.html`],
      [3, `models/${M}/v3/manifest.json`],
      [3, `models/${M}/v3/model.onnx`],
      [5, `models/${M}/v5/card.html`],
      [5, `models/${M}/v5/manifest.json`],
      [5, `models/${M}/v5/model.onnx`],
      // v3 and v5 share a snapshot, and both go: it goes with the newer.
      [5, `snapshots/${M}/${hash('3')}.arrow`],
      [null, orphanOld],
      [null, `snapshots/${M}/${hash('9')}.arrow`],
    ]);
  });

  it('says why each goes', () => {
    const why = (key: string) => plan.removals.find((removal) => removal.key === key)?.why;
    expect(why(`models/${M}/v1/model.onnx`)).toBe('v1 superseded 40 days ago (more than 30)');
    expect(why(`models/${M}/v3/card.html`)).toBe('v3 rejected by shop-manager 40 days ago (more than 30)');
    expect(why(`snapshots/${M}/${hash('3')}.arrow`)).toBe(
      'snapshot only v3, v5 used, and no kept version uses it',
    );
    expect(why(orphanOld)).toBe(
      "built features no version's manifest names (its run stopped before signing), written 40 days ago",
    );
    expect(why(ownFeatures)).toBe('built features only v3 used, and no kept version uses them');
    expect(why(`snapshots/${M}/${hash('9')}.arrow`)).toBe(
      'snapshot no version was made from (its run stopped before registering), written 60 days ago',
    );
    expect(plan.removals.find((removal) => removal.key === ownFeatures)).toMatchObject({
      kind: 'feature-table',
      bytes: 400,
    });
  });

  it('keeps what an approved version shares, a version rejected too recently, and snapshot records', () => {
    const keys = plan.removals.map((removal) => removal.key);
    expect(keys.filter((key) => key.includes('/v2/') || key.includes('/v4/'))).toEqual([]);
    expect(keys).not.toContain(`snapshots/${M}/${hash('1')}.arrow`);
    expect(keys).not.toContain(shared);
    expect(keys).not.toContain(orphanNew);
    expect(keys.filter((key) => key.endsWith('.json') && key.startsWith('snapshots/'))).toEqual([]);
    expect(plan.kept.map((keeping) => keeping.why)).toEqual([
      'v4 rejected 5 days ago: kept 25 more days (it goes after 30)',
      'v2 kept: approved, deployed or retired versions are never collected',
      'snapshot of v1 kept: v2 uses it too',
      'built features of v1 kept: v2 uses them too',
    ]);
  });

  it('never collects a version that was approved once, whatever its status says', () => {
    const approvedOnce = [version({ version: 1, everApproved: true, statusChangedAt: daysAgo(400) })];
    const again = planCollection(inventory(approvedOnce), { now: NOW, afterDays: 30 });
    expect(again.collectible).toEqual([]);
    expect(again.removals.filter((removal) => removal.version !== null)).toEqual([]);
  });

  it('leaves objects no version names while a version trains or its manifest is unknown', () => {
    const inFlight = [
      ...everyCase.filter((facts) => facts.version !== 4),
      version({ version: 4, status: 'training', statusChangedAt: daysAgo(1), featureTable: undefined }),
    ];
    const again = planCollection(inventory(inFlight), { now: NOW, afterDays: 30 });
    const keys = again.removals.map((removal) => removal.key);
    expect(keys).not.toContain(orphanOld);
    expect(keys).not.toContain(`snapshots/${M}/${hash('9')}.arrow`);
    expect(again.kept.map((keeping) => keeping.why)).toContain(
      'built features no manifest names kept: v4 has no manifest yet and may use them',
    );
    expect(again.kept.map((keeping) => keeping.why)).toContain(
      'snapshot no version names kept: v4 is training',
    );
  });

  it('finds nothing once the objects are gone', () => {
    const empty = { ...inventory(everyCase), versionObjects: [], snapshots: [], featureTables: [] };
    expect(planCollection(empty, { now: NOW, afterDays: 30 }).removals).toEqual([]);
  });
});

describe('formatBytes', () => {
  it('says sizes the way people read them', () => {
    expect([12, 1500, 2_340_000, 7_000_000_000].map(formatBytes)).toEqual([
      '12 B',
      '1.5 kB',
      '2.3 MB',
      '7.0 GB',
    ]);
  });
});
