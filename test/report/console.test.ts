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
      '                                     TTFT ms       TPOT ms',
      'model           load  ok/req  tok/s    p50    p95   p50   p95  tok/chunk  goodput/s     SLO',
      '------------  ------  ------  -----  -----  -----  ----  ----  ---------  ---------  ------',
      'alpha-70b        c=4   20/20  309.7  195.1  240.1  4.54  4.54       2.00      25.81     met',
      'alpha-70b     c=4 #1   20/20  309.7  195.1  240.1  4.54  4.54       2.00      25.81     met',
      `beta <b>&"x'    c=16   20/20  400.8  405.2  450.0  2.50  2.50       4.00       0.00  FAILED`,
      '',
      'errors in alpha-70b @ c=4: timeout 2',
      'short cell alpha-70b @ c=4: window 775 ms < 5 × median E2E 250.1 ms: its throughput is mostly ramp',
      'short cell alpha-70b @ c=4: window 775 ms < 5 × median E2E 250.1 ms: its throughput is mostly ramp',
      `SLO failed in beta <b>&"x' @ c=16: ttft_p95_ms 450.047 > 300, schedule_lag_p99_ms (invalid cell) 50 > 20`,
      `INVALID beta <b>&"x' @ c=16: p99 schedule lag 50.0 ms > 20 ms (20 requests late): the client could not send on time, so these numbers describe the client, not the server`,
      `short cell beta <b>&"x' @ c=16: 1.3 measured requests per slot < 3, window 598.8 ms < 5 × median E2E 430.1 ms: its throughput is mostly ramp`,
      '(times in ms; TPOT and ITL count every token of every chunk)',
      '(left out to fit 100 characters: ITL p99, req/s, ITL p50, err, E2E p50, E2E p95, TTFT p99, TPOT p99; summary.csv has every number)',
      '',
    ].join('\n'),
  );
});

test('the summary table fits 100 characters with the longest model names, keeps the p95s every gate judges, and says what it left out', () => {
  const long = 'Meta-Llama-3.3-70B-Instruct';
  const text = renderSummaryTable([cellSummary(long, 4), cellSummary(long, 16)]);
  const lines = text.split('\n');
  const table = lines.slice(0, lines.indexOf(''));
  for (const line of table) assert.ok(line.length <= 100, `${line.length}: ${line}`);
  assert.match(table[0]!, /TTFT ms +TPOT ms/);
  // These cells have an SLO: its verdict and goodput outrank the p50s; the p95s, which the SLO judges, stay.
  assert.match(table[1]!, /^model +load +ok\/req +tok\/s +p95 +p95 +tok\/chunk +goodput\/s +SLO$/);
  assert.match(text, /\(left out to fit 100 characters: [^)]*E2E p95[^)]*; summary\.csv has every number\)/);
  // A much longer name leaves the p95s, which every gate judges.
  const longer = renderSummaryTable([cellSummary(`${long}-with-a-longer-name`, 4)]).split('\n');
  assert.ok(longer.slice(0, 4).every((line) => line.length <= 100));
  assert.match(longer[1]!, / p95 +p95 /);
  // A short name leaves room for more: the p50s and p99s too.
  const short = renderSummaryTable([cellSummary('m', 4)]);
  assert.match(short.split('\n')[1]!, /p50 +p95 +p99 +p50 +p95 +p99/);
  assert.doesNotMatch(short, /left out[^)]*(TTFT|TPOT) p/);
});
