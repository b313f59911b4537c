import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { tokensPerChunk } from '../../src/metrics/attribution.ts';
import { loadTokenizerFile } from '../../src/metrics/tokenizers.ts';
import { parseScenario, ScenarioError } from '../../src/scenario/load.ts';
import { startSimulator } from '../../src/sim/server.ts';
import { captureIo, readRequests, withTempDir } from '../helpers.ts';
import { byteLevelTokenizerJson, sentencePieceTokenizerJson } from '../tokenizer-fixtures.ts';

const WORD_MERGES: [string, string][] = [
  ['Ġ', 'w'],
  ['Ġw', 'o'],
  ['Ġwo', 'r'],
  ['Ġwor', 'd'],
];

describe('a Hugging Face tokenizer.json', () => {
  test('counts by offsets like the built-ins: a token split across chunks counts once, where it ends', () =>
    withTempDir(async (dir) => {
      const file = path.join(dir, 'tokenizer.json');
      await writeFile(file, JSON.stringify(byteLevelTokenizerJson(WORD_MERGES)));
      const tokenizer = await loadTokenizerFile(file);
      assert.deepEqual(tokenizer.encode(' word word'), [98, 98]);
      assert.deepEqual(tokensPerChunk([' word', ' wo', 'rd', '!'], tokenizer), [1, 0, 1, 1]);
      assert.match(tokenizer.name, /tokenizer\.json$/);
    }));

  test('a SentencePiece tokenizer (Llama 2 / Mistral style): the prepended "▁" is no token of the text', () =>
    withTempDir(async (dir) => {
      const pieces = ['▁', '▁hello', '▁world', 'h', 'e', 'l', 'o', 'w', 'r', 'd', '▁w', '▁h', '!'];
      const json = sentencePieceTokenizerJson(pieces.map((piece) => [piece, -1]));
      const file = path.join(dir, 'tokenizer.json');
      await writeFile(file, JSON.stringify(json));
      const tokenizer = await loadTokenizerFile(file);
      assert.deepEqual(tokensPerChunk(['hello', ' world'], tokenizer), [1, 1]);
      assert.deepEqual(tokensPerChunk([' hello', ' world'], tokenizer), [1, 1]);
      assert.deepEqual(tokensPerChunk(['hello', ' w', 'orld!'], tokenizer), [1, 0, 2]);
    }));

  test('a scenario names it by a path relative to the file; a missing one is a scenario error', () =>
    withTempDir(async (dir) => {
      const text = (tokenizer: string) =>
        `name: t\ntarget: {baseURL: builtin}\nmodels: [{name: m, tokenizer: ${tokenizer}}]\nload: {concurrency: 1, requests: 1}\nprompts: [hi]\n`;
      await writeFile(path.join(dir, 'tok.json'), JSON.stringify(byteLevelTokenizerJson([])));
      const scenario = parseScenario(text('./tok.json'), path.join(dir, 's.yaml'), {});
      assert.equal(scenario.models[0]!.tokenizer, path.join(dir, 'tok.json'));
      assert.throws(
        () => parseScenario(text('./missing.json'), path.join(dir, 's.yaml'), {}),
        (error: unknown) => error instanceof ScenarioError && /models\[0\]\.tokenizer: cannot read .*missing\.json/.test(error.message),
      );
    }));

  test('a run counts with it and reconciles with the server’s usage', () =>
    withTempDir(async (dir) => {
      // No merges: every byte is a token, so the count differs from the simulator's (one per word).
      await writeFile(path.join(dir, 'bytes.json'), JSON.stringify(byteLevelTokenizerJson([])));
      const sim = await startSimulator(
        { seed: 1, defaults: { ttftMs: 5, tokensPerSecond: 2000, tokensPerChunk: 2, outputTokens: 10, capacity: 4, usageExtraTokens: 0 }, models: {} },
        { keepTruth: true },
      );
      try {
        const file = path.join(dir, 's.yaml');
        await writeFile(
          file,
          `name: hf\ntarget: {baseURL: "${sim.baseURL}"}\nmodels: [{name: m, tokenizer: ./bytes.json}]\nload: {concurrency: 1, requests: 2}\nprompts: [hi]\n`,
        );
        const out = path.join(dir, 'out');
        const io = captureIo();
        assert.equal(await main(['run', file, '--out', out], io), 0, io.err());
        const lines = await readRequests(out);
        for (const line of lines) {
          const truth = sim.truth.find((t) => t.requestId === line.id)!;
          const bytes = Buffer.byteLength(truth.chunks.map((c) => c.text).join(''));
          assert.match(line.tokenizer, /bytes\.json$/);
          assert.equal(line.token_source, 'tokenizer+usage');
          assert.equal(line.output_tokens, 10, 'the server’s total wins');
          assert.equal(line.usage_mismatch, 10 - bytes, 'the tokenizer counted one token per byte');
        }
        assert.doesNotMatch(io.err(), /no tokenizer known/);
      } finally {
        await sim.close();
      }
    }));
});
