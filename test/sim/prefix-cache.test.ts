/**
 * The simulator's prompt-processing model: a prefix cache of whole messages
 * (reported as usage.prompt_tokens_details.cached_tokens) and a prefill rate
 * that charges only the uncached prompt tokens before the first token.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { messageTokens, PrefixCache } from '../../src/sim/prefix-cache.ts';
import { startSimulator } from '../../src/sim/server.ts';
import type { SimModelProfile } from '../../src/types.ts';

const u = (content: string) => ({ role: 'user', content });
const a = (content: string) => ({ role: 'assistant', content });

test('the prefix cache finds the longest run of leading messages it has seen, and counts their tokens', () => {
  const cache = new PrefixCache();
  assert.equal(cache.cachedTokens([u('one two three')]), 0);
  cache.remember([u('one two three'), a('four five')]);
  assert.equal(messageTokens(u('one two three')), 7);
  assert.equal(cache.cachedTokens([u('one two three')]), 7);
  assert.equal(cache.cachedTokens([u('one two three'), a('four five'), u('six')]), 7 + 6);
  // A different message breaks the prefix: nothing after it counts, even if seen.
  assert.equal(cache.cachedTokens([u('one two'), a('four five')]), 0);
  assert.equal(cache.cachedTokens([u('one two three'), a('four six')]), 7);
  // Roles are part of the key.
  assert.equal(cache.cachedTokens([a('one two three')]), 0);
});

const PROFILE: SimModelProfile = {
  ttftMs: 10,
  tokensPerSecond: 1000,
  tokensPerChunk: 2,
  outputTokens: 6,
  capacity: 4,
  usageExtraTokens: 0,
  prefillTokensPerSecond: 1000,
  prefixCache: true,
};

async function chat(baseURL: string, messages: object[]) {
  const response = await fetch(`${baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', messages, stream: true, stream_options: { include_usage: true } }),
  });
  const events = (await response.text()).split('\n\n').filter((e) => e && e !== 'data: [DONE]').map((e) => JSON.parse(e.replace(/^data: /, '')));
  return { answer: events.map((e) => e.choices[0]?.delta?.content ?? '').join(''), usage: events.at(-1).usage };
}

test('a bounded prefix cache forgets the least recently used prefixes first', () => {
  const user = (content: string) => ({ role: 'user', content });
  const cache = new PrefixCache(3);
  cache.remember([user('a')]);
  cache.remember([user('b')]);
  cache.remember([user('c')]);
  // Using a again makes b the oldest: a fourth prefix evicts b, not a.
  cache.remember([user('a')]);
  cache.remember([user('d')]);
  const tokens = messageTokens(user('a'));
  assert.deepEqual(['a', 'b', 'c', 'd'].map((text) => cache.cachedTokens([user(text)])), [tokens, 0, tokens, tokens]);
  // A two-message prompt remembers two prefixes, [c] (used again) and [c, e] (new): the oldest, a, goes.
  cache.remember([user('c'), user('e')]);
  assert.deepEqual(['a', 'c', 'd'].map((text) => cache.cachedTokens([user(text)])), [0, tokens, tokens]);
  assert.equal(cache.cachedTokens([user('c'), user('e')]), 2 * tokens);
});

test('a conversation’s next turn finds its history in the cache (the answer included) and pays prefill only for the new message', async () => {
  const sim = await startSimulator({ seed: 1, defaults: PROFILE, models: {} }, { keepTruth: true });
  try {
    const words = Array.from({ length: 96 }, (_, i) => `w${i}`).join(' ');
    const first = await chat(sim.baseURL, [u(words)]);
    assert.equal(first.usage.prompt_tokens, 100);
    assert.deepEqual(first.usage.prompt_tokens_details, { cached_tokens: 0 });
    const history = [u(words), a(first.answer), u('and then')];
    const second = await chat(sim.baseURL, history);
    assert.equal(second.usage.prompt_tokens, 100 + (4 + 6) + 6);
    assert.deepEqual(second.usage.prompt_tokens_details, { cached_tokens: 100 + 10 });
    const [t1, t2] = sim.truth;
    assert.deepEqual(t1!.messages, [u(words)]);
    assert.deepEqual(t2!.messages, history);
    assert.equal(t2!.cachedPromptTokens, 110);
    // The first token is due ttftMs + uncached tokens / 1,000 per s after admission; a busy machine is late, never early.
    assert.ok(t1!.chunks[0]!.at - t1!.admittedAt! >= 10 + 100 - 0.5);
    assert.ok(t2!.chunks[0]!.at - t2!.admittedAt! >= 10 + 6 - 0.5);
    // Without the cache the same second turn pays for all 116 tokens.
    const cold = await startSimulator({ seed: 1, defaults: { ...PROFILE, prefixCache: false }, models: {} }, { keepTruth: true });
    try {
      const again = await chat(cold.baseURL, history);
      assert.equal(again.usage.prompt_tokens_details, undefined);
      const [t] = cold.truth;
      assert.ok(t!.chunks[0]!.at - t!.admittedAt! >= 10 + 116 - 0.5);
    } finally {
      await cold.close();
    }
  } finally {
    await sim.close();
  }
});

test('admit and rememberAnswer (one hashing pass) find and keep what cachedTokens, remember and remember with the answer do', () => {
  const turns = [[u('a')], [u('b')], [u('a'), a('x'), u('c')], [u('b'), a('y')], [u('a'), a('x'), u('c'), a('z'), u('d')]];
  const answers = ['x', 'y', 'z', 'w', 'v'];
  const byParts = new PrefixCache(4);
  const byAdmit = new PrefixCache(4);
  turns.forEach((messages, i) => {
    const cached = byParts.cachedTokens(messages);
    byParts.remember(messages);
    const admitted = byAdmit.admit(messages);
    assert.equal(admitted.cachedTokens, cached);
    byParts.remember([...messages, a(answers[i]!)]);
    byAdmit.rememberAnswer(admitted, a(answers[i]!));
  });
  const probes = [[u('a')], [u('b')], [u('a'), a('x')], [u('a'), a('x'), u('c'), a('z'), u('d'), a('v')], [u('b'), a('y'), a('w')]];
  assert.deepEqual(probes.map((messages) => byAdmit.cachedTokens(messages)), probes.map((messages) => byParts.cachedTokens(messages)));
});
