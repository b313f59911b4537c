/**
 * Every way a server can fail a request (issue 13), end to end: tokenmeter
 * runs a scenario against test/fault-server.ts, one model per fault, and for
 * each fault
 * - the attempts the server saw = the records written + the resends recorded
 *   (warm-up included in both), and each record is there exactly once;
 * - every record has the fault's error class (and HTTP status, where one came);
 * - summary.json's errorsByClass and resends agree with the measured records.
 * A port with nothing listening and an interrupted run are runs of their own.
 * Assertions are counts and classes, never bounds on real durations.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import type { ErrorClass } from '../../src/types.ts';
import { closedPort, FAULT_MODELS, HUGE_EVENT_WORDS, startFaultServer, type Attempt, type FaultServer } from '../fault-server.ts';
import { captureIo, NOT_ABOUT_CLIENT_HEALTH, readRequests, withTempDir } from '../helpers.ts';

interface Line {
  id: string;
  model: string;
  warmup: boolean;
  outcome: 'ok' | 'error' | 'dropped';
  error: { class: ErrorClass; message: string; status?: number; bodyExcerpt?: string } | null;
  status: number | null;
  resent: boolean;
  output_tokens: number | null;
}

interface Cell {
  model: string;
  requests: number;
  ok: number;
  interrupted: number;
  resends: number;
  errorsByClass: Partial<Record<ErrorClass, number>>;
}

type Expected = ({ outcome: 'ok' } | { class: ErrorClass; status?: number }) & {
  /**
   * The cell's first request (its warm-up) went out on the connection the cell before left in the
   * pool, and the server broke it before any byte of a response: tokenmeter takes it for a stale
   * connection and sends it again, once, on a new one, where it is broken again. No other request
   * of the run is ever resent.
   */
  resentFirst?: true;
};

/**
 * What each model of the fault server must come to: a success, or an error class with the status
 * that came (none: no response). Cells run in this order, one connection at a time: each fault that
 * breaks a connection before the response follows a cell that leaves its connection in the pool.
 */
const EXPECTED: Record<string, Expected> = {
  ok: { outcome: 'ok' },
  'fault-reset-before-headers': { class: 'connection', resentFirst: true },
  'fault-429': { class: 'rate_limited', status: 429 },
  'fault-close-before-headers': { class: 'connection', resentFirst: true },
  'fault-500': { class: 'server_error', status: 500 },
  // A timeout on a pooled connection before any response is no stale connection: never resent.
  'fault-stall-before-headers': { class: 'timeout' },
  'fault-503': { class: 'server_error', status: 503 },
  'fault-401': { class: 'auth', status: 401 },
  'fault-403': { class: 'auth', status: 403 },
  'fault-404': { class: 'not_found', status: 404 },
  'fault-400': { class: 'bad_request', status: 400 },
  'fault-close-mid-stream': { class: 'connection', status: 200 },
  'fault-reset-mid-stream': { class: 'connection', status: 200 },
  'fault-truncated': { class: 'truncated', status: 200 },
  // Cut inside its last event: that event does not parse because it was cut, so still truncated.
  'fault-truncated-mid-event': { class: 'truncated', status: 200 },
  'fault-stall-mid-stream': { class: 'timeout', status: 200 },
  'fault-trickle': { class: 'timeout', status: 200 },
  // The 500's body never ends: the idle timeout ends the request, and the status the server sent still classes it.
  'fault-500-stalled-body': { class: 'server_error', status: 500 },
  'fault-malformed-json': { class: 'bad_response', status: 200 },
  'fault-error-data': { class: 'stream_error', status: 200 },
  'fault-error-event': { class: 'stream_error', status: 200 },
  // An `event: error` whose data is plain text is still the server's error.
  'fault-error-event-text': { class: 'stream_error', status: 200 },
  'fault-html': { class: 'bad_response', status: 200 },
  'fault-json-200': { class: 'bad_response', status: 200 },
  'fault-empty-choices': { class: 'empty_response', status: 200 },
  // Several MB in one data line is still one event: read whole, counted, no crash.
  'fault-huge-event': { outcome: 'ok' },
  'fault-huge-malformed': { class: 'bad_response', status: 200 },
};

/**
 * Measured requests per cell. The closed loop at concurrency 1 sends one warm-up request before it:
 * on the connection the cell before left in the pool, where there is one.
 */
const MEASURED = 1;

/**
 * Short timeouts, so a stall ends in a fraction of a second, yet far above anything a good response
 * here takes (the huge event included); the trickle (a chunk every 25 ms) outlasts the total one.
 */
const TARGET_TIMEOUTS = 'timeout: 800ms, idleTimeout: 300ms';

async function runScenario(dir: string, name: string, baseURL: string, models: string[]) {
  const file = path.join(dir, `${name}.yaml`);
  await writeFile(
    file,
    `name: ${name}\ntarget: {baseURL: "${baseURL}", ${TARGET_TIMEOUTS}}\n` +
      `models: [${models.map((model) => `{name: ${model}, tokenizer: o200k}`).join(', ')}]\n` +
      `load: {concurrency: 1, requests: ${MEASURED}}\nprompts: [hi]\n`,
  );
  const out = path.join(dir, name);
  const io = captureIo();
  const code = await main(['run', file, '--out', out, '--no-preflight', ...NOT_ABOUT_CLIENT_HEALTH], io);
  const lines = await readRequests<Line>(out);
  const { cells } = JSON.parse(await readFile(path.join(out, 'summary.json'), 'utf8')) as { cells: Cell[] };
  return { code, io, lines, cells };
}

/**
 * The counting rule, for one model: each attempt the server saw is a record
 * or a resend of one (a request sent again once, its pooled connection having
 * failed before any byte of a response), and each record is there once.
 */
function assertEveryAttemptRecordedOnce(model: string, attempts: readonly Attempt[], lines: readonly Line[]): void {
  const seen = attempts.filter((attempt) => attempt.model === model);
  const records = lines.filter((line) => line.model === model);
  const resends = records.filter((line) => line.resent).length;
  assert.equal(seen.length, records.length + resends, `${model}: attempts the server saw = ${records.length} records + ${resends} resends`);
  const ids = records.map((line) => line.id);
  assert.equal(new Set(ids).size, ids.length, `${model}: each record once`);
  for (const line of records) {
    const times = seen.filter((attempt) => attempt.requestId === line.id).length;
    assert.equal(times, line.resent ? 2 : 1, `${model}: ${line.id} (resent: ${line.resent}) reached the server ${times} times`);
  }
}

describe('a server that fails each model its own way', () => {
  let server: FaultServer;
  let run: Awaited<ReturnType<typeof runScenario>>;
  const models = Object.keys(EXPECTED);

  before(async () => {
    server = await startFaultServer();
    await withTempDir(async (dir) => {
      run = await runScenario(dir, 'faults', server.baseURL, models);
    });
  });
  after(() => server?.close());

  test('the run ends with every cell written, every request recorded once, and nothing the server did not get', () => {
    assert.equal(run.code, 0, run.io.err());
    assert.deepEqual(
      run.cells.map((cell) => cell.model),
      models,
    );
    assert.equal(run.lines.length, models.length * (MEASURED + 1));
    assert.equal(new Set(run.lines.map((line) => line.id)).size, run.lines.length);
    assert.equal(server.attempts.length, run.lines.length + run.lines.filter((line) => line.resent).length);
    assert.deepEqual(
      FAULT_MODELS.filter((model) => !(model in EXPECTED)),
      ['fault-stall-after-first'],
      'every fault is covered here (that one by the interrupt test)',
    );
  });

  for (const [model, expected] of Object.entries(EXPECTED)) {
    const name = 'outcome' in expected ? 'ok' : `${expected.class}${expected.status ? ` (${expected.status})` : ''}`;
    test(`${model} → ${name}; attempts = records + resends; summary.json agrees`, () => {
      assertEveryAttemptRecordedOnce(model, server.attempts, run.lines);
      const records = run.lines.filter((line) => line.model === model);
      assert.equal(records.length, MEASURED + 1);
      assert.deepEqual(
        records.map((line) => line.resent),
        records.map((line) => line.warmup && expected.resentFirst === true),
        'resent',
      );
      for (const line of records) {
        if ('outcome' in expected) {
          assert.equal(line.outcome, 'ok', `${line.id}: ${line.error?.message}`);
          continue;
        }
        assert.equal(line.outcome, 'error');
        assert.equal(line.error?.class, expected.class, `${line.id}: ${line.error?.message}`);
        assert.ok(line.error.message.length > 0 && line.error.message.length <= 300);
        assert.ok((line.error.bodyExcerpt ?? '').length <= 300);
        assert.equal(line.status, expected.status ?? null, `${line.id}: status`);
        assert.equal(line.error.status, expected.status);
      }
      const measured = records.filter((line) => !line.warmup);
      const cell = run.cells.find((c) => c.model === model)!;
      assert.equal(cell.requests, MEASURED);
      assert.equal(cell.resends, measured.filter((line) => line.resent).length);
      assert.deepEqual(cell.errorsByClass, 'outcome' in expected ? {} : { [expected.class]: MEASURED });
      assert.equal(cell.ok, 'outcome' in expected ? MEASURED : 0);
    });
  }

  test('the huge event is read whole: all its tokens counted', () => {
    const huge = run.lines.filter((line) => line.model === 'fault-huge-event');
    assert.deepEqual(
      huge.map((line) => line.output_tokens),
      huge.map(() => HUGE_EVENT_WORDS),
    );
  });
});

test('a port with nothing listening → connection, never resent', () =>
  withTempDir(async (dir) => {
    const port = await closedPort();
    const run = await runScenario(dir, 'refused', `http://127.0.0.1:${port}/v1`, ['ok']);
    assert.equal(run.code, 1, 'no request succeeded');
    assert.equal(run.lines.length, MEASURED + 1);
    assert.equal(new Set(run.lines.map((line) => line.id)).size, run.lines.length);
    for (const line of run.lines) {
      assert.equal(line.error?.class, 'connection');
      assert.match(line.error.message, /ECONNREFUSED/);
      assert.equal(line.status, null);
      assert.equal(line.resent, false, 'a connection that never opened is not a stale one');
    }
    assert.deepEqual(run.cells[0]!.errorsByClass, { connection: MEASURED });
  }));

test('Ctrl-C while a request is in flight → that request interrupted, counted apart from errors', () =>
  withTempDir(async (dir) => {
    // The server answers the warm-up request and stalls on the next, which is when the run gets its
    // SIGINT: main() handles it as it does Ctrl-C. Sent only while main()'s handler listens: without
    // one, the signal would end the test process.
    let signalled = false;
    const server = await startFaultServer((_attempt, seen) => {
      if (seen !== 2 || process.listenerCount('SIGINT') === 0) return;
      signalled = true;
      process.kill(process.pid, 'SIGINT');
    });
    try {
      const run = await runScenario(dir, 'interrupted', server.baseURL, ['fault-stall-after-first']);
      assert.ok(signalled, "main()'s SIGINT handler was listening");
      assert.equal(run.code, 130);
      assertEveryAttemptRecordedOnce('fault-stall-after-first', server.attempts, run.lines);
      assert.deepEqual(
        run.lines.map((line) => [line.warmup, line.outcome, line.error?.class]),
        [
          [true, 'ok', undefined],
          [false, 'error', 'interrupted'],
        ],
      );
      const [cell] = run.cells;
      assert.equal(cell!.interrupted, 1);
      assert.deepEqual(cell!.errorsByClass, {});
    } finally {
      await server.close();
    }
  }));
