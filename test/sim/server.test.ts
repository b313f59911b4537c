import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';
import { startSimulator } from '../../src/sim/server.ts';
import type { SimModelProfile } from '../../src/types.ts';
import { REPO_ROOT } from '../helpers.ts';

const PROFILE: SimModelProfile = { ttftMs: 30, tokensPerSecond: 500, tokensPerChunk: 3, outputTokens: 12, capacity: 1, usageExtraTokens: 0 };

async function post(baseURL: string, body: object, headers: Record<string, string> = {}) {
  return fetch(`${baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

describe('the simulator', () => {
  test('lists its models', async () => {
    const sim = await startSimulator({ seed: 1, defaults: PROFILE, models: { a: PROFILE, b: PROFILE } });
    try {
      const body = await (await fetch(`${sim.baseURL}/models`)).json();
      assert.deepEqual(body.data.map((m: { id: string }) => m.id), ['a', 'b']);
    } finally {
      await sim.close();
    }
  });

  test('streams role, token chunks, finish, usage with SambaNova timings, and [DONE]', async () => {
    const sim = await startSimulator({ seed: 1, defaults: PROFILE, models: {} }, { keepTruth: true });
    try {
      const response = await post(sim.baseURL, { model: 'm', messages: [{ role: 'user', content: 'one two three' }], stream: true, stream_options: { include_usage: true } });
      const events = (await response.text()).split('\n\n').filter(Boolean).map((e) => e.replace(/^data: /, ''));
      assert.equal(events.at(-1), '[DONE]');
      const parsed = events.slice(0, -1).map((e) => JSON.parse(e));
      assert.deepEqual(parsed[0].choices[0].delta, { role: 'assistant', content: '' });
      const contents = parsed.filter((p) => p.choices[0]?.delta?.content).map((p) => p.choices[0].delta.content);
      assert.equal(contents.length, 4, '12 tokens in chunks of 3');
      assert.ok(contents.every((c: string) => c.split(' ').length === 4 && c.startsWith(' ')), 'three words each');
      assert.equal(parsed.at(-2).choices[0].finish_reason, 'stop');
      const usage = parsed.at(-1).usage;
      assert.equal(usage.completion_tokens, 12);
      assert.equal(usage.prompt_tokens, 7);
      assert.ok(usage.total_latency >= usage.time_to_first_token);
      assert.equal(usage.is_last_response, true);
      const [truth] = sim.truth;
      // The reported TTFT is the first write as it happened (late timer and all), on the simulator's own clock.
      assert.equal(usage.time_to_first_token, (truth!.chunks[0]!.at - truth!.receivedAt) / 1000);
      assert.deepEqual(truth!.chunks.map((c) => c.tokens), [3, 3, 3, 3]);
      assert.deepEqual(truth!.chunks.map((c) => c.text), contents);
      // Paced, not sent at once: chunk i is due when its last token is, 30 ms after admission and then
      // 3 tokens at 2 ms per chunk, and none is written before it is due (less the 0.5 ms the simulator
      // allows a timer). A busy machine writes late, never early, so this holds however busy it is.
      truth!.chunks.forEach((chunk, i) => {
        const due = truth!.admittedAt! + 30 + i * 3 * 2;
        assert.ok(chunk.at >= due - 0.5, `chunk ${i} written ${chunk.at - truth!.admittedAt!} ms after admission, due at ${due - truth!.admittedAt!}`);
      });
      assert.ok(truth!.admittedAt! >= truth!.receivedAt);
    } finally {
      await sim.close();
    }
  });

  test('max_tokens caps the output and the finish reason says length', async () => {
    const sim = await startSimulator({ seed: 1, defaults: PROFILE, models: {} });
    try {
      const response = await post(sim.baseURL, { model: 'm', messages: [{ role: 'user', content: 'x' }], max_tokens: 5 });
      const body = await response.json();
      assert.equal(body.object, 'chat.completion');
      assert.equal(body.choices[0].finish_reason, 'length');
      assert.equal(body.usage.completion_tokens, 5);
      assert.equal(body.choices[0].message.content.trim().split(' ').length, 5);
    } finally {
      await sim.close();
    }
  });

  /** Streams one request to an API's route and returns what its usage says was generated, and the finish. */
  async function streamedOutput(baseURL: string, route: string, body: object): Promise<{ usageTokens: number; finish: string }> {
    const response = await fetch(`${baseURL}/${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ stream: true, ...body }) });
    const events = (await response.text())
      .split('\n\n')
      .map((event) => /^data: (.*)$/m.exec(event)?.[1])
      .filter((data): data is string => data !== undefined && data !== '[DONE]')
      .map((data) => JSON.parse(data))
      .reverse();
    const finished = events.find((e) => e.choices?.[0]?.finish_reason || /^response\.(completed|incomplete)$/.test(e.type) || e.type === 'message_delta');
    const usage = events.find((e) => e.usage || e.response?.usage);
    return {
      usageTokens: usage.usage?.completion_tokens ?? usage.usage?.output_tokens ?? usage.response.usage.output_tokens,
      finish: finished.choices?.[0]?.finish_reason ?? finished.response?.status ?? finished.delta.stop_reason,
    };
  }

  // The profile answers 12 tokens; each API names its cap its own way.
  const OUTPUT_LENGTH_CASES = [
    { api: 'chat', route: 'chat/completions', body: { messages: [{ role: 'user', content: 'x' }], stream_options: { include_usage: true } }, cap: 'max_tokens', length: 'length' },
    { api: 'chat (max_completion_tokens)', route: 'chat/completions', body: { messages: [{ role: 'user', content: 'x' }], stream_options: { include_usage: true } }, cap: 'max_completion_tokens', length: 'length' },
    { api: 'completions', route: 'completions', body: { prompt: 'x', stream_options: { include_usage: true } }, cap: 'max_tokens', length: 'length' },
    { api: 'responses', route: 'responses', body: { input: 'x' }, cap: 'max_output_tokens', length: 'incomplete' },
    { api: 'messages', route: 'messages', body: { messages: [{ role: 'user', content: 'x' }] }, cap: 'max_tokens', length: 'max_tokens' },
  ];
  for (const { api, route, body, cap, length } of OUTPUT_LENGTH_CASES) {
    test(`${api}: ignore_eos generates exactly the cap; min_tokens at least min_tokens, still capped`, async () => {
      const sim = await startSimulator({ seed: 1, defaults: PROFILE, models: {} }, { keepTruth: true });
      try {
        const cases = [
          { extra: { ignore_eos: true, [cap]: 40 }, tokens: 40, finish: length },
          { extra: { ignore_eos: true, [cap]: 5 }, tokens: 5, finish: length },
          { extra: { min_tokens: 30, [cap]: 100 }, tokens: 30 },
          { extra: { min_tokens: 30, [cap]: 20 }, tokens: 20, finish: length },
          { extra: { min_tokens: 5, [cap]: 100 }, tokens: 12 },
          { extra: { ignore_eos: true }, tokens: 12 },
        ];
        for (const [i, { extra, tokens, finish }] of cases.entries()) {
          const output = await streamedOutput(sim.baseURL, route, { model: 'm', ...body, ...extra });
          assert.equal(output.usageTokens, tokens, JSON.stringify(extra));
          assert.equal(sim.truth[i]!.completionTokens, tokens, `streamed with ${JSON.stringify(extra)}`);
          if (finish) assert.equal(output.finish, finish, JSON.stringify(extra));
          else assert.notEqual(output.finish, length, JSON.stringify(extra));
        }
      } finally {
        await sim.close();
      }
    });
  }

  test('beyond its capacity a request waits for a free slot', async () => {
    const sim = await startSimulator({ seed: 1, defaults: PROFILE, models: {} }, { keepTruth: true });
    try {
      await Promise.all([1, 2].map(() => post(sim.baseURL, { model: 'm', messages: [], stream: true }).then((r) => r.text())));
      const [first, second] = sim.truth;
      assert.ok(second!.admittedAt! >= first!.chunks.at(-1)!.at, 'the second starts when the first is done');
    } finally {
      await sim.close();
    }
  });

  test('with an API key set, a wrong key gets 401; bad bodies get 400; unknown routes 404', async () => {
    const sim = await startSimulator({ seed: 1, defaults: PROFILE, models: {} }, { apiKey: 'k' });
    try {
      assert.equal((await post(sim.baseURL, { model: 'm', messages: [] }, { authorization: 'Bearer nope' })).status, 401);
      assert.equal((await post(sim.baseURL, { messages: [] }, { authorization: 'Bearer k' })).status, 400);
      assert.equal((await fetch(`${sim.baseURL}/nothing`, { headers: { authorization: 'Bearer k' } })).status, 404);
    } finally {
      await sim.close();
    }
  });

  test('`tokenmeter sim` serves until Ctrl-C', async () => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'tokenmeter.js'), 'sim', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const baseURL = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d) => {
          out += d;
          const match = /listening on (\S+)/.exec(out);
          if (match) resolve(match[1]!);
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}`)));
      });
      const response = await post(baseURL, { model: 'x', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 });
      assert.equal((await response.json()).usage.completion_tokens, 4);
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      child.kill('SIGINT');
      assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
