import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { OutgoingRequest } from '../../src/load/closed-loop.ts';
import { openLoop } from '../../src/load/open-loop.ts';
import { seededRandom } from '../../src/util/random.ts';
import type { Exchange } from '../../src/types.ts';

const prompts = [{ messages: [{ role: 'user' as const, content: 'hi' }] }];

function exchangeOf(request: OutgoingRequest, t0: number): Exchange {
  return { id: request.id, ts: request.ts!, t0, tEnd: performance.now(), chunks: [] };
}

test('the open-loop scheduler does not drift over a 30 s run', async () => {
  const rate = 100;
  const sent: { ts: number; at: number }[] = [];
  let start = 0;
  const loop = openLoop(
    { rate, arrival: 'constant', maxInFlight: 1000, random: seededRandom(1), durationMs: 30_000, warmup: 0, prompts, idPrefix: 'd' },
    async (request) => {
      const at = performance.now();
      sent.push({ ts: request.ts!, at });
      await sleep(5); // a short request: several in flight at once
      return exchangeOf(request, at);
    },
  );
  let count = 0;
  for await (const request of loop) {
    if (count++ === 0) start = request.ts;
    assert.ok(request.exchange, 'nothing dropped below maxInFlight');
  }
  // One warm-up arrival, then 30 s of arrivals every 10 ms.
  assert.equal(sent.length, 1 + 30_000 / (1000 / rate));
  sent.forEach((s, i) => assert.ok(Math.abs(s.ts - (start + i * 10)) < 1e-6, `arrival ${i} scheduled at start + i/rate`));
  // Medians, so one stall of a shared machine (seen: a few hundred ms) cannot fail a 30 s test.
  const median = (part: typeof sent) => part.map((s) => s.at - s.ts).sort((a, b) => a - b)[part.length >> 1]!;
  const overall = median(sent);
  assert.ok(overall >= 0 && overall < 5, `median schedule lag ${overall.toFixed(2)} ms`);
  // No drift: the last tenth is sent as punctually as the first.
  const tenth = sent.length / 10;
  const first = median(sent.slice(0, tenth));
  const last = median(sent.slice(-tenth));
  assert.ok(last - first < 2, `median lag first 3 s ${first.toFixed(2)} ms, last 3 s ${last.toFixed(2)} ms`);
  assert.ok(sent.every((s) => s.at >= s.ts), 'nothing is sent before it is due');
});

test('an arrival that finds maxInFlight requests in flight is recorded as dropped, never queued', async () => {
  const release: (() => void)[] = [];
  const loop = openLoop(
    { rate: 200, arrival: 'constant', maxInFlight: 5, random: seededRandom(1), requests: 20, warmup: 0, prompts, idPrefix: 'x' },
    async (request) => {
      const t0 = performance.now();
      await new Promise<void>((resolve) => release.push(resolve));
      return exchangeOf(request, t0);
    },
  );
  const finished = [];
  const releaseAll = setInterval(() => {
    // Hold the first five until every other arrival has come and found the cap full.
    if (release.length === 5 && finishedArrivals() >= 16) release.splice(0).forEach((r) => r());
  }, 5);
  const finishedArrivals = () => finished.length;
  for await (const request of loop) finished.push(request);
  clearInterval(releaseAll);
  // 1 warm-up + 20 measured arrivals; 5 sent, 16 dropped.
  assert.equal(finished.length, 21);
  assert.equal(finished.filter((r) => r.exchange === undefined).length, 16);
  assert.deepEqual(
    finished.filter((r) => r.exchange !== undefined).map((r) => r.id),
    ['x-0', 'x-1', 'x-2', 'x-3', 'x-4'],
  );
});
