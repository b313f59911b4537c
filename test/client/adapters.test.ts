import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { usageBlockTimings } from '../../src/client/apis/common.ts';
import { REQUEST_ID_HEADER } from '../../src/client/apis/common.ts';
import { ChatClient } from '../../src/client/chat-client.ts';
import type { ApiName, ChatMessage, Exchange } from '../../src/types.ts';
import { VirtualClock } from '../../src/util/clock.ts';

/** What the server saw of one request. */
interface Seen {
  path: string | undefined;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/** A server that records each request and answers with whatever the test set in `respond`. */
let respond: (res: http.ServerResponse) => void = (res) => res.writeHead(500).end();
let seen: Seen | undefined;
const server = http.createServer((req, res) => {
  const parts: Buffer[] = [];
  req.on('data', (part: Buffer) => parts.push(part));
  req.on('end', () => {
    seen = { path: req.url, headers: req.headers, body: JSON.parse(Buffer.concat(parts).toString('utf8')) };
    respond(res);
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
after(() => {
  server.closeAllConnections();
  server.close();
});

const MESSAGES: ChatMessage[] = [
  { role: 'system', content: 'be brief' },
  { role: 'user', content: 'hi' },
];

/** An SSE stream: each event as `event:` (when named) and one `data:` line. */
const sse = (events: (object | string)[], named = false): string =>
  events
    .map((event) => {
      const data = typeof event === 'string' ? event : JSON.stringify(event);
      const type = typeof event === 'object' && 'type' in event ? event.type : undefined;
      return `${named && typeof type === 'string' ? `event: ${type}\n` : ''}data: ${data}\n\n`;
    })
    .join('');

/** Sends one request of `api` with `params`, the server answering `body`; the clock does not move, so every time is 0. */
async function exchangeOf(api: ApiName, params: Record<string, unknown>, body: string, contentType = 'text/event-stream'): Promise<{ exchange: Exchange; request: Seen }> {
  respond = (res) => res.writeHead(200, { 'content-type': contentType }).end(body);
  seen = undefined;
  const client = new ChatClient({ baseURL, api, apiKey: 'sk-adapter-test', clock: new VirtualClock() });
  try {
    const exchange = await client.send({ id: `req-${api}`, model: 'm', messages: MESSAGES, params, timeoutMs: 5000, idleTimeoutMs: 5000 });
    assert.ok(seen, 'the server saw the request');
    return { exchange, request: seen };
  } finally {
    client.close();
  }
}

/** SambaNova-style timings in the usage block, in seconds. */
const SERVER_TIMINGS = { time_to_first_token: 0.05, total_latency: 0.2 };

interface AdapterCase {
  api: ApiName;
  params: Record<string, unknown>;
  path: string;
  /** The request body the SDK must have sent. */
  body: Record<string, unknown>;
  /** The response, as the server sends it. */
  stream: string;
  chunks: Exchange['chunks'];
  usage: Record<string, unknown>;
}

const cases: AdapterCase[] = [
  {
    api: 'chat',
    params: { max_tokens: 5, stream_options: { continuous_usage_stats: false } },
    path: '/v1/chat/completions',
    body: { max_tokens: 5, model: 'm', messages: MESSAGES, stream: true, stream_options: { continuous_usage_stats: false, include_usage: true } },
    stream: sse([
      { choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] },
      { choices: [{ index: 0, delta: { reasoning_content: 'think' } }] },
      { choices: [{ index: 0, delta: { content: ' hi' }, logprobs: { content: [{ token: ' hi' }] } }] },
      { choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, ...SERVER_TIMINGS } },
      '[DONE]',
    ]),
    chunks: [
      { at: 0, text: 'think', choice: 0, reasoning: true },
      { at: 0, text: ' hi', choice: 0, logprobTokens: 1, logprobText: ' hi' },
    ],
    usage: { prompt_tokens: 3, completion_tokens: 2, ...SERVER_TIMINGS },
  },
  {
    api: 'completions',
    // stream: false is chat's alone: the other APIs always stream.
    params: { max_tokens: 5, stream: false },
    path: '/v1/completions',
    body: { max_tokens: 5, model: 'm', prompt: 'be brief\n\nhi', stream: true, stream_options: { include_usage: true } },
    stream: sse([
      { choices: [{ index: 0, text: ' hi', logprobs: { tokens: [' hi'] } }] },
      { choices: [], usage: { prompt_tokens: 3, completion_tokens: 1, ...SERVER_TIMINGS } },
      '[DONE]',
    ]),
    chunks: [{ at: 0, text: ' hi', choice: 0, logprobTokens: 1, logprobText: ' hi' }],
    usage: { prompt_tokens: 3, completion_tokens: 1, ...SERVER_TIMINGS },
  },
  {
    api: 'responses',
    params: { max_output_tokens: 5, stream_options: { include_usage: true } },
    path: '/v1/responses',
    body: { max_output_tokens: 5, model: 'm', input: MESSAGES, stream: true },
    stream: sse(
      [
        { type: 'response.created', response: {} },
        { type: 'response.reasoning_text.delta', delta: 'think' },
        { type: 'response.output_text.delta', delta: ' hi', logprobs: [{ token: ' hi' }] },
        { type: 'response.completed', response: { usage: { input_tokens: 3, output_tokens: 2, ...SERVER_TIMINGS } } },
      ],
      true,
    ),
    chunks: [
      { at: 0, text: 'think', choice: 0, reasoning: true },
      { at: 0, text: ' hi', choice: 0, logprobTokens: 1, logprobText: ' hi' },
    ],
    usage: { input_tokens: 3, output_tokens: 2, prompt_tokens: 3, completion_tokens: 2, ...SERVER_TIMINGS },
  },
  {
    api: 'messages',
    params: { temperature: 0 },
    path: '/v1/messages',
    body: { max_tokens: 1024, temperature: 0, model: 'm', system: 'be brief', messages: [{ role: 'user', content: 'hi' }], stream: true },
    stream: sse(
      [
        { type: 'message_start', message: { usage: { input_tokens: 3, output_tokens: 1 } } },
        { type: 'content_block_delta', delta: { type: 'thinking_delta', thinking: 'think' } },
        { type: 'content_block_delta', delta: { type: 'text_delta', text: ' hi' } },
        { type: 'content_block_delta', delta: { type: 'input_json_delta', partial_json: '{"a":' } },
        { type: 'message_delta', usage: { output_tokens: 3, ...SERVER_TIMINGS } },
        { type: 'message_stop' },
      ],
      true,
    ),
    chunks: [
      { at: 0, text: 'think', choice: 0, reasoning: true },
      { at: 0, text: ' hi', choice: 0 },
      { at: 0, text: '{"a":', choice: 0 },
    ],
    usage: { input_tokens: 3, output_tokens: 3, prompt_tokens: 3, completion_tokens: 3, ...SERVER_TIMINGS },
  },
];

describe('each API’s adapter: the request its SDK sends and the Exchange its events give', () => {
  for (const c of cases) {
    test(`${c.api}: POST ${c.path}, chunks, usage and the server's own timings`, async () => {
      const { exchange, request } = await exchangeOf(c.api, c.params, c.stream);
      assert.equal(request.path, c.path);
      assert.deepEqual(request.body, c.body);
      assert.equal(request.headers[REQUEST_ID_HEADER], `req-${c.api}`);
      assert.ok(JSON.stringify(request.headers).includes('sk-adapter-test'), 'the API key went with the request');
      assert.equal(exchange.error, undefined, JSON.stringify(exchange.error));
      assert.equal(exchange.status, 200);
      assert.equal(exchange.streamed, undefined);
      assert.deepEqual(exchange.chunks, c.chunks);
      assert.deepEqual(exchange.usage, c.usage);
      assert.equal(exchange.serverTtftMs, 50);
      assert.equal(exchange.serverE2eMs, 200);
    });
  }

  test('chat with stream: false: one JSON body, no stream_options, its text stamped at the end', async () => {
    const body = JSON.stringify({
      choices: [{ index: 0, message: { role: 'assistant', reasoning: 'think', content: 'Hi' } }],
      usage: { prompt_tokens: 3, completion_tokens: 2, ...SERVER_TIMINGS },
    });
    const { exchange, request } = await exchangeOf('chat', { stream: false, stream_options: { include_usage: true } }, body, 'application/json');
    assert.deepEqual(request.body, { model: 'm', messages: MESSAGES, stream: false });
    assert.equal(exchange.error, undefined);
    assert.equal(exchange.streamed, false);
    assert.deepEqual(exchange.chunks, [
      { at: exchange.tEnd, text: 'think', choice: 0, reasoning: true },
      { at: exchange.tEnd, text: 'Hi', choice: 0 },
    ]);
    assert.deepEqual(exchange.usage, { prompt_tokens: 3, completion_tokens: 2, ...SERVER_TIMINGS });
    assert.equal(exchange.serverTtftMs, 50);
  });

  test('llama.cpp: its timings object becomes the server’s TTFT (prompt_ms) and E2E (prompt_ms + predicted_ms); per-choice usage is summed', async () => {
    const timings = { prompt_n: 12, prompt_ms: 40.5, predicted_n: 3, predicted_ms: 60, predicted_per_token_ms: 20 };
    const { exchange } = await exchangeOf(
      'chat',
      { n: 2 },
      sse([
        { choices: [{ index: 0, delta: { content: ' hi' } }] },
        { choices: [{ index: 1, delta: { content: ' yo there' } }] },
        { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 12, completion_tokens: 1 } },
        { choices: [{ index: 1, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 12, completion_tokens: 2 }, timings },
        '[DONE]',
      ]),
    );
    assert.deepEqual(exchange.timings, timings);
    assert.equal(exchange.serverTtftMs, 40.5);
    assert.equal(exchange.serverE2eMs, 100.5);
    assert.equal(exchange.usage?.completion_tokens, 3);
    assert.equal(exchange.usage?.prompt_tokens, 12);
    assert.equal(exchange.usage?.total_tokens, 15);
  });

  test('messages: input tokens count the prompt cache too', async () => {
    const { exchange } = await exchangeOf(
      'messages',
      {},
      sse(
        [
          { type: 'message_start', message: { usage: { input_tokens: 1, cache_read_input_tokens: 46, cache_creation_input_tokens: 3, output_tokens: 1 } } },
          { type: 'content_block_delta', delta: { type: 'text_delta', text: ' hi' } },
          { type: 'message_delta', usage: { output_tokens: 2 } },
          { type: 'message_stop' },
        ],
        true,
      ),
    );
    assert.equal(exchange.usage?.prompt_tokens, 50);
    assert.equal(exchange.usage?.cache_read_input_tokens, 46);
    assert.equal(exchange.usage?.completion_tokens, 2);
  });

  test('chat with stream: false: a body without choices → bad_response with what the server sent', async () => {
    const { exchange } = await exchangeOf('chat', { stream: false }, '{"object":"error"}', 'application/json');
    assert.equal(exchange.error?.class, 'bad_response');
    assert.equal(exchange.error?.message, 'the body has no choices');
    assert.equal(exchange.error?.bodyExcerpt, '{"object":"error"}');
  });
});

describe('each API’s request goes out with exactly the headers its SDK would send', () => {
  const API_KEY = 'sk-adapter-test';
  const EXTRA = { 'x-scenario-header': 'from the scenario' };
  /** The headers the SDK itself hands its fetch for one streamed request of `api`. */
  async function sdkHeaders(api: ApiName): Promise<Record<string, string>> {
    let captured: RequestInit | undefined;
    const fetch = async (_url: string | URL | Request, init?: RequestInit): Promise<Response> => {
      captured = init;
      return new Response('', { status: 200, headers: { 'content-type': 'text/event-stream' } });
    };
    const settings = { apiKey: API_KEY, maxRetries: 0, timeout: 24 * 3600 * 1000, fetch, defaultHeaders: EXTRA };
    const options = { headers: { [REQUEST_ID_HEADER]: `req-${api}` } };
    const openai = new OpenAI({ baseURL, ...settings });
    if (api === 'chat') await openai.chat.completions.create({ model: 'm', messages: [], stream: true }, options).asResponse();
    if (api === 'completions') await openai.completions.create({ model: 'm', prompt: 'hi', stream: true }, options).asResponse();
    if (api === 'responses') await openai.responses.create({ model: 'm', input: 'hi', stream: true }, options).asResponse();
    if (api === 'messages') {
      const anthropic = new Anthropic({ baseURL: baseURL.replace(/\/v1$/, ''), ...settings });
      await anthropic.messages.create({ model: 'm', max_tokens: 5, messages: [], stream: true }, options).asResponse();
    }
    const headers: Record<string, string> = {};
    new Headers(captured?.headers).forEach((value, name) => (headers[name] = value));
    return headers;
  }

  for (const api of ['chat', 'completions', 'responses', 'messages'] as const) {
    test(api, async () => {
      const expected = await sdkHeaders(api);
      assert.ok(Object.keys(expected).length >= 8, `the SDK sets its headers: ${Object.keys(expected).join(', ')}`);
      respond = (res) => res.writeHead(200, { 'content-type': 'text/event-stream' }).end(sse(['[DONE]']));
      const client = new ChatClient({ baseURL, api, apiKey: API_KEY, headers: EXTRA, clock: new VirtualClock() });
      await client.send({ id: `req-${api}`, model: 'm', messages: MESSAGES, params: {}, timeoutMs: 5000, idleTimeoutMs: 5000 });
      client.close();
      const sent = { ...seen!.headers };
      // What node:http adds on the wire, whoever builds the request.
      for (const name of ['host', 'connection', 'content-length']) delete sent[name];
      assert.deepEqual(sent, expected);
    });
  }
});

describe('the chat text of a message', () => {
  test('a whole response’s message is read as the same delta streamed: reasoning once under either name, answer, refusal, tool-call arguments', async () => {
    const message = { reasoning_content: 'think', reasoning: 'think', content: 'Hi', refusal: ' no', tool_calls: [{ type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] };
    const whole = await exchangeOf('chat', { stream: false }, JSON.stringify({ choices: [{ index: 0, message }] }), 'application/json');
    const streamed = await exchangeOf('chat', {}, sse([{ choices: [{ index: 0, delta: message }] }, '[DONE]']));
    const texts = (exchange: Exchange) => exchange.chunks.map((chunk) => [chunk.text, chunk.reasoning ?? false]);
    assert.deepEqual(texts(streamed.exchange), [
      ['think', true],
      ['Hi no{"a":1}', false],
    ]);
    assert.deepEqual(texts(whole.exchange), texts(streamed.exchange));
  });
});

describe('server timings in a usage block', () => {
  const table: [string, Record<string, unknown>, { ttftMs?: number; e2eMs?: number }][] = [
    ['seconds become ms', { time_to_first_token: 0.25, total_latency: 1.5 }, { ttftMs: 250, e2eMs: 1500 }],
    ['none reported', { completion_tokens: 3 }, {}],
    ['only one reported', { total_latency: 0 }, { e2eMs: 0 }],
    ['negative, not finite or not a number: ignored', { time_to_first_token: -1, total_latency: '2' }, {}],
    ['infinite: ignored', { time_to_first_token: Infinity }, {}],
  ];
  for (const [name, usage, expected] of table) {
    test(name, () => assert.deepEqual(usageBlockTimings(usage), expected));
  }
});
