/**
 * `/mmops status` and `/mmops status set` through the real pipeline against the fake
 * Mattermost server (demo seed, plus 250 extra people for batch sizes).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import status from '../../commands/status.js';
import whois from '../../commands/whois.js';
import { userIdFor } from '../../src/sandbox/seed.js';
import { createHarness, type Harness } from '../helpers/harness.js';
import { demoSeedWithUsers, expectSafeRendering, extraName, plain, requestsTo, tableRows } from './lib/fixtures.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ commands: [status, whois], seed: demoSeedWithUsers(250) });
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => h.fake.clearRequests());

const statusPuts = () => requestsTo(h.fake.requests, 'PUT', /^\/api\/v4\/users\/[^/]+\/status$/);

describe('status (show)', () => {
  it('shows your own status', async () => {
    const { result, text } = await h.run('alice', 'status');
    expect(result.outcome).toBe('ok');
    expect(text).toContain('Your status');
    expect(text).toContain('🟢 Online');
    expect(text).toContain('automatic');
    expect(text).toMatch(/1 min ago/);
    expect(requestsTo(h.fake.requests, 'GET', new RegExp(`/users/${userIdFor('alice')}/status$`))).toHaveLength(1);
  });

  it('shows one person with DND end time (seconds on the wire) and manual flag', async () => {
    const { text } = await h.run('dave', 'status @carol');
    expect(text).toContain('Carol Manager');
    expect(text).toContain('⛔ Do not disturb');
    expect(text).toContain('manual');
    expect(text).toMatch(/in 2 h/);
    expect(text).toMatch(/10 min ago/);
  });

  it('answers a list in one table, naming unknown and ambiguous people while answering the rest', async () => {
    const { result, text } = await h.run('dave', 'status @bob nobody Lee @carol @ghost');
    expect(result.outcome).toBe('ok');
    const rows = tableRows(text);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toContain('Bob Builder');
    expect(rows[0]).toContain('🟡 Away');
    expect(rows[1]).toContain('Carol Manager');
    expect(plain(rows[1] ?? '')).toMatch(/⛔ Do not disturb \| manual \| 10 min ago \| .* \(in 2 h\) \|$/);
    expect(text).toContain('| DND until |');
    expect(text).toMatch(/Not found: nobody, @\u200bghost/);
    expect(text).toMatch(/Lee matches several people: @\u200bann, @\u200banna/);
    expect(result.reply.tone).toBe('warning');
  });

  it('lists the candidates for one ambiguous name', async () => {
    const { text } = await h.run('dave', 'status Lee');
    expect(text).toContain('@\u200bann');
    expect(text).toContain('@\u200banna');
    expect(text).toMatch(/`\/mmops status @\u200bann`/);
  });

  it('says who is not found for one unknown name', async () => {
    const { result, text } = await h.run('dave', 'status @nobody');
    expect(result.outcome).toBe('user_error');
    expect(text).toContain('No one matches');
  });

  it('serves 100 people with one username batch and one status batch', async () => {
    const refs = Array.from({ length: 100 }, (_, i) => `@${extraName(i)}`);
    await h.run('dave', 'status'); // warm the caller's permission cache
    h.fake.clearRequests();
    const { result, text } = await h.run('dave', `status ${refs.join(' ')}`);
    expect(result.outcome).toBe('ok');
    expect(tableRows(text)).toHaveLength(100);
    const names = requestsTo(h.fake.requests, 'POST', /\/users\/usernames$/);
    const statuses = requestsTo(h.fake.requests, 'POST', /\/users\/status\/ids$/);
    expect(names).toHaveLength(1);
    expect(names[0]?.body).toHaveLength(100);
    expect(statuses).toHaveLength(1);
    expect(statuses[0]?.body).toHaveLength(100);
    expect(requestsTo(h.fake.requests, 'GET', /\/status$/)).toHaveLength(0);
    expect(requestsTo(h.fake.requests, 'GET', /^\/api\/v4\/users\/[^/]+$/)).toHaveLength(0);
  });

  it('takes up to 200 people and refuses more', async () => {
    const ok = await h.run('dave', `status ${Array.from({ length: 200 }, (_, i) => `@${extraName(i)}`).join(' ')}`);
    expect(tableRows(ok.text)).toHaveLength(200);
    h.fake.clearRequests();
    const tooMany = await h.run('dave', `status ${Array.from({ length: 201 }, (_, i) => `@${extraName(i)}`).join(' ')}`);
    expect(tooMany.result.outcome).toBe('user_error');
    expect(tooMany.text).toMatch(/at most 200/);
    expect(requestsTo(h.fake.requests, 'POST', /\/users\/status\/ids$/)).toHaveLength(0);
  });

  it('renders hostile names safely in cards and tables', async () => {
    const one = await h.run('dave', 'status @mallory');
    expectSafeRendering(one.text);
    const many = await h.run('dave', 'status @mallory @bob @erin');
    expectSafeRendering(many.text);
    expect(tableRows(many.text)).toHaveLength(3);
    expect(many.text).toContain('…'); // the 270-character name is clipped
  });
});

describe('status set', () => {
  it('sets your own DND with an end time, sent in seconds, and confirms what the server returned', async () => {
    const before = Date.now();
    const { result, text } = await h.run('dave', 'status set dnd --until 2h');
    expect(result.outcome).toBe('ok');
    expect(text).toContain('You are now ⛔ Do not disturb');
    expect(text).toMatch(/in 2 h/);
    expect(text).not.toContain('did not keep');
    const [put] = statusPuts();
    const body = put?.body as { user_id: string; status: string; dnd_end_time: number };
    expect(body.user_id).toBe(userIdFor('dave'));
    expect(body.status).toBe('dnd');
    const expected = Math.floor((before + 2 * 3_600_000) / 1000);
    expect(body.dnd_end_time).toBeGreaterThanOrEqual(expected - 5);
    expect(body.dnd_end_time).toBeLessThan(expected + 60);
    expect(h.fake.store.statuses.get(userIdFor('dave'))?.status).toBe('dnd');
  });

  it('says so when the server drops the end time (5.37: TimedDND off) instead of implying one', async () => {
    const old = await createHarness({ commands: [status, whois], version: '5.37' });
    try {
      const { result, text } = await old.run('dave', 'status set dnd --until 2h');
      expect(result.outcome).toBe('ok');
      expect(result.reply.tone).toBe('warning');
      expect(text).toContain('You are now ⛔ Do not disturb');
      expect(text).toContain('Mattermost did not keep the end time you asked for');
      expect(text).toContain('until changed');
      expect(text).not.toMatch(/in 2 h/);
      // the end time was asked for, and the server's answer (0) is what the reply follows
      const put = requestsTo(old.fake.requests, 'PUT', /^\/api\/v4\/users\/[^/]+\/status$/)[0];
      expect((put?.body as { dnd_end_time: number }).dnd_end_time).toBeGreaterThan(0);
      expect(old.fake.store.statuses.get(userIdFor('dave'))).toMatchObject({ status: 'dnd', dnd_end_time: 0 });
      // without --until nothing is said about an end time
      const plainDnd = await old.run('dave', 'status set dnd');
      expect(plainDnd.result.reply.tone).toBe('ok');
      expect(plainDnd.text).not.toContain('did not keep');
    } finally {
      await old.close();
    }
  });

  it('re-joins `--until tomorrow 9:00` and reads it in the caller\u2019s zone (bob: Europe/Berlin)', async () => {
    const { result } = await h.run('bob', 'status set dnd --until tomorrow 9:00');
    expect(result.outcome).toBe('ok');
    const body = statusPuts()[0]?.body as { dnd_end_time: number };
    const end = new Date(body.dnd_end_time * 1000);
    const berlin = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(end);
    expect(berlin).toBe('09:00');
    expect(end.getTime() - Date.now()).toBeGreaterThan(0);
    expect(end.getTime() - Date.now()).toBeLessThan(2 * 86_400_000);
  });

  it('sets online for yourself without an end time', async () => {
    const { text } = await h.run('dave', 'status set online');
    expect(text).toContain('You are now 🟢 Online');
    expect((statusPuts()[0]?.body as { dnd_end_time?: number }).dnd_end_time ?? 0).toBe(0);
  });

  it('refuses another person\u2019s status without edit_other_users, and calls nothing privileged', async () => {
    const { result, text } = await h.run('dave', 'status set away @bob');
    expect(result.outcome).toBe('refused');
    expect(text).toContain('edit_other_users');
    expect(statusPuts()).toHaveLength(0);
    expect(h.audits.some((a) => a.ref === result.ref && a.outcome === 'refused')).toBe(true);
  });

  it('lets the help desk set someone else\u2019s status, but not a system admin\u2019s', async () => {
    const ok = await h.run('heidi', 'status set away @bob');
    expect(ok.result.outcome).toBe('ok');
    expect(ok.text).toContain('Bob Builder');
    expect(ok.text).toContain('is now 🟡 Away');
    expect(statusPuts()).toHaveLength(1);
    h.fake.clearRequests();
    const admin = await h.run('heidi', 'status set away @alice');
    expect(admin.result.outcome).toBe('refused');
    expect(admin.text).toContain('manage_system');
    expect(statusPuts()).toHaveLength(0);
  });

  it('does not reveal who exists to a caller who could not act on others', async () => {
    const { result } = await h.run('dave', 'status set away Lee');
    expect(result.outcome).toBe('refused');
    const heidi = await h.run('heidi', 'status set away Lee');
    expect(heidi.text).toContain('@\u200bann');
    expect(heidi.text).toContain('@\u200banna');
    expect(statusPuts()).toHaveLength(0);
  });

  it('explains bad input, with the usage as the person types it', async () => {
    const run = async (u: string, t: string) => plain((await h.run(u, t)).text);
    expect(await run('dave', 'status set')).toMatch(/online, away, dnd or offline/);
    const until = await run('dave', 'status set away --until 2h');
    expect(until).toMatch(/--until only works with dnd/);
    expect(until).toContain('Usage: `/mmops status set online|away|dnd|offline');
    expect(await run('dave', 'status set dnd --until later')).toMatch(/can't read "later"/);
    expect(await run('heidi', 'status set away @bob @carol')).toMatch(/one person/);
    expect(statusPuts()).toHaveLength(0);
  });
});
