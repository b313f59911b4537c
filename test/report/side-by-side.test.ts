import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderSideBySideText } from '../../src/report/side-by-side.ts';
import type { SideBySide } from '../../src/types.ts';

test('the side-by-side table pins its text: left-aligned columns under a rule, a dash where a contender has no value', () => {
  const comparison: SideBySide = {
    contenders: ['fast', 'a-much-longer-name'],
    confidence: 0.95,
    levels: [
      {
        load: { kind: 'concurrency', value: 4 },
        rows: [
          {
            metric: 'TTFT p50',
            unit: 'ms',
            higherIsBetter: false,
            values: [{ value: 100.04, best: true }, { value: 150.123, best: false, diff: { change: 0.5, interval: [0.4, 0.61] } }],
          },
          { metric: 'output tok/s', unit: 'tokens/s', higherIsBetter: true, values: [{ value: 1234.5, best: true }, undefined] },
        ],
      },
    ],
  };
  assert.equal(
    renderSideBySideText(comparison),
    [
      'at c=4',
      'metric                   fast    a-much-longer-name',
      '-----------------------  ------  -------------------------------',
      'TTFT p50 (ms)            100 *   150.1 (+50.0% [+40.0%, +61.0%])',
      'output tok/s (tokens/s)  1235 *  —',
      '',
      '(the best value of each row is marked; (±x%) is the difference to fast, [interval] its 95% bootstrap interval from the per-request samples: *)',
      '',
    ].join('\n'),
  );
});
