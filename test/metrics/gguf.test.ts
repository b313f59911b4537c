import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { readGgufMetadata } from '../../src/metrics/gguf.ts';
import { loadTokenizer, loadTokenizerFile, TokenizerFileError } from '../../src/metrics/tokenizers.ts';
import { ggufBytes, writeGguf, type GgufTestValue } from '../gguf-writer.ts';
import { withTempDir } from '../helpers.ts';
import { byteLevelAlphabet, LLAMA_VOCAB, llamaTokenizerJson } from '../tokenizer-fixtures.ts';

const EVERY_TYPE: Record<string, GgufTestValue> = {
  'general.architecture': { type: 'string', value: 'llama' },
  u8: { type: 'uint8', value: 255 },
  i8: { type: 'int8', value: -128 },
  u16: { type: 'uint16', value: 65535 },
  i16: { type: 'int16', value: -32768 },
  u32: { type: 'uint32', value: 4294967295 },
  i32: { type: 'int32', value: -2147483648 },
  f32: { type: 'float32', value: 0.5 },
  f64: { type: 'float64', value: -1.25e-300 },
  yes: { type: 'bool', value: true },
  no: { type: 'bool', value: false },
  u64: { type: 'uint64', value: 18446744073709551615n },
  i64: { type: 'int64', value: -9223372036854775808n },
  unicode: { type: 'string', value: 'héllo ▁ 👋' },
  empty: { type: 'string', value: '' },
  strings: { type: 'array', itemType: 'string', value: ['a', '', 'Ġb', '<0x0A>'] },
  floats: { type: 'array', itemType: 'float32', value: [-1, 0.25, 3] },
  ints: { type: 'array', itemType: 'int32', value: [1, -2, 3] },
  longs: { type: 'array', itemType: 'uint64', value: [1n, 2n ** 40n] },
  flags: { type: 'array', itemType: 'bool', value: [true, false] },
  nothing: { type: 'array', itemType: 'uint8', value: [] },
};

describe('the GGUF metadata reader', () => {
  for (const version of [2, 3]) {
    test(`reads every value type of a version ${version} header`, () =>
      withTempDir(async (dir) => {
        const file = path.join(dir, 'm.gguf');
        await writeGguf(file, EVERY_TYPE, { version, tensorCount: 291n });
        const metadata = await readGgufMetadata(file);
        assert.equal(metadata.version, version);
        assert.equal(metadata.tensorCount, 291n);
        assert.deepEqual([...metadata.values.keys()], Object.keys(EVERY_TYPE));
        assert.deepEqual(Object.fromEntries(metadata.values), Object.fromEntries(Object.entries(EVERY_TYPE).map(([key, { value }]) => [key, value])));
      }));
  }

  test('reads the metadata only: tensor data after it is never needed', () =>
    withTempDir(async (dir) => {
      const file = path.join(dir, 'm.gguf');
      // The header claims tensors whose descriptions and data are garbage: only the key/value pairs are read.
      await writeFile(file, Buffer.concat([ggufBytes({ a: { type: 'uint32', value: 7 } }, { tensorCount: 3n }), Buffer.alloc(3 << 20, 0xff)]));
      assert.deepEqual(Object.fromEntries((await readGgufMetadata(file)).values), { a: 7 });
    }));

  test('reads arrays longer than one read-ahead chunk', () =>
    withTempDir(async (dir) => {
      const file = path.join(dir, 'm.gguf');
      const tokens = Array.from({ length: 80_000 }, (_, i) => `token${i}`);
      const scores = Array.from({ length: 300_000 }, (_, i) => -i);
      await writeGguf(file, { tokens: { type: 'array', itemType: 'string', value: tokens }, scores: { type: 'array', itemType: 'float32', value: scores } });
      const values = (await readGgufMetadata(file)).values;
      assert.deepEqual(values.get('tokens'), tokens);
      assert.deepEqual(values.get('scores'), scores);
    }));

  const bad: { name: string; bytes: () => Buffer; message: RegExp }[] = [
    { name: 'wrong magic', bytes: () => ggufBytes({}, { magic: 'GGML' }), message: /not a GGUF file \(it starts with "GGML"/ },
    { name: 'a JSON file', bytes: () => Buffer.from('{"model": {}}'), message: /not a GGUF file/ },
    { name: 'an empty file', bytes: () => Buffer.alloc(0), message: /truncated GGUF file/ },
    { name: 'version 1', bytes: () => ggufBytes({}, { version: 1 }), message: /GGUF version 1 is not supported/ },
    { name: 'cut inside a string array', bytes: () => ggufBytes(EVERY_TYPE).subarray(0, 400), message: /truncated GGUF file: it ends at byte 400 while reading the value of/ },
    { name: 'cut after the header', bytes: () => ggufBytes(EVERY_TYPE).subarray(0, 24), message: /truncated GGUF file: it ends at byte 24 while reading key\/value pair 0/ },
    {
      name: 'a length beyond the end of the file',
      bytes: () => Buffer.concat([ggufBytes({}).subarray(0, 16), Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([0, 0, 0, 0, 0, 0, 0, 1])]),
      message: /a length of 72057594037927936 .* exceeds the file's 32 bytes/,
    },
  ];
  for (const { name, bytes, message } of bad) {
    test(`rejects ${name} with a message naming the file`, () =>
      withTempDir(async (dir) => {
        const file = path.join(dir, 'bad.gguf');
        await writeFile(file, bytes());
        await assert.rejects(readGgufMetadata(file), (error: Error) => {
          assert.ok(error.message.startsWith(`${file}: `), error.message);
          assert.match(error.message, message);
          return true;
        });
      }));
  }
});

/** The GGUF metadata llama.cpp's converter writes for LLAMA_VOCAB (no merges: SentencePiece files carry scores). */
function llamaGguf(extra: Record<string, GgufTestValue> = {}): Record<string, GgufTestValue> {
  return {
    'general.architecture': { type: 'string', value: 'llama' },
    'tokenizer.ggml.model': { type: 'string', value: 'llama' },
    'tokenizer.ggml.tokens': { type: 'array', itemType: 'string', value: LLAMA_VOCAB.tokens },
    'tokenizer.ggml.scores': { type: 'array', itemType: 'float32', value: LLAMA_VOCAB.scores },
    'tokenizer.ggml.token_type': { type: 'array', itemType: 'int32', value: LLAMA_VOCAB.tokenTypes },
    'tokenizer.ggml.bos_token_id': { type: 'uint32', value: 1 },
    'tokenizer.ggml.eos_token_id': { type: 'uint32', value: 2 },
    'tokenizer.ggml.unknown_token_id': { type: 'uint32', value: 0 },
    ...extra,
  };
}

const LLAMA_TEXTS = ['hello world', 'hello', ' hello  world', 'world hello\nhello', 'héllo wörld 👋', 'hélloworld', 'dollar', ''];

describe('a GGUF file’s vocabulary as the tokenizer', () => {
  test('llama (SentencePiece): the same token ids and byte lengths as the equivalent tokenizer.json', () =>
    withTempDir(async (dir) => {
      await writeFile(path.join(dir, 'tokenizer.json'), JSON.stringify(llamaTokenizerJson()));
      await writeGguf(path.join(dir, 'model.gguf'), llamaGguf());
      const json = await loadTokenizerFile(path.join(dir, 'tokenizer.json'));
      const gguf = await loadTokenizerFile(path.join(dir, 'model.gguf'));
      const id = (token: string) => LLAMA_VOCAB.tokens.indexOf(token);
      const byte = (value: number) => 3 + value;
      // Merges by score: "▁hello" and "▁world" are single tokens; "ö" and "👋" fall back to their UTF-8 bytes.
      assert.deepEqual(gguf.encode('hello world'), [id('▁hello'), id('▁world')]);
      assert.deepEqual(gguf.encode('héllo wörld 👋'), [id('▁h'), id('é'), id('ll'), id('o'), id('▁w'), byte(0xc3), byte(0xb6), id('r'), id('ld'), id('▁'), byte(0xf0), byte(0x9f), byte(0x91), byte(0x8b)]);
      assert.deepEqual(gguf.tokenByteLengths('héllo wörld 👋'), [1, 2, 2, 1, 2, 1, 1, 1, 2, 1, 1, 1, 1, 1]);
      for (const text of LLAMA_TEXTS) {
        assert.deepEqual(gguf.encode(text), json.encode(text), text);
        assert.deepEqual(gguf.tokenByteLengths(text), json.tokenByteLengths(text), text);
        assert.equal(gguf.tokenByteLengths(text).reduce((sum, n) => sum + n, 0), Buffer.byteLength(text), `lengths cover ${JSON.stringify(text)}`);
      }
      assert.equal(gguf.name, `${path.basename(dir)}/model.gguf`);
    }));

  test('llama with add_space_prefix false: no "▁" before the first word', () =>
    withTempDir(async (dir) => {
      await writeGguf(path.join(dir, 'model.gguf'), llamaGguf({ 'tokenizer.ggml.add_space_prefix': { type: 'bool', value: false } }));
      const gguf = await loadTokenizerFile(path.join(dir, 'model.gguf'));
      const id = (token: string) => LLAMA_VOCAB.tokens.indexOf(token);
      assert.deepEqual(gguf.encode('hello world'), [id('h'), id('e'), id('ll'), id('o'), id('▁world')]);
      assert.deepEqual(gguf.tokenByteLengths('hello world'), [1, 1, 2, 1, 6]);
    }));

  test('gpt2 (byte-level BPE): the same token ids and byte lengths as the equivalent tokenizer.json', () =>
    withTempDir(async (dir) => {
      const alphabet = byteLevelAlphabet();
      const merges = ['Ġ w', 'Ġw o', 'Ġwo r', 'Ġwor d', 'h e', 'he l', 'hel l', 'hell o', 'Ã ©', '1 2', '12 3', '123 4'];
      const tokens = [...alphabet, ...merges.map((merge) => merge.replace(' ', '')), '<|endoftext|>'];
      const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
      const json = {
        version: '1.0',
        added_tokens: [{ id: tokens.length - 1, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
        normalizer: null,
        pre_tokenizer: byteLevel,
        post_processor: null,
        decoder: byteLevel,
        model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab: Object.fromEntries(tokens.map((t, i) => [t, i])), merges },
      };
      await writeFile(path.join(dir, 'tokenizer.json'), JSON.stringify(json));
      await writeGguf(path.join(dir, 'model.gguf'), {
        'tokenizer.ggml.model': { type: 'string', value: 'gpt2' },
        'tokenizer.ggml.tokens': { type: 'array', itemType: 'string', value: tokens },
        'tokenizer.ggml.token_type': { type: 'array', itemType: 'int32', value: tokens.map((_, i) => (i === tokens.length - 1 ? 3 : 1)) },
        'tokenizer.ggml.merges': { type: 'array', itemType: 'string', value: merges },
      });
      const fromJson = await loadTokenizerFile(path.join(dir, 'tokenizer.json'));
      const gguf = await loadTokenizerFile(path.join(dir, 'model.gguf'));
      const id = (token: string) => tokens.indexOf(token);
      assert.deepEqual(gguf.encode('hello word'), [id('hello'), id('Ġword')]);
      assert.deepEqual(gguf.encode('1234 é'), [id('1234'), id('Ġ'), id('Ã©')]);
      assert.deepEqual(gguf.tokenByteLengths('1234 é'), [4, 1, 2]);
      for (const text of ['hello word', ' word  word\n\nhello', 'é👋 1234', 'x<|endoftext|>y', '']) {
        assert.deepEqual(gguf.encode(text), fromJson.encode(text), text);
        assert.deepEqual(gguf.tokenByteLengths(text), fromJson.tokenByteLengths(text), text);
        assert.equal(gguf.tokenByteLengths(text).reduce((sum, n) => sum + n, 0), Buffer.byteLength(text), `lengths cover ${JSON.stringify(text)}`);
      }
    }));

  test('gpt2 with tokenizer.ggml.pre llama-bpe counts exactly as the built-in llama3 tokenizer', () =>
    withTempDir(async (dir) => {
      // The whole Llama 3 vocabulary and merges, from the package the built-in llama3 tokenizer uses.
      const { default: llama3 } = await import('llama3-tokenizer-js');
      const tokens = llama3.vocabById;
      await writeGguf(path.join(dir, 'llama3.gguf'), {
        'tokenizer.ggml.model': { type: 'string', value: 'gpt2' },
        'tokenizer.ggml.pre': { type: 'string', value: 'llama-bpe' },
        'tokenizer.ggml.tokens': { type: 'array', itemType: 'string', value: tokens },
        'tokenizer.ggml.token_type': { type: 'array', itemType: 'int32', value: tokens.map((_, i) => (i >= 128_000 ? 3 : 1)) },
        'tokenizer.ggml.merges': { type: 'array', itemType: 'string', value: [...llama3.merges.keys()] },
      });
      const gguf = await loadTokenizerFile(path.join(dir, 'llama3.gguf'));
      const builtin = await loadTokenizer('llama3');
      const texts = ['Hello, world!', "  It's 12345 o'clock\n\n\tdon'T", 'naïve café 👋🏽 日本語のテキスト', 'x = [1,2,3]; // ok?!', '    indented\r\n'];
      for (const text of texts) {
        assert.deepEqual(gguf.encode(text), builtin.encode(text), text);
        assert.deepEqual(gguf.tokenByteLengths(text), builtin.tokenByteLengths(text), text);
      }
    }));

  const unusable: { name: string; values: Record<string, GgufTestValue>; message: RegExp }[] = [
    { name: 'a model type it does not know', values: { 'tokenizer.ggml.model': { type: 'string', value: 't5' } }, message: /tokenizer\.ggml\.model "t5" is not supported \(only llama and gpt2\)/ },
    { name: 'no tokenizer at all', values: { 'general.architecture': { type: 'string', value: 'llama' } }, message: /has no tokenizer \(no tokenizer\.ggml\.model/ },
    {
      name: 'a pre-tokenizer it does not know',
      values: {
        'tokenizer.ggml.model': { type: 'string', value: 'gpt2' },
        'tokenizer.ggml.pre': { type: 'string', value: 'chatglm-bpe' },
        'tokenizer.ggml.tokens': { type: 'array', itemType: 'string', value: ['a'] },
        'tokenizer.ggml.merges': { type: 'array', itemType: 'string', value: [] },
      },
      message: /tokenizer\.ggml\.pre "chatglm-bpe" is not supported/,
    },
    {
      name: 'scores that do not match the tokens',
      values: { ...llamaGguf(), 'tokenizer.ggml.scores': { type: 'array', itemType: 'float32', value: [0] } },
      message: /tokenizer\.ggml\.scores is not an array of 278 numbers/,
    },
  ];
  for (const { name, values, message } of unusable) {
    test(`a GGUF file with ${name} is an error naming the file`, () =>
      withTempDir(async (dir) => {
        const file = path.join(dir, 'model.gguf');
        await writeGguf(file, values);
        await assert.rejects(loadTokenizerFile(file), (error: Error) => {
          assert.ok(error instanceof TokenizerFileError);
          assert.ok(error.message.startsWith(`${file}: `), error.message);
          assert.match(error.message, message);
          return true;
        });
      }));
  }
});
