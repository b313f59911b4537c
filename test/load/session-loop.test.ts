/**
 * The session loop on simulated time: each turn's history is the earlier
 * turns with the server's own answers, think time waits between turns on the
 * clock, `requests` counts turns and `concurrency` sessions in flight, and a
 * failed turn ends its session.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OutgoingRequest } from '../../src/load/cell-budget.ts';
import { answerOf, drawThinkMs, sessionLoop, sessionPrompt, sessionsRepeated, type SessionLoopPlan } from '../../src/load/session-loop.ts';
import type { ChatMessage, Exchange, Prompt } from '../../src/types.ts';
import { sleep, VirtualClock } from '../../src/util/clock.ts';
import { seededRandom } from '../../src/util/random.ts';

const user = (content: string): ChatMessage => ({ role: 'user', content });

/** Session i: `s{i}t1` … `s{i}t{turns}`, each turn a user message. */
function sessions(count: number, turns: number): Prompt[] {
  return Array.from({ length: count }, (_, i) => ({
    messages: [user(`s${i}t1`)],
    followUps: Array.from({ length: turns - 1 }, (_, t) => ({ messages: [user(`s${i}t${t + 2}`)] })),
  }));
}

interface Sent {
  request: OutgoingRequest;
  at: number;
  end: number;
}

/** A server that takes `serviceMs` per request and answers `answer to <id>`, in two chunks (and one reasoning chunk, not part of the answer). */
function fakeServer(clock: VirtualClock, serviceMs: number, failing: (request: OutgoingRequest) => boolean = () => false) {
  const sent: Sent[] = [];
  const send = async (request: OutgoingRequest): Promise<Exchange> => {
    const t0 = clock.now();
    await sleep(clock, serviceMs);
    const tEnd = clock.now();
    sent.push({ request, at: t0, end: tEnd });
    if (failing(request)) return { id: request.id, ts: t0, t0, tEnd, chunks: [], status: 500, error: { class: 'server_error', message: 'boom', status: 500 } };
    return {
      id: request.id,
      ts: t0,
      t0,
      tEnd,
      chunks: [
        { at: tEnd, text: 'thinking', choice: 0, reasoning: true },
        { at: tEnd, text: 'answer to', choice: 0 },
        { at: tEnd, text: ` ${request.id}`, choice: 0 },
      ],
    };
  };
  return { sent, send };
}

async function drain<T>(loop: AsyncGenerator<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of loop) items.push(item);
  return items;
}

const plan = (overrides: Partial<SessionLoopPlan>): SessionLoopPlan => ({ concurrency: 1, seed: 1, prompts: sessions(4, 3), idPrefix: 'c1', ...overrides });

test("each turn sends the earlier turns' user messages with the server's exact answers between them, in order", async () => {
  const clock = new VirtualClock();
  const server = fakeServer(clock, 10);
  const finished = await clock.run(drain(sessionLoop(plan({ requests: 6 }), server.send, { clock })));
  // One warm-up session (one per slot: 3 turns), then two measured sessions of 3 turns.
  assert.deepEqual(
    finished.map((r) => [r.session, r.turn, r.warmup]),
    [
      ['c1-s0', 1, true], ['c1-s0', 2, true], ['c1-s0', 3, true],
      ['c1-s1', 1, false], ['c1-s1', 2, false], ['c1-s1', 3, false],
      ['c1-s2', 1, false], ['c1-s2', 2, false], ['c1-s2', 3, false],
    ],
  );
  const s1 = server.sent.filter((s) => s.request.prompt === 1).map((s) => s.request);
  assert.deepEqual(s1.map((r) => r.turn), [1, 2, 3]);
  assert.deepEqual(s1[0]!.messages, [user('s1t1')]);
  assert.deepEqual(s1[1]!.messages, [user('s1t1'), { role: 'assistant', content: `answer to ${s1[0]!.id}` }, user('s1t2')]);
  assert.deepEqual(s1[2]!.messages, [
    user('s1t1'),
    { role: 'assistant', content: `answer to ${s1[0]!.id}` },
    user('s1t2'),
    { role: 'assistant', content: `answer to ${s1[1]!.id}` },
    user('s1t3'),
  ]);
  // Yielded requests carry the messages they were sent with.
  assert.deepEqual(finished[5]!.messages, s1[2]!.messages);
});

test('think time waits between a turn’s answer and the next turn, on the clock; a new session starts at once', async () => {
  const clock = new VirtualClock(1000);
  const server = fakeServer(clock, 10);
  await clock.run(drain(sessionLoop(plan({ requests: 3, thinkTime: { kind: 'fixed', ms: 2000 } }), server.send, { clock })));
  assert.deepEqual(
    server.sent.map((s) => s.at),
    // Warm-up session: 1000, +10 +2000, …; the measured one starts as the warm-up one ends.
    [1000, 3010, 5020, 5030, 7040, 9050],
  );
});

test('drawn think times are seeded: uniform in [min, max), exponential with its mean', () => {
  const uniform = Array.from({ length: 3 }, ((random) => () => drawThinkMs({ kind: 'uniform', minMs: 1000, maxMs: 3000 }, random))(seededRandom(5)));
  const again = Array.from({ length: 3 }, ((random) => () => drawThinkMs({ kind: 'uniform', minMs: 1000, maxMs: 3000 }, random))(seededRandom(5)));
  assert.deepEqual(uniform, again);
  assert.ok(uniform.every((ms) => ms >= 1000 && ms < 3000));
  const random = seededRandom(9);
  const draws = Array.from({ length: 20_000 }, () => drawThinkMs({ kind: 'exponential', meanMs: 500 }, random));
  const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
  assert.ok(Math.abs(mean - 500) < 15, `mean ${mean}`);
  assert.equal(drawThinkMs({ kind: 'fixed', ms: 250 }, random), 250);
  assert.equal(drawThinkMs(undefined, random), 0);
});

test('requests counts turns and concurrency counts sessions in flight, think time included', async () => {
  const clock = new VirtualClock();
  const server = fakeServer(clock, 7);
  const finished = await clock.run(drain(sessionLoop(plan({ concurrency: 3, requests: 10, thinkTime: { kind: 'uniform', minMs: 5, maxMs: 50 }, prompts: sessions(8, 4) }), server.send, { clock })));
  assert.equal(finished.filter((r) => !r.warmup).length, 10);
  // A session is in flight from its first send to its last end (thinking in between): never more than 3 at once.
  const spans = new Map<string, { start: number; end: number }>();
  for (const r of finished) {
    const span = spans.get(r.session!) ?? { start: Infinity, end: -Infinity };
    spans.set(r.session!, { start: Math.min(span.start, r.exchange!.t0), end: Math.max(span.end, r.exchange!.tEnd) });
  }
  const edges = [...spans.values()].flatMap(({ start, end }) => [{ at: start, delta: 1 }, { at: end, delta: -1 }]).sort((a, b) => a.at - b.at || a.delta - b.delta);
  let inFlight = 0;
  let most = 0;
  for (const edge of edges) most = Math.max(most, (inFlight += edge.delta));
  assert.equal(most, 3);
  // Each slot runs its sessions one after another, and requests of a session never overlap.
  for (const slot of [0, 1, 2]) {
    const mine = finished.filter((r) => r.slot === slot).sort((a, b) => a.exchange!.t0 - b.exchange!.t0);
    for (let i = 1; i < mine.length; i++) assert.ok(mine[i]!.exchange!.t0 >= mine[i - 1]!.exchange!.tEnd);
  }
});

test('a failed turn ends its session: the slot starts the next session at once, which begins at turn 1', async () => {
  const clock = new VirtualClock();
  const server = fakeServer(clock, 10, (request) => request.prompt === 1 && request.turn === 2);
  const finished = await clock.run(drain(sessionLoop(plan({ requests: 5, thinkTime: { kind: 'fixed', ms: 100 } }), server.send, { clock })));
  assert.deepEqual(
    finished.filter((r) => !r.warmup).map((r) => [r.session, r.turn, r.exchange!.error?.class ?? 'ok']),
    [['c1-s1', 1, 'ok'], ['c1-s1', 2, 'server_error'], ['c1-s2', 1, 'ok'], ['c1-s2', 2, 'ok'], ['c1-s2', 3, 'ok']],
  );
  const failedEnd = finished.find((r) => r.exchange!.error)!.exchange!.tEnd;
  assert.equal(finished.find((r) => r.session === 'c1-s2')!.exchange!.t0, failedEnd, 'no think time after a failed turn');
});

test('the answer a history carries is choice 0’s answer text, reasoning excluded; none for a failed or empty turn', () => {
  const base = { id: 'x', ts: 0, t0: 0, tEnd: 1 };
  assert.equal(answerOf({ ...base, chunks: [{ at: 1, text: 'why', choice: 0, reasoning: true }, { at: 1, text: 'Hi', choice: 0 }, { at: 1, text: 'other', choice: 1 }, { at: 1, text: ' there', choice: 0 }] }), 'Hi there');
  assert.equal(answerOf({ ...base, chunks: [] }), undefined);
  assert.equal(answerOf({ ...base, chunks: [{ at: 1, text: 'partial', choice: 0 }], error: { class: 'truncated', message: 'cut' } }), undefined);
});

test('the measured duration stops every session: no new turn after it, requests in flight finish', async () => {
  const clock = new VirtualClock();
  const server = fakeServer(clock, 10);
  const finished = await clock.run(drain(sessionLoop(plan({ durationMs: 25, thinkTime: { kind: 'fixed', ms: 20 }, prompts: sessions(4, 5) }), server.send, { clock })));
  const measured = finished.filter((r) => !r.warmup);
  const start = measured[0]!.exchange!.t0;
  assert.ok(measured.every((r) => r.exchange!.t0 < start + 25));
  // Warm-up 5 turns (0…130); measured turn 1 at 130, turn 2 at 160 (past 155): only turn 1 is sent.
  assert.deepEqual(measured.map((r) => r.turn), [1]);
});

test('a share of a session cell (a worker’s, a shard’s) runs its own slots and its part of the requests', async () => {
  const clock = new VirtualClock();
  const server = fakeServer(clock, 10);
  const finished = await clock.run(drain(sessionLoop(plan({ concurrency: 4, requests: 10, share: { index: 1, count: 2 }, idPrefix: 'c1.1' }), server.send, { clock })));
  assert.deepEqual([...new Set(finished.map((r) => r.slot))].sort(), [1, 3]);
  // Slots 1 and 3 of 4 get 10 = 3 + 3 + 2 + 2 dealt in turn: 3 + 2.
  assert.equal(finished.filter((r) => !r.warmup).length, 5);
  assert.ok(finished.every((r) => r.session!.startsWith('c1.1-s') && r.id.startsWith('c1.1-')));
});

test("a model's sessions continue across its cells (and repeats): each cell takes the next conversations, none sent twice while they last", async () => {
  const clock = new VirtualClock();
  const cursor = { started: 0 };
  const firstTurns = async (idPrefix: string): Promise<string[]> => {
    const server = fakeServer(clock, 10);
    await clock.run(drain(sessionLoop(plan({ concurrency: 1, requests: 2, prompts: sessions(8, 2), idPrefix }), server.send, { clock, sessions: cursor })));
    return server.sent.filter((s) => s.request.turn === 1).map((s) => s.request.messages[0]!.content);
  };
  // Cell 1: a warm-up session, then one measured session of 2 turns; cell 2 goes on from there.
  assert.deepEqual(await firstTurns('c1'), ['s0t1', 's1t1']);
  assert.deepEqual(await firstTurns('c2'), ['s2t1', 's3t1']);
  assert.equal(cursor.started, 4);
  assert.equal(sessionsRepeated(cursor, { prompts: sessions(8, 2) }), false);
  assert.equal(sessionsRepeated({ started: 9 }, { prompts: sessions(8, 2) }), true);
});

test('the shares of a session cell (shards) send disjoint conversations: share i takes every count-th from i', () => {
  const prompts = sessions(12, 2);
  const taken = (index: number) => Array.from({ length: 4 }, (_, started) => sessionPrompt(started, { prompts, share: { index, count: 3 } }));
  assert.deepEqual([taken(0), taken(1), taken(2)], [
    [0, 3, 6, 9],
    [1, 4, 7, 10],
    [2, 5, 8, 11],
  ]);
  // Shard 2's 4th session is the 12th conversation of the run: the last before they repeat.
  assert.equal(sessionsRepeated({ started: 4 }, { prompts, share: { index: 2, count: 3 } }), false);
  assert.equal(sessionsRepeated({ started: 5 }, { prompts, share: { index: 0, count: 3 } }), true);
});
