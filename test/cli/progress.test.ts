import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PLAIN_EVERY_MS, ProgressLine } from '../../src/cli/progress.ts';
import type { Progress } from '../../src/load/progress.ts';

function fakeStream(isTTY: boolean, columns = 200) {
  const writes: string[] = [];
  return { stream: { isTTY, columns, write: (text: string) => writes.push(text) } as unknown as NodeJS.WriteStream, writes };
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

test('on a terminal: cell, done/total and output tokens/s over the measured requests so far', () => {
  const { stream, writes } = fakeStream(true);
  let now = 0;
  const line = new ProgressLine(stream, { now: () => now });
  line.update(progress(1, 100));
  now = 1000;
  line.update(progress(2, 100));
  now = 2000;
  line.update(progress(3, 100));
  assert.match(writes.at(-1)!, /cell 2\/3 m @ c=8  \[#{6}-{14}\]  30%  3\/10 requests  150 output tok\/s/); // 300 tokens over 2 s
  now = 4000;
  line.update(progress(4, 100));
  assert.match(writes.at(-1)!, /4\/10 requests  100 output tok\/s/); // 400 tokens over 4 s, as the final figure counts them
});

test('warm-up apart: the counter says warm-up until it is over, then counts measured requests only, and tok/s starts after it', () => {
  const { stream, writes } = fakeStream(true);
  let now = 0;
  const line = new ProgressLine(stream, { now: () => now });
  const cell = { total: 10, warmups: 2 };
  line.update(progress(1, 500, { ...cell, warmup: true }));
  assert.match(writes.at(-1)!, /warm-up 1\/2/);
  now = 1000;
  line.update(progress(2, 500, { ...cell, warmup: true }));
  now = 3000;
  line.update(progress(3, 100, cell));
  // 8 measured requests, not the 10 with warm-up; 100 tokens over the 2 s since the warm-up ended.
  assert.match(writes.at(-1)!, /1\/8 requests  50 output tok\/s/);
});

test('the line fits the terminal: the least needed fields go first, it never wraps', () => {
  const { stream, writes } = fakeStream(true, 70);
  const line = new ProgressLine(stream, { now: () => 0 });
  line.update(progress(1, 100, { model: 'Meta-Llama-3.3-70B-Instruct', failed: true }));
  const text = writes.at(-1)!.replace('\r\x1b[2K', '');
  assert.ok(text.length <= 69, `${text.length}: ${text}`);
  assert.match(text, /^cell 2\/3 Meta-Llama-3\.3-70B-Instruct @ c=8  1\/10 requests/);
  assert.match(text, /failed 1/, 'failures outrank the bar and the rates');
  assert.doesNotMatch(text, /\[#/);
});

test('without a terminal (a CI log): a plain line at the first request, every 10 s, and as a cell ends', () => {
  const { stream, writes } = fakeStream(false);
  let now = 0;
  const line = new ProgressLine(stream, { now: () => now });
  for (let done = 1; done <= 9; done++) {
    now = done * 3000;
    line.update(progress(done, 10));
  }
  // At 3 s (the first), 15 s and 27 s: PLAIN_EVERY_MS apart at least.
  assert.equal(PLAIN_EVERY_MS, 10_000);
  assert.equal(writes.length, 3, writes.join(''));
  now = 28_000;
  line.update(progress(10, 10));
  assert.equal(writes.length, 4, 'the cell ended');
  assert.match(writes.at(-1)!, /^progress: cell 2\/3 m @ c=8  10\/10 requests  \d+ output tok\/s  TTFT p95 - {2}failed 0\n$/);
  for (const text of writes) assert.ok(!text.includes('\r') && !text.includes('\x1b'), 'no terminal codes in a log');
  line.clear();
  assert.equal(writes.length, 4);
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
