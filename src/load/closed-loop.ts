/**
 * Closed-loop load: `concurrency` requests in flight, each slot sending the
 * next request as soon as its previous one ended (p-limit). The warm-up
 * requests go first, at least one per slot by default, so every measured
 * request runs on a warm connection (METRICS.md, "Connections").
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

  // One continuous loop: the first `warmup` requests sent are the warm-up. Each slot goes on
  // to measured requests as soon as its warm-up ends, so measurement starts in steady state,
  // never with every slot firing at once (a burst no real client load has).
  const tasks: Promise<void>[] = [];
  for (let n = 0; n < plan.warmup + plan.requests; n++) {
    const warmup = n < plan.warmup;
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
  const driver = Promise.all(tasks).then(
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
