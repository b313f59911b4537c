import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderSummaryTable } from '../../src/report/console.ts';
import { ALPHA, BETA, cellSummary } from './fixture.ts';

test('the summary table pins its text: model left-aligned, numbers right-aligned, notes under it', () => {
  const alpha = cellSummary(ALPHA, 4);
  const cells = [alpha, { ...alpha, repeat: 1, errors: 2, errorsByClass: { timeout: 2 } }, cellSummary(BETA, 16)];
  assert.equal(
    renderSummaryTable(cells),
    [
      'model           load  ok/req  err  out tok/s  req/s  TTFT p50  TTFT p99  TPOT p50  TPOT p99  ITL p50  ITL p99  E2E p50  E2E p99  tok/chunk  goodput/s     SLO',
      '------------  ------  ------  ---  ---------  -----  --------  --------  --------  --------  -------  -------  -------  -------  ---------  ---------  ------',
      'alpha-70b        c=4   20/20    0      309.7  25.81     195.1     245.0      4.54      4.54     3.33    10.00    250.1    300.0       2.00      25.81     met',
      'alpha-70b     c=4 #1   20/20    2      309.7  25.81     195.1     245.0      4.54      4.54     3.33    10.00    250.1    300.0       2.00      25.81     met',
      `beta <b>&"x'    c=16   20/20    0      400.8  33.40     405.2     455.0      2.50      2.50     2.50     2.50    430.1    480.0       4.00       0.00  FAILED`,
      '',
      'errors in alpha-70b @ c=4: timeout 2',
      'short cell alpha-70b @ c=4: window 775 ms < 5 × median E2E 250.1 ms: its throughput is mostly ramp',
      'short cell alpha-70b @ c=4: window 775 ms < 5 × median E2E 250.1 ms: its throughput is mostly ramp',
      `SLO failed in beta <b>&"x' @ c=16: ttft_p95_ms 450.047 > 300, schedule_lag_p99_ms (invalid cell) 50 > 20`,
      `INVALID beta <b>&"x' @ c=16: p99 schedule lag 50.0 ms > 20 ms (20 requests late): the client could not send on time, so these numbers describe the client, not the server`,
      `short cell beta <b>&"x' @ c=16: 1.3 measured requests per slot < 3, window 598.8 ms < 5 × median E2E 430.1 ms: its throughput is mostly ramp`,
      '(times in ms; TPOT and ITL count every token of every chunk)',
      '',
    ].join('\n'),
  );
});
