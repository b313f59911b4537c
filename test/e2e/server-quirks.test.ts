/**
 * Server quirks we learned, each as a simulator option and a test: what
 * follows the final event, a stream with no output, connections the server
 * closes after each response. Every assertion is an ordering or a count,
 * never a bound on a real duration.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse as parseCsv } from 'csv-parse/sync';
import { ChatClient } from '../../src/client/chat-client.ts';
import { main } from '../../src/cli/main.ts';
import { startSimulator } from '../../src/sim/server.ts';
import type { Exchange, SimModelProfile } from '../../src/types.ts';
import { VirtualClock, type Clock } from '../../src/util/clock.ts';
import { captureIo, NOT_ABOUT_CLIENT_HEALTH, readRequests, withTempDir } from '../helpers.ts';

const LLAMA = 'Meta-Llama-3.3-70B-Instruct';
const PROFILE: SimModelProfile = { ttftMs: 2, tokensPerSecond: 2000, tokensPerChunk: 2, outputTokens: 6, capacity: 8, usageExtraTokens: 0 };

async function withSimulator<T>(quirks: Partial<SimModelProfile>, body: (sim: Awaited<ReturnType<typeof startSimulator>>) => Promise<T>): Promise<T> {
  const sim = await startSimulator({ seed: 1, defaults: { ...PROFILE, ...quirks }, models: {} }, { keepTruth: true });
  try {
    return await body(sim);
  } finally {
    await sim.close();
  }
}

/** Sends `count` requests one after another on one client; `clock` stamps them (default: the system clock). */
async function sendInTurn(baseURL: string, count: number, options: { clock?: Clock; params?: Record<string, unknown> } = {}): Promise<Exchange[]> {
  const client = new ChatClient({ baseURL, ...(options.clock ? { clock: options.clock } : {}) });
  const exchanges: Exchange[] = [];
  try {
    for (let i = 0; i < count; i++) {
      exchanges.push(
        await client.send({
          id: `q-${i}`,
          model: LLAMA,
          messages: [{ role: 'user', content: 'hi' }],
          params: options.params ?? {},
          timeoutMs: 60_000,
          idleTimeoutMs: 60_000,
        }),
      );
    }
  } finally {
    client.close();
  }
  return exchanges;
}

describe('what follows the final event', () => {
  test('a second [DONE] 300 ms later does not extend E2E: the request ended before the server wrote it', () =>
    withSimulator({ afterDone: 'repeatDone' }, async (sim) => {
      const [exchange] = await sendInTurn(sim.baseURL, 1);
      assert.equal(exchange!.error, undefined);
      const [truth] = sim.truth;
      // The client's clock and the simulator's are the same performance.now() (one thread).
      assert.ok(exchange!.tEnd >= truth!.finalEventsAt[0]!, 'the end is the first [DONE]');
      if (truth!.finalEventsAt.length > 1) assert.ok(exchange!.tEnd < truth!.finalEventsAt[1]!, 'the end came before the second [DONE] was written');
    }));

  test('a server that keeps the response open after [DONE] holds no request: each resolves with the client clock standing still', { timeout: 30_000 }, () =>
    withSimulator({ afterDone: 'keepOpen' }, async (sim) => {
      // On a virtual clock no timer of the client can fire: only [DONE] can end these requests.
      const clock = new VirtualClock();
      const exchanges = await sendInTurn(sim.baseURL, 3, { clock });
      assert.deepEqual(
        exchanges.map((e) => e.error),
        [undefined, undefined, undefined],
      );
      assert.ok(exchanges.every((e) => e.chunks.length > 0));
      assert.equal(clock.pending, 0);
      assert.ok(sim.truth.every((t) => t.finalEventsAt.length === 1));
    }));
});

describe('a 2xx with no output', () => {
  for (const stream of [true, false]) {
    test(`${stream ? 'a stream' : 'a whole body'} with no output text is empty_response, not a success`, () =>
      withSimulator({ emptyStream: true }, async (sim) => {
        const [exchange] = await sendInTurn(sim.baseURL, 1, { params: stream ? {} : { stream: false } });
        assert.equal(exchange!.status, 200);
        assert.equal(exchange!.error?.class, 'empty_response');
        assert.equal(sim.truth[0]!.finished, true);
      }));
  }
});

describe('a server that closes every connection after its response, advertising keep-alive', () => {
  // staleKeepAlive, and the same as the quirk named after llama.cpp's behaviour.
  for (const [name, quirk] of [['staleKeepAlive', { staleKeepAlive: true }], ['close-after-response', { quirks: ['close-after-response'] }]] as const) {
    test(`${name}: 40 requests at concurrency 4: no failure, resends counted, and the attempts the server saw are records + resends`, () =>
      withSimulator(quirk as Partial<SimModelProfile>, (sim) =>
        withTempDir(async (dir) => {
          const file = path.join(dir, 'scenario.yaml');
          await writeFile(file, `name: stale\ntarget: {baseURL: "${sim.baseURL}"}\nmodels: [${LLAMA}]\nload: {concurrency: 4, requests: 40}\nprompts: [hi]\n`);
          const out = path.join(dir, 'out');
          const io = captureIo();
          const code = await main(['run', file, '--out', out, ...NOT_ABOUT_CLIENT_HEALTH], io);
          assert.equal(code, 0, io.err());
          const lines = await readRequests<{ outcome: string; warmup: boolean; resent: boolean }>(out);
          const measured = lines.filter((line) => !line.warmup);
          assert.equal(measured.length, 40);
          assert.deepEqual(
            lines.filter((line) => line.outcome !== 'ok'),
            [],
          );
          const resends = lines.filter((line) => line.resent).length;
          assert.ok(resends > 0, 'reused connections were dropped and the requests resent');
          assert.ok(resends <= lines.length);
          // …and the one preflight request, sent before the load on a connection of its own.
          assert.equal(sim.truth.length, lines.length + resends + 1, 'attempts the server saw = records + resends + the preflight');
          assert.equal(sim.truth.filter((t) => t.droppedOnStaleConnection).length, resends);
          const [row] = parseCsv(await readFile(path.join(out, 'summary.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
          assert.equal(row!.errors, '0');
          assert.equal(row!.resends, String(measured.filter((line) => line.resent).length));
          const summary = JSON.parse(await readFile(path.join(out, 'summary.json'), 'utf8'));
          assert.equal(summary.cells[0].resends, Number(row!.resends));
          if (Number(row!.resends) > 0) assert.match(io.out(), /resent in /);
        }),
      ));
  }
});
