/**
 * The load-worker pool's failures: a worker that crashes fails the cell with a clear message, and
 * never leaves the run waiting. (The pool's normal work is tested end to end: test/e2e/workers.test.ts.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LoadWorkers } from '../../src/load/load-workers.ts';
import { parseScenario } from '../../src/scenario/load.ts';

const scenario = parseScenario('name: w\ntarget: {baseURL: builtin}\nmodels: [m]\nload: {concurrency: 4, requests: 8}\nprompts: [hi]\n', 'w.yaml', {});
const FAILING = new URL('../fixtures/failing-load-worker.mjs', import.meta.url);

for (const [failure, message] of [
  ['throw', /load worker 1 of 2 crashed: boom in the worker$/],
  ['exit', /load worker 1 of 2 exited unexpectedly \(exit code 3\)$/],
] as const) {
  test(`a load worker that fails mid-cell (${failure}) ends the cell with an error naming it, and stops the pool`, async () => {
    const pool = await LoadWorkers.start({ count: 2, baseURL: failure, target: scenario.target, load: scenario.load, seed: 1, entry: FAILING });
    try {
      const cell = pool.runCell({ model: 'm', load: { kind: 'concurrency', value: 4 }, idPrefix: 'c1', prompts: [{ messages: [] }], params: [{}], startAt: 0 });
      await assert.rejects(async () => {
        for await (const _ of cell.requests);
      }, message);
      // The next cell fails at once with the same error: nothing waits on a pool that lost a worker.
      const next = pool.runCell({ model: 'm', load: { kind: 'concurrency', value: 4 }, idPrefix: 'c2', prompts: [{ messages: [] }], params: [{}], startAt: 0 });
      await assert.rejects(async () => {
        for await (const _ of next.requests);
      }, message);
    } finally {
      await pool.close();
    }
  });
}

test('a load worker that cannot start fails the start, with its name', async () => {
  await assert.rejects(
    LoadWorkers.start({ count: 2, baseURL: 'x', target: scenario.target, load: scenario.load, seed: 1, entry: new URL('../fixtures/no-such-worker.mjs', import.meta.url) }),
    /load worker \d of 2 failed to start: .*no-such-worker/,
  );
});
