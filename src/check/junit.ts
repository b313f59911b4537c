/**
 * JUnit XML, the format CI systems (GitHub Actions reporters, GitLab, Jenkins)
 * read test results from: one <testsuite> per kind of check, one <testcase>
 * per threshold × cell or compared metric × cell. Pure.
 */
import { escapeXml } from '../util/escape.js';

export interface JunitCase {
  name: string;
  /** Groups cases in CI views: the cell (`model @ c=8`). */
  classname: string;
  /** Set when the case failed: what was measured against what was allowed. */
  failure?: string;
}

export interface JunitSuite {
  name: string;
  cases: JunitCase[];
}

export function renderJunit(suites: readonly JunitSuite[]): string {
  const count = (cases: readonly JunitCase[]) => cases.length;
  const failed = (cases: readonly JunitCase[]) => cases.filter((c) => c.failure !== undefined).length;
  const all = suites.flatMap((suite) => suite.cases);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="tokenmeter" tests="${count(all)}" failures="${failed(all)}" errors="0">`,
  ];
  for (const suite of suites) {
    lines.push(`  <testsuite name="${escapeXml(suite.name)}" tests="${count(suite.cases)}" failures="${failed(suite.cases)}" errors="0" skipped="0">`);
    for (const testCase of suite.cases) {
      const open = `    <testcase name="${escapeXml(testCase.name)}" classname="${escapeXml(testCase.classname)}" time="0"`;
      if (testCase.failure === undefined) lines.push(`${open}/>`);
      else lines.push(`${open}>`, `      <failure message="${escapeXml(testCase.failure)}" type="failure">${escapeXml(testCase.failure)}</failure>`, '    </testcase>');
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>', '');
  return lines.join('\n');
}
