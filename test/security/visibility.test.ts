/**
 * Guests see through the bot only whom the server would show them
 * (docs/mattermost-notes.md §2.3). The real bot against the sandbox server, slash
 * commands typed by erin, a guest in acme:town-square only; ivan is in ops only, so
 * erin may not see him.
 *
 * Each attack is answered exactly as if ivan did not exist: the same reply, byte for
 * byte, and the same API calls — checked by asking once while he exists and once after
 * he is removed from the server — and no call about him (status, teams, memberships,
 * sessions) ever leaves the bot.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedRequest } from '../../src/sandbox/fake-server.js';
import { userIdFor } from '../../src/sandbox/seed.js';
import type { StoredUser } from '../../src/sandbox/store.js';
import { startE2E, type E2E } from '../e2e/support.js';

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E();
}, 30_000);
afterAll(async () => {
  await e2e?.close();
});

const IVAN = userIdFor('ivan');

interface Answer {
  /** the reply as sent */
  text: string;
  /** the reply without the zero-width spaces that keep mentions from notifying */
  plain: string;
  calls: string[];
  requests: RecordedRequest[];
}

/** Runs a slash command as `user` in acme:town-square; the reply and the bot's API calls. */
async function ask(user: string, command: string): Promise<Answer> {
  e2e.fake.clearRequests();
  const r = await e2e.fake.executeSlash(user, 'acme:town-square', command);
  expect(r.error).toBeUndefined();
  const requests = [...e2e.fake.requests];
  const text = r.response?.text ?? '';
  return { text, plain: text.replace(/\u200b/g, ''), calls: requests.map((q) => `${q.method} ${q.path}`), requests };
}

/** The lookups themselves: they carry what the caller typed, for a stranger just the same. */
const LOOKUPS = new Set(['POST /api/v4/users/ids', 'POST /api/v4/users/usernames', 'POST /api/v4/users/search']);

/** Every request past the lookup that names ivan by id, in its path or its body. */
const aboutIvan = (a: Answer): string[] =>
  a.requests
    .filter((q) => !LOOKUPS.has(`${q.method} ${q.path}`))
    .filter((q) => q.path.includes(IVAN) || JSON.stringify(q.body ?? '').includes(IVAN))
    .map((q) => `${q.method} ${q.path}`);

/** The answer while ivan exists (invisible to the caller), then once he is gone from the server. */
async function hiddenThenGone(user: string, command: string): Promise<{ hidden: Answer; gone: Answer }> {
  await ask(user, command); // warm: the caller's rights and view are cached for both runs alike
  const hidden = await ask(user, command);
  const ivan = e2e.fake.store.users.get(IVAN) as StoredUser;
  e2e.fake.store.users.delete(IVAN);
  try {
    const gone = await ask(user, command);
    return { hidden, gone };
  } finally {
    e2e.fake.store.users.set(IVAN, ivan);
  }
}

/** The guarantees for one command: same text and same calls as for nobody, and nothing about ivan. */
async function expectIndistinguishable(command: string, refusal: RegExp): Promise<Answer> {
  const { hidden, gone } = await hiddenThenGone('erin', command);
  expect(hidden.plain).toMatch(refusal);
  expect(hidden.text).toBe(gone.text);
  expect(hidden.calls).toEqual(gone.calls);
  expect(aboutIvan(hidden)).toEqual([]);
  return hidden;
}

describe('a guest asking about someone outside their channels', () => {
  it('whois @ivan: "No one matches", as for nobody; no status, teams or profile call', async () => {
    const a = await expectIndistinguishable('/whois @ivan', /No one matches/);
    expect(a.calls.some((c) => c.includes('/status') || c.includes('/teams'))).toBe(false);
  });

  it('whois by bare name, by id and by email: the same', async () => {
    await expectIndistinguishable('/whois ivan', /No one matches/);
    await expectIndistinguishable(`/whois ${IVAN}`, /No one matches/);
    await expectIndistinguishable('/whois ivan@acme.example', /No one matches/);
  });

  it('status @ivan, alone and in a batch: no status is read for him', async () => {
    const one = await expectIndistinguishable('/mmops status @ivan', /No one matches/);
    expect(one.calls.filter((c) => c.includes('/status'))).toEqual([]);
    const batch = await expectIndistinguishable('/mmops status @ivan @bob', /Not found: @ivan/);
    expect(batch.plain).toContain('@bob');
    // bob's status was read, ivan's was not (aboutIvan above checked every body)
    expect(batch.calls).toContain('POST /api/v4/users/status/ids');
  });

  it('whois search and whois complete leave him out', async () => {
    await expectIndistinguishable('/whois search ivan', /No one matches/);
    await expectIndistinguishable('/whois complete iv', /No usernames start with/);
  });

  it('members and teams of an invisible person: answered as for nobody, no membership read', async () => {
    const members = await expectIndistinguishable('/members ~town-square @ivan', /Not found: @ivan/);
    expect(members.calls.filter((c) => c.includes('/members/'))).toEqual([]);
    await expectIndistinguishable('/teams member acme @ivan', /No one matches/);
    // someone else's teams need a right erin lacks: refused alike whether ivan exists or not
    await expectIndistinguishable('/teams @ivan', /You need/);
  });
});

describe('what still works', () => {
  it('a guest sees the people in their channels, with status and card', async () => {
    const card = await ask('erin', '/whois @bob');
    expect(card.text).toContain('Bob Builder');
    expect(card.text).toContain('Status');
    expect((await ask('erin', '/mmops status @bob')).text).toContain('Away');
    expect((await ask('erin', '/whois search bob')).plain).toContain('@bob');
  });

  it('a member (view_members) still sees everyone, ivan included', async () => {
    const card = await ask('dave', '/whois @ivan');
    expect(card.text).toContain('Ivan Nightly');
    expect(card.calls).toContain(`GET /api/v4/users/${IVAN}/status`);
    expect((await ask('dave', '/whois search ivan')).plain).toContain('@ivan');
    expect((await ask('dave', '/whois complete iv')).plain).toContain('@ivan');
  });

  it('once ivan shares a channel with erin she sees him (the bot learns it from the membership event)', async () => {
    expect((await ask('erin', '/whois @ivan')).text).toMatch(/No one matches/);
    await e2e.fake.executeSlash('alice', 'acme:town-square', '/team add acme @ivan');
    // joining acme puts ivan in town-square, erin's channel: the bot drops its cached view
    const after = await ask('erin', '/whois @ivan');
    expect(after.text).toContain('Ivan Nightly');
  });
});
