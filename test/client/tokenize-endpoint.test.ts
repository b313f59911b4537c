import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serverRootOf, tokenizeEndpoint, TokenizeEndpointError, vocabularyByteLengths } from '../../src/client/tokenize-endpoint.ts';

test('the tokenize endpoint is at the server root, not under /v1', () => {
  assert.equal(serverRootOf('http://h:8000/v1'), 'http://h:8000');
  assert.equal(serverRootOf('http://h:8000/v1/'), 'http://h:8000');
  assert.equal(serverRootOf('http://h:8080'), 'http://h:8080');
});

const cases: { name: string; strs: string[]; text: string; lengths: number[] }[] = [
  { name: 'byte-level (Llama 3, GPT-2): "Ġ" is a space, one character per byte', strs: ['Hello', 'Ġworld', 'Ġé'.replace('é', 'Ã©')], text: 'Hello world é', lengths: [5, 6, 3] },
  { name: 'SentencePiece: "▁" is a space, <0xHH> one byte, the prepended "▁" comes off', strs: ['▁Hello', '▁world', '<0xE2>', '<0x82>', '<0xAC>'], text: 'Hello world€', lengths: [5, 6, 1, 1, 1] },
  { name: 'lengths that cover nothing: the text falls to the next source', strs: ['▁a', '▁b'], text: 'vwxyz', lengths: [2, 2] },
];
for (const c of cases) {
  test(`vLLM token_strs: ${c.name}`, () => {
    assert.deepEqual(vocabularyByteLengths(c.strs, Buffer.byteLength(c.text)), c.lengths);
  });
}

test('llama.cpp pieces: a piece that is not valid UTF-8 alone comes as bytes and counts its bytes', async () => {
  const fetchStub = (async () =>
    new Response(JSON.stringify({ tokens: [{ id: 5, piece: 'a' }, { id: 198, piece: [195] }, { id: 164, piece: [161] }] }))) as typeof fetch;
  const ask = tokenizeEndpoint({ baseURL: 'http://h/v1', format: 'llamacpp', model: 'm', timeoutMs: 1000, fetch: fetchStub });
  assert.deepEqual(await ask('aá'), { ids: [5, 198, 164], byteLengths: [1, 1, 1] });
});

test('vLLM: a count that disagrees with the tokens is garbage, not a guess', async () => {
  const fetchStub = (async () => new Response(JSON.stringify({ tokens: [1, 2], count: 3, max_model_len: 10 }))) as typeof fetch;
  const ask = tokenizeEndpoint({ baseURL: 'http://h/v1', format: 'vllm', model: 'm', timeoutMs: 1000, fetch: fetchStub });
  await assert.rejects(ask('ab'), TokenizeEndpointError);
});
