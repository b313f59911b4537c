/**
 * run.json keeps a dataset's file, format, selection and the SHA-256 of its bytes, never its
 * entries; report, check and merge read such a folder back and still tell datasets apart by hash.
 * The runs are on simulated time (test/virtual-server.ts).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { promptsOfRun } from '../../src/report/json.ts';
import { captureIo, withTempDir } from '../helpers.ts';
import { runVirtualInto, type VirtualServerProfile } from '../virtual-server.ts';

const LLAMA = 'Meta-Llama-3.3-70B-Instruct';
const PROFILE: VirtualServerProfile = { ttftMs: 50, ttftJitter: 0.1, tokensPerSecond: 1000, tokensPerChunk: [1, 3], outputTokens: [10, 20], capacity: 64 };

/** An OpenAI chat dataset of `count` lines, each a question and a reference answer; `salt` changes one byte of every line. */
function chatDataset(count: number, salt = ''): string {
  return Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      messages: [
        { role: 'user', content: `Question ${i}${salt}: ${'why is the sea salty and the river not '.repeat(6)}` },
        { role: 'assistant', content: `Answer ${i}: ${'because the rivers carry it there '.repeat(4)}` },
      ],
    }),
  ).join('\n') + '\n';
}

const scenarioOf = (dataFile: string) =>
  `name: provenance\ntarget: {baseURL: "http://virtual.invalid/v1"}\nmodels: [${LLAMA}]\nload: {concurrency: 4, requests: 32}\n` +
  `prompts: {file: "${dataFile}", format: openai-chat, maxInputTokens: 4000, limit: 8, sample: random}\nseed: 3\n`;

const sha256Of = (text: string) => createHash('sha256').update(text).digest('hex');
const readJson = async (file: string) => JSON.parse(await readFile(file, 'utf8'));

test("run.json keeps a dataset's path, format, selection and hash, not its 2,000 entries", () =>
  withTempDir(async (dir) => {
    const data = path.join(dir, 'chat.jsonl');
    const text = chatDataset(2000);
    await writeFile(data, text);
    const out = await runVirtualInto(dir, 'run', scenarioOf(data), PROFILE);
    const run = await readJson(path.join(out, 'run.json'));
    assert.deepEqual(run.scenario.prompts, {
      dataset: true,
      file: data,
      format: 'openai-chat',
      sha256: sha256Of(text),
      skipped: 0,
      sample: 'random',
      maxInputTokens: 4000,
      limit: 8,
    });
    // The dataset is ~800 KB; run.json holds none of it.
    assert.ok((await stat(path.join(out, 'run.json'))).size < 10_000, `run.json is ${(await stat(path.join(out, 'run.json'))).size} bytes`);
    // report reads the folder back as before.
    const io = captureIo();
    assert.equal(await main(['report', out], io), 0, io.err());
  }));

test('check: the same dataset bytes at another path compare; one changed byte is another dataset, told by its hash', () =>
  withTempDir(async (dir) => {
    const text = chatDataset(40);
    await mkdir(path.join(dir, 'checkout-a'));
    await mkdir(path.join(dir, 'checkout-b'));
    await writeFile(path.join(dir, 'checkout-a', 'chat.jsonl'), text);
    await writeFile(path.join(dir, 'checkout-b', 'chat.jsonl'), text);
    await writeFile(path.join(dir, 'other.jsonl'), chatDataset(40).replace('Question 7:', 'Question 8:'));
    const baseline = await runVirtualInto(dir, 'baseline', scenarioOf(path.join(dir, 'checkout-a', 'chat.jsonl')), PROFILE, 1);
    const moved = await runVirtualInto(dir, 'moved', scenarioOf(path.join(dir, 'checkout-b', 'chat.jsonl')), PROFILE, 2);
    const other = await runVirtualInto(dir, 'other', scenarioOf(path.join(dir, 'other.jsonl')), PROFILE, 2);

    const same = captureIo();
    assert.notEqual(await main(['check', moved, '--baseline', baseline], same), 2, same.err());
    assert.doesNotMatch(same.err(), /different scenarios/);

    const different = captureIo();
    assert.equal(await main(['check', other, '--baseline', baseline], different), 2);
    assert.match(different.err(), /runs of different scenarios \(run\.json differs at prompts\.sha256\)/);
  }));

test('merge: runs of one dataset merge, and the merged run.json keeps the same prompts; another dataset is refused', () =>
  withTempDir(async (dir) => {
    const data = path.join(dir, 'chat.jsonl');
    await writeFile(data, chatDataset(40));
    await writeFile(path.join(dir, 'other.jsonl'), chatDataset(40, '!'));
    const first = await runVirtualInto(dir, 'first', scenarioOf(data), PROFILE, 1);
    const second = await runVirtualInto(dir, 'second', scenarioOf(data), PROFILE, 2);
    const other = await runVirtualInto(dir, 'other', scenarioOf(path.join(dir, 'other.jsonl')), PROFILE, 2);

    const io = captureIo();
    assert.equal(await main(['merge', first, second, '--out', path.join(dir, 'merged')], io), 0, io.err());
    const mergedRun = await readJson(path.join(dir, 'merged', 'run.json'));
    assert.deepEqual(mergedRun.scenario.prompts, (await readJson(path.join(first, 'run.json'))).scenario.prompts);

    const refused = captureIo();
    assert.equal(await main(['merge', first, other, '--out', path.join(dir, 'refused')], refused), 2);
    assert.match(refused.err(), new RegExp(`${other} ran a different scenario from ${first} \\(they differ in prompts\\.sha256\\)`));
  }));

test('promptsOfRun leaves inline prompts and synthetic specs as they are', () => {
  const inline = [{ messages: [{ role: 'user' as const, content: 'hi' }] }];
  assert.equal(promptsOfRun(inline), inline);
  const synthetic = { synthetic: true as const, count: 4, inputTokens: { kind: 'fixed' as const, value: 8 }, sharedPrefix: { tokens: 16, groups: 2, as: 'user' as const } };
  assert.equal(promptsOfRun(synthetic), synthetic);
});
