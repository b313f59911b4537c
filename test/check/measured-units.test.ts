import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatMeasured } from '../../src/check/render.ts';
import { parseThreshold } from '../../src/scenario/thresholds.ts';

const measured: [string, string][] = [
  ['ttft.p95', '12.346 ms'],
  ['scheduled_e2e.max', '12.346 ms'],
  ['connect.mean', '12.346 ms'],
  ['tokens_per_chunk.mean', '12.346 tokens'],
  ['reasoning_tokens.p50', '12.346 tokens'],
  ['input_tokens.max', '12.346 tokens'],
  ['decode_tokens_per_s.p5', '12.346 tok/s'],
  ['output_tokens_per_s.p50', '12.346 tok/s'],
  ['output_tokens_per_s', '12.346 tok/s'],
  ['requests_per_s', '12.346 req/s'],
  ['goodput', '12.346 req/s'],
  ['errors.rate', '1234.568%'],
  ['dropped.rate', '1234.568%'],
  ['errors.count', '12.346'],
  ['dropped.count', '12.346'],
  ['ttft.count', '12.346'],
  ['output_tokens_per_s.count', '12.346'],
  ['output_tokens.count', '12.346'],
];

for (const [subject, text] of measured) {
  test(`a measured ${subject} reads "${text}"`, () => {
    assert.equal(formatMeasured(parseThreshold(`${subject} < 1`), 12.345678), text);
  });
}

test('a threshold without a value reads "no value"', () => {
  assert.equal(formatMeasured(parseThreshold('ttft.p95 < 1'), undefined), 'no value');
});
