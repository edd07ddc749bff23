import { afterAll, describe, expect, it } from 'vitest';
import { ObjectNotFoundError, ObjectStore } from '../../platform/objectStore';
import { testConfig, uniqueName } from '../helpers';

const store = ObjectStore.fromConfig(testConfig().s3);
const prefix = `test/${uniqueName('object-store')}/`;

afterAll(async () => {
  for (const object of await store.list(prefix)) await store.delete(object.key);
  store.destroy();
});

describe('ObjectStore against the real S3 server', () => {
  it('puts, gets, lists and deletes objects', async () => {
    const bytes = new Uint8Array([0, 1, 2, 250, 251, 252]);
    await store.put(`${prefix}model.onnx`, bytes);
    await store.put(`${prefix}cards/card.html`, '<h1>cut-time</h1>', 'text/html');

    expect(await store.get(`${prefix}model.onnx`)).toEqual(bytes);
    expect(new TextDecoder().decode(await store.get(`${prefix}cards/card.html`))).toBe('<h1>cut-time</h1>');

    const listed = await store.list(prefix);
    expect(listed.map((object) => object.key).sort()).toEqual([
      `${prefix}cards/card.html`,
      `${prefix}model.onnx`,
    ]);
    expect(listed.find((object) => object.key.endsWith('model.onnx'))?.size).toBe(bytes.length);

    await store.delete(`${prefix}model.onnx`);
    expect((await store.list(prefix)).map((object) => object.key)).toEqual([`${prefix}cards/card.html`]);
    await expect(store.get(`${prefix}model.onnx`)).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  it('lists past one page of results', async () => {
    const keys = Array.from(
      { length: 1005 },
      (_, index) => `${prefix}many/${String(index).padStart(4, '0')}`,
    );
    for (let start = 0; start < keys.length; start += 50) {
      await Promise.all(keys.slice(start, start + 50).map((key) => store.put(key, 'x')));
    }
    const listed = await store.list(`${prefix}many/`);
    expect(listed.map((object) => object.key)).toEqual(keys);
  });

  it('writes a content-named object once, however many callers put it at once', async () => {
    const key = `${prefix}snapshots/abc.arrow`;
    const written = await Promise.all([1, 2, 3].map(() => store.putOnce(key, 'first')));
    expect(written.filter(Boolean)).toHaveLength(1);
    // A second client has no call in flight to share: the store itself refuses the write.
    const other = ObjectStore.fromConfig(testConfig().s3);
    try {
      expect(await other.putOnce(key, 'second')).toBe(false);
    } finally {
      other.destroy();
    }
    expect(new TextDecoder().decode(await store.get(key))).toBe('first');
    expect(await store.putOnce(`${prefix}snapshots/def.arrow`, 'other')).toBe(true);
  });

  it('creating the bucket again is harmless', async () => {
    await store.ensureBucket();
    await store.ensureBucket();
  });
});
