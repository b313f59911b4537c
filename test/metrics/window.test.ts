import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countInWindow, shortWindowReason, steadyStateWindow, type WindowRequest } from '../../src/metrics/window.ts';
import type { LoadKind } from '../../src/types.ts';

/** A request of a synthetic cell: times in ms, `tokens` as [arrival, count] pairs (default: 10 tokens at tEnd). */
function request(
  t0: number,
  tEnd: number,
  options: { slot?: number; warmup?: boolean; ts?: number; ok?: boolean; sent?: boolean; metSlo?: boolean; tokens?: [number, number][] } = {},
): WindowRequest {
  const r: WindowRequest = {
    warmup: options.warmup ?? false,
    sent: options.sent ?? true,
    ok: options.ok ?? true,
    ts: options.ts ?? t0,
    t0,
    tEnd,
    tokens: (options.tokens ?? [[tEnd, 10]]).map(([at, tokens]) => ({ at, tokens })),
  };
  if (options.slot !== undefined) r.slot = options.slot;
  if (options.metSlo !== undefined) r.metSlo = options.metSlo;
  return r;
}
const warmup = (t0: number, tEnd: number, slot?: number, tokens?: [number, number][]) =>
  request(t0, tEnd, { warmup: true, ...(slot !== undefined ? { slot } : {}), ...(tokens ? { tokens } : {}) });

/** What the first version computed: measured successful tokens over first measured t0 → last measured end. */
function oldTokensPerS(requests: readonly WindowRequest[]): number {
  const measured = requests.filter((r) => !r.warmup && r.sent);
  const start = Math.min(...measured.map((r) => r.t0));
  const end = Math.max(...measured.map((r) => r.tEnd));
  const tokens = measured.filter((r) => r.ok).reduce((sum, r) => sum + r.tokens.reduce((s, c) => s + c.tokens, 0), 0);
  return (tokens * 1000) / (end - start);
}

const CASES: {
  name: string;
  kind: LoadKind;
  requests: WindowRequest[];
  window: [number, number];
  outputTokens: number;
  okRequests: number;
  goodRequests?: number;
  /** The first version's output tokens/s, where it differs. */
  oldTokensPerS?: number;
}[] = [
  {
    // Two slots in lock-step waves of 100 ms: warm-up, then three measured waves. Nothing ramps, old and new agree.
    name: 'a full closed loop: every slot busy from the first measured t0 to the end of the last wave',
    kind: 'concurrency',
    requests: [
      warmup(0, 100, 0),
      warmup(0, 100, 1),
      ...[100, 200, 300].flatMap((t0) => [0, 1].map((slot) => request(t0, t0 + 100, { slot, tokens: [[t0 + 50, 10], [t0 + 100, 10]] }))),
    ],
    window: [100, 400],
    outputTokens: 120,
    okRequests: 6,
  },
  {
    // Slot 0 takes 100 ms a request, slot 1 250 ms. Slot 0 runs out at 400; slot 1's last request drains alone until 500.
    name: 'a drain: the window ends when the first slot runs out of measured work, not at the last end',
    kind: 'concurrency',
    requests: [
      warmup(0, 100, 0),
      warmup(0, 250, 1),
      request(100, 200, { slot: 0 }),
      request(200, 300, { slot: 0 }),
      request(250, 500, { slot: 1 }),
      request(300, 400, { slot: 0 }),
    ],
    window: [100, 400],
    // Slot 0's three measured requests, and slot 1's warm-up, which ended inside the window at 250.
    outputTokens: 40,
    okRequests: 4,
    // 40 tokens over 100 → 500 ms.
    oldTokensPerS: 100,
  },
  {
    // Slot 1's warm-up is still streaming when slot 0 sends the first measured request at 100.
    name: 'warm-up overlap: warm-up chunks that arrive inside the window count, those before it do not',
    kind: 'concurrency',
    requests: [
      warmup(0, 100, 0, [[100, 5]]),
      warmup(0, 150, 1, [[50, 3], [100, 4], [150, 6]]),
      request(100, 300, { slot: 0, tokens: [[200, 7], [300, 8]] }),
      request(150, 350, { slot: 1, tokens: [[250, 9], [350, 1]] }),
    ],
    window: [100, 300],
    outputTokens: 6 + 7 + 8 + 9,
    okRequests: 2,
    oldTokensPerS: ((7 + 8 + 9 + 1) * 1000) / 250,
  },
  {
    // Arrivals every 100 ms from 0 to 300 (300 dropped), each served in 250 ms; a warm-up arrival at −100.
    name: 'an open loop: from the first to the last measured arrival, dropped arrivals included',
    kind: 'rate',
    requests: [
      request(-100, 150, { warmup: true, metSlo: true }),
      request(0, 250, { metSlo: true }),
      request(100, 350, { metSlo: false }),
      request(200, 450),
      request(300, 300, { sent: false, ok: false, tokens: [] }),
    ],
    window: [0, 300],
    outputTokens: 20,
    okRequests: 2,
    goodRequests: 2,
  },
  {
    name: 'failed and interrupted requests never end successfully, but the tokens they streamed count',
    kind: 'concurrency',
    requests: [warmup(0, 100, 0), request(100, 200, { slot: 0, ok: false, tokens: [[150, 4]] }), request(200, 300, { slot: 0 })],
    window: [100, 300],
    outputTokens: 14,
    okRequests: 1,
  },
];

for (const c of CASES) {
  test(`throughput window: ${c.name}`, () => {
    const window = steadyStateWindow(c.kind, c.requests);
    assert.deepEqual(window, { startMs: c.window[0], endMs: c.window[1], steady: true });
    const counts = countInWindow(window, c.requests);
    assert.deepEqual(counts, {
      windowMs: c.window[1] - c.window[0],
      outputTokens: c.outputTokens,
      okRequests: c.okRequests,
      goodRequests: c.goodRequests ?? 0,
    });
    if (c.oldTokensPerS !== undefined) {
      assert.equal(oldTokensPerS(c.requests), c.oldTokensPerS);
      assert.notEqual((counts.outputTokens * 1000) / counts.windowMs, c.oldTokensPerS);
    }
  });
}

test('throughput window: without slots a closed loop ends at the last end, and one open-loop arrival has no steady state', () => {
  assert.deepEqual(steadyStateWindow('concurrency', [warmup(0, 100), request(100, 300), request(100, 250)]), { startMs: 100, endMs: 300, steady: true });
  assert.deepEqual(steadyStateWindow('rate', [request(10, 200)]), { startMs: 10, endMs: 200, steady: false });
  assert.equal(steadyStateWindow('rate', [warmup(0, 100)]), undefined);
  assert.deepEqual(countInWindow(undefined, [request(0, 10)]), { windowMs: 0, outputTokens: 0, okRequests: 0, goodRequests: 0 });
});

const SHORT_CASES: { name: string; facts: Parameters<typeof shortWindowReason>[0]; reason: RegExp | undefined }[] = [
  {
    name: 'three requests per slot and a window of five E2Es is long enough',
    facts: { kind: 'concurrency', slots: 4, measured: 12, window: { startMs: 0, endMs: 500, steady: true }, e2eP50Ms: 100 },
    reason: undefined,
  },
  {
    name: '1.5 measured requests per slot is short',
    facts: { kind: 'concurrency', slots: 32, measured: 48, window: { startMs: 0, endMs: 5000, steady: true }, e2eP50Ms: 100 },
    reason: /^1\.5 measured requests per slot < 3: its throughput is mostly ramp$/,
  },
  {
    name: 'a window under five median E2Es is short',
    facts: { kind: 'rate', slots: 10, measured: 2, window: { startMs: 0, endMs: 499, steady: true }, e2eP50Ms: 100 },
    reason: /^window 499 ms < 5 × median E2E 100 ms: its throughput is mostly ramp$/,
  },
  {
    name: 'no steady state is short',
    facts: { kind: 'rate', slots: 10, measured: 1, window: { startMs: 0, endMs: 5000, steady: false }, e2eP50Ms: 100 },
    reason: /^no steady state/,
  },
];

for (const c of SHORT_CASES) {
  test(`short cell: ${c.name}`, () => {
    const reason = shortWindowReason(c.facts);
    if (c.reason === undefined) assert.equal(reason, undefined);
    else assert.match(reason ?? '', c.reason);
  });
}
