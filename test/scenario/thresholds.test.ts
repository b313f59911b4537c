import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseThreshold, ThresholdSyntaxError } from '../../src/scenario/thresholds.ts';

const parsed: [string, object][] = [
  ['ttft.p95 < 500ms', { metric: 'ttft', stat: 95, filters: {}, op: '<', value: 500 }],
  ['tpot.p99 <= 40ms', { metric: 'tpot', stat: 99, filters: {}, op: '<=', value: 40 }],
  ['e2e.p99.9 < 2s', { metric: 'e2e', stat: 99.9, filters: {}, op: '<', value: 2000 }],
  ['e2e.p999<2000', { metric: 'e2e', stat: 99.9, filters: {}, op: '<', value: 2000 }],
  ['itl.mean < 12.5', { metric: 'itl', stat: 'mean', filters: {}, op: '<', value: 12.5 }],
  ['output_tokens_per_s > 900', { metric: 'output_tokens_per_s', filters: {}, op: '>', value: 900 }],
  ['output_tokens_per_s >= 900 tok/s', { metric: 'output_tokens_per_s', filters: {}, op: '>=', value: 900 }],
  ['decode_tokens_per_s.p5 > 20', { metric: 'decode_tokens_per_s', stat: 5, filters: {}, op: '>', value: 20 }],
  ['requests_per_s > 3 req/s', { metric: 'requests_per_s', filters: {}, op: '>', value: 3 }],
  ['goodput >= 2', { metric: 'goodput', filters: {}, op: '>=', value: 2 }],
  ['errors.rate < 1%', { metric: 'errors', stat: 'rate', filters: {}, op: '<', value: 0.01 }],
  ['errors.rate < 0.01', { metric: 'errors', stat: 'rate', filters: {}, op: '<', value: 0.01 }],
  ['dropped.count <= 0', { metric: 'dropped', stat: 'count', filters: {}, op: '<=', value: 0 }],
  ['ttft.count > 100', { metric: 'ttft', stat: 'count', filters: {}, op: '>', value: 100 }],
  ['ttft.p99{model=gpt-oss-120b, concurrency=8} < 2s', { metric: 'ttft', stat: 99, filters: { model: 'gpt-oss-120b', concurrency: 8 }, op: '<', value: 2000 }],
  ['  ttft.p50{rate=2.5}<300ms  ', { metric: 'ttft', stat: 50, filters: { rate: 2.5 }, op: '<', value: 300 }],
  ['ttft.p95 {model=m} < 1s', { metric: 'ttft', stat: 95, filters: { model: 'm' }, op: '<', value: 1000 }],
  ['ttft.p95{speedup=2} < 1s', { metric: 'ttft', stat: 95, filters: { speedup: 2 }, op: '<', value: 1000 }],
  ['ttft.p95{model=m, speedup=0.5} < 1s', { metric: 'ttft', stat: 95, filters: { model: 'm', speedup: 0.5 }, op: '<', value: 1000 }],
];

for (const [source, expected] of parsed) {
  test(`threshold "${source}" parses`, () => assert.deepEqual(parseThreshold(source), { source, ...expected }));
}

/** Malformed input: the column where it went wrong, and why. */
const malformed: [string, number, RegExp][] = [
  ['', 1, /expected a metric/],
  ['ttft < 500ms', 5, /ttft needs a statistic: ttft\.p95/],
  ['ttft.p95 500ms', 10, /expected <, <=, > or >= after ttft\.p95/],
  ['ttft.p95 = 500ms', 10, /expected <, <=, > or >=/],
  ['ttft.p95 < fast', 12, /expected a number after </],
  ['ttft.p95 < 500 tok/s', 16, /ttft\.p95 cannot be in tok\/s; use ms or s/],
  ['errors.rate < 1ms', 16, /errors\.rate cannot be in ms; use %/],
  ['output_tokens_per_s > 900ms', 26, /cannot be in ms; use tok\/s/],
  ['ttft.p95 < 500ms and more', 18, /unexpected "and more"/],
  ['latency.p95 < 500ms', 1, /unknown metric "latency"/],
  ['ttft.p100 < 500ms', 6, /unknown statistic "p100"/],
  ['ttft.median < 500ms', 6, /unknown statistic "median"/],
  ['errors.total < 3', 1, /errors takes \.rate or \.count/],
  ['ttft.p95{region=eu} < 1s', 10, /expected model=NAME, concurrency=N, rate=R or speedup=S/],
  ['ttft.p95{speedup=fast} < 1s', 18, /speedup must be a positive number, not "fast"/],
  ['ttft.p95{concurrency=8, speedup=2} < 1s', 25, /a trace cell has a rate, never a concurrency/],
  ['ttft.p95{concurrency=eight} < 1s', 22, /concurrency must be a positive number, not "eight"/],
  ['ttft.p95{model=a model=b} < 1s', 18, /expected "," or "}"/],
  ['ttft.p95{model=a, model=b} < 1s', 19, /model is given twice/],
  ['ttft.p95{concurrency=8, rate=2} < 1s', 25, /a cell has a concurrency or a rate, never both/],
  ['ttft.p95{concurrency=0x10} < 1s', 22, /concurrency must be a positive number, not "0x10"/],
  ['ttft.p95{rate=1e1} < 1s', 15, /rate must be a positive number, not "1e1"/],
  ['errors.rate < 5', 15, /errors\.rate is a share from 0 to 1, or a percentage with %/],
  ['dropped.rate < 150%', 16, /dropped\.rate is a share from 0 to 1/],
];

for (const [source, column, message] of malformed) {
  test(`threshold "${source}" is refused at column ${column}`, () => {
    assert.throws(
      () => parseThreshold(source),
      (error: unknown) => error instanceof ThresholdSyntaxError && error.column === column && message.test(error.message),
    );
  });
}

/** Every subject the grammar knows, by the units it may be written in (none: a plain number only). */
const subjectsByUnits: [string[], string[]][] = [
  [
    ['ms', 's'],
    ['ttft.p95', 'ttfo.p95', 'tpot.p95', 'itl.p95', 'e2e.p95', 'ttfb.p95', 'chunk_gap.p95', 'connect.p95', 'schedule_lag.p95', 'scheduled_ttft.p95', 'scheduled_e2e.p95', 'client_loop_delay.p99'],
  ],
  [['tok/s'], ['output_tokens_per_s.p95', 'decode_tokens_per_s.p95', 'output_tokens_per_s']],
  [['req/s'], ['requests_per_s', 'goodput']],
  [['%'], ['errors.rate', 'dropped.rate', 'client_utilization']],
  [
    [],
    [
      'tokens_per_chunk.p95',
      'input_tokens.p95',
      'output_tokens.p95',
      'reasoning_tokens.p95',
      ...['ttft', 'ttfo', 'tpot', 'itl', 'e2e', 'ttfb', 'chunk_gap', 'tokens_per_chunk', 'output_tokens_per_s', 'decode_tokens_per_s'].map((m) => `${m}.count`),
      ...['input_tokens', 'output_tokens', 'reasoning_tokens', 'connect', 'schedule_lag', 'scheduled_ttft', 'scheduled_e2e', 'client_loop_delay'].map((m) => `${m}.count`),
      'errors.count',
      'dropped.count',
    ],
  ],
];

for (const [units, subjects] of subjectsByUnits) {
  test(`${subjects.length} subjects may be written in ${units.length ? units.join(' or ') : 'a plain number only'}`, () => {
    for (const subject of subjects) {
      assert.doesNotThrow(() => parseThreshold(`${subject} < 0.5`), subject);
      for (const unit of ['ms', 's', '%', 'tok/s', 'req/s']) {
        const parse = () => parseThreshold(`${subject} < 0.5${unit}`);
        if (units.includes(unit)) assert.doesNotThrow(parse, `${subject} in ${unit}`);
        else assert.throws(parse, ThresholdSyntaxError, `${subject} in ${unit}`);
      }
    }
  });
}

test('an unknown metric is refused with the list of every metric and cell value', () => {
  assert.throws(
    () => parseThreshold('goodput.p5 < 1'),
    (error: Error) =>
      error.message ===
      'col 1: unknown metric "goodput"; use one of ttft, ttfo, tpot, itl, e2e, ttfb, chunk_gap, tokens_per_chunk, output_tokens_per_s, ' +
        'decode_tokens_per_s, input_tokens, output_tokens, reasoning_tokens, connect, schedule_lag, scheduled_ttft, scheduled_e2e, client_loop_delay with a ' +
        'statistic (ttft.p95), or output_tokens_per_s, requests_per_s, goodput, client_utilization, errors.rate, dropped.count',
  );
});
