/**
 * A corrupt or missing results file fails closed: check, compare and report
 * exit 2 naming the file and what is wrong, and never pass. One small run on
 * the built-in simulator is copied and broken one file at a time.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { ExitCode } from '../../src/cli/exit-codes.ts';
import { captureIo, runScenarioText } from '../helpers.ts';

const SCENARIO = `name: folder
target:
  baseURL: builtin
  simulator: {seed: 1, defaults: {ttftMs: 2, tokensPerSecond: 5000, tokensPerChunk: [1, 3], outputTokens: [4, 8], capacity: 8}}
models: [{name: model-a, tokenizer: llama3}, {name: model-b, tokenizer: llama3}]
load: {concurrency: 2, requests: 6}
prompts: ["hi"]
`;

type Json = Record<string, any>;

/** Rewrites a JSON file of the folder through `change`. */
const editJson = (name: string, change: (value: Json) => void) => async (dir: string) => {
  const file = path.join(dir, name);
  const value = JSON.parse(await readFile(file, 'utf8')) as Json;
  change(value);
  await writeFile(file, JSON.stringify(value));
};
const replaceFile = (name: string, text: string) => (dir: string) => writeFile(path.join(dir, name), text);
/** Replaces line `lineNumber` (1-based) of requests.jsonl. */
const replaceRequestLine = (lineNumber: number, text: string) => async (dir: string) => {
  const file = path.join(dir, 'requests.jsonl');
  const lines = (await readFile(file, 'utf8')).split('\n');
  lines[lineNumber - 1] = text;
  await writeFile(file, lines.join('\n'));
};

/** How each case breaks a copy of the good folder, and what the error must say (after the folder's path). */
const CORRUPTIONS: { name: string; corrupt: (dir: string) => Promise<void>; message: RegExp }[] = [
  { name: 'run.json missing', corrupt: (dir) => rm(path.join(dir, 'run.json')), message: /\/run\.json: cannot read it \(ENOENT\); is .* a tokenmeter results folder\?/ },
  { name: 'run.json is {}', corrupt: replaceFile('run.json', '{}'), message: /\/run\.json: not as tokenmeter writes it: completed: must be true or false/ },
  { name: 'run.json is not JSON', corrupt: replaceFile('run.json', '{"completed": tru'), message: /\/run\.json: not valid JSON/ },
  {
    name: 'run.json has no scenario',
    corrupt: editJson('run.json', (run) => delete run.scenario),
    message: /\/run\.json: not as tokenmeter writes it: scenario: must be the scenario that ran/,
  },
  { name: 'summary.json is cut short', corrupt: replaceFile('summary.json', '{"cells": [{"model": "mo'), message: /\/summary\.json: not valid JSON/ },
  { name: 'summary.json is {}', corrupt: replaceFile('summary.json', '{}'), message: /\/summary\.json: not as tokenmeter writes it: cells: must be the list of cells/ },
  {
    name: "a summary.json cell's ramp has no end rate",
    corrupt: editJson('summary.json', (summary) => (summary.cells[0].load.ramp = { toRate: 'fast', overMs: 1000 })),
    message: /\/summary\.json: not as tokenmeter writes it: cells\[0\]\.load\.ramp\.toRate: /,
  },
  {
    name: 'a summary.json cell lacks a field',
    corrupt: editJson('summary.json', (summary) => delete summary.cells[1].requests),
    message: /\/summary\.json: not as tokenmeter writes it: cells\[1\]\.requests: /,
  },
  {
    name: 'a summary.json timeline has a per-bin list one short',
    corrupt: editJson('summary.json', (summary) => summary.cells[0].timeline.inFlight.pop()),
    message: /\/summary\.json: not as tokenmeter writes it: cells\[0\]\.timeline: every per-bin list must have one value per bin/,
  },
  {
    name: 'a summary.json cell has a byTurn that is not a list of turns',
    corrupt: editJson('summary.json', (summary) => (summary.cells[0].byTurn = 5)),
    message: /\/summary\.json: not as tokenmeter writes it: cells\[0\]\.byTurn: /,
  },
  {
    name: 'a histogram in histograms.json does not decode',
    corrupt: editJson('histograms.json', (histograms) => (histograms.cells[0].histograms.ttft.encoded = 'garbage+garbage/')),
    message: /\/histograms\.json: cells\[0\]\.histograms\.ttft\.encoded does not decode as an HdrHistogram/,
  },
  {
    name: "a histogram in histograms.json holds another cell's values",
    corrupt: editJson('histograms.json', (histograms) => (histograms.cells[0].histograms.ttft = histograms.cells[0].histograms.itl)),
    message: /\/histograms\.json: cells\[0\]\.histograms\.ttft decodes to \d+ values, but its count is \d+ and summary\.json counts 6/,
  },
  {
    name: 'histograms.json lists other cells than summary.json',
    corrupt: editJson('histograms.json', (histograms) => histograms.cells.reverse()),
    message: /\/histograms\.json: cells\[0\] is not summary\.json's cells\[0\] \(model-a @ c=2\)/,
  },
  { name: 'a line of requests.jsonl is not JSON', corrupt: replaceRequestLine(3, '{"id": "x", "mod'), message: /\/requests\.jsonl:3: not valid JSON/ },
  {
    name: 'a line of requests.jsonl has no model',
    corrupt: replaceRequestLine(2, JSON.stringify({ concurrency: 2, warmup: false, outcome: 'ok', ttft_ms: 5 })),
    message: /\/requests\.jsonl:2: not as tokenmeter writes it: model: /,
  },
  {
    name: 'a line of requests.jsonl has a TTFT that is not a number',
    corrupt: replaceRequestLine(4, JSON.stringify({ model: 'model-a', concurrency: 2, warmup: false, outcome: 'ok', ttft_ms: 'fast' })),
    message: /\/requests\.jsonl:4: not as tokenmeter writes it: ttft_ms: /,
  },
];

describe('a corrupt or missing results file fails closed', () => {
  let root: string;
  let good: string;
  let copies = 0;
  /** A fresh copy of the good folder, broken by `corrupt`. */
  const broken = async (corrupt: (dir: string) => Promise<void>) => {
    const dir = path.join(root, `copy-${++copies}`);
    await cp(good, dir, { recursive: true });
    await corrupt(dir);
    return dir;
  };

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'tokenmeter-folder-'));
    const run = await runScenarioText(root, 'good', SCENARIO);
    assert.equal(run.code, ExitCode.OK, run.io.err());
    good = run.out;
  });
  after(() => rm(root, { recursive: true, force: true }));

  test('the intact folder passes check against itself', async () => {
    const io = captureIo();
    // A small run cannot bound its p95 or 1 point of errors (inconclusive, exit 97): what this checks is that nothing regressed.
    assert.equal(await main(['check', good, '--baseline', good, '--inconclusive', 'pass'], io), ExitCode.OK, io.err());
    assert.doesNotMatch(io.out(), /REGRESSION/);
  });

  const commands: { command: string; argv: (dir: string) => string[] }[] = [
    { command: 'check', argv: (dir) => ['check', dir, '--baseline', good] },
    { command: 'check (the baseline broken)', argv: (dir) => ['check', good, '--baseline', dir] },
    { command: 'compare', argv: (dir) => ['compare', dir, '--out', path.join(dir, 'compare')] },
    { command: 'report', argv: (dir) => ['report', dir] },
  ];
  for (const { name, corrupt, message } of CORRUPTIONS) {
    for (const { command, argv } of commands) {
      test(`${name}: ${command} exits 2 naming the file`, async () => {
        const dir = await broken(corrupt);
        const io = captureIo();
        assert.equal(await main(argv(dir), io), ExitCode.CONFIG_ERROR, io.out() + io.err());
        assert.ok(io.err().startsWith(`tokenmeter: ${dir}/`), io.err());
        assert.match(io.err(), message);
        assert.equal(io.out(), '', 'no verdict is printed');
      });
    }
  }

  test('run.json with completed: false: check still fails the gate with 99, after its verdict', async () => {
    const dir = await broken(editJson('run.json', (run) => (run.completed = false)));
    const io = captureIo();
    assert.equal(await main(['check', dir, '--baseline', good], io), ExitCode.THRESHOLDS_FAILED, io.err());
    assert.match(io.err(), /is an incomplete run \(run\.json says completed: false\): it cannot pass a check/);
  });

  test('an interrupted baseline is no baseline: check exits 2 naming its run.json', async () => {
    const dir = await broken(editJson('run.json', (run) => (run.completed = false)));
    const io = captureIo();
    assert.equal(await main(['check', good, '--baseline', dir], io), ExitCode.CONFIG_ERROR, io.err());
    assert.ok(io.err().startsWith(`tokenmeter: ${path.join(dir, 'run.json')}: the baseline is an incomplete run`), io.err());
    assert.equal(io.out(), '', 'no verdict is printed');
  });
});
