import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRegressionRules } from '../../src/check/baseline.ts';
import { renderComparisonLines, type CheckVerdict } from '../../src/check/render.ts';

test('the comparison table pins its text: every column left-aligned, no trailing spaces', () => {
  const [ttft, errors] = parseRegressionRules('ttft.p95=10%,errors.rate=1%');
  const verdict: CheckVerdict = {
    verdicts: [
      {
        cell: { model: 'm', load: { kind: 'concurrency', value: 8 } },
        rule: ttft!,
        baseline: 101.23456,
        current: 131.5,
        worsening: 0.299,
        interval: [0.25, 0.35],
        outcome: 'regression',
        improvement: false,
        method: 'quantile',
        samples: { baseline: 64, current: 64 },
      },
      {
        cell: { model: 'long-model-name', load: { kind: 'rate', value: 2.5 } },
        rule: errors!,
        baseline: 0,
        current: 0.015625,
        worsening: 0.015625,
        interval: [-0.03, 0.06],
        outcome: 'inconclusive',
        improvement: false,
        method: 'newcombe',
        samples: { baseline: 64, current: 64 },
        detectable: 0.1,
        needed: 520,
      },
    ],
    missing: [{ model: 'm', load: { kind: 'concurrency', value: 16 } }],
  };
  assert.equal(
    renderComparisonLines(verdict, 0.95),
    [
      'cell                         metric       baseline  current  change  95% bounds        allowed  n      verdict',
      'm @ c=8                      ttft.p95     101.23    131.5    +29.9%  [+25.0%, +35.0%]  +10%     64/64  REGRESSION',
      'long-model-name @ 2.5 req/s  errors.rate  0%        1.56%    +1.6pp  [-3.0pp, +6.0pp]  +1.0pp   64/64  inconclusive',
      '(change: how much worse, + is worse for latencies and throughputs alike; a regression when the lower bound is beyond the allowed margin, ok when the upper bound is within it)',
      'inconclusive: errors.rate in long-model-name @ 2.5 req/s: detects +10.0pp at 64 requests; resolved by about 520 requests/cell',
      '2 regression(s): ttft.p95 in m @ c=8 +29.9%; m @ c=16 is in the baseline but not in this run',
      '',
    ].join('\n'),
  );
});
