import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHistogram, decodeHistogram, encodeHistogram, recordValue } from '../../src/metrics/histograms.ts';
import { loadColours, modelColours, OKABE_ITO, recordedValues, toSvg } from '../../src/report/charts.ts';
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
  assert.deepEqual(colours.range, [OKABE_ITO[0], OKABE_ITO[1]]);
});

/** Relative luminance 0–1 of `#rrggbb` (WCAG). */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

test('load levels get distinct colours, dark to light in load order, none too pale to see on white', () => {
  for (const count of [1, 2, 8, 12]) {
    const loads = Array.from({ length: count }, (_, i) => `c=${2 ** i}`);
    const { domain, range } = loadColours(loads);
    assert.deepEqual(domain, loads);
    assert.equal(new Set(range).size, count, `${count} levels: ${range.join(' ')}`);
    for (const colour of range) assert.match(colour, /^#[0-9a-f]{6}$/);
    const lightness = range.map(luminance);
    for (let i = 1; i < count; i++) assert.ok(lightness[i]! > lightness[i - 1]!, `level ${i} is lighter than level ${i - 1}`);
    // Contrast with white of at least 1.5:1, so the lightest line still shows.
    assert.ok(1.05 / (Math.max(...lightness) + 0.05) >= 1.5, `lightest ${range.at(-1)}`);
  }
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
