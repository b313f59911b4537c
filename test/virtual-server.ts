/**
 * A server on simulated time, for pipeline tests: it takes the client's place
 * (the pipeline's `client` option) and answers each request with the Exchange
 * a streaming server of known timing would produce, every time read from a
 * VirtualClock. No socket, no wall clock: a 30-second cell runs in
 * milliseconds and gives the same numbers on a busy machine as on an idle one.
 *
 * Its timing model is the built-in simulator's: up to `capacity` streams
 * decode at once, the rest wait in a FIFO queue; an admitted stream's first
 * chunk comes `ttftMs` later, each next chunk when its last token is due at
 * `tokensPerSecond`. Its words are the simulator's, one token each in llama3.
 * The HTTP path itself is tested against the real simulator elsewhere.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ChatRequest } from '../src/client/chat-client.ts';
import { collectRun, renderResultFiles, scenarioEvents, type RequestClient } from '../src/pipeline.ts';
import { renderRequestLine } from '../src/report/json.ts';
import { parseScenario } from '../src/scenario/load.ts';
import { drawInteger as draw, seededRandom } from '../src/util/random.ts';
import { SIM_WORDS } from '../src/sim/words.ts';
import type { Exchange, OutputChunk, SimModelProfile } from '../src/types.ts';
import { sleepUntil, VirtualClock } from '../src/util/clock.ts';

/** The simulator's timing knobs (SimModelProfile), and a few of a test's own. */
export interface VirtualServerProfile extends Pick<SimModelProfile, 'ttftMs' | 'tokensPerSecond' | 'tokensPerChunk' | 'outputTokens' | 'capacity'> {
  /** Each request's TTFT is scaled by a factor drawn uniformly from [1 - jitter, 1 + jitter] (default 0). */
  ttftJitter?: number;
  /** Requests whose id matches fail with a 500 (tests of error accounting). */
  fails?: (id: string) => boolean;
  /** Profiles of particular models, by name, over this one (as the simulator's `models`). */
  models?: Record<string, Omit<VirtualServerProfile, 'models'>>;
}

/** Streams decoding at once, and those waiting for a slot, of one model. */
interface Slots {
  active: number;
  waiting: (() => void)[];
}

export class VirtualServer implements RequestClient {
  private readonly slotsByModel = new Map<string, Slots>();
  private readonly random: () => number;
  /** Requests seen, in arrival order. */
  readonly received: { id: string; at: number; params: Record<string, unknown>; messages: ChatRequest['messages'] }[] = [];

  constructor(
    private readonly clock: VirtualClock,
    private readonly profile: VirtualServerProfile,
    seed = 1,
  ) {
    this.random = seededRandom(seed);
  }

  async send(request: ChatRequest): Promise<Exchange> {
    const t0 = this.clock.now();
    const exchange: Exchange = { id: request.id, ts: request.ts ?? t0, t0, tEnd: t0, chunks: [] };
    this.received.push({ id: request.id, at: t0, params: request.params, messages: request.messages });
    const profile = { ...this.profile, ...this.profile.models?.[request.model] };
    if (profile.fails?.(request.id)) {
      exchange.status = 500;
      exchange.error = { class: 'server_error', message: '500 simulated failure', status: 500 };
      return exchange;
    }
    const slots = this.slotsOf(request.model);
    await admit(slots, profile.capacity);
    try {
      const { ttftMs, tokensPerSecond, tokensPerChunk, outputTokens, ttftJitter = 0 } = profile;
      const cap = typeof request.params.max_tokens === 'number' ? request.params.max_tokens : Infinity;
      const total = Math.min(draw(outputTokens, this.random), cap);
      const jitter = 1 + (this.random() * 2 - 1) * ttftJitter;
      let due = this.clock.now() + ttftMs * jitter;
      exchange.tb = this.clock.now();
      exchange.status = 200;
      const chunks: OutputChunk[] = [];
      for (let sent = 0; sent < total; ) {
        const tokens = Math.min(Math.max(1, draw(tokensPerChunk, this.random)), total - sent);
        if (sent > 0) due += (tokens * 1000) / tokensPerSecond;
        await sleepUntil(this.clock, due);
        let text = '';
        for (let i = 0; i < tokens; i++) text += ' ' + SIM_WORDS[Math.floor(this.random() * SIM_WORDS.length)];
        chunks.push({ at: this.clock.now(), text, choice: 0 });
        sent += tokens;
      }
      exchange.chunks = chunks;
      exchange.usage = { prompt_tokens: 10, completion_tokens: total, total_tokens: 10 + total };
      exchange.tEnd = this.clock.now();
      return exchange;
    } finally {
      slots.active--;
      slots.waiting.shift()?.();
    }
  }

  close(): void {}

  private slotsOf(model: string): Slots {
    let slots = this.slotsByModel.get(model);
    if (!slots) this.slotsByModel.set(model, (slots = { active: 0, waiting: [] }));
    return slots;
  }
}

/** Takes a decode slot now, or waits for one in FIFO order. */
function admit(slots: Slots, capacity: number): Promise<void> {
  if (slots.active < capacity) {
    slots.active++;
    return Promise.resolve();
  }
  return new Promise((resolve) =>
    slots.waiting.push(() => {
      slots.active++;
      resolve();
    }),
  );
}

/**
 * Runs a scenario on simulated time against a VirtualServer and writes its
 * results folder (every file `run` writes) to DIR/NAME, as `run` would.
 */
export async function runVirtualInto(dir: string, name: string, scenarioText: string, profile: VirtualServerProfile, seed = 1): Promise<string> {
  const clock = new VirtualClock();
  const scenario = parseScenario(scenarioText, `${name}.yaml`, {});
  const client = new VirtualServer(clock, profile, seed);
  const lines: string[] = [];
  const result = await clock.run(
    collectRun(scenarioEvents(scenario, { baseURL: 'http://virtual.invalid/v1', clock, client }), (event) => {
      if (event.type === 'record') lines.push(renderRequestLine(event.record));
    }),
  );
  const out = path.join(dir, name);
  await mkdir(out);
  const at = new Date(0);
  const files = await renderResultFiles(scenario, result, { startedAt: at, endedAt: at, baseURL: 'http://virtual.invalid/v1', argv: [], tokenmeterVersion: 'test' });
  await writeFile(path.join(out, 'requests.jsonl'), lines.join(''));
  for (const [file, text] of Object.entries(files)) await writeFile(path.join(out, file), text);
  return out;
}
