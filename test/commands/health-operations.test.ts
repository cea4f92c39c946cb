/**
 * `/health`'s failed jobs, plugins and licence expiry: flagged from the sandbox's jobs,
 * plugin statuses and licence, each shown only to callers the server would show it to
 * (and then not read at all), and judged purely from the probes.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Job, PluginStatus } from '../../src/mattermost/models.js';
import { buildHealthReport, type Probe } from '../../src/services/health-check.js';
import { userIdFor } from '../../src/sandbox/seed.js';
import { createHarness, type Harness } from '../helpers/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
  const base = h.fake.store.roles.get('system_user');
  if (!base) throw new Error('no system_user role');
  // grace: manage_system only (enough for /health), without plugin or licence reading rights
  h.fake.store.roles.set('opsonly', { ...base, id: 'opsonlyroleid0000000000000', name: 'opsonly', display_name: 'Ops only', built_in: false, scheme_managed: false, permissions: ['manage_system'] });
  const grace = h.fake.store.users.get(userIdFor('grace'));
  if (!grace) throw new Error('no grace');
  grace.roles = 'system_user opsonly';
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => h.fake.clearRequests());

const asked = (path: string): boolean => h.fake.requests.some((q) => q.path === `/api/v4${path}`);

describe('/health: jobs, plugins, licence', () => {
  it('flags last night\u2019s failed job, the crashed plugin and the licence near its end', async () => {
    const { result, text } = await h.run('alice', 'health');
    expect(result.outcome).toBe('ok');
    expect(text).toContain('1 ldap\\_sync job failed in the last 24 hours');
    expect(text).toContain('Plugin Standup failed to stay running\\: plugin process exited\\: signal\\: killed');
    expect(text).toMatch(/The licence expires in (19|20) days/);
    expect(text).toContain('**Jobs, plugins and licence**');
    expect(text).toContain('1 running');
  });

  it('leaves plugins and the licence out for a caller without their rights, and reads neither', async () => {
    const { result, text } = await h.run('grace', 'health');
    expect(result.outcome).toBe('ok');
    expect(text).toContain('you need sysconsole\\_read\\_plugins');
    expect(text).toContain('you need read\\_license\\_information');
    expect(text).not.toContain('Standup');
    expect(text).not.toMatch(/licence expires/);
    expect(asked('/plugins/statuses')).toBe(false);
    expect(asked('/license/client')).toBe(false);
    // jobs: manage_system is enough (a system admin reads every job type)
    expect(text).toContain('ldap\\_sync job failed');
  });

  it('refuses a caller without manage_system before reading any of it', async () => {
    const { result } = await h.run('bob', 'health');
    expect(result.outcome).toBe('refused');
    expect(asked('/jobs')).toBe(false);
    expect(asked('/plugins/statuses')).toBe(false);
  });
});

describe('judging jobs, plugins and the licence', () => {
  const day = 86_400_000;
  const now = 100 * day;
  const ok = <T>(value: T): Probe<T> => ({ ok: true, value, ms: 1 });
  const job = (status: string, at: number, type = 'ldap_sync'): Job => ({ id: `j${at}`, type, status, create_at: at, start_at: at, last_activity_at: at });
  const plugin = (id: string, state: number): PluginStatus => ({ plugin_id: id, cluster_id: '', state, error: '', name: id, version: '1' });
  const base = { ping: ok({ status: 'OK' }), cluster: ok([]), saml: ok({ idp_certificate_file: false, public_certificate_file: false, private_key_file: false }), checkedAt: now };

  it('flags only failures of the last 24 h, plugins not running, and a licence under 30 days', () => {
    const r = buildHealthReport({
      ...base,
      jobs: ok([job('error', now - 2 * day), job('error', now - 3_600_000, 'data_retention'), job('success', now - 60_000)]),
      plugins: ok([plugin('a', 2), plugin('b', 3), plugin('c', 0)]),
      license: ok({ IsLicensed: 'true', ExpiresAt: String(now + 29 * day + 1) }),
    });
    expect(r.flags.map((f) => f.key)).toEqual(['jobs:data_retention:failed', 'plugins:b:', 'plugins:c:', 'license:expiry']);
    expect(r.verdict).toBe('degraded');
  });

  it('is healthy with a licence 30 days or more away and every plugin running', () => {
    const r = buildHealthReport({ ...base, jobs: ok([]), plugins: ok([plugin('a', 2)]), license: ok({ IsLicensed: 'true', ExpiresAt: String(now + 30 * day) }) });
    expect(r.flags).toEqual([]);
    expect(r.operations?.license.daysLeft).toBe(30);
  });
});
