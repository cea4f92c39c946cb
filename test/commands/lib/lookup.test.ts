import { describe, expect, it } from 'vitest';
import { actingOn, ambiguityReply, resolveBatch, uniqueRefs, unresolvedBlocks } from '../../../commands/lib/lookup.js';
import { UserError, isUserError } from '../../../src/core/errors.js';
import { renderReply } from '../../../src/render/markdown.js';
import { ApiError } from '../../../src/mattermost/errors.js';
import { createTestContext, makeUser } from '../../helpers/context.js';

const ann = makeUser({ username: 'ann', first_name: 'Ann', last_name: 'Lee', email: 'ann@example.com' });
const anna = makeUser({ username: 'anna', first_name: 'Anna', last_name: 'Lee' });
const bob = makeUser({ username: 'bob', first_name: 'Bob', last_name: 'Stone', email: 'bob@example.com' });
const root = makeUser({ username: 'root', roles: 'system_user system_admin' });
const people = [ann, anna, bob, root, ...Array.from({ length: 120 }, (_, i) => makeUser({ username: `user${i}` }))];

function ctxWith(allow: 'all' | 'none' | string[] = 'all') {
  return createTestContext({
    allow,
    api: {
      getUsersByUsernames: async (names) => people.filter((u) => names.includes(u.username)),
      getUsersByIds: async (ids) => people.filter((u) => ids.includes(u.id)),
      getUserByEmail: async (email) => {
        const u = people.find((p) => p.email === email);
        if (!u) throw new ApiError(404, 'app.user.missing_account.const', 'not found', 'r', 'GET /users/email/{email}');
        return u;
      },
      searchUsers: async ({ term }) => people.filter((u) => `${u.first_name} ${u.last_name}`.toLowerCase().includes(term.toLowerCase())),
    },
  });
}

describe('uniqueRefs', () => {
  it('drops repeats case-insensitively, with or without @', () => {
    expect(uniqueRefs(['@Ann', 'ann', ' bob ', '', '@bob'])).toEqual(['@Ann', 'bob']);
  });
});

describe('resolveBatch', () => {
  it('resolves 100 usernames with one batch call', async () => {
    const ctx = ctxWith();
    const refs = Array.from({ length: 100 }, (_, i) => `@user${i}`);
    const res = await resolveBatch(ctx, refs);
    expect(res.found).toHaveLength(100);
    expect(ctx.calls.map((c) => c.method)).toEqual(['getUsersByUsernames']);
  });

  it('reports unknown and ambiguous references while answering the rest', async () => {
    const ctx = ctxWith();
    const res = await resolveBatch(ctx, ['@ann', 'nobody', 'Lee', 'bob@example.com', 'ghost@example.com', 'Bob Stone', 'bob']);
    expect(res.found.map((f) => f.user.username)).toEqual(['ann', 'bob']); // `Bob Stone` and `bob` are the same person
    expect(res.notFound).toEqual(['nobody', 'ghost@example.com']);
    expect(res.ambiguous).toEqual([{ ref: 'Lee', candidates: ['ann', 'anna'] }]);
    const text = renderReply({ blocks: unresolvedBlocks(res), visibility: 'caller', tone: 'warning' });
    expect(text).toContain('Not found');
    expect(text).toContain('ghost');
    expect(text).not.toMatch(/@ann\b/); // no live mention
  });
});

describe('resolveBatch call counts', () => {
  it('tries leftover names, emails and free text together after the username batch', async () => {
    const ctx = ctxWith();
    const res = await resolveBatch(ctx, ['@ann', 'user1', 'nobody', 'Bob Stone', 'bob@example.com']);
    expect(res.found.map((f) => f.user.username)).toEqual(['ann', 'user1', 'bob']);
    expect(res.notFound).toEqual(['nobody']);
    expect(ctx.calls.map((c) => c.method).sort()).toEqual(['getUserByEmail', 'getUsersByUsernames', 'getUsersByUsernames', 'searchUsers', 'searchUsers']);
  });
});

describe('ambiguityReply', () => {
  it('lists the candidates and how to pick one', () => {
    const ctx = createTestContext({ invocation: { source: 'dm' } });
    const err = new UserError('ambiguous', 'x', { items: ['@ann', '@anna'] });
    const text = renderReply(ambiguityReply(ctx, err, 'Lee', 'whois'));
    expect(text).toContain('Lee');
    expect(text).toContain('ann');
    expect(text).toContain('anna');
    expect(text).toMatch(/`whois @\u200bann`/);
  });
});

describe('actingOn', () => {
  const access = { self: null, other: { permission: 'edit_other_users', scope: 'system' as const }, adminTargetNeedsManageSystem: true };

  it('is the caller without a reference, and the dispatcher-checked target when there is one', async () => {
    const ctx = ctxWith('none');
    expect((await actingOn(ctx, undefined, access)).id).toBe(ctx.caller.id);
    const withTarget = createTestContext({ target: bob, allow: 'none' });
    expect((await actingOn(withTarget, '@bob', access)).id).toBe(bob.id);
    expect(withTarget.calls).toEqual([]);
  });

  it('checks the "other" requirement itself when it resolves someone else', async () => {
    await expect(actingOn(ctxWith('none'), '@bob', access)).rejects.toSatisfy((e) => isUserError(e) && e.code === 'forbidden');
    expect((await actingOn(ctxWith(['edit_other_users']), '@bob', access)).id).toBe(bob.id);
    // a system admin target also needs manage_system
    await expect(actingOn(ctxWith(['edit_other_users']), '@root', access)).rejects.toSatisfy(
      (e) => isUserError(e) && e.details.requirement?.permission === 'manage_system',
    );
  });
});
