import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHistogram, decodeHistogram, encodeHistogram, recordValue } from '../../src/metrics/histograms.ts';
import { modelColours, recordedValues, toSvg } from '../../src/report/charts.ts';
import { cellSummary } from './fixture.ts';

test('recorded values come back exactly, each with its count', () => {
  const histogram = createHistogram();
  for (const tokens of [1, 1, 2, 3, 3, 3, 40, 2047]) recordValue(histogram, 'tokens_per_chunk', tokens);
  const expected = [
    { value: 1, count: 2 },
    { value: 2, count: 1 },
    { value: 3, count: 3 },
    { value: 40, count: 1 },
    { value: 2047, count: 1 },
  ];
  assert.deepEqual(recordedValues(histogram, 'tokens_per_chunk'), expected);
  assert.deepEqual(recordedValues(decodeHistogram(encodeHistogram(histogram)), 'tokens_per_chunk'), expected);
  assert.deepEqual(recordedValues(createHistogram(), 'tokens_per_chunk'), []);
});

test('each model keeps one colour, assigned in model-name order whatever the cell order', () => {
  const colours = modelColours([cellSummary('zeta', 1, 1), cellSummary('alpha', 1, 1), cellSummary('zeta', 2, 1)]);
  assert.deepEqual(colours.domain, ['alpha', 'zeta']);
  assert.deepEqual(colours.range, ['#1f77b4', '#ff7f0e']);
});

test('clip-path ids are numbered per chart, so renders repeat exactly and charts on one page never share an id', async () => {
  const spec: Parameters<typeof toSvg>[0] = {
    data: { values: [{ x: 1, y: 1 }, { x: 5, y: 9 }] },
    mark: { type: 'line', clip: true },
    encoding: { x: { field: 'x', type: 'quantitative', scale: { domain: [0, 2] } }, y: { field: 'y', type: 'quantitative' } },
  };
  const first = await toSvg(spec, 'one');
  assert.equal(await toSvg(spec, 'one'), first);
  assert.match(first, /id="one-1"/);
  assert.match(first, /clip-path="url\(#one-1\)"/);
  assert.doesNotMatch(first, /id="clip/);
});
