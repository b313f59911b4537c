import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { main } from '../../src/cli/main.ts';
import { captureIo, readRequests, runScenarioText, withTempDir } from '../helpers.ts';

test('open loop: dropped arrivals are recorded and counted, and report rebuilds the page', () =>
  withTempDir(async (dir) => {
    // Requests take ~300 ms and at most 2 may be in flight: at 20 arrivals/s most arrivals find the cap full.
    const first = await runScenarioText(
      dir,
      'out',
      `name: ol
target:
  baseURL: builtin
  simulator: {defaults: {ttftMs: 100, tokensPerSecond: 100, tokensPerChunk: 2, outputTokens: 20, capacity: 64}}
models: [Meta-Llama-3.3-70B-Instruct]
# This test is about drops, not the client's health (test/e2e/client-health.test.ts): a busy test machine's
# scheduler hiccups must not add a client-lag failure to the SLO verdict it pins, nor make the only cell
# invalid for schedule lag (exit 98).
load: {rate: 20, arrival: poisson, maxInFlight: 2, requests: 30, warmup: 0, maxClientLag: 1s, maxScheduleLag: 1s}
seed: 5
prompts: ["hi"]
slo: {ttft_p95_ms: 1000}
`,
    );
    assert.equal(first.code, 0, first.io.err());
    const lines = await readRequests(first.out);
    const measured = lines.filter((r) => !r.warmup);
    assert.equal(measured.length, 30);
    const dropped = measured.filter((r) => r.outcome === 'dropped');
    assert.ok(dropped.length >= 10, `${dropped.length} dropped`);
    for (const r of dropped) {
      assert.equal(r.rate, 20);
      assert.equal(r.e2e_ms, null, 'a dropped arrival has no latency');
      assert.equal(r.met_slo, false);
    }
    const [row] = parse(await readFile(path.join(first.out, 'summary.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    assert.equal(Number(row!.dropped), dropped.length);
    assert.equal(Number(row!.ok), measured.filter((r) => r.outcome === 'ok').length);
    // Drops break no percentile bound, but load the deployment did not take fails the SLO. (On a
    // saturated machine the cell may also be invalid for schedule lag: that reason may follow.)
    assert.equal(row!.slo_met, 'false');
    assert.ok(row!.slo_failures!.startsWith(`dropped ${dropped.length} > 0`), row!.slo_failures);
    assert.match(first.io.out(), /dropped in .* @ 20 req\/s: \d+ arrivals found maxInFlight requests in flight/);

    // report rebuilds report.html from the folder's files, byte for byte, its provenance block included.
    const written = await readFile(path.join(first.out, 'report.html'), 'utf8');
    assert.match(written, /<dt>target host<\/dt><dd>http:\/\/127\.0\.0\.1:\d+<\/dd>/);
    assert.match(written, /<dt>load<\/dt><dd>rate 20 req\/s; poisson arrivals; 30 requests per cell/);
    await rm(path.join(first.out, 'report.html'));
    const io = captureIo();
    assert.equal(await main(['report', first.out], io), 0, io.err());
    const html = await readFile(path.join(first.out, 'report.html'), 'utf8');
    assert.equal(html, written);
    assert.match(html, /data-chart="latency-throughput"/);
    assert.match(html, /20 req\/s/);
    const missing = captureIo();
    assert.equal(await main(['report', path.join(dir, 'nope')], missing), 2);
    assert.match(missing.err(), /run\.json: cannot read it \(ENOENT\); is .*nope a tokenmeter results folder\?/);
  }));
