/**
 * End to end: fair under load. One person's flood gets "busy" answers at once while
 * everyone else is still answered, over DMs and slash commands alike.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { userIdFor } from '../../src/sandbox/seed.js';
import { startE2E, waitFor, type E2E } from './support.js';

const BOT_ID = userIdFor('mmops');

let e2e: E2E | undefined;
afterEach(async () => {
  await e2e?.close();
  e2e = undefined;
});

const dmChannelId = (x: E2E, user: string): string | undefined => {
  const name = [userIdFor(user), BOT_ID].sort().join('__');
  return [...x.fake.store.channels.values()].find((c) => c.name === name)?.id;
};
const dmAnswers = (x: E2E, user: string): string[] =>
  x.fake.posts.filter((p) => p.channel_id === dmChannelId(x, user) && p.user_id === BOT_ID).map((p) => p.message);

const LIMITS = { MMOPS_USER_RUNNING: '1', MMOPS_USER_QUEUED: '1' };

describe('fair under load', () => {
  it("answers a DM flood beyond one person's limits with \"busy\", while another person's DM is answered", async () => {
    e2e = await startE2E({ env: LIMITS });
    const { fake, log } = e2e;
    fake.faults.latencyMs = 100; // each command takes a few round trips
    for (let i = 0; i < 6; i++) await fake.postAs('alice', '@mmops', `whois @ann`);
    await fake.postAs('bob', '@mmops', 'whois @ann');

    const bobs = await waitFor(() => dmAnswers(e2e!, 'bob').length > 0 && dmAnswers(e2e!, 'bob'), "bob's answer", 15_000);
    expect(bobs[0]).toMatch(/Ann/);
    expect(bobs[0]).not.toMatch(/busy/i);

    // alice: one ran, one waited, four were refused at once (never silently: each is logged
    // and answered; answers waiting for the same thread are folded into one post)
    const refused = log.entries.filter((e) => e.msg === 'command refused: this user has too many commands running and waiting');
    expect(refused).toHaveLength(4);
    expect(refused.every((e) => e.fields.userId === userIdFor('alice'))).toBe(true);
    const alices = await waitFor(
      () => {
        const a = dmAnswers(e2e!, 'alice');
        return a.filter((m) => /Ann/.test(m)).length === 2 && a.some((m) => /busy/i.test(m)) && a;
      },
      "alice's answers",
      15_000,
    );
    expect(alices.filter((m) => /try again in a moment/.test(m)).length).toBeGreaterThanOrEqual(1);
    expect(log.entries.some((e) => e.msg === 'busy answer not posted: too many threads are waiting for one')).toBe(false);
  });

  it('answers a slash flood beyond the limits with an immediate "busy" ephemeral answer', async () => {
    e2e = await startE2E({ env: LIMITS });
    const { fake } = e2e;
    fake.faults.latencyMs = 150;
    const results = await Promise.all([
      ...Array.from({ length: 4 }, () => fake.executeSlash('alice', 'acme:town-square', '/whois @ann')),
      fake.executeSlash('bob', 'acme:town-square', '/whois @ann'),
    ]);
    const text = (i: number): string => [...(results[i]?.ephemeral ?? []), ...(results[i]?.posts ?? [])].map((p) => p.message).join('\n');
    const alice = [0, 1, 2, 3].map(text);
    expect(alice.filter((t) => /try again in a moment/.test(t))).toHaveLength(2);
    expect(results.every((r) => r.status === 200 && r.error === undefined)).toBe(true);
    expect(text(4)).toMatch(/Ann/);
    expect(text(4)).not.toMatch(/busy/i);
  });
});
