import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { readTrace, readTraceFile, TraceFileError } from '../../src/scenario/trace-file.ts';
import { withTempDir } from '../helpers.ts';

const TRACE = [
  '{"timestamp": 0, "input_tokens": 100, "output_tokens": 20}',
  '{"timestamp": 0.25, "input_tokens": 512, "output_tokens": 64}',
  '{"timestamp": 0.25, "input_tokens": 8, "output_tokens": 1}',
  '{"timestamp": 3.1, "input_tokens": 40, "output_tokens": 300}',
].join('\n');

test('a trace is read in order: each arrival due at its timestamp ÷ the speed-up, with its token counts', () =>
  withTempDir(async (dir) => {
    const file = path.join(dir, 'trace.jsonl');
    await writeFile(file, '\uFEFF' + TRACE + '\n\n');
    assert.deepEqual(readTraceFile(file), [
      { offsetMs: 0, inputTokens: 100, outputTokens: 20 },
      { offsetMs: 250, inputTokens: 512, outputTokens: 64 },
      { offsetMs: 250, inputTokens: 8, outputTokens: 1 },
      { offsetMs: 3100, inputTokens: 40, outputTokens: 300 },
    ]);
    assert.deepEqual(
      readTraceFile(file, 4).map((arrival) => arrival.offsetMs),
      [0, 62.5, 62.5, 775],
    );
  }));

test('every malformed line of a trace is named with the file and its line number', () =>
  withTempDir(async (dir) => {
    const file = path.join(dir, 'bad.jsonl');
    await writeFile(
      file,
      [
        '{"timestamp": 1, "input_tokens": 10, "output_tokens": 5}',
        'not json',
        '[1, 2]',
        '{"timestamp": -1, "input_tokens": 10, "output_tokens": 5}',
        '{"timestamp": 2, "input_tokens": 0, "output_tokens": 5}',
        '{"timestamp": 2, "input_tokens": 10, "output_tokens": 1.5}',
        '{"timestamp": "2", "input_tokens": 10, "output_tokens": 5}',
        '{"timestamp": 0.5, "input_tokens": 10, "output_tokens": 5}',
      ].join('\n'),
    );
    assert.throws(
      () => readTraceFile(file),
      (error: unknown) => {
        assert.ok(error instanceof TraceFileError);
        assert.deepEqual(error.problems, [
          `${file}:2: not valid JSON`,
          `${file}:3: must be a JSON object {timestamp, input_tokens, output_tokens} or {timestamp, messages, max_tokens?}`,
          `${file}:4: timestamp must be a number of seconds >= 0`,
          `${file}:5: input_tokens must be a positive integer`,
          `${file}:6: output_tokens must be a positive integer`,
          `${file}:7: timestamp must be a number of seconds >= 0`,
          `${file}:8: timestamp 0.5 is before the previous line's (1): timestamps must not decrease`,
        ]);
        return true;
      },
    );
  }));

test('a missing or empty trace file is a problem, not an empty cell', () =>
  withTempDir(async (dir) => {
    const empty = path.join(dir, 'empty.jsonl');
    await writeFile(empty, '\n');
    assert.throws(() => readTraceFile(empty), { message: `${empty}: has no arrivals (one JSON object per line)` });
    assert.throws(() => readTraceFile(path.join(dir, 'none.jsonl')), /cannot read the trace file \(ENOENT\)/);
  }));

test('a {messages} line is sent as written, its max_tokens a cap; extra fields are ignored; the sha256 is of the bytes', () =>
  withTempDir(async (dir) => {
    const file = path.join(dir, 'chat.jsonl');
    const text = [
      '{"timestamp": 0.5, "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}], "max_tokens": 16, "session": "a"}',
      '{"timestamp": 1.25, "messages": [{"role": "user", "content": ""}]}',
      '{"timestamp": 2, "input_tokens": 7, "output_tokens": 3, "hash_ids": [1, 2]}',
    ].join('\n');
    await writeFile(file, text);
    const trace = readTrace(file);
    assert.deepEqual(trace.arrivals, [
      { offsetMs: 500, messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }], maxTokens: 16 },
      { offsetMs: 1250, messages: [{ role: 'user', content: '' }] },
      { offsetMs: 2000, inputTokens: 7, outputTokens: 3 },
    ]);
    assert.equal(trace.sha256, createHash('sha256').update(text).digest('hex'));
  }));

test('each malformed payload is its own problem with its line number: both kinds, neither, bad messages, a cap beside an exact length', () =>
  withTempDir(async (dir) => {
    const file = path.join(dir, 'bad.jsonl');
    await writeFile(
      file,
      [
        '{"input_tokens": 10, "output_tokens": 5}',
        '{"timestamp": 0, "input_tokens": 10, "output_tokens": 5, "messages": [{"role": "user", "content": "x"}]}',
        '{"timestamp": 0}',
        '{"timestamp": 0, "messages": []}',
        '{"timestamp": 0, "messages": "hi"}',
        '{"timestamp": 0, "messages": [{"role": "robot", "content": "x"}]}',
        '{"timestamp": 0, "messages": [{"role": "user", "content": 3}]}',
        '{"timestamp": 0, "messages": [null]}',
        '{"timestamp": 0, "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}',
        '{"timestamp": 0, "input_tokens": 10, "output_tokens": 5, "max_tokens": 9}',
        '{"timestamp": 0, "input_tokens": 10}',
        '{"timestamp": 1e12, "input_tokens": 10, "output_tokens": 5}',
      ].join('\n'),
    );
    assert.throws(
      () => readTrace(file),
      (error: unknown) => {
        assert.ok(error instanceof TraceFileError);
        assert.deepEqual(error.problems, [
          `${file}:1: timestamp must be a number of seconds >= 0`,
          `${file}:2: must have either input_tokens and output_tokens or messages, not both`,
          `${file}:3: must have input_tokens and output_tokens, or messages`,
          `${file}:4: messages must be a non-empty list of {role, content}`,
          `${file}:5: messages must be a non-empty list of {role, content}`,
          `${file}:6: messages[0].role must be one of system, user, assistant, developer, tool`,
          `${file}:7: messages[0].content must be a string`,
          `${file}:8: messages[0] must be an object {role, content}`,
          `${file}:9: max_tokens must be a positive integer`,
          `${file}:10: max_tokens goes with messages only (output_tokens is the exact output length)`,
          `${file}:11: output_tokens must be a positive integer`,
          `${file}:12: timestamp must be at most 2147483.647 s (Node's timers cannot wait longer)`,
        ]);
        return true;
      },
    );
  }));
