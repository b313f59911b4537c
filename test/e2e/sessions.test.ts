/**
 * End to end: multi-turn sessions with `tokenmeter run` against the simulator
 * in-process on port 0. The histories are checked where they arrive, at the
 * simulator: each turn's messages are the session's earlier user messages,
 * each followed by the simulator's own answer to it, exactly as it wrote it.
 * With the simulator's prefix cache and prefill rate, TTFT falls after turn 1.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import type { TurnSummary } from '../../src/metrics/turns.ts';
import { startSimulator, type SimRequestTruth } from '../../src/sim/server.ts';
import { DEFAULT_SIM_PROFILE } from '../../src/sim/profile.ts';
import { captureIo, NOT_ABOUT_CLIENT_HEALTH, readRequests, withTempDir } from '../helpers.ts';

const LLAMA = 'Meta-Llama-3.3-70B-Instruct';

interface Line {
  id: string;
  session: string;
  turn: number;
  warmup: boolean;
  outcome: string;
  input_tokens: number;
  cached_prompt_tokens: number | null;
  ttft_ms: number;
}

/** What the simulator wrote as the answer to a request: its token chunks' text, reasoning excluded. */
const answerOf = (truth: SimRequestTruth): string => truth.chunks.filter((chunk) => !chunk.reasoning && chunk.choice === 0).map((chunk) => chunk.text).join('');

test('sessions send the right histories in the right order, checked at the simulator; TTFT falls with the prefix cache', async () => {
  const profile = { ...DEFAULT_SIM_PROFILE, ttftMs: 10, tokensPerSecond: 1000, tokensPerChunk: 4, outputTokens: 12, capacity: 8, prefillTokensPerSecond: 2_500, prefixCache: true };
  const sim = await startSimulator({ seed: 2, defaults: profile, models: {} }, { keepTruth: true });
  try {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'sessions.yaml');
      await writeFile(
        file,
        `name: e2e-sessions\ntarget: {baseURL: "${sim.baseURL}"}\nmodels: [${LLAMA}]\n` +
          'load: {concurrency: 2, requests: 8, thinkTime: 20ms}\n' +
          'prompts: {synthetic: {count: 16, turns: 3, inputTokens: 1000, followUpTokens: 20, outputTokens: 12}}\n',
      );
      const out = path.join(dir, 'out');
      const io = captureIo();
      const code = await main(['run', file, '--out', out, ...NOT_ABOUT_CLIENT_HEALTH], io);
      assert.equal(code, 0, io.err());
      const lines = await readRequests<Line>(out);
      assert.equal(lines.filter((line) => !line.warmup).length, 8, 'requests counts turns');
      const truthById = new Map(sim.truth.map((truth) => [truth.requestId!, truth]));
      const sessions = new Map<string, Line[]>();
      for (const line of lines) sessions.set(line.session, [...(sessions.get(line.session) ?? []), line]);
      for (const [session, turns] of sessions) {
        turns.sort((a, b) => a.turn - b.turn);
        assert.deepEqual(turns.map((line) => line.turn), turns.map((_, i) => i + 1), session);
        let expected: { role: string; content: string }[] = [];
        for (const line of turns) {
          const truth = truthById.get(line.id)!;
          const sent = truth.messages!;
          // The earlier turns exactly, then one new user message.
          assert.deepEqual(sent.slice(0, -1), expected, `${line.id}: the history`);
          assert.equal(sent.at(-1)!.role, 'user');
          assert.equal(sent.length, 2 * line.turn - 1);
          expected = [...sent, { role: 'assistant', content: answerOf(truth) }];
          // The prefix cache found the whole history: every message but the new one.
          const historyTokens = sent.slice(0, -1).reduce((sum, message) => sum + 4 + message.content.split(' ').filter(Boolean).length, 0);
          assert.equal(line.cached_prompt_tokens, historyTokens, `${line.id}: cached tokens`);
        }
      }
      // Each session's turns reached the simulator in order, one after the other's answer.
      for (const turns of sessions.values()) {
        for (let i = 1; i < turns.length; i++) assert.ok(truthById.get(turns[i]!.id)!.receivedAt > truthById.get(turns[i - 1]!.id)!.finalEventsAt[0]!);
      }
      const summary = JSON.parse(await readFile(path.join(out, 'summary.json'), 'utf8'));
      const byTurn: TurnSummary[] = summary.cells[0].byTurn;
      assert.deepEqual(byTurn.map((t) => t.turn), [1, 2, 3]);
      assert.equal(byTurn[0]!.meanCachedPromptTokens, 0);
      assert.ok(byTurn[1]!.meanCachedPromptTokens! > 1000 && byTurn[2]!.meanCachedPromptTokens! > byTurn[1]!.meanCachedPromptTokens!);
      // Turn 1 prefills its 1,004 tokens (≥ 10 + 400 ms: a busy machine is late, never early); later turns only
      // ~24 (~20 ms): so wide a gap that a loaded machine's delays do not close it.
      assert.ok(byTurn[0]!.ttftP50Ms! >= 410, `turn 1 TTFT p50 ${byTurn[0]!.ttftP50Ms}`);
      assert.ok(byTurn[1]!.ttftP50Ms! < byTurn[0]!.ttftP50Ms! && byTurn[2]!.ttftP50Ms! < byTurn[0]!.ttftP50Ms!, JSON.stringify(byTurn));
      const html = await readFile(path.join(out, 'report.html'), 'utf8');
      assert.match(html, /data-section="turns"/);
      assert.match(html, /data-chart="ttft-by-turn"/);
    });
  } finally {
    await sim.close();
  }
});
