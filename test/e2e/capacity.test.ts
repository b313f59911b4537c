import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { readRequests, runScenarioText, withTempDir } from '../helpers.ts';

const LLAMA = 'Meta-Llama-3.3-70B-Instruct';

test('capacity finds the simulator’s capacity: it decodes 4 streams at once, a 5th waits', () =>
  withTempDir(async (dir) => {
    // Idle TTFT 20 ms; a request takes ~420 ms, so past 4 streams each waits ~100 ms for a slot.
    // The 70 ms bound leaves ~50 ms on either side for a busy machine's noise.
    const { code, io, out } = await runScenarioText(
      dir,
      'cap',
      `name: cap
target:
  baseURL: builtin
  simulator: {seed: 3, defaults: {ttftMs: 20, tokensPerSecond: 200, tokensPerChunk: [1, 3], outputTokens: 80, capacity: 4}}
models: [${LLAMA}]
load: {concurrency: 1, duration: 2s}
prompts: ["Tell me a story"]
params: {max_tokens: 100}
slo: {ttft_p95_ms: 70, error_rate: 0.01}
capacity: {start: 1, max: 32, tolerance: 1}
`,
      { command: 'capacity' },
    );
    assert.equal(code, 0, io.err());
    const summary = JSON.parse(await readFile(path.join(out, 'summary.json'), 'utf8'));
    const [outcome] = summary.capacity;
    assert.equal(outcome.best, 4, `steps: ${JSON.stringify(outcome.steps)}`);
    assert.equal(outcome.firstFailure.load, 5);
    assert.match(outcome.firstFailure.reason, /^ttft_p95_ms \d+(\.\d+)? > 70$/);
    assert.deepEqual(
      outcome.steps.map((s: { load: number }) => s.load),
      [1, 2, 4, 8, 6, 5],
    );
    assert.match(io.out(), /capacity: c=4 — \d+(\.\d)? output tok\/s/);
    assert.match(io.out(), /lowest failing load: c=5: ttft_p95_ms/);
    // Every cell the search ran is in the results, with its SLO verdict and goodput.
    const rows = parse(await readFile(path.join(out, 'summary.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    assert.deepEqual(
      rows.map((r) => [r.concurrency, r.slo_met]),
      [
        ['1', 'true'],
        ['2', 'true'],
        ['4', 'true'],
        ['8', 'false'],
        ['6', 'false'],
        ['5', 'false'],
      ],
    );
    const knee = rows.find((r) => r.concurrency === '4')!;
    assert.equal(knee.good_requests, knee.ok, 'every request at the knee met the SLO');
    assert.ok(Number(knee.goodput_rps) > 0);
    // Per request: met_slo is false exactly when its TTFT broke the bound.
    for (const r of await readRequests(out)) {
      if (r.warmup || r.outcome !== 'ok') continue;
      assert.equal(r.met_slo, r.ttft_ms <= 70, `${r.id}: ttft ${r.ttft_ms}`);
    }
  }));

test('a saturated client shows schedule lag, and its cell is marked invalid in every output', () =>
  withTempDir(async (dir) => {
    // The client's own thread is busy 25 ms out of every 30: arrivals cannot be sent on time.
    const hog = setInterval(() => {
      const until = performance.now() + 25;
      while (performance.now() < until);
    }, 30);
    let run;
    try {
      run = await runScenarioText(
        dir,
        'sat',
        `name: sat
target:
  baseURL: builtin
  simulator: {defaults: {ttftMs: 5, tokensPerSecond: 2000, tokensPerChunk: 4, outputTokens: 20, capacity: 64}}
models: [${LLAMA}]
load: {rate: 50, requests: 60, warmup: 0}
prompts: ["hi"]
`,
      );
    } finally {
      clearInterval(hog);
    }
    const { code, io, out } = run;
    assert.equal(code, 0, io.err());
    const [row] = parse(await readFile(path.join(out, 'summary.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    assert.equal(row!.rate_rps, '50');
    assert.equal(row!.valid, 'false');
    assert.match(row!.invalid_reason!, /^p99 schedule lag \d+\.\d ms > 10 ms/);
    assert.ok(Number(row!.schedule_lag_p99_ms) > 10);
    const summary = JSON.parse(await readFile(path.join(out, 'summary.json'), 'utf8'));
    assert.match(summary.cells[0].invalid, /p99 schedule lag/);
    assert.match(io.out(), /INVALID .* @ 50 req\/s: p99 schedule lag/);
    assert.match(await readFile(path.join(out, 'report.html'), 'utf8'), /INVALID/);
    // Latency from the scheduled time includes the lag; from the send time it does not.
    const lagged = (await readRequests(out)).filter((r) => r.outcome === 'ok' && r.schedule_lag_ms > 10);
    assert.ok(lagged.length > 0);
    for (const r of lagged) assert.ok(Math.abs(r.scheduled_ttft_ms - (r.ttft_ms + r.schedule_lag_ms)) < 0.01);
  }));
