import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CellAccumulator } from '../../src/metrics/cell-summary.ts';
import { TurnAccumulator } from '../../src/metrics/turns.ts';
import type { RequestRecord } from '../../src/types.ts';

// TTFTs under 2 ms: the histograms (3 significant digits of µs) hold them exactly.

/** A record of `turn` with the given TTFT and prompt tokens. */
function record(turn: number | undefined, ttftMs: number, inputTokens: number, cached?: number, outcome: RequestRecord['outcome'] = 'ok', warmup = false): RequestRecord {
  return {
    id: `r${turn}-${ttftMs}`,
    model: 'm',
    load: { kind: 'concurrency', value: 2 },
    warmup,
    prompt: 0,
    ...(turn !== undefined ? { session: 's', turn } : {}),
    outcome,
    ...(outcome === 'error' ? { error: { class: 'server_error' as const, message: 'boom' } } : {}),
    metrics: {
      scheduleLagMs: 0,
      scheduledE2eMs: ttftMs + 10,
      e2eMs: ttftMs + 10,
      ...(outcome === 'ok' ? { ttftMs, scheduledTtftMs: ttftMs } : {}),
      itl: [],
      chunkGapsMs: [],
      tokensPerChunk: outcome === 'ok' ? [1] : [],
      chunkTimesMs: outcome === 'ok' ? [ttftMs] : [],
      chunkChoices: outcome === 'ok' ? [0] : [],
      outputTokens: outcome === 'ok' ? 1 : 0,
      reasoningTokens: 0,
      inputTokens,
    },
    tokenSource: 'tokenizer',
    tokenizer: 'llama3',
    ...(cached !== undefined ? { cachedPromptTokens: cached } : {}),
  };
}

test('by turn: requests, successes, TTFT p50/p95 and mean prompt and cached prompt tokens of each turn, in turn order', () => {
  const cell = new CellAccumulator({ model: 'm', load: { kind: 'concurrency', value: 2 } });
  const records = [
    record(2, 0.3, 300, 200),
    record(1, 1.0, 100, 0),
    record(1, 1.2, 110, 0),
    record(1, 999, 100, 0, 'ok', true), // warm-up: left out
    record(2, 0.5, 320, 220),
    record(2, 0, 340, undefined, 'error'), // counted as a request, not in the figures
    record(3, 0.2, 500), // the server reported no cached tokens
  ];
  for (const r of records) cell.add(r, { t0: 0, tEnd: r.metrics.e2eMs });
  assert.deepEqual(cell.summary().byTurn, [
    { turn: 1, requests: 2, ok: 2, ttftP50Ms: 1, ttftP95Ms: 1.2, meanCachedPromptTokens: 0, meanPromptTokens: 105 },
    { turn: 2, requests: 3, ok: 2, ttftP50Ms: 0.3, ttftP95Ms: 0.5, meanCachedPromptTokens: 210, meanPromptTokens: 310 },
    { turn: 3, requests: 1, ok: 1, ttftP50Ms: 0.2, ttftP95Ms: 0.2, meanPromptTokens: 500 },
  ]);
});

test('a cell without turns has no byTurn; repeats merge their turns exactly', () => {
  const single = new CellAccumulator({ model: 'm', load: { kind: 'concurrency', value: 2 } });
  single.add(record(undefined, 10, 10), { t0: 0, tEnd: 20 });
  assert.equal(single.summary().byTurn, undefined);

  const a = new TurnAccumulator();
  const b = new TurnAccumulator();
  a.add(record(1, 1.0, 100, 0));
  b.add(record(1, 1.5, 100, 0));
  b.add(record(2, 0.4, 250, 150));
  a.addAll(b);
  assert.deepEqual(a.summary(), [
    { turn: 1, requests: 2, ok: 2, ttftP50Ms: 1, ttftP95Ms: 1.5, meanCachedPromptTokens: 0, meanPromptTokens: 100 },
    { turn: 2, requests: 1, ok: 1, ttftP50Ms: 0.4, ttftP95Ms: 0.4, meanCachedPromptTokens: 150, meanPromptTokens: 250 },
  ]);
});
