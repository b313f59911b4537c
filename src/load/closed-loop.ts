/**
 * Closed-loop load: `concurrency` requests in flight, each slot sending the
 * next request as soon as its previous one ended (p-limit). Warm-up requests
 * go first and all end before the first measured request is sent, so measured
 * requests run on warm connections (METRICS.md, "Connections").
 *
 * Yields each finished exchange; aggregates nothing.
 */
import { performance } from 'node:perf_hooks';
import pLimit from 'p-limit';
import type { ChatMessage, Exchange, Prompt } from '../types.js';

export interface OutgoingRequest {
  id: string;
  messages: ChatMessage[];
  /** When the scheduler meant to send it (performance.now(), ms). */
  ts: number;
}

export type SendRequest = (request: OutgoingRequest) => Promise<Exchange>;

export interface ClosedLoopPlan {
  concurrency: number;
  warmup: number;
  requests: number;
  prompts: readonly Prompt[];
  /** Request ids are `${idPrefix}-${n}`. */
  idPrefix: string;
}

export interface FinishedRequest {
  exchange: Exchange;
  warmup: boolean;
  /** Index into the scenario's prompts. */
  prompt: number;
  messages: ChatMessage[];
}

export async function* closedLoop(
  plan: ClosedLoopPlan,
  send: SendRequest,
  interrupt?: AbortSignal,
): AsyncGenerator<FinishedRequest> {
  const finished: FinishedRequest[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  let failure: unknown;
  const limit = pLimit(plan.concurrency);
  let sequence = 0;

  const phase = async (count: number, warmup: boolean): Promise<void> => {
    const tasks: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const n = sequence++;
      tasks.push(
        limit(async () => {
          if (interrupt?.aborted) return; // never sent, so never recorded
          const prompt = n % plan.prompts.length;
          const messages = plan.prompts[prompt]!.messages;
          const exchange = await send({ id: `${plan.idPrefix}-${n}`, messages, ts: performance.now() });
          finished.push({ exchange, warmup, prompt, messages });
          wake?.();
        }),
      );
    }
    await Promise.all(tasks);
  };

  const driver = (async () => {
    await phase(plan.warmup, true);
    if (!interrupt?.aborted) await phase(plan.requests, false);
  })().then(
    () => undefined,
    (error: unknown) => (failure = error),
  );
  void driver.finally(() => {
    done = true;
    wake?.();
  });

  for (;;) {
    const next = finished.shift();
    if (next) {
      yield next;
      continue;
    }
    if (done) break;
    await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
  }
  if (failure !== undefined) throw failure;
}
