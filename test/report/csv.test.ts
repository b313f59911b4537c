import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderSummaryCsv } from '../../src/report/csv.ts';
import { ALPHA, cellSummary } from './fixture.ts';
import { repeatCells, richCell } from './rich-cells.ts';

/**
 * summary.csv is a contract: scripts read its columns by position as well as
 * by name. These lines were written by the renderer before its columns became
 * one list of definitions; any change to them is a change of the file format.
 */
const HEADER =
  `model,concurrency,requests,ok,errors,output_tokens_per_s,requests_per_s,ttft_p50_ms,ttft_p90_ms,ttft_p95_ms,ttft_p99_ms,ttft_mean_ms,ttft_max_ms,tpot_p50_ms,tpot_p90_ms,tpot_p95_ms,tpot_p99_ms,tpot_mean_ms,tpot_max_ms,itl_p50_ms,itl_p90_ms,itl_p95_ms,itl_p99_ms,itl_mean_ms,itl_max_ms,e2e_p50_ms,e2e_p90_ms,e2e_p95_ms,e2e_p99_ms,e2e_mean_ms,e2e_max_ms,interrupted,error_rate,window_s,tokens_per_chunk_mean,tokens_per_chunk_max,ttfb_p50_ms,tokenizer,token_sources,usage_mismatch_rate,usage_mismatch_mean,errors_by_class,ttft_p999_ms,ttft_min_ms,ttft_stdev_ms,tpot_p999_ms,tpot_min_ms,tpot_stdev_ms,itl_p999_ms,itl_min_ms,itl_stdev_ms,e2e_p999_ms,e2e_min_ms,e2e_stdev_ms,schedule_lag_p99_ms,ttfo_p50_ms,ttfo_p95_ms,reasoning_tokens_mean,server_ttft_p50_ms,ttft_minus_server_p50_ms,server_e2e_p50_ms,e2e_minus_server_p50_ms,rate_rps,dropped,good_requests,goodput_rps,slo_met,slo_failures,valid,invalid_reason,scheduled_ttft_p95_ms,scheduled_e2e_p95_ms,repeat,ttft_p50_repeat_min,ttft_p50_repeat_max,ttft_p50_repeat_cv,ttft_p95_repeat_min,ttft_p95_repeat_max,ttft_p95_repeat_cv,tpot_p50_repeat_min,tpot_p50_repeat_max,tpot_p50_repeat_cv,tpot_p95_repeat_min,tpot_p95_repeat_max,tpot_p95_repeat_cv,e2e_p95_repeat_min,e2e_p95_repeat_max,e2e_p95_repeat_cv,output_tokens_per_s_repeat_min,output_tokens_per_s_repeat_max,output_tokens_per_s_repeat_cv,short,short_reason,resends,client_loop_delay_p50_ms,client_loop_delay_p99_ms,client_loop_delay_max_ms,client_utilization,approximate_rate,server_counts_rejected,ramp_to_rps,ramp_over_s,trace_speedup`;

const ROWS = {
  /** The sweep fixture at c=4: no errors, an SLO met, no server timings, no repeats. */
  closedLoop:
    `alpha-70b,4,20,20,0,309.677,25.806,195.071,235.007,240.127,245,197.504,245,4.545,4.545,4.545,4.545,4.546,4.545,3.333,5.003,10,10,4.546,10,250.111,290.047,295.167,300,252.499,300,0,0,0.775,2,3,194.047,llama3,tokenizer=20,0,0,,245,150,28.825,4.545,4.545,0,10,3.333,1.894,300,205,28.834,0,,,0,,,,,,0,20,25.806,true,,true,,240.127,295.167,,,,,,,,,,,,,,,,,,,,true,window 775 ms < 5 × median E2E 250.1 ms: its throughput is mostly ramp,0,,,,,0,0,,,`,
  /** Open loop with every kind of failure, reasoning, server timings, a failed SLO, invalid. */
  openLoop:
    `"gamma, ""quoted""",,21,16,3,178.333,16.667,149.119,198.015,205,205,152.502,205,4.503,5.5,5.5,5.5,4.617,5.5,3.667,9.007,10.007,11,4.588,11,183.039,235.007,236,236,186.286,236,1,0.158,0.6,2.25,4,147.071,llama3,logprobs=12;tokenizer+usage=4,0.25,1.75,rate_limited=2;timeout=1,205,100,32.266,5.5,3.857,0.546,11,2.25,2.527,236,131,32.455,42,151.039,209,1,145,11,175.5,13,2.5,1,5,8.333,false,"ttft_p95_ms 205 > 130, error_rate 0.2 > 0.01, dropped 1 > 0, schedule_lag_p99_ms (invalid cell) 42 > 20",false,"p99 schedule lag 42.0 ms > 20 ms (3 requests late): the client could not send on time, so these numbers describe the client, not the server",205.5,236.5,,,,,,,,,,,,,,,,,,,,true,window 600 ms < 5 × median E2E 183 ms: its throughput is mostly ramp,0,0.25,2,6,0.3,0,0,,,`,
  /** Two repeats and their merged row, with the spread of the headline numbers. */
  repeats: [
    `delta,2,16,11,3,150.485,14.563,142.079,170.111,177,177,142.004,177,4.715,5.5,5.5,5.5,4.657,5.5,3.667,10.007,11,11,4.627,11,173.055,204.031,214,214,176.25,214,1,0.214,0.824,2.295,4,140.031,llama3,logprobs=9;tokenizer+usage=2,0.182,2.5,rate_limited=2;timeout=1,177,107,22.137,5.5,3.857,0.544,11,2.25,2.572,214,141,22.424,42,149.119,180,1,131,11,164.5,13,,1,,,,,true,,177.5,214.5,1,,,,,,,,,,,,,,,,,,,true,window 824 ms < 5 × median E2E 173.1 ms: its throughput is mostly ramp,0,0.25,2,7,0.4,0,0,,,`,
    `delta,2,17,12,3,160.194,15.777,149.119,184.063,191,191,152.509,191,4.503,5.5,5.5,5.5,4.644,5.5,3.667,10.007,11,11,4.617,11,183.039,215.039,225,225,186.475,225,1,0.2,0.824,2.25,4,147.071,llama3,logprobs=9;tokenizer+usage=3,0.25,2,rate_limited=2;timeout=1,191,114,24.165,5.5,3.857,0.522,11,2.25,2.54,225,151,23.989,42,151.039,193,1,145,11,175.5,13,,1,,,,,true,,191.5,225.5,2,,,,,,,,,,,,,,,,,,,true,window 824 ms < 5 × median E2E 183 ms: its throughput is mostly ramp,0,0.25,2,8,0.5,0,0,,,`,
    `delta,2,33,23,6,155.34,15.17,149.119,177.023,184.063,191,147.485,191,4.715,5.5,5.5,5.5,4.65,5.5,3.667,10.007,11,11,4.622,11,183.039,214.015,215.039,225,181.585,225,2,0.207,1.648,2.272,4,147.071,llama3,logprobs=18;tokenizer+usage=5,0.217,2.2,rate_limited=4;timeout=2,191,107,23.803,5.5,3.857,0.533,11,2.25,2.555,225,141,23.808,42,151.039,191.103,1,138,11,170,13,,2,,,,,true,,184.575,215.551,all 2,142.079,149.119,0.034,177,191,0.054,4.503,4.715,0.033,5.5,5.5,0,214,225,0.035,150.485,160.194,0.044,true,repeat 1: window 824 ms < 5 × median E2E 173.1 ms: its throughput is mostly ramp; repeat 2: window 824 ms < 5 × median E2E 183 ms: its throughput is mostly ramp,0,0.25,2,8,0.46,0,0,,,`,
  ],
};

test('summary.csv keeps its header, column for column', () => {
  assert.equal(renderSummaryCsv([]), HEADER + '\n');
  assert.equal(HEADER.split(',').length, 103);
});

test('summary.csv keeps every value of a closed-loop cell in its column', () => {
  assert.equal(renderSummaryCsv([cellSummary(ALPHA, 4)]), [HEADER, ROWS.closedLoop, ''].join('\n'));
});

test('summary.csv keeps every value of an open-loop cell with failures, server timings and a failed SLO in its column', () => {
  assert.equal(renderSummaryCsv([richCell()]), [HEADER, ROWS.openLoop, ''].join('\n'));
});

test('summary.csv keeps the repeats and their merged row, spread included, in their columns', () => {
  assert.equal(renderSummaryCsv(repeatCells()), [HEADER, ...ROWS.repeats, ''].join('\n'));
});

test('summary.csv gives a ramp its end and length, and a trace its speed-up, beside rate_rps', () => {
  const ramp = { ...richCell(), load: { kind: 'rate' as const, value: 2, ramp: { toRate: 20, overMs: 60_000 } } };
  const trace = { ...richCell(), load: { kind: 'rate' as const, value: 7.5, trace: { speedup: 2 } } };
  // The last three columns (earlier ones may hold quoted commas).
  const rows = renderSummaryCsv([ramp, trace]).trim().split('\n').slice(1).map((row) => row.split(',').slice(-3));
  assert.deepEqual(HEADER.split(',').slice(-3), ['ramp_to_rps', 'ramp_over_s', 'trace_speedup']);
  assert.deepEqual(rows, [
    ['20', '60', ''],
    ['', '', '2'],
  ]);
});
