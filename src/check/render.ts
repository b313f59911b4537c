/** Threshold and baseline verdicts as terminal lines, Markdown and JUnit cases. Pure. */
import type { Unit } from '../metrics/catalog.js';
import { thresholdUnit } from '../scenario/thresholds.js';
import type { CellKey, Threshold } from '../types.js';
import { escapeMarkdown, escapeMarkdownPipes } from '../util/escape.js';
import { loadLabel, roundedText, signedPercent, signedPoints } from '../util/format.js';
import { textTableLines } from '../util/text-table.js';
import { isProportionRule } from './baseline.js';
import type { JunitCase } from './junit.js';
import type { ThresholdResult } from './thresholds.js';
import type { PlanRow } from './plan.js';
import type { RuleVerdict } from './verdict.js';

/** How a value of each unit reads after its number (a share is shown as a percentage). */
const UNIT_TEXT: Record<Exclude<Unit, 'share'>, string> = { ms: ' ms', tokens: ' tokens', 'tokens/s': ' tok/s', 'req/s': ' req/s', count: '' };

/** A measured value in the threshold's own unit (the catalog's): `612.3 ms`, `1.2%`, `930 tok/s`. */
export function formatMeasured(threshold: Threshold, value: number | undefined): string {
  if (value === undefined) return 'no value';
  const unit = thresholdUnit(threshold);
  return unit === 'share' ? `${roundedText(value * 100)}%` : `${roundedText(value)}${UNIT_TEXT[unit]}`;
}

const where = (result: ThresholdResult): string => (result.cell ? `${result.cell.model} @ ${loadLabel(result.cell.load)}` : 'no cell matched');

/** One line per threshold × cell, failures first. */
export function renderThresholdLines(results: readonly ThresholdResult[]): string {
  if (results.length === 0) return '';
  const sorted = [...results].sort((a, b) => Number(a.ok) - Number(b.ok));
  const lines = sorted.map(
    (r) => `  ${r.ok ? 'ok  ' : 'FAIL'}  ${r.threshold.source}  (${where(r)}: ${r.cell ? formatMeasured(r.threshold, r.measured) : 'the threshold selects no cell'})`,
  );
  const failed = results.filter((r) => !r.ok).length;
  return [`thresholds: ${failed === 0 ? 'all hold' : `${failed} of ${results.length} failed`}`, ...lines, ''].join('\n');
}

export function thresholdCases(results: readonly ThresholdResult[]): JunitCase[] {
  return results.map((r) => ({
    name: r.threshold.source,
    classname: where(r),
    ...(r.ok ? {} : { failure: r.cell ? `measured ${formatMeasured(r.threshold, r.measured)}` : 'the threshold selects no cell' }),
  }));
}

export function renderThresholdMarkdown(title: string, results: readonly ThresholdResult[]): string {
  const failed = results.filter((r) => !r.ok).length;
  const rows = results.map((r) => `| ${r.ok ? '✅' : '❌'} | \`${escapeMarkdownPipes(r.threshold.source)}\` | ${escapeMarkdown(where(r))} | ${r.cell ? formatMeasured(r.threshold, r.measured) : '—'} |`);
  return [
    `### tokenmeter: ${escapeMarkdown(title)}: ${failed === 0 ? 'all thresholds hold' : `${failed} of ${results.length} thresholds failed`}`,
    '',
    '| | threshold | cell | measured |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

const cellName = (cell: CellKey): string => `${cell.model} @ ${loadLabel(cell.load)}`;
const verdictOf = (v: RuleVerdict): string =>
  v.outcome === 'regression' ? 'REGRESSION' : v.outcome === 'inconclusive' ? 'inconclusive' : v.improvement ? 'improved' : 'ok';

const proportion = (v: RuleVerdict): boolean => isProportionRule(v.rule);
/** Change and interval: relative for percentiles, percentage points (`pp`) for proportions. */
// NaN: the run had none of the metric (verdict.ts), so there is no value to show.
const change = (v: RuleVerdict, value: number): string => (Number.isNaN(value) ? '—' : proportion(v) ? signedPoints(value) : signedPercent(value));
const intervalText = (v: RuleVerdict): string => (v.interval ? `[${change(v, v.interval[0])}, ${change(v, v.interval[1])}]` : '—');
// Margins are never negative: the sign is always +.
const allowed = (v: RuleVerdict): string => (proportion(v) ? signedPoints(v.rule.margin) : signedPercent(v.rule.margin, 0));
const valueText = (v: RuleVerdict, value: number): string => (Number.isNaN(value) ? '—' : proportion(v) ? `${roundedText(value * 100, 2)}%` : roundedText(value, 2));
const sizeText = (n: number): string => (Number.isFinite(n) ? String(n) : 'no size (the change sits on the margin)');

/** Why a verdict is inconclusive and what would resolve it: `needs 120 requests/cell; detects +8.2%`. */
export function inconclusiveText(v: RuleVerdict): string {
  const parts = [
    ...(v.reason !== undefined ? [v.reason] : []),
    ...(v.detectable !== undefined ? [`detects ${change(v, v.detectable)} at ${v.samples.current} requests`] : []),
    ...(v.needed !== undefined && v.reason === undefined ? [`resolved by about ${sizeText(v.needed)} requests/cell`] : []),
  ];
  return parts.join('; ');
}

/** The verdict on a check: each rule in each cell, and the baseline cells this run did not produce. */
export interface CheckVerdict {
  verdicts: readonly RuleVerdict[];
  missing: readonly CellKey[];
}

/** One row per cell × rule: baseline, current, change with its bounds, verdict; then why each inconclusive one is. */
export function renderComparisonLines(verdict: CheckVerdict, confidence: number): string {
  const header = ['cell', 'metric', 'baseline', 'current', 'change', `${Math.round(confidence * 100)}% bounds`, 'allowed', 'n', 'verdict'];
  const rows = verdict.verdicts.map((v) => [
    cellName(v.cell),
    v.rule.key,
    valueText(v, v.baseline),
    valueText(v, v.current),
    change(v, v.worsening),
    intervalText(v),
    allowed(v),
    v.repeats ? `${v.samples.baseline}/${v.samples.current} (${v.repeats.baseline}/${v.repeats.current} repeats)` : `${v.samples.baseline}/${v.samples.current}`,
    verdictOf(v),
  ]);
  const regressions = verdict.verdicts.filter((v) => v.outcome === 'regression');
  const failures = [
    ...regressions.map((v) => `${v.rule.key} in ${cellName(v.cell)} ${change(v, v.worsening)}`),
    ...verdict.missing.map((cell) => `${cellName(cell)} is in the baseline but not in this run`),
  ];
  const inconclusive = verdict.verdicts.filter((v) => v.outcome === 'inconclusive');
  return [
    ...textTableLines(header.map((title) => ({ title })), rows),
    '(change: how much worse, + is worse for latencies and throughputs alike; a regression when the lower bound is beyond the allowed margin, ok when the upper bound is within it)',
    ...inconclusive.map((v) => `inconclusive: ${v.rule.key} in ${cellName(v.cell)}: ${inconclusiveText(v)}`),
    failures.length > 0
      ? `${failures.length} regression(s): ${failures.join('; ')}`
      : inconclusive.length > 0
        ? `no regression found, but ${inconclusive.length} verdict(s) inconclusive (\`tokenmeter check --plan BASELINE\` sizes the run)`
        : 'no regression beyond the allowed margins',
    '',
  ].join('\n');
}

export function comparisonCases(verdict: CheckVerdict, failInconclusive = false): JunitCase[] {
  return [
    ...verdict.verdicts.map((v) => ({
      name: `${v.rule.key} within ${allowed(v)}`,
      classname: cellName(v.cell),
      ...(v.outcome === 'regression'
        ? { failure: `${v.rule.key} ${valueText(v, v.baseline)} → ${valueText(v, v.current)} (${change(v, v.worsening)}, bounds ${intervalText(v)})` }
        : v.outcome === 'inconclusive' && failInconclusive
          ? { failure: `inconclusive: ${inconclusiveText(v)}` }
          : {}),
    })),
    ...verdict.missing.map((cell) => ({ name: 'the cell ran', classname: cellName(cell), failure: 'in the baseline, but not in this run' })),
  ];
}

export function renderComparisonMarkdown(title: string, verdict: CheckVerdict): string {
  const failures = verdict.verdicts.filter((v) => v.outcome === 'regression').length + verdict.missing.length;
  const inconclusive = verdict.verdicts.filter((v) => v.outcome === 'inconclusive').length;
  const icon = (v: RuleVerdict) => (v.outcome === 'regression' ? '❌' : v.outcome === 'inconclusive' ? '❔' : v.improvement ? '🟢' : '✅');
  return [
    `### tokenmeter check: ${escapeMarkdown(title)}: ${failures === 0 ? 'no regression' : `${failures} regression(s)`}${inconclusive > 0 ? `, ${inconclusive} inconclusive` : ''}`,
    '',
    '| | cell | metric | baseline | current | change | bounds | allowed | note |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...verdict.verdicts.map(
      (v) =>
        `| ${icon(v)} | ${escapeMarkdown(cellName(v.cell))} | ${v.rule.key} | ${valueText(v, v.baseline)} | ${valueText(v, v.current)} | ${change(v, v.worsening)} | ${intervalText(v)} | ${allowed(v)} | ${v.outcome === 'inconclusive' ? escapeMarkdown(inconclusiveText(v)) : ''} |`,
    ),
    ...verdict.missing.map((cell) => `| ❌ | ${escapeMarkdown(cellName(cell))} | (the cell) | ran | missing | | | | |`),
    '',
  ].join('\n');
}

/** `check --plan`: per cell and rule, the requests per cell a check needs; then the size the scenario needs. */
export function renderPlanLines(rows: readonly PlanRow[]): string {
  const text = (row: PlanRow, value: number) => (isProportionRule(row.rule) ? signedPoints(value) : signedPercent(value, 0));
  const lines = textTableLines(
    ['cell', 'metric', 'margin', 'detect', 'baseline n', 'needed n'].map((title) => ({ title })),
    rows.map((row) => [cellName(row.cell), row.rule.key, text(row, row.rule.margin), text(row, row.effect), String(row.baselineRequests), row.needed === undefined ? '—' : `${row.needed}${row.note ? '+' : ''}`]),
  );
  const known = rows.filter((row) => row.needed !== undefined).map((row) => row.needed!);
  return [
    ...lines,
    '(needed n: requests per cell, in the baseline and in each checked run, for 95% power both to flag a worsening of twice the margin and to call the same build ok; + is a floor)',
    ...rows.filter((row) => row.note !== undefined).map((row) => `${row.rule.key} in ${cellName(row.cell)}: ${row.note}`),
    known.length > 0 ? `load.requests: ${Math.max(...known)} per cell judges every rule` : 'no rule could be sized from this baseline',
    '',
  ].join('\n');
}
