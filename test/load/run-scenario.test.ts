import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import { runScenario } from '../../src/load/run-scenario.ts';
import { loadTokenizer } from '../../src/metrics/tokenizers.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import { startSimulator } from '../../src/sim/server.ts';
import type { RequestRecord } from '../../src/types.ts';

test('tokens are counted only once a cell has no stream in flight, never between socket reads', async () => {
  const sim = await startSimulator({
    seed: 5,
    defaults: { ttftMs: 5, tokensPerSecond: 1000, tokensPerChunk: [1, 3], outputTokens: [20, 40], capacity: 16, usageExtraTokens: 0 },
    models: {},
  });
  const tokenizer = await loadTokenizer('llama3');
  // Attribution asks the tokenizer for the byte lengths of the whole output: that is the tokenizing to watch.
  const originalByteLengths = tokenizer.tokenByteLengths;
  const timeline: { kind: 'encode' | 'finished'; cell: number; at: number }[] = [];
  let cell = 1;
  (tokenizer as { tokenByteLengths: typeof tokenizer.tokenByteLengths }).tokenByteLengths = (text) => {
    timeline.push({ kind: 'encode', cell, at: performance.now() });
    return originalByteLengths(text);
  };
  try {
    const scenario = parseScenario(
      `name: t\ntarget: {baseURL: "${sim.baseURL}"}\nmodels: [Meta-Llama-3.3-70B-Instruct]\nload: {concurrency: [4, 8], requests: 16}\nprompts: [hi]\n`,
      't.yaml',
      {},
    );
    const records: RequestRecord[] = [];
    const result = await runScenario(scenario, {
      baseURL: sim.baseURL,
      onProgress: (p) => {
        cell = p.cell;
        timeline.push({ kind: 'finished', cell: p.cell, at: performance.now() });
      },
      onRecord: (record) => void records.push(record),
    });
    assert.equal(result.completed, true);
    assert.equal(records.length, 4 + 16 + 8 + 16);
    for (const c of [1, 2]) {
      const finished = timeline.filter((e) => e.kind === 'finished' && e.cell === c).map((e) => e.at);
      const encodes = timeline.filter((e) => e.kind === 'encode' && e.cell === c).map((e) => e.at);
      assert.ok(encodes.length >= 20, `cell ${c} tokenized its requests (${encodes.length})`);
      assert.ok(Math.min(...encodes) > Math.max(...finished), `cell ${c}: tokenizer ran while streams were in flight`);
    }
    // Per-cell summaries come back too, warm-up excluded.
    assert.deepEqual(
      result.cells.map((s) => [s.load.value, s.requests, s.ok]),
      [
        [4, 16, 16],
        [8, 16, 16],
      ],
    );
  } finally {
    (tokenizer as { tokenByteLengths: typeof tokenizer.tokenByteLengths }).tokenByteLengths = originalByteLengths;
    await sim.close();
  }
});
