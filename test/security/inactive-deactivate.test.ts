/**
 * `users inactive`'s **Deactivate these N** button (Reply.followUps, signed by
 * src/services/confirmations.ts as kind `start`): a click starts the batch deactivation
 * of exactly the listed people, by id, with its preview and Confirm — it deactivates
 * nobody by itself — and a caller without the right to deactivate others gets no button.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeMattermost, Post, RecordedRequest } from '../../src/sandbox/fake-server.js';
import { userIdFor } from '../../src/sandbox/seed.js';
import { startE2E, type E2E } from '../e2e/support.js';
import { actionIds, botCalls, SECRET } from './interactions-support.js';

let e2e: E2E | undefined;
afterEach(async () => {
  await e2e?.close();
  e2e = undefined;
});

const deactivations = (fake: FakeMattermost): RecordedRequest[] => botCalls(fake, 'PUT', /^\/api\/v4\/users\/[a-z0-9]+\/active$/);
const withButtons = (posts: Post[]): Post | undefined => posts.find((p) => Array.isArray((p.props as { attachments?: unknown[] } | undefined)?.attachments));

describe('users inactive: Deactivate these N', () => {
  it('starts the batch deactivation of the listed people: a preview with Confirm, nobody deactivated until then', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    const r = await fake.executeSlash('alice', 'acme:town-square', '/users inactive --days 1');
    expect(r.error).toBeUndefined();
    const list = withButtons(r.ephemeral);
    if (!list) throw new Error(`no button: ${JSON.stringify(r.ephemeral.map((p) => p.message))}`);
    const n = Number(/\*\*(\d+)\*\* (people|person)/.exec(list.message)?.[1]);
    expect(n).toBeGreaterThan(0);
    expect(actionIds(list)).toEqual(['start0']);
    expect(JSON.stringify(list.props)).toContain(`Deactivate these ${Math.min(n, 40)}`);
    const activeBefore = [...fake.store.users.values()].filter((u) => u.delete_at === 0).length;

    const before = fake.ephemeral.length;
    const click = await fake.clickAction('alice', list.id, 'start0');
    expect(click.status).toBe(200);
    // the preview, with Confirm/Cancel, as an ephemeral post for alice; nothing changed yet
    const preview = withButtons(fake.ephemeral.slice(before).filter((e) => e.userId === userIdFor('alice')).map((e) => e.post));
    if (!preview) throw new Error('no preview');
    expect(preview.message).toContain('Will deactivate');
    expect(preview.message).toContain('Nothing has been changed yet');
    expect(actionIds(preview)).toEqual(['confirm', 'cancel']);
    expect(deactivations(fake)).toEqual([]);
    expect([...fake.store.users.values()].filter((u) => u.delete_at === 0).length).toBe(activeBefore);
    // Ivan (inactive in the seed) is among those it would deactivate, by the listed id
    expect(preview.message).toContain('Ivan');

    // a second click on the list's button does nothing more
    await fake.clickAction('alice', list.id, 'start0');
    expect(deactivations(fake)).toEqual([]);

    // Confirm carries it out
    await fake.clickAction('alice', preview.id, 'confirm');
    expect(deactivations(fake).length).toBeGreaterThan(0);
  }, 30_000);

  it('gives no button to a caller who may not deactivate others, and nobody else may click it', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    const r = await fake.executeSlash('bob', 'acme:town-square', '/users inactive --days 1');
    expect(r.error).toBeUndefined();
    expect(r.ephemeral.some((p) => p.message.includes('with no activity'))).toBe(true);
    expect(withButtons(r.ephemeral)).toBeUndefined();

    const mine = withButtons((await fake.executeSlash('alice', 'acme:town-square', '/users inactive --days 1')).ephemeral);
    if (!mine) throw new Error('no button for alice');
    fake.clearRequests();
    await fake.clickAction('bob', mine.id, 'start0');
    expect(deactivations(fake)).toEqual([]);
    expect(botCalls(fake, 'GET', /^\/api\/v4\/reports\/users/)).toEqual([]);
  }, 30_000);
});
