import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProgressLine } from '../../src/cli/progress.ts';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { stream: { isTTY, write: (text: string) => writes.push(text) } as unknown as NodeJS.WriteStream, writes };
}

const progress = (done: number, tokens: number) => ({ model: 'm', concurrency: 8, cell: 2, cells: 3, done, total: 10, tokens });

test('on a terminal: cell, done/total and the rolling output tokens/s', () => {
  const { stream, writes } = fakeStream(true);
  let now = 0;
  const line = new ProgressLine(stream, () => now);
  line.update(progress(1, 100));
  now = 1000;
  line.update(progress(2, 100));
  now = 2000;
  line.update(progress(3, 100));
  assert.match(writes.at(-1)!, /cell 2\/3 m @ 8: 3\/10 requests, 150 output tok\/s/); // 300 tokens over 2 s
  now = 9000; // the first samples fall out of the 5 s window
  line.update(progress(4, 100));
  assert.match(writes.at(-1)!, /4\/10 requests, 0 output tok\/s/);
});

test('quiet when stderr is not a terminal', () => {
  const { stream, writes } = fakeStream(false);
  const line = new ProgressLine(stream, () => 0);
  line.update(progress(1, 100));
  line.clear();
  assert.deepEqual(writes, []);
});
