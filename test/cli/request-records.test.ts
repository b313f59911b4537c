/**
 * requests.jsonl read back into records (`merge`): a line parses into the
 * record it was rendered from, as far as anything reads it, and through the
 * accumulator gives the same histograms, exactly.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { recordOfLine } from '../../src/cli/request-records.ts';
import { CellAccumulator } from '../../src/metrics/cell-summary.ts';
import { encodeHistogram, METRIC_NAMES } from '../../src/metrics/histograms.ts';
import { cellOptions, collectRun, scenarioEvents } from '../../src/pipeline.ts';
import { renderRequestLine } from '../../src/report/json.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import type { RequestRecord } from '../../src/types.ts';
import { VirtualClock } from '../../src/util/clock.ts';
import { VirtualServer } from '../virtual-server.ts';

const LLAMA = 'Meta-Llama-3.3-70B-Instruct';

/** An open-loop cell with every kind of record: warm-up, ok, server errors, arrivals dropped at the in-flight cap. */
async function records(): Promise<{ records: RequestRecord[]; scenario: ReturnType<typeof parseScenario> }> {
  const scenario = parseScenario(
    `name: t\ntarget: {baseURL: "http://virtual.invalid/v1"}\nmodels: [${LLAMA}]\nprompts: [hi]\nload: {rate: 80, requests: 120, maxInFlight: 6, warmup: 300ms}\nslo: {ttft_p95_ms: 60}\n`,
    't.yaml',
    {},
  );
  const clock = new VirtualClock(1234.5678);
  const client = new VirtualServer(clock, { ttftMs: 40, tokensPerSecond: 300, tokensPerChunk: [1, 4], outputTokens: [5, 40], capacity: 4, ttftJitter: 0.7, fails: (id) => id.endsWith('7') });
  const out: RequestRecord[] = [];
  await clock.run(
    collectRun(scenarioEvents(scenario, { baseURL: '', clock, client, wallClockOrigin: { clockMs: 1000, unixMs: Date.UTC(2030, 0, 1) + 0.123456 } }), (event) => {
      if (event.type === 'record') out.push(event.record);
    }),
  );
  return { records: out, scenario };
}

test('a requests.jsonl line parses back into its record: rendered again, the same line', async () => {
  const { records: all } = await records();
  assert.ok(all.some((r) => r.outcome === 'dropped') && all.some((r) => r.outcome === 'error') && all.some((r) => r.warmup));
  for (const record of all) {
    const line = renderRequestLine(record);
    const { record: parsed, edges } = recordOfLine(JSON.parse(line));
    assert.equal(renderRequestLine(parsed), line, record.id);
    const m = record.metrics;
    // The window's edges, on Unix time: ts, t0 and the end of the stream, to the µs.
    assert.ok(Math.abs(edges.t0 - (record.sentAtUnixMs ?? record.scheduledAtUnixMs!)) < 0.001);
    assert.ok(Math.abs((edges.ts ?? edges.t0) - record.scheduledAtUnixMs!) < 0.001);
    assert.ok(Math.abs(edges.tEnd - edges.t0 - (record.outcome === 'dropped' ? 0 : m.e2eMs)) < 0.001);
  }
});

test('the records read back make the same histograms, exactly, and the same counts and verdicts', async () => {
  const { records: all, scenario } = await records();
  const key = { model: LLAMA, load: { kind: 'rate' as const, value: 80 } };
  const original = new CellAccumulator(key, cellOptions(scenario));
  const readBack = new CellAccumulator(key, cellOptions(scenario));
  for (const record of all) {
    original.add(record, { t0: record.sentAtUnixMs ?? record.scheduledAtUnixMs!, ts: record.scheduledAtUnixMs!, tEnd: (record.sentAtUnixMs ?? record.scheduledAtUnixMs!) + (record.outcome === 'dropped' ? 0 : record.metrics.e2eMs) });
    const { record: parsed, edges } = recordOfLine(JSON.parse(renderRequestLine(record)));
    readBack.add(parsed, edges);
  }
  const a = original.summary();
  const b = readBack.summary();
  for (const metric of METRIC_NAMES) assert.equal(encodeHistogram(b.histograms[metric]), encodeHistogram(a.histograms[metric]), metric);
  const { histograms: _a, serverTimings: _sa, windowS, outputTokensPerS, requestsPerS, goodputPerS, ...restA } = a;
  const { histograms: _b, serverTimings: _sb, windowS: windowB, outputTokensPerS: tokensB, requestsPerS: requestsB, goodputPerS: goodputB, ...restB } = b;
  assert.deepEqual(restB, restA);
  // Times come back to the µs (and a Unix time of 1.9e12 ms holds 0.24 µs): the window to within that.
  assert.ok(Math.abs(windowB - windowS) < 2e-6, `${windowB} vs ${windowS}`);
  assert.ok(Math.abs(tokensB / outputTokensPerS - 1) < 1e-6 && Math.abs(requestsB / requestsPerS - 1) < 1e-6 && Math.abs(goodputB! / goodputPerS! - 1) < 1e-6);
});

test('a line without a field the accumulator needs is refused, naming it, never approximated', () => {
  const line = JSON.parse(
    renderRequestLine({
      id: 'c1-0',
      model: 'm',
      load: { kind: 'concurrency', value: 1 },
      warmup: false,
      prompt: 0,
      outcome: 'ok',
      sentAtUnixMs: 1,
      scheduledAtUnixMs: 1,
      metrics: { scheduleLagMs: 0, scheduledE2eMs: 5, e2eMs: 5, itl: [], chunkGapsMs: [], tokensPerChunk: [1], chunkTimesMs: [4], chunkChoices: [0], outputTokens: 1, reasoningTokens: 0 },
      tokenSource: 'tokenizer',
      tokenizer: 'llama3',
    }),
  );
  assert.doesNotThrow(() => recordOfLine(line));
  for (const field of ['itl_ms', 'chunk_gaps_ms', 'scheduled_at_unix_ms']) {
    const { [field]: _, ...without } = line;
    assert.throws(() => recordOfLine(without), new RegExp(`${field} is missing: written by a tokenmeter older than merge`));
  }
  assert.throws(() => recordOfLine({ ...line, sent_at_unix_ms: null }), /a sent request must have sent_at_unix_ms/);
});
