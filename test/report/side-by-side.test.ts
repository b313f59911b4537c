import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderSideBySideMarkdown, renderSideBySideText } from '../../src/report/side-by-side.ts';
import type { Headline } from '../../src/report/headline.ts';
import type { SideBySide } from '../../src/types.ts';

const comparison: SideBySide = {
  contenders: ['fast', 'a-much-longer-name'],
  confidence: 0.95,
  testConfidence: 0.95,
  notes: [],
  levels: [
    {
      load: { kind: 'concurrency', value: 4 },
      rows: [
        {
          metric: 'TTFT p50',
          unit: 'ms',
          higherIsBetter: false,
          test: 'shift',
          values: [
            { value: 100.04, best: true, n: 48 },
            { value: 150.123, best: false, n: 47, diff: { change: 0.5, interval: [0.4, 0.61], p: 0.0001, significant: true } },
          ],
        },
        {
          metric: 'TPOT p50',
          unit: 'ms',
          higherIsBetter: false,
          test: 'shift',
          values: [
            { value: 2.5, best: false, n: 48 },
            { value: 2.505, best: false, n: 48, diff: { change: 0.002, interval: [-0.002, 0.006], p: 0.41, significant: false } },
          ],
        },
        { metric: 'output tok/s', unit: 'tokens/s', higherIsBetter: true, test: 'rate', values: [{ value: 1234.5, best: false }, undefined] },
        {
          metric: 'error rate',
          unit: '%',
          higherIsBetter: false,
          test: 'proportion',
          values: [
            { value: 0, best: false, n: 48 },
            { value: 8.333, best: false, n: 48, diff: { change: 0.0833, interval: [-0.005, 0.171], significant: false } },
          ],
        },
      ],
    },
  ],
};

const summary: Headline[] = [
  { model: 'fast', hasSlo: false, bestThroughput: { tokensPerS: 1234.5, load: { kind: 'concurrency', value: 4 } }, tokensPerChunk: 2 },
  { model: 'a-much-longer-name', hasSlo: false, tokensPerChunk: 1 },
];

test('the side-by-side text pins its layout: the summary first, then each level; ~ where a difference is noise, the winner marked, n beside each value', () => {
  assert.equal(
    renderSideBySideText(comparison, summary),
    [
      'summary',
      'model               max load within SLO  best goodput  best output throughput  tokens/chunk mean',
      '------------------  -------------------  ------------  ----------------------  -----------------',
      'fast                no SLO               no SLO        1235 tok/s at c=4       2',
      'a-much-longer-name  no SLO               no SLO        —                       1',
      '',
      'at c=4',
      'metric                   fast          a-much-longer-name',
      '-----------------------  ------------  ----------------------------------------------',
      'TTFT p50 (ms)            100 * (n=48)  150.1 (+50.0% [+40.0%, +61.0%], p<0.001, n=47)',
      'TPOT p50 (ms)            2.5 (n=48)    2.505 (~ +0.2% [-0.2%, +0.6%], p=0.41, n=48)',
      'output tok/s (tokens/s)  1235          —',
      'error rate (%)           0 (n=48)      8.333 (~ +8.3pp [-0.5pp, +17.1pp], n=48)',
      '',
      "(* marks a row's winner: the best value, and significantly better than every other contender's; ~ marks a difference within the noise, or whose interval reaches under 2%.)",
      "((±x% [interval], p, n) is the difference to fast with its 95% interval, the p-value and the samples it rests on: p50 rows, the Hodges–Lehmann shift of the requests with its Mann–Whitney interval and p-value; p95/p99 rows, a bootstrap of the percentile; throughput rows, the shift of the per-request rates; error rate and goodput, Newcombe's interval of the difference in points; ITL rows are not judged (docs/compare.md).)",
      '',
    ].join('\n'),
  );
});

test('the side-by-side Markdown starts with the summary and says the notes before the tables', () => {
  const markdown = renderSideBySideMarkdown('compare: fast vs slow', { ...comparison, notes: ['different tokenizers'] }, summary);
  assert.ok(markdown.indexOf('### Summary') < markdown.indexOf('> different tokenizers'));
  assert.ok(markdown.indexOf('> different tokenizers') < markdown.indexOf('### at c=4'));
  assert.match(markdown, /\| TTFT p50 \(ms\) \| 100 \*\*★\*\* \(n=48\) \| 150\.1 \(\+50\.0% \[\+40\.0%, \+61\.0%\], p<0\.001, n=47\) \|/);
});
