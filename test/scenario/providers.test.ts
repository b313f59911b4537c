import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseScenario } from '../../src/scenario/load.ts';
import { outputLengthParams, PROVIDER_NAMES, providerWarnings } from '../../src/scenario/providers.ts';
import { startSimulator } from '../../src/sim/server.ts';
import type { ProviderName } from '../../src/types.ts';

const scenario = (target: string, params: string, models = '[m]') =>
  parseScenario(`name: p\ntarget: {baseURL: builtin, ${target}}\nmodels: ${models}\nload: {concurrency: 1, requests: 1}\nprompts: [hi]\nparams: ${params}\n`, 'p.yaml', {});

test('SambaNova ignores presence and frequency penalties: one warning each, however many models', () => {
  const warnings = providerWarnings(scenario('provider: sambanova', '{presence_penalty: 0.5, frequency_penalty: 0.1}', '[a, b]'));
  assert.deepEqual(warnings, [
    'params.presence_penalty: sambanova ignores this parameter; it has no effect on the results',
    'params.frequency_penalty: sambanova ignores this parameter; it has no effect on the results',
  ]);
});

test('SambaNova refuses n > 1 with tools', () => {
  const warnings = providerWarnings(scenario('provider: sambanova', '{n: 2, tools: [{type: function, function: {name: f}}]}'));
  assert.deepEqual(warnings, ['m: sambanova refuses n > 1 with tools (HTTP 400); expect every request to fail']);
});

test('generic assumes nothing', () => {
  assert.deepEqual(providerWarnings(scenario('provider: generic', '{presence_penalty: 0.5, n: 2, tools: []}')), []);
});

test('n outside 1–8 is a scenario error', () => {
  assert.throws(() => scenario('api: chat', '{n: 9}'), /params\.n: must be an integer from 1 to 8/);
});

test('stream: false with an API other than chat is a scenario error, not a silent stream', () => {
  assert.throws(() => scenario('api: responses', '{stream: false}'), /params\.stream: false is supported with api: chat only/);
  assert.equal(scenario('api: chat', '{stream: false}').params.stream, false);
});

const OUTPUT_LENGTH_PARAMS: Record<ProviderName, Record<string, unknown>> = {
  vllm: { max_tokens: 300, ignore_eos: true, min_tokens: 300 },
  llamacpp: { max_tokens: 300, ignore_eos: true },
  sambanova: { max_tokens: 300 },
  openai: { max_tokens: 300 },
  generic: { max_tokens: 300 },
};

for (const provider of PROVIDER_NAMES) {
  test(`${provider}: an exact output length is asked for with ${Object.keys(OUTPUT_LENGTH_PARAMS[provider]).join(', ')}`, () => {
    assert.deepEqual(outputLengthParams(provider, 300), OUTPUT_LENGTH_PARAMS[provider]);
  });
}

test('the built-in simulator takes vLLM’s parameters: exactly the asked length, however short its own answer', async () => {
  const sim = await startSimulator({
    seed: 1,
    defaults: { ttftMs: 1, tokensPerSecond: 100_000, tokensPerChunk: 8, outputTokens: 10, capacity: 4, usageExtraTokens: 0 },
    models: {},
  });
  try {
    for (const length of [1, 37, 250]) {
      const response = await fetch(`${sim.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }], ...outputLengthParams('vllm', length) }),
      });
      assert.equal((await response.json()).usage.completion_tokens, length);
    }
  } finally {
    await sim.close();
  }
});
