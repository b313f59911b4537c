import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProgressLine } from '../../src/cli/progress.ts';
import type { Progress } from '../../src/load/progress.ts';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { stream: { isTTY, write: (text: string) => writes.push(text) } as unknown as NodeJS.WriteStream, writes };
}

const progress = (done: number, tokens: number, extra: Partial<Progress> = {}): Progress => ({
  model: 'm',
  load: { kind: 'concurrency', value: 8 },
  cell: 2,
  cells: 3,
  done,
  total: 10,
  elapsedMs: 0,
  warmup: false,
  failed: false,
  tokens,
  ...extra,
});

test('on a terminal: cell, done/total and the rolling output tokens/s', () => {
  const { stream, writes } = fakeStream(true);
  let now = 0;
  const line = new ProgressLine(stream, { now: () => now });
  line.update(progress(1, 100));
  now = 1000;
  line.update(progress(2, 100));
  now = 2000;
  line.update(progress(3, 100));
  assert.match(writes.at(-1)!, /cell 2\/3 m @ c=8  \[#{6}-{14}\]  30%  3\/10 requests  150 output tok\/s/); // 300 tokens over 2 s
  now = 9000; // the first samples fall out of the 5 s window
  line.update(progress(4, 100));
  assert.match(writes.at(-1)!, /4\/10 requests  0 output tok\/s/);
});

test('quiet when stderr is not a terminal', () => {
  const { stream, writes } = fakeStream(false);
  const line = new ProgressLine(stream, { now: () => 0 });
  line.update(progress(1, 100));
  line.clear();
  assert.deepEqual(writes, []);
});

test('the live view shows rolling TTFT p95, errors so far, and time-bounded progress', () => {
  const { stream, writes } = fakeStream(true);
  let now = 0;
  const line = new ProgressLine(stream, { now: () => now });
  for (let i = 1; i <= 20; i++) {
    now = i * 300;
    // TTFTs 10..200 ms; the last 5 s hold requests 4..20 (TTFT 40..200): p95 is 200.
    const { total: _countBound, ...timeBounded } = progress(i, 10, { elapsedMs: now, durationMs: 12_000, firstChunkMs: i * 10, failed: i % 10 === 0 });
    line.update(timeBounded);
  }
  const last = writes.at(-1)!;
  assert.match(last, /\[#{10}-{10}\]  50%/);
  assert.match(last, /20 requests /);
  assert.match(last, /TTFT p95 200 ms/);
  assert.match(last, /failed 2/);
});
