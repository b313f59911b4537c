import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DURATION_PATTERN, durationMs } from '../../src/util/duration.ts';

const DURATIONS: [input: string | number, ms: number][] = [
  ['250ms', 250],
  ['30s', 30_000],
  ['5m', 300_000],
  ['1h', 3_600_000],
  ['1.5s', 1500],
  ['10 ms', 10],
  ['0.25 h', 900_000],
  [2, 2000],
  [0.5, 500],
];

const NOT_DURATIONS = ['5', '5 sec', '-1s', '.5s', '1e3ms', '5s ', ' 5s', '5S', 'm'];

describe('durations', () => {
  for (const [input, ms] of DURATIONS) test(`${JSON.stringify(input)} is ${ms} ms`, () => assert.equal(durationMs(input), ms));
  for (const input of NOT_DURATIONS) {
    test(`${JSON.stringify(input)} is not a duration`, () => {
      assert.equal(DURATION_PATTERN.test(input), false);
      assert.throws(() => durationMs(input), /is not a duration such as "500ms"/);
    });
  }
});
