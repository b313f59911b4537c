/**
 * Multi-turn sessions in a closed loop: `concurrency` slots, each running
 * one session after another. A session sends its turns in order, each with
 * the whole history so far: every earlier turn's messages followed by the
 * server's own answer to it, verbatim (the text it streamed, reasoning
 * excluded). Between a turn's answer and the next turn the session thinks
 * (load.thinkTime); thinking counts as in flight, so `concurrency` is
 * sessions in flight, and a slot's next session starts as soon as its
 * previous one ended. A failed turn (an error, or no answer text) ends its
 * session: the next turn would have no answer to carry.
 *
 * Budget (SessionBudget): warm-up is whole sessions, at least one per slot
 * (every connection warm before anything is measured), more while the
 * scenario's warm-up count of requests or its warm-up time lasts. Measured
 * sessions count their turns against `requests`; when the count or the
 * measured duration runs out, no session sends another turn, warm-up ones
 * included, and requests in flight finish.
 *
 * Yields each finished request, with its session and turn; aggregates nothing.
 */
import type { ChatMessage, Exchange, FollowUp, Prompt, ThinkTime } from '../types.js';
import { sleep, systemClock } from '../util/clock.js';
import { deriveSeed, seededRandom, type Random } from '../util/random.js';
import { WHOLE, type CellPlan, type FinishedRequest, type SendRequest } from './cell-budget.js';
import { Channel } from './channel.js';
import { shareSlots, type LoopOptions, type SessionCursor } from './closed-loop.js';

/** The seed stream of think times (deriveSeed's part), apart from arrivals' and prompts'. */
const THINK_STREAM = 0xb2;

export interface SessionLoopPlan extends CellPlan {
  /** Sessions in flight (slots). */
  concurrency: number;
  /** The wait between a turn's answer and the next turn; undefined: none. */
  thinkTime?: ThinkTime;
  /** The scenario's seed: each slot draws its think times from its own stream of it. */
  seed: number;
}

/** Whether prompts are sessions (built with turns), which run in the session loop. */
export const isSessionWorkload = (prompts: readonly Prompt[]): boolean => prompts.some((prompt) => prompt.followUps !== undefined);

/** A session's turns in order: the prompt's own messages, then its follow-ups. */
export function turnsOf(prompt: Prompt): FollowUp[] {
  const first: FollowUp = { messages: prompt.messages };
  return [first, ...(prompt.followUps ?? [])];
}

/**
 * The answer a turn's history carries on: choice 0's answer text as the server streamed it
 * (reasoning excluded), joined; undefined when the turn failed or answered nothing.
 */
export function answerOf(exchange: Exchange): string | undefined {
  if (exchange.error) return undefined;
  const text = exchange.chunks
    .filter((chunk) => chunk.choice === 0 && !chunk.reasoning)
    .map((chunk) => chunk.text)
    .join('');
  return text === '' ? undefined : text;
}

/** One think time, ms: fixed, uniform in [min, max), or exponential with the mean. */
export function drawThinkMs(thinkTime: ThinkTime | undefined, random: Random): number {
  if (thinkTime === undefined) return 0;
  switch (thinkTime.kind) {
    case 'fixed':
      return thinkTime.ms;
    case 'uniform':
      return thinkTime.minMs + random() * (thinkTime.maxMs - thinkTime.minMs);
    case 'exponential':
      // 1 − u is in (0, 1]: the log is finite.
      return -thinkTime.meanMs * Math.log(1 - random());
  }
}

/** A session's role: all its turns are warm-up, or all measured. */
type SessionRole = 'warmup' | 'measured';

/** Decides, session by session and turn by turn, what is warm-up, measured, or past the cell's end. */
export class SessionBudget {
  private sessions = 0;
  private sent = 0;
  private warmupSent = 0;
  private measured = 0;
  private measureStart: number | undefined;

  /**
   * `minWarmupSessions`: one per slot; `startedAt`: when the cell began (the clock's time, ms);
   * `cursor`: the model's sessions started before this cell, which this cell's continue.
   */
  constructor(
    private readonly plan: CellPlan,
    private readonly minWarmupSessions: number,
    private readonly startedAt: number,
    private readonly cursor: SessionCursor = { started: 0 },
  ) {}

  /** Whether the cell's measured part is over at `at`: its requests sent, or its duration past. */
  over(at: number): boolean {
    const { requests, durationMs } = this.plan;
    if (requests !== undefined && this.measured >= requests) return true;
    return durationMs !== undefined && this.measureStart !== undefined && at >= this.measureStart + durationMs;
  }

  /** A new session at `at`: its role, its id and prompt (taken in turn); 'done' when the cell has ended. */
  startSession(at: number): { role: SessionRole; session: string; prompt: number } | 'done' {
    if (this.over(at)) return 'done';
    const { warmup, warmupMs } = this.plan;
    const warmupLeft =
      this.measureStart === undefined &&
      (this.sessions < this.minWarmupSessions || this.warmupSent < (warmup ?? 0) || (warmupMs !== undefined && at < this.startedAt + warmupMs));
    const n = this.sessions++;
    return { role: warmupLeft ? 'warmup' : 'measured', session: `${this.plan.idPrefix}-s${n}`, prompt: sessionPrompt(this.cursor.started++, this.plan) };
  }

  /** Whether a session of `role` may send its next turn at `at`; if so, the turn is counted and gets its request id. */
  turn(role: SessionRole, at: number): string | undefined {
    if (this.over(at)) return undefined;
    if (role === 'measured') {
      this.measureStart ??= at;
      if (this.over(at)) return undefined;
      this.measured++;
    } else this.warmupSent++;
    return `${this.plan.idPrefix}-${this.sent++}`;
  }
}

/**
 * The conversation of a process's `started`-th session of a model: the next in turn, a share
 * (a shard's) taking every count-th from its index, so that shares send disjoint conversations.
 */
export function sessionPrompt(started: number, plan: Pick<CellPlan, 'prompts' | 'share'>): number {
  const { index, count } = plan.share ?? WHOLE;
  return (index + count * started) % plan.prompts.length;
}

/** Whether a model's sessions so far have sent some conversation twice (sessionPrompt has wrapped). */
export function sessionsRepeated(cursor: SessionCursor, plan: Pick<CellPlan, 'prompts' | 'share'>): boolean {
  const { index, count } = plan.share ?? WHOLE;
  return cursor.started > 0 && index + count * (cursor.started - 1) >= plan.prompts.length;
}

export async function* sessionLoop(plan: SessionLoopPlan, send: SendRequest, options: LoopOptions = {}): AsyncGenerator<FinishedRequest> {
  const { interrupt, clock = systemClock } = options;
  const finished = new Channel<FinishedRequest>();
  const { slots, plan: slotsOwn } = shareSlots(plan);
  const budget = new SessionBudget(slotsOwn, slots.length, options.startAt ?? clock.now(), options.sessions);

  const slot = async (slot: number): Promise<void> => {
    // Each slot its own stream, so a think time does not depend on how the slots interleave.
    const random = seededRandom(deriveSeed(plan.seed, THINK_STREAM, slot));
    for (;;) {
      if (interrupt?.aborted) return;
      const started = budget.startSession(clock.now());
      if (started === 'done') return;
      const { role, session, prompt } = started;
      let history: ChatMessage[] = [];
      for (const [index, turn] of turnsOf(plan.prompts[prompt]!).entries()) {
        if (index > 0) {
          if (budget.over(clock.now())) return;
          const thinkMs = drawThinkMs(plan.thinkTime, random);
          if (thinkMs > 0) await sleep(clock, thinkMs, interrupt).catch(() => undefined);
          if (interrupt?.aborted) return;
        }
        const id = budget.turn(role, clock.now());
        if (id === undefined) return;
        const messages = [...history, ...turn.messages];
        // A closed loop has no schedule: no ts, so the client takes ts = t0 (METRICS.md).
        const exchange = await send({ id, prompt, messages, turn: index + 1 });
        finished.push({ id, warmup: role === 'warmup', prompt, messages, ts: exchange.ts, slot, exchange, session, turn: index + 1 });
        const answer = answerOf(exchange);
        if (answer === undefined) break;
        history = [...messages, { role: 'assistant', content: answer }];
      }
    }
  };
  Promise.all(slots.map(slot)).then(
    () => finished.close(),
    (error: unknown) => finished.close(error),
  );
  yield* finished.drain();
}
