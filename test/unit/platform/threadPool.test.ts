import { afterEach, describe, expect, it } from 'vitest';
import { ThreadError, ThreadPool } from '../../../platform/threads';

const ECHO = new URL('../../fixtures/echoThread.ts', import.meta.url);
let pool: ThreadPool;

afterEach(async () => {
  await pool.close();
});

describe('ThreadPool', () => {
  it('runs task after task on the thread it keeps, passing progress on', async () => {
    pool = new ThreadPool(ECHO, 1);
    const seen: unknown[] = [];
    const first = await pool.run<number>({ progress: 7 }, { onProgress: (progress) => seen.push(progress) });
    const second = await pool.run<number>({});
    expect(second).toBe(first);
    expect(seen).toEqual([7]);
  });

  it("passes a task's error on and keeps the thread for the next", async () => {
    pool = new ThreadPool(ECHO, 1);
    const first = await pool.run<number>({});
    const failed = pool.run<number>({ fail: true });
    await expect(failed).rejects.toBeInstanceOf(ThreadError);
    await expect(failed).rejects.toMatchObject({ message: 'asked to fail', nonRetryable: true });
    expect(await pool.run<number>({})).toBe(first);
  });

  it('ends the thread of an aborted task and starts another for the next', async () => {
    pool = new ThreadPool(ECHO, 1);
    const first = await pool.run<number>({});
    const controller = new AbortController();
    const hanging = pool.run<number>({ hang: true }, { signal: controller.signal });
    controller.abort(new Error('cancelled'));
    await expect(hanging).rejects.toThrow('cancelled');
    expect(await pool.run<number>({})).not.toBe(first);
  });

  it('keeps no more idle threads than asked', async () => {
    pool = new ThreadPool(ECHO, 1);
    const [a, b] = await Promise.all([pool.run<number>({}), pool.run<number>({})]);
    expect(a).not.toBe(b);
    const next = await pool.run<number>({});
    expect([a, b]).toContain(next);
  });
});
