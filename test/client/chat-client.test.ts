import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { after, describe, test } from 'node:test';
import { ChatClient, REQUEST_ID_HEADER } from '../../src/client/chat-client.ts';
import type { Exchange } from '../../src/types.ts';

const SECRET = 'sk-test-0123456789abcdef';

/** A hand-written server: each test path decides exactly what goes on the wire. */
const handlers: Record<string, (req: http.IncomingMessage, res: http.ServerResponse) => void> = {};
const seenHeaders: http.IncomingHttpHeaders[] = [];
const server = http.createServer((req, res) => {
  seenHeaders.push(req.headers);
  req.resume();
  req.on('end', () => {
    const scenario = String(req.headers['x-scenario']);
    const handler = handlers[scenario];
    if (handler) handler(req, res);
    else res.writeHead(500).end('no handler');
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
after(() => {
  server.closeAllConnections();
  server.close();
});

const sse = (res: http.ServerResponse) => res.writeHead(200, { 'content-type': 'text/event-stream' });
const chunk = (content: string) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content } }] })}\n\n`;

async function send(scenario: string, options: { timeoutMs?: number; idleTimeoutMs?: number; interrupt?: AbortSignal } = {}): Promise<Exchange> {
  const client = new ChatClient({ baseURL, apiKey: SECRET, headers: { 'x-scenario': scenario } });
  try {
    return await client.send({
      id: `req-${scenario}`,
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
      params: { max_tokens: 5 },
      ts: performance.now(),
      timeoutMs: options.timeoutMs ?? 5000,
      idleTimeoutMs: options.idleTimeoutMs ?? 5000,
      ...(options.interrupt ? { interrupt: options.interrupt } : {}),
    });
  } finally {
    client.close();
  }
}

describe('a successful stream', () => {
  test('chunks, usage and timestamps in order; the SDK sent the request with our id and key', async () => {
    handlers.ok = (_req, res) => {
      sse(res);
      res.write(chunk(''));
      setTimeout(() => res.write(chunk(' hello')), 20);
      setTimeout(() => res.end(`${chunk(' world')}data: ${JSON.stringify({ choices: [], usage: { completion_tokens: 2 } })}\n\ndata: [DONE]\n\n`), 40);
    };
    const exchange = await send('ok');
    assert.equal(exchange.error, undefined);
    assert.equal(exchange.status, 200);
    assert.deepEqual(
      exchange.chunks.map((c) => c.text),
      [' hello', ' world'],
    );
    assert.deepEqual(exchange.usage, { completion_tokens: 2 });
    assert.ok(exchange.t0 >= exchange.ts && exchange.tb! >= exchange.t0);
    assert.ok(exchange.chunks[0]!.at - exchange.t0 >= 15, 'first content ~20 ms after send');
    assert.ok(exchange.chunks[1]!.at - exchange.chunks[0]!.at >= 10);
    assert.ok(exchange.tEnd >= exchange.chunks[1]!.at);
    assert.ok(exchange.connectMs !== undefined && exchange.connectMs >= 0, 'a new connection was timed');
    const headers = seenHeaders.at(-1)!;
    assert.equal(headers[REQUEST_ID_HEADER], 'req-ok');
    assert.equal(headers.authorization, `Bearer ${SECRET}`);
  });

  test('a request on a kept-alive connection records no connect time', async () => {
    handlers.reuse = (_req, res) => {
      sse(res);
      res.end(`${chunk(' x')}data: [DONE]\n\n`);
    };
    const client = new ChatClient({ baseURL, headers: { 'x-scenario': 'reuse' } });
    const request = { model: 'm', messages: [{ role: 'user' as const, content: 'hi' }], params: {}, timeoutMs: 5000, idleTimeoutMs: 5000 };
    const first = await client.send({ ...request, id: 'a', ts: performance.now() });
    const second = await client.send({ ...request, id: 'b', ts: performance.now() });
    client.close();
    assert.ok(first.connectMs !== undefined);
    assert.equal(second.connectMs, undefined);
    assert.equal(second.error, undefined);
  });
});

describe('a failed request is a record with its class, status and body excerpt', () => {
  const statuses: [number, string][] = [
    [401, 'auth'],
    [404, 'not_found'],
    [400, 'bad_request'],
    [429, 'rate_limited'],
    [500, 'server_error'],
    [503, 'server_error'],
  ];
  for (const [status, errorClass] of statuses) {
    test(`HTTP ${status} → ${errorClass}, never retried, secrets scrubbed`, async () => {
      let calls = 0;
      handlers[`status${status}`] = (_req, res) => {
        calls++;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `nope for key ${SECRET}`, code: status } }));
      };
      const exchange = await send(`status${status}`);
      assert.equal(calls, 1, 'maxRetries: 0');
      assert.equal(exchange.error?.class, errorClass);
      assert.equal(exchange.error?.status, status);
      assert.equal(exchange.status, status);
      assert.ok(exchange.error?.bodyExcerpt?.includes('nope for key'), JSON.stringify(exchange.error));
      assert.ok(!JSON.stringify(exchange).includes(SECRET), 'the API key never reaches a record');
    });
  }

  test('connection refused → connection', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const client = new ChatClient({ baseURL: `http://127.0.0.1:${port}/v1` });
    const exchange = await client.send({ id: 'x', model: 'm', messages: [], params: {}, ts: performance.now(), timeoutMs: 2000, idleTimeoutMs: 2000 });
    client.close();
    assert.equal(exchange.error?.class, 'connection');
    assert.match(exchange.error!.message, /ECONNREFUSED/);
  });

  test('a connection reset mid-stream → connection, with the chunks that did arrive', async () => {
    handlers.reset = (req, res) => {
      sse(res);
      res.write(chunk(' partial'));
      setTimeout(() => req.socket.destroy(), 20);
    };
    const exchange = await send('reset');
    assert.equal(exchange.error?.class, 'connection');
    assert.deepEqual(
      exchange.chunks.map((c) => c.text),
      [' partial'],
    );
  });

  test('a stream that ends without [DONE] → truncated', async () => {
    handlers.truncated = (_req, res) => {
      sse(res);
      res.end(chunk(' only'));
    };
    const exchange = await send('truncated');
    assert.equal(exchange.error?.class, 'truncated');
    assert.equal(exchange.chunks.length, 1);
  });

  test('an error event mid-stream → stream_error', async () => {
    handlers.errorEvent = (_req, res) => {
      sse(res);
      res.end(`${chunk(' a')}data: {"error":{"message":"overloaded"}}\n\n`);
    };
    const exchange = await send('errorEvent');
    assert.equal(exchange.error?.class, 'stream_error');
    assert.match(exchange.error!.message, /overloaded/);
  });

  test('a chunk that is JSON but not an object → bad_response, and the request still ends', async () => {
    handlers.nullChunk = (_req, res) => {
      sse(res);
      res.end('data: null\n\ndata: [DONE]\n\n');
    };
    const exchange = await send('nullChunk', { timeoutMs: 2000 });
    assert.equal(exchange.error?.class, 'bad_response');
  });

  test('[DONE] completes the request even if the server keeps the response open', async () => {
    handlers.openAfterDone = (_req, res) => {
      sse(res);
      res.write(`${chunk(' done')}data: [DONE]\n\n`);
    };
    const started = performance.now();
    const exchange = await send('openAfterDone', { idleTimeoutMs: 10_000 });
    assert.equal(exchange.error, undefined);
    assert.ok(performance.now() - started < 5000, 'not held until the idle timeout');
    assert.ok(exchange.tEnd - exchange.chunks[0]!.at < 50, 'the end is [DONE], not the close');
  });

  test('a 2xx that is not an event stream → bad_response with what the server sent', async () => {
    handlers.json = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ choices: [{ message: { content: 'not streamed' } }] }));
    };
    const exchange = await send('json');
    assert.equal(exchange.error?.class, 'bad_response');
    assert.match(exchange.error!.message, /not an event stream \(content-type: application\/json\)/);
    assert.match(exchange.error!.bodyExcerpt!, /not streamed/);
  });

  test('no data for longer than the idle timeout → timeout (idle)', async () => {
    handlers.stall = (_req, res) => {
      sse(res);
      res.write(chunk(' then silence'));
    };
    const started = performance.now();
    const exchange = await send('stall', { idleTimeoutMs: 150 });
    assert.equal(exchange.error?.class, 'timeout');
    assert.match(exchange.error!.message, /idle timeout/);
    assert.ok(performance.now() - started < 3000);
  });

  test('a stream that trickles past the total timeout → timeout (total)', async () => {
    handlers.trickle = (_req, res) => {
      sse(res);
      const timer = setInterval(() => res.write(chunk(' more')), 30);
      res.on('close', () => clearInterval(timer));
    };
    const exchange = await send('trickle', { timeoutMs: 250, idleTimeoutMs: 1000 });
    assert.equal(exchange.error?.class, 'timeout');
    assert.match(exchange.error!.message, /total timeout/);
    assert.ok(exchange.chunks.length >= 2, 'what arrived is kept');
  });

  test('no response headers within the timeout → timeout', async () => {
    handlers.silent = () => undefined;
    const exchange = await send('silent', { timeoutMs: 200, idleTimeoutMs: 150 });
    assert.equal(exchange.error?.class, 'timeout');
  });

  test('an interrupted run ends requests in flight as interrupted', async () => {
    handlers.slow = (_req, res) => {
      sse(res);
      res.write(chunk(' a'));
    };
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const exchange = await send('slow', { interrupt: controller.signal });
    assert.equal(exchange.error?.class, 'interrupted');
  });
});
