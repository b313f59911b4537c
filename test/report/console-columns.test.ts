import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderSummaryTable } from '../../src/report/console.ts';
import { sampleReport } from './fixture.ts';
import { repeatCells, richCell } from './rich-cells.ts';

// The table as the run printed it before its columns became one list of definitions.

test('the summary table shows goodput and the SLO verdict when the cells have an SLO, and notes each failure', () => {
  assert.equal(
    renderSummaryTable([...sampleReport().cells.slice(0, 2), richCell()]),
    [
      '                                           TTFT ms       TPOT ms',
      'model                 load  ok/req  tok/s    p50    p95   p50   p95  tok/chunk  goodput/s     SLO',
      '---------------  ---------  ------  -----  -----  -----  ----  ----  ---------  ---------  ------',
      'alpha-70b              c=1   20/20  111.0  157.6  202.6  4.54  4.54       2.00       9.25     met',
      'alpha-70b              c=4   20/20  309.7  195.1  240.1  4.54  4.54       2.00      25.81     met',
      'gamma, "quoted"  2.5 req/s   16/21  178.3  149.1  205.0  4.50  5.50       2.25       8.33  FAILED',
      '',
      'errors in gamma, "quoted" @ 2.5 req/s: rate_limited 2 ("rate_limited"), timeout 1 ("timeout")',
      'short cell alpha-70b @ c=4: window 775 ms < 5 × median E2E 250.1 ms: its throughput is mostly ramp',
      'dropped in gamma, "quoted" @ 2.5 req/s: 1 arrivals found maxInFlight requests in flight',
      'SLO failed in gamma, "quoted" @ 2.5 req/s: ttft_p95_ms 205 > 130, error_rate 0.2 > 0.01, dropped 1 > 0, schedule_lag_p99_ms (invalid cell) 42 > 20',
      'INVALID gamma, "quoted" @ 2.5 req/s: p99 schedule lag 42.0 ms > 20 ms (3 requests late): the client could not send on time, so these numbers describe the client, not the server',
      'short cell gamma, "quoted" @ 2.5 req/s: window 600 ms < 5 × median E2E 183 ms: its throughput is mostly ramp',
      '(times in ms; TPOT and ITL count every token of every chunk)',
      '(left out to fit 100 characters: ITL p99, req/s, ITL p50, err, E2E p50, E2E p95, TTFT p99, TPOT p99; summary.csv has every number)',
      '',
    ].join('\n'),
  );
});

test('the summary table labels repeats and their merged row, and prints the spread', () => {
  assert.equal(
    renderSummaryTable(repeatCells()),
    [
      '                                      TTFT ms              TPOT ms           E2E ms',
      'model       load  ok/req  err  tok/s    p50    p95    p99   p50   p95   p99    p50    p95  tok/chunk',
      '-----  ---------  ------  ---  -----  -----  -----  -----  ----  ----  ----  -----  -----  ---------',
      'delta     c=2 #1   11/16    3  150.5  142.1  177.0  177.0  4.71  5.50  5.50  173.1  214.0       2.30',
      'delta     c=2 #2   12/17    3  160.2  149.1  191.0  191.0  4.50  5.50  5.50  183.0  225.0       2.25',
      'delta  c=2 all 2   23/33    6  155.3  149.1  184.1  191.0  4.71  5.50  5.50  183.0  215.0       2.27',
      '',
      'errors in delta @ c=2: rate_limited 2 ("rate_limited"), timeout 1 ("timeout")',
      'errors in delta @ c=2: rate_limited 2 ("rate_limited"), timeout 1 ("timeout")',
      'errors in delta @ c=2: rate_limited 4 ("rate_limited"), timeout 2 ("timeout")',
      'dropped in delta @ c=2: 1 arrivals found maxInFlight requests in flight',
      'short cell delta @ c=2: window 824 ms < 5 × median E2E 173.1 ms: its throughput is mostly ramp',
      'dropped in delta @ c=2: 1 arrivals found maxInFlight requests in flight',
      'short cell delta @ c=2: window 824 ms < 5 × median E2E 183 ms: its throughput is mostly ramp',
      'dropped in delta @ c=2: 2 arrivals found maxInFlight requests in flight',
      'short cell delta @ c=2: repeat 1: window 824 ms < 5 × median E2E 173.1 ms: its throughput is mostly ramp; repeat 2: window 824 ms < 5 × median E2E 183 ms: its throughput is mostly ramp',
      'spread over 2 repeats of delta @ c=2: TTFT p50 142.08–149.12 (cv 3.4%), TTFT p95 177.00–191.00 (cv 5.4%), TPOT p50 4.50–4.71 (cv 3.3%), TPOT p95 5.50–5.50 (cv 0.0%), E2E p95 214.00–225.00 (cv 3.5%), output tok/s 150.49–160.19 (cv 4.4%)',
      '(times in ms; TPOT and ITL count every token of every chunk)',
      '(left out to fit 100 characters: ITL p99, req/s, ITL p50; summary.csv has every number)',
      '',
    ].join('\n'),
  );
});

test('a cell without an SLO beside cells with one shows - for goodput and the verdict', () => {
  const [withSlo] = sampleReport().cells;
  const [, , merged] = repeatCells();
  const lines = renderSummaryTable([withSlo!, merged!]).split('\n');
  // Under the group headings (TTFT ms, TPOT ms), the titles, the rule, then the rows.
  assert.match(lines[1]!, /goodput\/s  SLO$/);
  assert.match(lines[3]!, / 9\.25  met$/);
  assert.match(lines[4]!, / {10}- {4}-$/);
});
