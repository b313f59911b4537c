import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { tokensPerChunk } from '../../src/metrics/attribution.ts';
import { loadTokenizerFile } from '../../src/metrics/tokenizers.ts';
import { parseScenario, ScenarioError } from '../../src/scenario/load.ts';
import { startSimulator } from '../../src/sim/server.ts';
import { ggufBytes } from '../gguf-writer.ts';
import { captureIo, NOT_ABOUT_CLIENT_HEALTH, readRequests, withTempDir } from '../helpers.ts';
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
        assert.equal(await main(['run', file, '--out', out, ...NOT_ABOUT_CLIENT_HEALTH], io), 0, io.err());
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

describe('a tokenizer file that cannot be used', () => {
  const cases: { name: string; file: string; make: (file: string) => Promise<void>; reason: RegExp }[] = [
    { name: 'malformed JSON', file: 'tok.json', make: (file) => writeFile(file, '{"model": {"type": "BPE",'), reason: /: not valid JSON \(/ },
    { name: 'an empty JSON object', file: 'tok.json', make: (file) => writeFile(file, '{}'), reason: /: is not a usable Hugging Face tokenizer \(Tokenizer must contain a "model" property\)/ },
    { name: 'a JSON array', file: 'tok.json', make: (file) => writeFile(file, '[1]'), reason: /: is not a tokenizer\.json object/ },
    { name: 'a directory', file: 'tok.json', make: (file) => mkdir(file), reason: /: is a directory, not a tokenizer file/ },
    { name: 'a GGUF file with the wrong magic', file: 'model.gguf', make: (file) => writeFile(file, ggufBytes({}, { magic: 'GGJT' })), reason: /: not a GGUF file/ },
    {
      name: 'a truncated GGUF file',
      file: 'model.gguf',
      make: (file) => writeFile(file, ggufBytes({ 'tokenizer.ggml.model': { type: 'string', value: 'llama' } }).subarray(0, 40)),
      reason: /: truncated GGUF file/,
    },
  ];
  const scenario = (tokenizer: string) =>
    `name: t\ntarget: {baseURL: builtin}\nmodels: [{name: m, tokenizer: ./${tokenizer}}]\nload: {concurrency: 1, requests: 1}\nprompts: [hi]\n`;
  for (const { name, file, make, reason } of cases) {
    test(`${name}: validate exits 2 naming the scenario, the field and the file`, () =>
      withTempDir(async (dir) => {
        await make(path.join(dir, file));
        const scenarioFile = path.join(dir, 's.yaml');
        await writeFile(scenarioFile, scenario(file));
        const io = captureIo();
        assert.equal(await main(['validate', scenarioFile], io), 2);
        assert.equal(io.out(), '');
        const line = io.err().trim();
        assert.ok(line.startsWith(`${scenarioFile}: models[0].tokenizer: ${path.join(dir, file)}: `), line);
        assert.match(line, reason);
      }));
  }

  test('run exits 2 before it starts, with the same message and no stack', () =>
    withTempDir(async (dir) => {
      await writeFile(path.join(dir, 'tok.json'), 'not json');
      const scenarioFile = path.join(dir, 's.yaml');
      await writeFile(scenarioFile, scenario('tok.json'));
      const io = captureIo();
      assert.equal(await main(['run', scenarioFile, '--out', path.join(dir, 'out')], io), 2);
      assert.match(io.err(), new RegExp(`models\\[0\\]\\.tokenizer: .*tok\\.json: not valid JSON`));
      assert.doesNotMatch(io.err(), /\n\s+at /);
      assert.equal(existsSync(path.join(dir, 'out')), false, 'no results folder for a run that never started');
    }));

  test('every problem at once: two bad models, two lines', () =>
    withTempDir(async (dir) => {
      await writeFile(path.join(dir, 'a.json'), '{}');
      await writeFile(path.join(dir, 'b.gguf'), 'GGUF');
      const scenarioFile = path.join(dir, 's.yaml');
      await writeFile(
        scenarioFile,
        'name: t\ntarget: {baseURL: builtin}\nmodels: [{name: a, tokenizer: ./a.json}, {name: b, tokenizer: ./b.gguf}]\nload: {concurrency: 1, requests: 1}\nprompts: [hi]\n',
      );
      const io = captureIo();
      assert.equal(await main(['validate', scenarioFile], io), 2);
      assert.deepEqual(
        io.err().trim().split('\n').map((line) => line.split(': ').slice(1, 2)[0]),
        ['models[0].tokenizer', 'models[1].tokenizer'],
      );
    }));
});
