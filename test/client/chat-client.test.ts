import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { after, describe, test } from 'node:test';
import { REQUEST_ID_HEADER } from '../../src/client/apis/common.ts';
import { ChatClient } from '../../src/client/chat-client.ts';
import type { Exchange } from '../../src/types.ts';
import { VirtualClock } from '../../src/util/clock.ts';

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

/**
 * Simulated time that also shows when the client reads it: the client stamps
 * every read of a body with now(), so awaiting the next stamp right after the
 * server wrote is awaiting "the client has read it", with no sleep. Time moves
 * only when a test advances it, so no timeout fires on a busy machine.
 */
class StampedClock extends VirtualClock {
  private waiting: (() => void) | undefined;

  override now(): number {
    const resolve = this.waiting;
    this.waiting = undefined;
    resolve?.();
    return super.now();
  }

  /**
   * Resolves at the client's next stamp. Call it in the same turn as the
   * server's write: the client's read of it comes in a later turn of the loop.
   */
  nextStamp(): Promise<void> {
    return new Promise((resolve) => (this.waiting = resolve));
  }
}

/** Hands the next request of a scenario to the test, which then writes the response step by step. */
function arrival(scenario: string): Promise<{ req: http.IncomingMessage; res: http.ServerResponse }> {
  return new Promise((resolve) => (handlers[scenario] = (req, res) => resolve({ req, res })));
}

/**
 * Moves the clock `ms` on and returns the request's Exchange, having checked
 * that the request was still in flight 1 ms before: it ends at that moment,
 * not earlier.
 */
async function endsAfter(clock: VirtualClock, sending: Promise<Exchange>, ms: number): Promise<Exchange> {
  let settled = false;
  sending.then(
    () => (settled = true),
    () => (settled = true),
  );
  await clock.advance(ms - 1);
  assert.equal(settled, false, `still in flight ${ms - 1} ms on`);
  await clock.advance(1);
  return sending;
}

interface SendOptions {
  timeoutMs?: number;
  idleTimeoutMs?: number;
  interrupt?: AbortSignal;
  clock?: VirtualClock;
}

async function send(scenario: string, options: SendOptions = {}): Promise<Exchange> {
  const clock = options.clock ?? new VirtualClock();
  const client = new ChatClient({ baseURL, apiKey: SECRET, headers: { 'x-scenario': scenario }, clock });
  try {
    return await client.send({
      id: `req-${scenario}`,
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
      params: { max_tokens: 5 },
      ts: clock.now(),
      timeoutMs: options.timeoutMs ?? 5000,
      idleTimeoutMs: options.idleTimeoutMs ?? 5000,
      ...(options.interrupt ? { interrupt: options.interrupt } : {}),
    });
  } finally {
    client.close();
  }
}

/**
 * Starts a request of `scenario` on `clock` and waits until the server has it.
 * `write` sends bytes (after the event-stream headers, the first time) and
 * resolves once the client has read them.
 */
async function startStream(scenario: string, clock: StampedClock, options: Omit<SendOptions, 'clock'> = {}) {
  const arrived = arrival(scenario);
  const sending = send(scenario, { ...options, clock });
  const { req, res } = await arrived;
  const write = (text: string, end = false): Promise<void> => {
    if (!res.headersSent) sse(res);
    if (end) res.end(text);
    else res.write(text);
    return clock.nextStamp();
  };
  return { sending, req, res, write };
}

describe('a successful stream', () => {
  test('chunks, usage and each read stamped on the client clock; the SDK sent the request with our id and key', async () => {
    const clock = new StampedClock(1000);
    const { sending, write } = await startStream('ok', clock);
    await write(chunk(''));
    await clock.advance(20);
    await write(chunk(' hello'));
    await clock.advance(20);
    await write(`${chunk(' world')}data: ${JSON.stringify({ choices: [], usage: { completion_tokens: 2 } })}\n\ndata: [DONE]\n\n`, true);
    const exchange = await sending;
    assert.equal(exchange.error, undefined);
    assert.equal(exchange.status, 200);
    assert.deepEqual(
      exchange.chunks.map((c) => [c.text, c.at]),
      [
        [' hello', 1020],
        [' world', 1040],
      ],
    );
    assert.deepEqual(exchange.usage, { completion_tokens: 2 });
    assert.deepEqual([exchange.ts, exchange.t0, exchange.tb, exchange.tEnd], [1000, 1000, 1000, 1040]);
    assert.equal(exchange.connectMs, 0, 'a new connection was timed (on a clock that did not move)');
    assert.equal(clock.pending, 0, 'no timer of the request is left behind');
    const headers = seenHeaders.at(-1)!;
    assert.equal(headers[REQUEST_ID_HEADER], 'req-ok');
    assert.equal(headers.authorization, `Bearer ${SECRET}`);
  });

  test('a request on a kept-alive connection records no connect time', async () => {
    handlers.reuse = (_req, res) => {
      sse(res);
      res.end(`${chunk(' x')}data: [DONE]\n\n`);
    };
    const client = new ChatClient({ baseURL, headers: { 'x-scenario': 'reuse' }, clock: new VirtualClock() });
    const request = { model: 'm', messages: [{ role: 'user' as const, content: 'hi' }], params: {}, timeoutMs: 5000, idleTimeoutMs: 5000 };
    const first = await client.send({ ...request, id: 'a' });
    const second = await client.send({ ...request, id: 'b' });
    client.close();
    assert.ok(first.connectMs !== undefined);
    assert.equal(second.connectMs, undefined);
    assert.equal(second.error, undefined);
  });
});

describe('a kept-alive connection the server closed while it sat in the pool', () => {
  /** Requests on the same client, one after another. */
  async function sendInTurn(scenario: string, count: number): Promise<Exchange[]> {
    const client = new ChatClient({ baseURL, headers: { 'x-scenario': scenario }, clock: new VirtualClock() });
    const request = { model: 'm', messages: [{ role: 'user' as const, content: 'hi' }], params: {}, timeoutMs: 5000, idleTimeoutMs: 5000 };
    const exchanges: Exchange[] = [];
    try {
      for (let i = 0; i < count; i++) exchanges.push(await client.send({ ...request, id: `${scenario}-${i}` }));
    } finally {
      client.close();
    }
    return exchanges;
  }

  test('a request that fails on it before any byte of a response is resent once on a new connection, and says so', async () => {
    const served = new WeakSet<object>();
    let attempts = 0;
    handlers.stale = (req, res) => {
      attempts++;
      // As llama.cpp's close after every response looks to a client that reuses the connection first.
      if (served.has(req.socket)) return void req.socket.destroy();
      served.add(req.socket);
      sse(res);
      res.end(`${chunk(' x')}data: [DONE]\n\n`);
    };
    const [first, second] = await sendInTurn('stale', 2);
    assert.equal(first!.error, undefined);
    assert.equal(first!.resent, undefined);
    assert.equal(second!.error, undefined, JSON.stringify(second!.error));
    assert.equal(second!.resent, true);
    assert.ok(second!.connectMs !== undefined, 'the resend opened a new connection');
    assert.equal(attempts, 3, 'the server saw each request, and the resent one twice');
  });

  test('a request whose reused connection failed after a byte of the response came back is not resent', async () => {
    const served = new WeakSet<object>();
    let attempts = 0;
    handlers.staleAfterByte = (req, res) => {
      attempts++;
      if (served.has(req.socket)) {
        req.socket.end('HTTP/1.1 200 OK\r\n');
        return;
      }
      served.add(req.socket);
      sse(res);
      res.end(`${chunk(' x')}data: [DONE]\n\n`);
    };
    const [, second] = await sendInTurn('staleAfterByte', 2);
    assert.equal(second!.error?.class, 'connection');
    assert.equal(second!.resent, undefined);
    assert.equal(attempts, 2);
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
    const client = new ChatClient({ baseURL: `http://127.0.0.1:${port}/v1`, clock: new VirtualClock() });
    const exchange = await client.send({ id: 'x', model: 'm', messages: [], params: {}, timeoutMs: 2000, idleTimeoutMs: 2000 });
    client.close();
    assert.equal(exchange.error?.class, 'connection');
    assert.match(exchange.error!.message, /ECONNREFUSED/);
  });

  test('a connection reset mid-stream → connection, with the chunks that did arrive', async () => {
    const { sending, req, write } = await startStream('reset', new StampedClock());
    await write(chunk(' partial'));
    req.socket.destroy();
    const exchange = await sending;
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

  test('a stream that ends inside an event → truncated: the cut event does not parse because it was cut', async () => {
    handlers.cutMidEvent = (_req, res) => {
      sse(res);
      res.end(chunk(' only') + chunk(' cut').slice(0, 20));
    };
    const exchange = await send('cutMidEvent');
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

  test('a 2xx stream with no output text before [DONE] → empty_response, not a success', async () => {
    handlers.emptyStream = (_req, res) => {
      sse(res);
      res.end(`${chunk('')}data: ${JSON.stringify({ choices: [], usage: { completion_tokens: 0 } })}\n\ndata: [DONE]\n\n`);
    };
    const exchange = await send('emptyStream');
    assert.equal(exchange.error?.class, 'empty_response');
    assert.equal(exchange.status, 200);
    assert.deepEqual(exchange.chunks, []);
  });

  test('a whole (stream: false) 2xx body with no output text → empty_response', async () => {
    handlers.emptyWhole = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: '' } }], usage: { completion_tokens: 0 } }));
    };
    const client = new ChatClient({ baseURL, headers: { 'x-scenario': 'emptyWhole' }, clock: new VirtualClock() });
    const exchange = await client.send({ id: 'w', model: 'm', messages: [], params: { stream: false }, timeoutMs: 5000, idleTimeoutMs: 5000 });
    client.close();
    assert.equal(exchange.error?.class, 'empty_response');
  });

  test('a chunk that is JSON but not an object → bad_response, and the request still ends', async () => {
    handlers.nullChunk = (_req, res) => {
      sse(res);
      res.end('data: null\n\ndata: [DONE]\n\n');
    };
    const exchange = await send('nullChunk');
    assert.equal(exchange.error?.class, 'bad_response');
  });

  test('[DONE] ends the request at once: the clock need not move, and a response the server keeps open is closed by the client', { timeout: 10_000 }, async () => {
    const clock = new StampedClock();
    const { sending, res, write } = await startStream('openAfterDone', clock, { timeoutMs: 10_000, idleTimeoutMs: 10_000 });
    const closedByClient = once(res, 'close');
    await write(`${chunk(' done')}data: [DONE]\n\n`);
    // No timer of the request can fire while the virtual clock stands still: only [DONE] can have ended it.
    const exchange = await sending;
    await closedByClient;
    assert.equal(exchange.error, undefined);
    assert.equal(exchange.tEnd, 0, 'the end is [DONE], not the close');
    assert.equal(clock.pending, 0);
  });

  test('whatever follows [DONE] in the same read is ignored', async () => {
    handlers.afterDone = (_req, res) => {
      sse(res);
      res.end(`${chunk(' kept')}data: [DONE]\n\n${chunk(' late')}data: {"error":{"message":"late"}}\n\ndata: [DONE]\n\n`);
    };
    const exchange = await send('afterDone');
    assert.equal(exchange.error, undefined);
    assert.deepEqual(
      exchange.chunks.map((c) => c.text),
      [' kept'],
    );
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

  test('no data for the idle timeout after the last read → timeout (idle), not a moment before', async () => {
    const clock = new StampedClock();
    const { sending, write } = await startStream('stall', clock, { idleTimeoutMs: 150 });
    await write(chunk(' a'));
    await clock.advance(100);
    await write(chunk(' then silence'));
    const exchange = await endsAfter(clock, sending, 150);
    assert.equal(exchange.error?.class, 'timeout');
    assert.equal(exchange.error?.message, 'idle timeout: no data for 150 ms');
    assert.equal(exchange.status, 200);
    assert.deepEqual(
      exchange.chunks.map((c) => [c.text, c.at]),
      [
        [' a', 0],
        [' then silence', 100],
      ],
    );
    assert.equal(exchange.tEnd, 250, 'the last read plus the idle timeout');
    assert.equal(clock.pending, 0);
  });

  test('a stream that trickles past the total timeout → timeout (total), what arrived kept', async () => {
    const clock = new StampedClock();
    const { sending, write } = await startStream('trickle', clock, { timeoutMs: 250, idleTimeoutMs: 1000 });
    for (let i = 0; i < 3; i++) {
      if (i > 0) await clock.advance(100);
      await write(chunk(' more'));
    }
    const exchange = await endsAfter(clock, sending, 50);
    assert.equal(exchange.error?.class, 'timeout');
    assert.equal(exchange.error?.message, 'total timeout: no complete response within 250 ms');
    assert.deepEqual(
      exchange.chunks.map((c) => c.at),
      [0, 100, 200],
    );
    assert.equal(exchange.tEnd, 250);
    assert.equal(clock.pending, 0);
  });

  test('no response headers within the idle timeout → timeout, with no status', async () => {
    const clock = new StampedClock();
    const arrived = arrival('silent');
    const sending = send('silent', { clock, timeoutMs: 200, idleTimeoutMs: 150 });
    await arrived;
    const exchange = await endsAfter(clock, sending, 150);
    assert.equal(exchange.error?.class, 'timeout');
    assert.equal(exchange.error?.message, 'idle timeout: no data for 150 ms');
    assert.equal(exchange.status, undefined);
    assert.equal(exchange.tEnd, 150);
    assert.equal(clock.pending, 0);
  });

  test('an interrupted run ends requests in flight as interrupted', async () => {
    const controller = new AbortController();
    const { sending, write } = await startStream('slow', new StampedClock(), { interrupt: controller.signal });
    await write(chunk(' a'));
    controller.abort();
    const exchange = await sending;
    assert.equal(exchange.error?.class, 'interrupted');
    assert.deepEqual(
      exchange.chunks.map((c) => c.text),
      [' a'],
    );
  });
});
