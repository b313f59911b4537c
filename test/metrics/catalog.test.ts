import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CellAccumulator } from '../../src/metrics/cell-summary.ts';
import { CELL_VALUES, fieldName, HISTOGRAM_METRICS, METRIC_NAMES, METRICS } from '../../src/metrics/catalog.ts';
import { renderRequestLine } from '../../src/report/json.ts';
import type { RequestRecord } from '../../src/types.ts';

/** A successful request with a value for every metric. */
const record: RequestRecord = {
  id: 'r1',
  model: 'm',
  load: { kind: 'concurrency', value: 1 },
  warmup: false,
  prompt: 0,
  outcome: 'ok',
  connectMs: 2.5,
  metrics: {
    scheduleLagMs: 0.25,
    scheduledTtftMs: 100.25,
    scheduledE2eMs: 130.25,
    ttfbMs: 99,
    ttftMs: 100,
    ttfoMs: 110,
    e2eMs: 130,
    tpotMs: 5,
    itl: [{ gapPerTokenMs: 5, tokens: 2 }, { gapPerTokenMs: 10, tokens: 1 }],
    chunkGapsMs: [10, 10],
    tokensPerChunk: [1, 2, 1],
    chunkTimesMs: [100, 110, 120],
    chunkChoices: [0, 0, 0],
    outputTokens: 4,
    reasoningTokens: 1,
    inputTokens: 12,
    outputTokensPerS: 30.769,
    decodeTokensPerS: 150,
  },
  tokenSource: 'tokenizer',
  tokenizer: 'llama3',
};

test('the catalog names each metric once, METRIC_NAMES in catalog order', () => {
  assert.deepEqual(METRIC_NAMES, HISTOGRAM_METRICS.map((metric) => metric.name));
  assert.equal(new Set(METRIC_NAMES).size, METRIC_NAMES.length);
  assert.equal(new Set(CELL_VALUES.map((value) => value.name)).size, CELL_VALUES.length);
  for (const name of METRIC_NAMES) assert.equal(METRICS[name].name, name);
});

test('a successful request adds its samples to every histogram of the catalog, weighted where a sample stands for several', () => {
  const accumulator = new CellAccumulator({ model: 'm', load: { kind: 'concurrency', value: 1 } });
  accumulator.add(record, { t0: 0, tEnd: 130 });
  const { histograms, stats } = accumulator.summary();
  const counts = Object.fromEntries(METRIC_NAMES.map((name) => [name, histograms[name].totalCount]));
  assert.deepEqual(counts, {
    ttft: 1,
    ttfo: 1,
    tpot: 1,
    itl: 3,
    e2e: 1,
    ttfb: 1,
    chunk_gap: 2,
    tokens_per_chunk: 3,
    output_tokens_per_s: 1,
    decode_tokens_per_s: 1,
    input_tokens: 1,
    output_tokens: 1,
    reasoning_tokens: 1,
    connect: 1,
    schedule_lag: 1,
    scheduled_ttft: 1,
    scheduled_e2e: 1,
    // The client's own health comes from its monitor, never from a request.
    client_loop_delay: 0,
  });
  assert.equal(stats.itl!.mean.toFixed(2), '6.67');
  assert.equal(stats.input_tokens!.max, 12);
});

test('a failed request adds only how late it was sent and when it ended, from its schedule', () => {
  const accumulator = new CellAccumulator({ model: 'm', load: { kind: 'concurrency', value: 1 } });
  accumulator.add({ ...record, outcome: 'error', error: { class: 'server_error', message: '500' } }, { t0: 0, tEnd: 130 });
  const recorded = METRIC_NAMES.filter((name) => accumulator.summary().histograms[name].totalCount > 0);
  assert.deepEqual(recorded, ['schedule_lag', 'scheduled_e2e']);
  assert.deepEqual(
    HISTOGRAM_METRICS.filter((metric) => metric.recordedFor === 'sent').map((metric) => metric.name),
    recorded,
  );
});

test('each per-request metric is in requests.jsonl under its field name, with the value the catalog reads', () => {
  const line = JSON.parse(renderRequestLine(record)) as Record<string, unknown>;
  for (const metric of HISTOGRAM_METRICS) {
    if (!metric.value) continue;
    assert.equal(line[fieldName(metric.name)], metric.value(record), metric.name);
  }
});

test('field names: times end in _ms, counts and rates carry their unit in their name', () => {
  assert.equal(fieldName('ttft', 'p95'), 'ttft_p95_ms');
  assert.equal(fieldName('ttft'), 'ttft_ms');
  assert.equal(fieldName('tokens_per_chunk', 'mean'), 'tokens_per_chunk_mean');
  assert.equal(fieldName('decode_tokens_per_s', 'p5'), 'decode_tokens_per_s_p5');
});
