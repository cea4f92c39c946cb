/**
 * The contract report as a plain-text table: one row per check with the sandbox result, the
 * real server's result (in --url mode), and for every difference the part of the bot that
 * depends on the behaviour.
 */
import type { SuiteReport } from './runner.js';
import type { Check, CheckResult } from './types.js';

export interface Difference {
  id: string;
  sandbox: CheckResult | undefined;
  real: CheckResult | undefined;
  dependsOn: string;
  notes: string;
}

const cell = (r: CheckResult | undefined): string => (r ? `${r.status}: ${r.detail}` : '-');

/** Checks whose status differs between the two runs (a skip on one side is not a difference). */
export function differences(checks: readonly Pick<Check, 'id' | 'dependsOn' | 'notes'>[], sandbox: SuiteReport, real: SuiteReport): Difference[] {
  const out: Difference[] = [];
  for (const c of checks) {
    const s = sandbox.results.find((r) => r.id === c.id);
    const r = real.results.find((x) => x.id === c.id);
    if (!s || !r || s.status === 'skip' || r.status === 'skip') continue;
    if (s.status !== r.status) out.push({ id: c.id, sandbox: s, real: r, dependsOn: c.dependsOn, notes: c.notes });
  }
  return out;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

/** Renders the table; `real` is absent in sandbox-only mode. */
export function renderTable(checks: readonly Pick<Check, 'id'>[], sandbox: SuiteReport, real?: SuiteReport, width = 60): string {
  const lines: string[] = [];
  const idW = Math.max(5, ...checks.map((c) => c.id.length));
  const header = real ? [pad('check', idW), pad('sandbox', width), 'real server'] : [pad('check', idW), 'result'];
  lines.push(header.join('  '));
  lines.push('-'.repeat(idW + 2 + (real ? width + 2 + width : width)));
  for (const c of checks) {
    const s = sandbox.results.find((r) => r.id === c.id);
    const r = real?.results.find((x) => x.id === c.id);
    if (!s && !r) continue;
    const row = real ? [pad(c.id, idW), pad(clip(cell(s), width), width), clip(cell(r), width)] : [pad(c.id, idW), clip(cell(s), width * 2)];
    lines.push(row.join('  ').trimEnd());
  }
  return lines.join('\n');
}

export function summarize(report: SuiteReport): string {
  const n = (st: string) => report.results.filter((r) => r.status === st).length;
  const version = report.version ? ` (X-Version-Id ${report.version})` : '';
  return `${report.target}${version}: ${n('pass')} passed, ${n('fail')} failed, ${n('skip')} skipped`;
}

export function renderDifferences(diffs: readonly Difference[]): string {
  if (diffs.length === 0) return 'No differences between the sandbox and the real server.';
  const lines = [`${diffs.length} difference(s) between the sandbox and the real server:`];
  for (const d of diffs) {
    lines.push(`- ${d.id} (docs/mattermost-notes.md ${d.notes})`);
    lines.push(`    sandbox: ${cell(d.sandbox)}`);
    lines.push(`    real:    ${cell(d.real)}`);
    lines.push(`    the bot depends on it in: ${d.dependsOn}`);
  }
  return lines.join('\n');
}
