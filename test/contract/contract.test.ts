/**
 * The contract suite against the in-process sandbox (the same checks `npm run contract` runs,
 * and, with --url, runs against a real server): every check must pass here, and a sandbox that
 * breaks an assumption must make the matching check fail.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_CHECKS } from '../../src/contract/checks/index.js';
import { runSuite, type SuiteReport } from '../../src/contract/runner.js';
import { startContractSandbox, type ContractSandbox } from '../../src/contract/sandbox-target.js';
import { tokenFor, userIdFor } from '../../src/sandbox/seed.js';
import { differences, renderDifferences, renderTable } from '../../src/contract/table.js';

describe('contract suite against the sandbox', () => {
  let sb: ContractSandbox;
  let report: SuiteReport;

  beforeAll(async () => {
    sb = await startContractSandbox();
    report = await runSuite(sb.target, ALL_CHECKS);
  }, 120_000);
  afterAll(async () => {
    await sb.close();
  });

  it('runs every check and every one passes', () => {
    expect(report.aborted).toBeUndefined();
    expect(report.results.map((r) => r.id)).toEqual(ALL_CHECKS.map((c) => c.id));
    const notPassing = report.results.filter((r) => r.status !== 'pass').map((r) => `${r.id}: ${r.status}: ${r.detail}`);
    expect(notPassing).toEqual([]);
    expect(report.cleanupFailures).toEqual([]);
    expect(report.version).toMatch(/^\d+\.\d+\.\d+\./);
  });

  it('check ids are unique and each names the notes section and what depends on it', () => {
    const ids = ALL_CHECKS.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const c of ALL_CHECKS) {
      expect(c.notes, c.id).toMatch(/§\d/);
      expect(c.dependsOn.length, c.id).toBeGreaterThan(5);
    }
  });
});

describe('contract checks fail when the server breaks an assumption', () => {
  let sb: ContractSandbox;
  beforeAll(async () => {
    sb = await startContractSandbox();
  });
  afterAll(async () => {
    await sb.close();
  });

  it('a server error on POST /users/ids fails rest.users.lookup and nothing else', async () => {
    sb.fake.faults.failNext('POST', /\/users\/ids$/, 500);
    const r = await runSuite(sb.target, ALL_CHECKS, { only: ['rest.users.lookup', 'rest.status'] });
    expect(r.results.find((x) => x.id === 'rest.users.lookup')).toMatchObject({ status: 'fail' });
    expect(r.results.find((x) => x.id === 'rest.users.lookup')?.detail).toContain('500');
    expect(r.results.find((x) => x.id === 'rest.status')?.status).toBe('pass');
  });

  it('a 401 with another id is not taken for a rejected token', async () => {
    sb.fake.faults.failNext('GET', /\/users\/me$/, 401, 1, 'api.user.update_active.not_enable.app_error');
    const r = await runSuite(sb.target, ALL_CHECKS, { only: ['rest.errors.401'] });
    // set-up's own GET /users/me takes the injected failure: the run reports it instead of passing
    expect(r.aborted ?? r.results[0]?.status).not.toBe('pass');
  });

  it('perm.visibility with a guest caller: the bot hides whom the server hides; a server that hides more fails it', async () => {
    const guest = { ...sb.target, userToken: tokenFor('erin') };
    const r = await runSuite(guest, ALL_CHECKS, { only: ['perm.visibility'] });
    expect(r.results[0]).toMatchObject({ status: 'pass' });
    expect(r.results[0]?.detail).toMatch(/^restricted caller: \d+ people agree \(\d+ visible, [1-9]\d* hidden\)$/);
    // the server now hides a person the bot (from memberships) still shows to the guest
    sb.fake.faults.failNext('GET', new RegExp(`/users/${userIdFor('ann')}$`), 404);
    const broken = await runSuite(guest, ALL_CHECKS, { only: ['perm.visibility'] });
    expect(broken.results[0]?.status).toBe('fail');
    expect(broken.results[0]?.detail).toContain('bot shows, GET /users/{id} 404');
  });

  it('actions.ephemeral-update tells a current server from an old one; actions.errors fails when the click route answers otherwise', async () => {
    const current = await runSuite(sb.target, ALL_CHECKS, { only: ['actions.ephemeral-update'] });
    expect(current.results[0]?.detail).toContain('current server');
    sb.fake.store.config.actionsCompat = 'old';
    const old = await runSuite(sb.target, ALL_CHECKS, { only: ['actions.ephemeral-update'] });
    sb.fake.store.config.actionsCompat = 'current';
    expect(old.results[0]).toMatchObject({ status: 'pass' });
    expect(old.results[0]?.detail).toContain('old server (404 app.post.get.app_error after the call)');
    // a server whose click route answers 500 instead of the action-integration 400
    sb.fake.faults.failNext('POST', /\/actions\/mmopsok$/, 500);
    const broken = await runSuite(sb.target, ALL_CHECKS, { only: ['actions.errors'] });
    expect(broken.results[0]?.status).not.toBe('pass');
  });

  it('a wrong token on set-up stops the run with a message that does not contain the token', async () => {
    const r = await runSuite({ ...sb.target, adminToken: 'nottherighttoken0000000000' }, ALL_CHECKS);
    expect(r.results).toEqual([]);
    expect(r.aborted).toMatch(/admin token: GET \/users\/me → 401 api\.context\.session_expired\.app_error/);
    expect(r.aborted).not.toContain('nottherighttoken');
  });
});

describe('contract suite against the sandbox playing Mattermost 5.37', () => {
  let sb: ContractSandbox;
  let report: SuiteReport;

  beforeAll(async () => {
    sb = await startContractSandbox({ version: '5.37' });
    report = await runSuite(sb.target, ALL_CHECKS);
  }, 120_000);
  afterAll(async () => {
    await sb.close();
  });

  it('every check passes, on the paths of a server before 6.1 where they differ (what a real 5.37 answered)', () => {
    expect(report.aborted).toBeUndefined();
    expect(report.version).toMatch(/^5\.37\.0\./);
    const notPassing = report.results.filter((r) => r.status !== 'pass').map((r) => `${r.id}: ${r.status}: ${r.detail}`);
    expect(notPassing).toEqual([]);
    const detail = (id: string) => report.results.find((r) => r.id === id)?.detail ?? '';
    expect(detail('rest.catchup.channels')).toBe('before 6.1: GET /users/{id}/channels 404; team by team: channels parsed, DMs/GMs included with team_id ""');
    expect(detail('actions.errors')).toBe('503 → 400; non-JSON → 400; empty body → 400 (before 5.38)');
    expect(detail('actions.ephemeral-update')).toContain('old server');
    expect(report.cleanupFailures).toEqual([]);
  });
});

describe('contract table', () => {
  const checks = ALL_CHECKS.slice(0, 2);
  const mk = (target: string, statuses: string[]): SuiteReport => ({
    target,
    version: '10.5.0',
    cleanupFailures: [],
    results: checks.map((c, i) => ({ id: c.id, status: statuses[i] as 'pass' | 'fail' | 'skip', detail: `d${i}`, ms: 1 })),
  });

  it('lists a difference with the part of the bot that depends on it', () => {
    const sandbox = mk('sandbox', ['pass', 'pass']);
    const real = mk('https://chat.example.com', ['pass', 'fail']);
    const diffs = differences(checks, sandbox, real);
    expect(diffs.map((d) => d.id)).toEqual([checks[1]?.id]);
    const text = renderDifferences(diffs);
    expect(text).toContain(checks[1]?.dependsOn ?? 'x');
    expect(renderTable(checks, sandbox, real)).toMatch(/check\s+sandbox\s+real server/);
  });

  it('a skip on one side is not a difference', () => {
    expect(differences(checks, mk('sandbox', ['pass', 'pass']), mk('real', ['skip', 'pass']))).toEqual([]);
  });
});
