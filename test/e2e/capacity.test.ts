import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { readRequests, runScenarioText, withTempDir } from '../helpers.ts';

// The search's timing (the knee of a capacity-limited server) is tested on simulated time in
// test/pipeline/pipeline.test.ts; here the command runs end to end against the real simulator,
// with SLOs that every load meets, or none does, whatever the machine is doing.
const LLAMA = 'Meta-Llama-3.3-70B-Instruct';
const scenario = (slo: string, capacity: string) => `name: cap
target:
  baseURL: builtin
  simulator: {seed: 3, defaults: {ttftMs: 5, tokensPerSecond: 2000, tokensPerChunk: [1, 3], outputTokens: 20, capacity: 64}}
models: [${LLAMA}]
# Cells of ~0.1 s on a busy test machine: one scheduler hiccup is 1% of such a cell. This test is about the search,
# not the client's health (test/e2e/client-health.test.ts), so the event-loop bound is loose.
load: {concurrency: 1, requests: 6, maxClientLag: 1s}
prompts: ["Tell me a story"]
slo: {${slo}}
capacity: {${capacity}}
`;

test('capacity: every load meets a generous SLO up to the maximum, and every output says so', () =>
  withTempDir(async (dir) => {
    const { code, io, out } = await runScenarioText(dir, 'cap', scenario('ttft_p95_ms: 60000, error_rate: 0.01', 'start: 1, max: 4, tolerance: 1'), { command: 'capacity' });
    assert.equal(code, 0, io.err());
    const [outcome] = JSON.parse(await readFile(path.join(out, 'summary.json'), 'utf8')).capacity;
    assert.deepEqual(
      outcome.steps.map((s: { load: number; met: boolean }) => [s.load, s.met]),
      [
        [1, true],
        [2, true],
        [4, true],
      ],
    );
    assert.equal(outcome.best, 4);
    assert.equal(outcome.reachedMax, true);
    assert.match(io.out(), /capacity: c=4 \(the search maximum: raise capacity\.max to look further\) — \d+(\.\d)? output tok\/s/);
    assert.match(io.err(), /Meta-Llama-3\.3-70B-Instruct @ 2: meets the SLO/);
    const rows = parse(await readFile(path.join(out, 'summary.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    assert.deepEqual(
      rows.map((r) => [r.concurrency, r.slo_met, r.good_requests]),
      [
        ['1', 'true', '6'],
        ['2', 'true', '6'],
        ['4', 'true', '6'],
      ],
    );
    const measured = (await readRequests(out)).filter((r) => !r.warmup);
    assert.equal(measured.length, 18);
    assert.ok(measured.every((r) => r.met_slo === true));
  }));

test('capacity: when no load meets the SLO, the search halves down to one request in flight and exits 99', () =>
  withTempDir(async (dir) => {
    const { code, io, out } = await runScenarioText(dir, 'cap', scenario('ttft_p95_ms: 0.001', 'start: 4, max: 16, tolerance: 1'), { command: 'capacity' });
    assert.equal(code, 99, io.err());
    const [outcome] = JSON.parse(await readFile(path.join(out, 'summary.json'), 'utf8')).capacity;
    assert.deepEqual(
      outcome.steps.map((s: { load: number }) => s.load),
      [4, 2, 1],
    );
    assert.equal(outcome.best, undefined);
    assert.match(io.out(), /no load met the SLO; the lowest tried, c=1, failed: ttft_p95_ms \d+(\.\d+)? > 0\.001/);
    for (const r of await readRequests(out)) if (!r.warmup) assert.equal(r.met_slo, false);
  }));
