/**
 * Multi-turn sessions through the whole pipeline on simulated time: records
 * carry their session and turn, each turn its own body parameters, and
 * requests.jsonl lines read back (`merge`) give the same per-turn summary.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { recordOfLine } from '../../src/cli/request-records.ts';
import { CellAccumulator } from '../../src/metrics/cell-summary.ts';
import { cellOptions, collectRun, scenarioEvents } from '../../src/pipeline.ts';
import { renderRequestLine } from '../../src/report/json.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import type { RequestRecord } from '../../src/types.ts';
import { prepareWorkloads, requestParams } from '../../src/load/workload.ts';
import { VirtualClock } from '../../src/util/clock.ts';
import { VirtualServer } from '../virtual-server.ts';

const LLAMA = 'Meta-Llama-3.3-70B-Instruct';

async function runSessions(load: string) {
  const scenario = parseScenario(
    `name: t\ntarget: {baseURL: "http://virtual.invalid/v1"}\nmodels: [${LLAMA}]\n` +
      `prompts: {synthetic: {count: 5, turns: 3, inputTokens: 40, followUpTokens: 8, outputTokens: {distribution: uniform, min: 5, max: 30}}}\n${load}`,
    't.yaml',
    {},
  );
  const clock = new VirtualClock(500);
  const server = new VirtualServer(clock, { ttftMs: 20, tokensPerSecond: 500, tokensPerChunk: [1, 3], outputTokens: 200, capacity: 8 });
  const records: RequestRecord[] = [];
  /** Each warning, after how many cells it came. */
  const warnings: { afterCells: number; message: string }[] = [];
  let cells = 0;
  const result = await clock.run(
    collectRun(scenarioEvents(scenario, { baseURL: '', clock, client: server, wallClockOrigin: { clockMs: 0, unixMs: Date.UTC(2030, 0, 1) } }), (event) => {
      if (event.type === 'record') records.push(event.record);
      if (event.type === 'cell') cells++;
      if (event.type === 'warning') warnings.push({ afterCells: cells, message: event.message });
    }),
  );
  return { scenario, server, records, result, warnings };
}

test('session cells: records carry session and turn, measured requests count turns, each turn sends its own output length', async () => {
  const { scenario, server, records, result } = await runSessions('load: {concurrency: 2, requests: 9, thinkTime: 1s}\n');
  const measured = records.filter((r) => !r.warmup);
  assert.equal(measured.length, 9);
  assert.equal(result.cells[0]!.requests, 9);
  // Two warm-up sessions (one per slot), of 3 turns each.
  assert.deepEqual(records.filter((r) => r.warmup).map((r) => r.turn).sort(), [1, 1, 2, 2, 3, 3]);
  for (const r of records) {
    assert.match(r.session!, /^c1-s\d+$/);
    assert.ok(r.turn! >= 1 && r.turn! <= 3);
    assert.ok(r.slot === 0 || r.slot === 1, 'every record has its slot');
  }
  // Turn k of session n: prompt n % 5's k-th synthetic output length as max_tokens (ignore_eos: exact).
  const [workload] = await prepareWorkloads(scenario, [], { baseURL: '' });
  for (const r of records) {
    const sent = server.received.find((x) => x.id === r.id)!;
    assert.deepEqual(sent.params, requestParams(scenario, workload!, r.prompt, r.turn));
    const spec = r.turn === 1 ? workload!.prompts[r.prompt]! : workload!.prompts[r.prompt]!.followUps![r.turn! - 2]!;
    assert.equal(r.metrics.outputTokens, spec.maxTokens);
  }
  // A session's turns come in order, each after the one before ended.
  const bySession = new Map<string, RequestRecord[]>();
  for (const r of [...records].sort((a, b) => a.sentAtUnixMs! - b.sentAtUnixMs!)) bySession.set(r.session!, [...(bySession.get(r.session!) ?? []), r]);
  for (const turns of bySession.values()) {
    assert.deepEqual(turns.map((r) => r.turn), turns.map((_, i) => i + 1));
    for (let i = 1; i < turns.length; i++) assert.ok(turns[i]!.sentAtUnixMs! >= turns[i - 1]!.sentAtUnixMs! + turns[i - 1]!.metrics.e2eMs + 1000 - 1e-6);
  }
  const byTurn = result.cells[0]!.byTurn!;
  assert.deepEqual(byTurn.map((t) => [t.turn, t.requests]), [1, 2, 3].map((turn) => [turn, measured.filter((r) => r.turn === turn).length]));
  // The history is carried: turn k sends k user messages and the k − 1 answers between them.
  for (const r of records) assert.equal(server.received.find((x) => x.id === r.id)!.messages.length, 2 * r.turn! - 1);
});

test('a session record’s requests.jsonl line reads back into the same record, and the same per-turn summary', async () => {
  const { scenario, records } = await runSessions('load: {concurrency: 3, requests: 12}\n');
  const key = { model: LLAMA, load: { kind: 'concurrency' as const, value: 3 } };
  const original = new CellAccumulator(key, cellOptions(scenario));
  const readBack = new CellAccumulator(key, cellOptions(scenario));
  for (const record of records) {
    const line = renderRequestLine(record);
    const parsed = JSON.parse(line);
    assert.equal(parsed.session, record.session);
    assert.equal(parsed.turn, record.turn);
    const { record: back, edges } = recordOfLine(parsed);
    assert.equal(renderRequestLine(back), line, record.id);
    assert.equal(back.session, record.session);
    assert.equal(back.turn, record.turn);
    original.add(record, { t0: record.sentAtUnixMs!, tEnd: record.sentAtUnixMs! + record.metrics.e2eMs });
    readBack.add(back, edges);
  }
  assert.deepEqual(readBack.summary().byTurn, original.summary().byTurn);
  assert.equal(original.summary().byTurn!.length, 3);
});

test('the steady-state window of a session cell ends when the first slot runs out of sessions, think time counted as in flight', async () => {
  const { records, result } = await runSessions('load: {concurrency: 2, requests: 9, thinkTime: 1s}\n');
  const measured = records.filter((r) => !r.warmup);
  const start = Math.min(...measured.map((r) => r.sentAtUnixMs!));
  const lastEndBySlot = [0, 1].map((slot) => Math.max(...records.filter((r) => r.slot === slot).map((r) => r.sentAtUnixMs! + r.metrics.e2eMs)));
  assert.ok(Math.abs(result.cells[0]!.windowS - (Math.min(...lastEndBySlot) - start) / 1000) < 1e-6);
});

test("a model's cells go on through its conversations, and the run warns once when they start over", async () => {
  // Cell 1 (c=1): a warm-up session and one measured one; cell 2 (c=2): two warm-up sessions and two measured: 6 of 5 conversations.
  const { records, warnings } = await runSessions('load: {concurrency: [1, 2], requests: 3}\n');
  const firstTurns = (cell: string) => [...new Set(records.filter((r) => r.id.startsWith(`${cell}-`) && r.turn === 1).map((r) => r.prompt))];
  assert.deepEqual(firstTurns('c1'), [0, 1]);
  assert.deepEqual(firstTurns('c2').sort(), [0, 2, 3, 4]);
  const repeated = warnings.filter((w) => /more sessions than there are distinct conversations \(5\)/.test(w.message));
  assert.deepEqual(repeated.map((w) => w.afterCells), [2]);
});
