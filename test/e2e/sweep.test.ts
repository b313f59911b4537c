import assert from 'node:assert/strict';
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { main } from '../../src/cli/main.ts';
import { sweepRates } from '../../src/load/sweep.ts';
import { captureIo, NOT_ABOUT_CLIENT_HEALTH, readRequests, withTempDir } from '../helpers.ts';

// The plan's arithmetic and the probes' timing are tested on simulated time (test/pipeline/sweep.test.ts);
// here the command runs end to end on the real simulator, and its folder is read back by report, compare and check.
const LLAMA = 'Meta-Llama-3.3-70B-Instruct';
const scenario = (extraModels = '') => `name: sw
target:
  baseURL: builtin
  # 64 streams decode at once: the throughput probe's 8 serve about 8 times the synchronous probe's requests/s.
  simulator: {seed: 3, defaults: {ttftMs: 5, tokensPerSecond: 2000, tokensPerChunk: [1, 3], outputTokens: 20, capacity: 64}${extraModels ? `, models: {broken: {emptyStream: true}}` : ''}}
models: [${LLAMA}${extraModels}]
load: {concurrency: 1, requests: 8, warmup: 2}
prompts: ["Tell me a story"]
thresholds: ["errors.rate < 1%"]
`;

async function sweep(dir: string, text: string, args: string[] = []): Promise<{ code: number; err: string; out: string; folder: string }> {
  const file = path.join(dir, 'sw.yaml');
  await writeFile(file, text);
  const folder = path.join(dir, 'out');
  await rm(folder, { recursive: true, force: true });
  const io = captureIo();
  const code = await main(['sweep', file, '--out', folder, ...NOT_ABOUT_CLIENT_HEALTH, ...args], io);
  return { code, err: io.err(), out: io.out(), folder };
}

test('sweep: the probes and 3 rates between them in one folder, every file as run writes it; report, compare and check read it back', () =>
  withTempDir(async (dir) => {
    const { code, err, out, folder } = await sweep(dir, scenario(), ['--rates', '3', '--max-concurrency', '8']);
    assert.equal(code, 0, err);
    const summary = JSON.parse(await readFile(path.join(folder, 'summary.json'), 'utf8'));
    const [outcome] = summary.sweep;
    const [synchronous, throughput, ...rates] = summary.cells;
    assert.deepEqual(synchronous.load, { kind: 'concurrency', value: 1 });
    assert.deepEqual(throughput.load, { kind: 'concurrency', value: 8 });
    assert.ok(throughput.requestsPerS > 2 * synchronous.requestsPerS, `${synchronous.requestsPerS} → ${throughput.requestsPerS} req/s`);
    // The plan, from the probes' own measured rates, as written.
    assert.deepEqual(outcome, {
      model: LLAMA,
      synchronousRps: synchronous.requestsPerS,
      maxConcurrency: 8,
      throughputRps: throughput.requestsPerS,
      rates: sweepRates(synchronous.requestsPerS, throughput.requestsPerS, 3).rates,
    });
    assert.deepEqual(
      rates.map((cell: { load: unknown }) => cell.load),
      outcome.rates.map((value: number) => ({ kind: 'rate', value })),
    );
    // The flags were applied as --sets: run.json's scenario says what ran.
    const run = JSON.parse(await readFile(path.join(folder, 'run.json'), 'utf8'));
    assert.equal(run.completed, true);
    assert.deepEqual(run.scenario.sweep, { rates: 3, maxConcurrency: 8 });
    assert.match(err, new RegExp(`${LLAMA}: synchronous [\\d.]+ req/s, throughput [\\d.]+ req/s; rates ${outcome.rates.join(', ')} req/s`));
    assert.ok(out.includes(`rates: ${outcome.rates.join(', ')} req/s`), out);
    assert.match(out, /errors\.rate < 1%/);

    // summary.csv and requests.jsonl hold the concurrency cells and the rate cells side by side.
    const rows = parse(await readFile(path.join(folder, 'summary.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    assert.deepEqual(
      rows.map((row) => [row.concurrency, row.rate_rps]),
      [['1', ''], ['8', ''], ...outcome.rates.map((rate: number) => ['', String(rate)])],
    );
    const measured = (await readRequests(folder)).filter((line) => !line.warmup);
    assert.equal(measured.length, 5 * 8);
    assert.equal(measured.filter((line) => line.rate !== undefined).length, 3 * 8);

    const html = await readFile(path.join(folder, 'report.html'), 'utf8');
    for (const marker of ['data-section="sweep"', 'data-chart="latency-throughput"', 'data-chart="latency-throughput-tpot"']) assert.ok(html.includes(marker), marker);

    // Read back: report rebuilds the same page, compare and check take a folder that mixes the two kinds of load.
    await rm(path.join(folder, 'report.html'));
    const io = captureIo();
    assert.equal(await main(['report', folder], io), 0, io.err());
    assert.equal(await readFile(path.join(folder, 'report.html'), 'utf8'), html);
    // compare takes two contenders: the folder and a copy of it (the same cells, both kinds of load).
    await cp(folder, path.join(dir, 'copy'), { recursive: true });
    assert.equal(await main(['compare', folder, path.join(dir, 'copy'), '--out', path.join(dir, 'cmp')], io), 0, io.err());
    assert.match(io.out(), /\nat c=1\n[\s\S]*\nat c=8\n[\s\S]*\nat [\d.]+ req\/s\n/);
    const check = captureIo();
    const verdict = await main(['check', folder, '--baseline', folder], check);
    // 8 requests a cell bound no p95: inconclusive (97), never a regression, and every cell judged.
    assert.ok(verdict === 0 || verdict === 97, `check exit ${verdict}: ${check.err()}`);
    assert.match(check.out() + check.err(), /no regression found/);
    for (const load of ['c=1', 'c=8', ...outcome.rates.map((rate: number) => `${rate} req/s`)]) assert.ok(check.out().includes(`${LLAMA} @ ${load} `), load);

    // Another sweep chose other rates (here: the copy's moved by +0.5 req/s): its probes are judged, the
    // baseline's rates it did not choose are not missing cells, and its own are not compared.
    const other = path.join(dir, 'other');
    await cp(folder, other, { recursive: true });
    const moved = (rate: number) => rate + 0.5;
    const rewrite = async (name: string, change: (text: string) => string) => writeFile(path.join(other, name), change(await readFile(path.join(other, name), 'utf8')));
    await rewrite('requests.jsonl', (text) => text.replace(/"rate":([\d.]+)/g, (_, rate: string) => `"rate":${moved(Number(rate))}`));
    await rewrite('histograms.json', (text) => text.replace(/"rate": ?([\d.]+)/g, (_, rate: string) => `"rate":${moved(Number(rate))}`));
    await rewrite('summary.json', (text) => {
      const json = JSON.parse(text);
      for (const cell of json.cells) if (cell.load.kind === 'rate') cell.load.value = moved(cell.load.value);
      json.sweep[0].rates = json.sweep[0].rates.map(moved);
      return JSON.stringify(json);
    });
    const second = captureIo();
    const code2 = await main(['check', other, '--baseline', folder], second);
    assert.ok(code2 === 0 || code2 === 97, `check exit ${code2}: ${second.out()}${second.err()}`);
    assert.match(second.err(), /note: two sweeps: 3 rate cell\(s\) of the baseline were not chosen by this run's sweep, and are not compared/);
    assert.doesNotMatch(second.out(), /in the baseline but not in this run/);
    for (const load of ['c=1', 'c=8']) assert.ok(second.out().includes(`${LLAMA} @ ${load} `), load);
  }));

test('sweep: a model whose every request fails stops after its synchronous probe, with the reason; the other model sweeps; exit 1', () =>
  withTempDir(async (dir) => {
    const { code, err, out, folder } = await sweep(dir, scenario(', broken'), ['--rates', '2', '--max-concurrency', '4']);
    assert.equal(code, 1, err);
    const summary = JSON.parse(await readFile(path.join(folder, 'summary.json'), 'utf8'));
    const broken = summary.sweep.find((outcome: { model: string }) => outcome.model === 'broken');
    assert.deepEqual(broken, {
      model: 'broken',
      maxConcurrency: 4,
      rates: [],
      stopped: 'the synchronous probe (c=1) measured no request rate (0 of 8 measured requests succeeded, none inside its window): its sweep stops here',
    });
    assert.deepEqual(
      summary.cells.filter((cell: { model: string }) => cell.model === 'broken').map((cell: { load: unknown }) => cell.load),
      [{ kind: 'concurrency', value: 1 }],
    );
    assert.equal(summary.cells.filter((cell: { model: string }) => cell.model === LLAMA).length, 4);
    assert.ok(out.includes(`  stopped: ${broken.stopped}`), out);
    assert.match(err, /warning: sweep of broken: the synchronous probe \(c=1\) measured no request rate/);
    assert.match(err, /error: a probe measured no request rate, so that model was not swept/);
  }));

test('sweep refuses --repeat, and --rates or --max-concurrency that are not whole numbers in range, before sending anything (exit 2)', async () => {
  const cases: [string[], RegExp][] = [
    [['--repeat', '3'], /sweep takes no --repeat: each sweep plans its rates from its own probes/],
    [['--rates', '0'], /--rates must be a positive integer/],
    [['--rates', '2.5'], /--rates must be a positive integer/],
    [['--max-concurrency', '1'], /--max-concurrency must be an integer of at least 2 \(the synchronous probe is c=1\)/],
  ];
  for (const [args, message] of cases) {
    const io = captureIo();
    assert.equal(await main(['sweep', 'scenarios/sweep.yaml', ...args], io), 2, args.join(' '));
    assert.match(io.err(), message);
  }
});
