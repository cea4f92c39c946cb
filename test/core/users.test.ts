import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/core/errors.js';
import { classifyUserRef, createUserCache, createUserDirectory } from '../../src/core/users.js';
import { ApiError } from '../../src/mattermost/errors.js';
import type { User } from '../../src/mattermost/models.js';
import { makeUser, stubApi, testId } from '../helpers/context.js';

const ann = makeUser({ username: 'ann', first_name: 'Ann', last_name: 'Lee', email: 'ann@example.com' });
const anna = makeUser({ username: 'anna', first_name: 'Anna', last_name: 'Lee' });
const bob = makeUser({ username: 'bob', first_name: 'Bob', last_name: 'Builder', email: 'bob@example.com' });
const people = [ann, anna, bob, ...Array.from({ length: 50 }, (_, i) => makeUser({ username: `user${i}` }))];

function fakeApi() {
  return stubApi({
    getUsersByUsernames: async (names: string[]) => people.filter((u) => names.includes(u.username)),
    getUsersByIds: async (ids: string[]) => people.filter((u) => ids.includes(u.id)),
    getUserByEmail: async (email: string) => {
      const u = people.find((p) => p.email === email);
      if (!u) throw new ApiError(404, 'app.user.missing_account.const', 'not found', 'r', 'GET /users/email/{email}');
      return u;
    },
    searchUsers: async ({ term }) =>
      people.filter((u) => `${u.username} ${u.first_name} ${u.last_name}`.toLowerCase().includes(term.toLowerCase())),
  });
}

const methods = (api: ReturnType<typeof fakeApi>): string[] => api.calls.map((c) => c.method);

describe('classifyUserRef', () => {
  it('tells usernames, emails, ids and free text apart', () => {
    expect(classifyUserRef('@Ann')).toEqual({ kind: 'username', value: 'ann', explicit: true });
    expect(classifyUserRef('ann')).toEqual({ kind: 'username', value: 'ann', explicit: false });
    expect(classifyUserRef('ann@example.com').kind).toBe('email');
    expect(classifyUserRef(testId('x')).kind).toBe('id');
    expect(classifyUserRef('Ann Lee').kind).toBe('text');
  });
});

describe('createUserDirectory', () => {
  it('resolves many usernames and ids with one call each, never one per user', async () => {
    const api = fakeApi();
    const users = createUserDirectory(api);
    const refs = [...people.slice(3).map((u) => `@${u.username}`), ann.id, bob.id, '@nobody'];
    const { found, notFound } = await users.resolveMany(refs);
    expect(found).toHaveLength(52);
    expect(found.find((f) => f.ref === ann.id)?.user.username).toBe('ann');
    expect(notFound).toEqual(['@nobody']);
    expect(methods(api).sort()).toEqual(['getUsersByIds', 'getUsersByUsernames']);
    const byNames = api.calls.find((c) => c.method === 'getUsersByUsernames');
    expect((byNames?.args[0] as string[]).length).toBe(53); // every name (and id) in one body
  });

  it('resolves an email with GET /users/email', async () => {
    const api = fakeApi();
    expect((await createUserDirectory(api).resolve('bob@example.com')).id).toBe(bob.id);
    expect(methods(api)).toEqual(['getUserByEmail']);
  });

  it('resolves a full name by search, and says not found plainly', async () => {
    const api = fakeApi();
    const users = createUserDirectory(api);
    expect((await users.resolve('Bob Builder')).id).toBe(bob.id);
    await expect(users.resolve('Nobody Here')).rejects.toMatchObject({ code: 'not_found', message: 'No one matches "Nobody Here".' });
  });

  it('reports ambiguity with the candidates by username', async () => {
    const users = createUserDirectory(fakeApi());
    const e = await users.resolve('Lee').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UserError);
    expect(e).toMatchObject({ code: 'ambiguous' });
    expect((e as UserError).details.items).toEqual(['@ann', '@anna']);
  });

  it('prefers the exact full-name match among several results', async () => {
    expect((await createUserDirectory(fakeApi()).resolve('"Ann Lee"'.slice(1, -1))).username).toBe('ann');
  });

  it('falls back to a search for a bare word that is no username', async () => {
    const api = fakeApi();
    expect((await createUserDirectory(api).resolve('builder')).id).toBe(bob.id);
    expect(methods(api)).toEqual(['getUsersByUsernames', 'searchUsers']);
  });

  it('does not search for an explicit @username that does not exist', async () => {
    const api = fakeApi();
    await expect(createUserDirectory(api).resolve('@builder')).rejects.toMatchObject({ code: 'not_found' });
    expect(methods(api)).toEqual(['getUsersByUsernames']);
  });

  it('caches: a second lookup makes no call, byIds only asks for misses', async () => {
    const api = fakeApi();
    const users = createUserDirectory(api);
    await users.resolve('@ann');
    await users.resolve('@ann');
    const map = await users.byIds([ann.id, bob.id]);
    expect([...map.keys()].sort()).toEqual([ann.id, bob.id].sort());
    expect(api.calls.map((c) => [c.method, c.args[0]])).toEqual([
      ['getUsersByUsernames', ['ann']],
      ['getUsersByIds', [bob.id]],
    ]);
  });

  it('expires cached users after the TTL', async () => {
    let t = 0;
    const api = fakeApi();
    const users = createUserDirectory(api, { cache: createUserCache({ ttlMs: 1000, now: () => t }) });
    await users.resolve('@ann');
    t = 1500;
    await users.resolve('@ann');
    expect(methods(api)).toEqual(['getUsersByUsernames', 'getUsersByUsernames']);
  });

  it('turns a hidden email lookup into a plain message', async () => {
    const api = stubApi({
      getUserByEmail: async (): Promise<User> => {
        throw new ApiError(403, 'api.user.get_user_by_email.permissions.app_error', 'no', 'r', 'GET /users/email/{email}');
      },
    });
    await expect(createUserDirectory(api).resolve('x@y.org')).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('refuses an empty reference', async () => {
    await expect(createUserDirectory(fakeApi()).resolve('  ')).rejects.toMatchObject({ code: 'invalid_input' });
  });
});
