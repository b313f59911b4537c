import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { requestMetrics, type RequestTimeline, type TimedTokens } from '../../src/metrics/timing.ts';

const chunks = (...list: [at: number, tokens: number, choice?: number][]): TimedTokens[] =>
  list.map(([at, tokens, choice = 0]) => ({ at, tokens, choice }));

const near = (actual: number | undefined, expected: number, what: string) => {
  assert.ok(actual !== undefined, `${what} is undefined`);
  assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} != ${expected}`);
};

interface Case {
  name: string;
  timeline: RequestTimeline;
  ttft?: number;
  tpot?: number;
  e2e: number;
  tokens: number;
  tokensPerChunk: number[];
  chunkGaps: number[];
  decodeTokensPerS?: number;
}

// t0 = 100 everywhere; times in ms.
const cases: Case[] = [
  {
    name: 'a role-only first chunk is not the first token',
    timeline: { ts: 100, t0: 100, tb: 110, tEnd: 200, chunks: chunks([110, 0], [150, 1], [160, 1], [170, 1]) },
    ttft: 50,
    tpot: 10,
    e2e: 100,
    tokens: 3,
    tokensPerChunk: [1, 1, 1],
    chunkGaps: [10, 10],
    decodeTokensPerS: 100,
  },
  {
    name: 'the tokens of a multi-token first chunk are not decode steps',
    // 4 tokens at TTFT, then 2 + 2 tokens 20 ms apart: TPOT = 40 / 4 = 10, not 40 / 7.
    timeline: { ts: 100, t0: 100, tEnd: 200, chunks: chunks([150, 4], [170, 2], [190, 2]) },
    ttft: 50,
    tpot: 10,
    e2e: 100,
    tokens: 8,
    tokensPerChunk: [4, 2, 2],
    chunkGaps: [20, 20],
    decodeTokensPerS: 100,
  },
  {
    name: 'a single-chunk response has a TTFT but no TPOT',
    timeline: { ts: 100, t0: 100, tEnd: 160, chunks: chunks([150, 5]) },
    ttft: 50,
    e2e: 60,
    tokens: 5,
    tokensPerChunk: [5],
    chunkGaps: [],
  },
  {
    name: 'a response with no tokens has neither TTFT nor TPOT',
    timeline: { ts: 100, t0: 100, tEnd: 130, chunks: chunks([120, 0]) },
    e2e: 30,
    tokens: 0,
    tokensPerChunk: [],
    chunkGaps: [],
  },
  {
    name: 'a chunk that carries no token between two that do is skipped for gaps',
    timeline: { ts: 90, t0: 100, tEnd: 200, chunks: chunks([150, 2], [155, 0], [180, 3]) },
    ttft: 50,
    tpot: 10,
    e2e: 100,
    tokens: 5,
    tokensPerChunk: [2, 3],
    chunkGaps: [30],
    decodeTokensPerS: 100,
  },
  {
    name: 'with n = 2 each choice is its own stream: TTFT is the first of any, TPOT spans both',
    timeline: { ts: 100, t0: 100, tEnd: 200, chunks: chunks([140, 1, 1], [150, 2, 0], [160, 2, 1], [170, 1, 0]) },
    ttft: 40,
    // choice 0: 20 ms over 1 token; choice 1: 20 ms over 2 tokens → 40 ms / 3 tokens.
    tpot: 40 / 3,
    e2e: 100,
    tokens: 6,
    tokensPerChunk: [1, 2, 2, 1],
    chunkGaps: [20, 20],
    decodeTokensPerS: 75,
  },
];

describe('request metrics from hand-made timelines', () => {
  for (const c of cases) {
    test(c.name, () => {
      const m = requestMetrics(c.timeline);
      if (c.ttft === undefined) assert.equal(m.ttftMs, undefined);
      else near(m.ttftMs, c.ttft, 'ttft');
      if (c.tpot === undefined) assert.equal(m.tpotMs, undefined);
      else near(m.tpotMs, c.tpot, 'tpot');
      near(m.e2eMs, c.e2e, 'e2e');
      assert.equal(m.outputTokens, c.tokens);
      assert.deepEqual(m.tokensPerChunk, c.tokensPerChunk);
      assert.deepEqual(m.chunkGapsMs, c.chunkGaps);
      if (c.decodeTokensPerS === undefined) assert.equal(m.decodeTokensPerS, undefined);
      else near(m.decodeTokensPerS, c.decodeTokensPerS, 'decode tokens/s');
      near(m.scheduleLagMs, c.timeline.t0 - c.timeline.ts, 'schedule lag');
    });
  }

  test('reasoning first: TTFT is the first token of any kind, TTFO the first answer token', () => {
    const m = requestMetrics({
      ts: 0,
      t0: 0,
      tEnd: 200,
      chunks: [
        { at: 40, tokens: 3, choice: 0, reasoning: true },
        { at: 60, tokens: 2, choice: 0, reasoning: true },
        { at: 90, tokens: 4, choice: 0 },
      ],
    });
    near(m.ttftMs, 40, 'ttft');
    near(m.ttfoMs, 90, 'ttfo');
    assert.equal(m.reasoningTokens, 5);
    assert.equal(m.outputTokens, 9);
    near(m.tpotMs, 50 / 6, 'tpot spans reasoning and answer');
  });

  test('TTFB, chunk times and output tokens/s come from the raw timestamps', () => {
    const m = requestMetrics({ ts: 100, t0: 100, tb: 105, tEnd: 300, chunks: chunks([150, 4], [200, 6]) });
    near(m.ttfbMs, 5, 'ttfb');
    assert.deepEqual(m.chunkTimesMs, [50, 100]);
    near(m.outputTokensPerS, 50, 'output tokens/s'); // 10 tokens in 200 ms
  });

  test('the mean of per-token ITL samples equals TPOT exactly', () => {
    // Irregular gaps and chunk sizes, as a real server sends them.
    const timeline: RequestTimeline = {
      ts: 0,
      t0: 0,
      tEnd: 500,
      chunks: chunks([80, 3], [91, 1], [130, 4], [131, 2], [170, 1], [260, 5], [300, 3]),
    };
    const m = requestMetrics(timeline);
    const samples = m.itl.reduce((n, s) => n + s.tokens, 0);
    const mean = m.itl.reduce((sum, s) => sum + s.gapPerTokenMs * s.tokens, 0) / samples;
    assert.equal(samples, 16); // every token after the first chunk
    near(mean, m.tpotMs!, 'mean ITL vs TPOT');
    near(m.tpotMs!, (300 - 80) / 16, 'tpot');
    // A chunk of k tokens contributes its gap / k, k times.
    assert.deepEqual(m.itl[0], { gapPerTokenMs: 11, tokens: 1 });
    assert.deepEqual(m.itl[1], { gapPerTokenMs: 39 / 4, tokens: 4 });
  });
});
