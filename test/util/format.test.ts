import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  csvNumber,
  fixedOrDash,
  formatNumber,
  jsonNumber,
  loadLabel,
  percent,
  roundedText,
  roundTo,
  signedPercent,
  signedPoints,
} from '../../src/util/format.ts';

/** [function, input, expected] rows: one test each, named after what they show. */
const CASES: [name: string, actual: () => unknown, expected: unknown][] = [
  ['roundTo keeps 3 decimals by default', () => roundTo(612.34567), 612.346],
  ['roundTo takes away float noise', () => roundTo(0.1 + 0.2), 0.3],
  ['roundTo rounds to the decimals asked', () => roundTo(101.23456, 2), 101.23],
  ['roundedText prints no trailing zeros', () => roundedText(2.5), '2.5'],
  ['roundedText of a whole number has no point', () => roundedText(131.5 * 2, 2), '263'],
  ['csvNumber of a value', () => csvNumber(1.23456), '1.235'],
  ['csvNumber of no value is empty', () => csvNumber(undefined), ''],
  ['csvNumber of NaN is empty', () => csvNumber(Number.NaN), ''],
  ['csvNumber of Infinity is empty', () => csvNumber(Number.POSITIVE_INFINITY), ''],
  ['jsonNumber of a value', () => jsonNumber(0.0004), 0],
  ['jsonNumber of no value is null', () => jsonNumber(undefined), null],
  ['formatNumber shows 4 significant digits', () => formatNumber(157.6123), '157.6'],
  ['formatNumber drops trailing zeros', () => formatNumber(225.0004), '225'],
  ['formatNumber of small values', () => formatNumber(0.00123456), '0.001235'],
  ['formatNumber of thousands shows whole numbers', () => formatNumber(1234.5), '1235'],
  ['formatNumber of negative thousands', () => formatNumber(-4321.2), '-4321'],
  ['formatNumber of no value is a dash', () => formatNumber(undefined), '—'],
  ['formatNumber of NaN is a dash', () => formatNumber(Number.NaN), '—'],
  ['fixedOrDash has 1 decimal by default', () => fixedOrDash(309.66), '309.7'],
  ['fixedOrDash pads with zeros', () => fixedOrDash(2, 2), '2.00'],
  ['fixedOrDash of no value is a hyphen', () => fixedOrDash(undefined), '-'],
  ['percent of a share', () => percent(0.0123), '1.2%'],
  ['signedPercent of a rise', () => signedPercent(0.123), '+12.3%'],
  ['signedPercent of a drop', () => signedPercent(-0.04), '-4.0%'],
  ['signedPercent of zero is +', () => signedPercent(0), '+0.0%'],
  ['signedPercent with no decimals', () => signedPercent(0.1, 0), '+10%'],
  ['signedPoints of a rise', () => signedPoints(0.015625), '+1.6pp'],
  ['signedPoints of a drop', () => signedPoints(-0.425), '-42.5pp'],
  ['loadLabel of a concurrency', () => loadLabel({ kind: 'concurrency', value: 8 }), 'c=8'],
  ['loadLabel of a rate', () => loadLabel({ kind: 'rate', value: 2.5 }), '2.5 req/s'],
  ['loadLabel of a rate ramp', () => loadLabel({ kind: 'rate', value: 1, ramp: { toRate: 20, overMs: 60_000 } }), '1→20 req/s over 60s'],
  ['loadLabel of a falling ramp of 1.5 s', () => loadLabel({ kind: 'rate', value: 8, ramp: { toRate: 0.5, overMs: 1500 } }), '8→0.5 req/s over 1.5s'],
  ['loadLabel of a replayed trace', () => loadLabel({ kind: 'rate', value: 3.14159, trace: { speedup: 2 } }), 'trace ×2 (3.142 req/s)'],
];

describe('number formatting', () => {
  for (const [name, actual, expected] of CASES) test(name, () => assert.equal(actual(), expected));
});
