import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSloKey } from '../../src/scenario/slo.ts';

const parsed: [string, number, object][] = [
  ['ttft_p95_ms', 500, { metric: 'ttft', stat: 95, bound: 500, direction: 'max' }],
  ['tpot_p99_ms', 40, { metric: 'tpot', stat: 99, bound: 40, direction: 'max' }],
  ['e2e_p999_ms', 9000, { metric: 'e2e', stat: 99.9, bound: 9000, direction: 'max' }],
  ['itl_p50_ms', 20, { metric: 'itl', stat: 50, bound: 20, direction: 'max' }],
  ['scheduled_ttft_p90_ms', 800, { metric: 'scheduled_ttft', stat: 90, bound: 800, direction: 'max' }],
  ['ttft_mean_ms', 300, { metric: 'ttft', stat: 'mean', bound: 300, direction: 'max' }],
  ['decode_tokens_per_s_p5', 20, { metric: 'decode_tokens_per_s', stat: 5, bound: 20, direction: 'min' }],
  ['output_tokens_per_s_min', 10, { metric: 'output_tokens_per_s', stat: 'min', bound: 10, direction: 'min' }],
  ['output_tokens_max', 512, { metric: 'output_tokens', stat: 'max', bound: 512, direction: 'max' }],
  ['error_rate', 0.01, { metric: 'error_rate', bound: 0.01, direction: 'max' }],
];

for (const [key, bound, expected] of parsed) {
  test(`SLO key ${key} parses`, () => assert.deepEqual(parseSloKey(key, bound), { key, ...expected }));
}

const rejected: [string, number, RegExp][] = [
  ['ttft_p95', 500, /ttft is a time: write ttft_p95_ms/],
  ['decode_tokens_per_s_p5_ms', 20, /in tokens\/s, not ms: write decode_tokens_per_s_p5/],
  ['latency_p95_ms', 500, /unknown SLO key.*METRIC one of ttft, ttfo/],
  ['ttft_p100_ms', 500, /p100 is not a percentile between 0 and 100/],
  ['ttft_p0_ms', 500, /p0 is not a percentile/],
  ['ttft_median_ms', 500, /unknown SLO key/],
  ['error_rate', 5, /share from 0 to 1/],
];

for (const [key, bound, message] of rejected) {
  test(`SLO key ${key}: ${bound} is refused with a reason`, () => {
    const result = parseSloKey(key, bound);
    assert.equal(typeof result, 'string');
    assert.match(result as string, message);
  });
}

test('every metric has SLO keys: times end in _ms, counts and rates do not; rates are lower bounds, the rest upper bounds', () => {
  const keys: [string, 'max' | 'min'][] = [
    ['ttft_p95_ms', 'max'],
    ['ttfo_p95_ms', 'max'],
    ['tpot_p95_ms', 'max'],
    ['itl_p95_ms', 'max'],
    ['e2e_p95_ms', 'max'],
    ['ttfb_p95_ms', 'max'],
    ['chunk_gap_p95_ms', 'max'],
    ['tokens_per_chunk_p95', 'max'],
    ['output_tokens_per_s_p95', 'min'],
    ['decode_tokens_per_s_p95', 'min'],
    ['input_tokens_p95', 'max'],
    ['output_tokens_p95', 'max'],
    ['reasoning_tokens_p95', 'max'],
    ['connect_p95_ms', 'max'],
    ['schedule_lag_p95_ms', 'max'],
    ['scheduled_ttft_p95_ms', 'max'],
    ['scheduled_e2e_p95_ms', 'max'],
    ['client_loop_delay_p95_ms', 'max'],
  ];
  for (const [key, direction] of keys) {
    const metric = key.replace(/_p95(_ms)?$/, '');
    assert.deepEqual(parseSloKey(key, 7), { key, metric, stat: 95, bound: 7, direction });
    const other = key.endsWith('_ms') ? key.slice(0, -3) : `${key}_ms`;
    assert.equal(typeof parseSloKey(other, 7), 'string', `${other} is refused`);
  }
  assert.match(
    parseSloKey('speed_p95', 1) as string,
    /METRIC one of ttft, ttfo, tpot, itl, e2e, ttfb, chunk_gap, tokens_per_chunk, output_tokens_per_s, decode_tokens_per_s, input_tokens, output_tokens, reasoning_tokens, connect, schedule_lag, scheduled_ttft, scheduled_e2e, client_loop_delay, or error_rate$/,
  );
});
