/**
 * The pieces of commands/lib/batch.ts that need no server: how groups are counted and
 * shortened, how a run goes on after one row's refusal and stops on anything else, and how
 * the one confirmation gate (askFirst) compares what a batch's preview pinned.
 */
import { describe, expect, it } from 'vitest';
import type { Invocation } from '../../../src/core/command.js';
import { isUserError } from '../../../src/core/errors.js';
import { ApiError, NetworkError } from '../../../src/mattermost/errors.js';
import type { User } from '../../../src/mattermost/models.js';
import { askFirst, WHO_THE_NAMES_ARE, type Preview } from '../../../commands/lib/admin-users.js';
import { countsLine, groupLines, ROWS_SHOWN, rowPins, rowSubjects, runRows, THE_GROUPS, type Row } from '../../../commands/lib/batch.js';

const person = (username: string): User => ({ id: username.padEnd(26, 'x').slice(0, 26), username, first_name: '', last_name: '', nickname: '', roles: 'system_user', delete_at: 0, is_bot: false }) as unknown as User;
const WORDS = { will: 'Will remove', done: 'Removed', already: 'Not members anyway' };

describe('groups', () => {
  it('counts every group and names at most ROWS_SHOWN rows of each, the rest counted', () => {
    const rows: Row[] = [
      ...Array.from({ length: ROWS_SHOWN + 3 }, (_, i) => ({ ref: `@p${i}`, user: person(`p${i}`), group: 'change' as const })),
      { ref: 'ghost', group: 'not_found' },
      { ref: '@q', user: person('q'), group: 'not_allowed', why: 'you need remove_user_from_team in Acme' },
    ];
    expect(countsLine(rows)).toBe(`${ROWS_SHOWN + 3} will change, 0 already so, 1 not found, 1 not allowed, 0 ambiguous.`);
    const lines = groupLines(rows, WORDS);
    expect(lines[0]).toMatch(new RegExp(`^Will remove \\(${ROWS_SHOWN + 3}\\): @p0, .*@p${ROWS_SHOWN - 1} … and 3 more$`));
    expect(lines[0]).not.toContain(`@p${ROWS_SHOWN},`);
    expect(lines).toContain('Not allowed (1): @q (you need remove_user_from_team in Acme)');
    expect(lines).toContain('Not found (1): ghost');
  });
});

describe('runRows', () => {
  it("a row the server refuses (4xx) is that row's failure; the rest go on", async () => {
    const [a, b, c] = [person('a'), person('b'), person('c')];
    const run = await runRows([a, b, c], async (u) => {
      if (u === b) throw new ApiError(400, 'api.channel.remove.default.app_error', 'Unable to remove user from the default channel.', 'r', 'DELETE /channels/{id}/members/{user_id}');
    });
    expect(run.outcomes.map((o) => [o.user.username, o.ok])).toEqual([['a', true], ['b', false], ['c', true]]);
    expect(run.outcomes[1]?.why).toBe('Unable to remove user from the default channel.');
    expect(run.notDone).toEqual([]);
  });

  it('a network failure stops the batch and names the rows not reached', async () => {
    const [a, b, c] = [person('a'), person('b'), person('c')];
    const seen: string[] = [];
    const run = await runRows([a, b, c], async (u) => {
      seen.push(u.username);
      if (u === b) throw new NetworkError('PUT /users/{id}/active', 'connection reset', false, true);
    });
    expect(seen).toEqual(['a', 'b']);
    expect(run.outcomes.map((o) => o.user.username)).toEqual(['a']);
    expect(run.notDone.map((u) => u.username)).toEqual(['b', 'c']);
    expect(run.stopped).toContain('connection reset');
  });
});

describe('askFirst with the pins and subjects of a batch', () => {
  const ctx = (confirmed?: Invocation['confirmed'], mustConfirm = false) => ({
    invocation: { source: 'dm', text: 'team remove acme @a @b', userId: 'u', channelId: 'c', teamId: '', rootId: '', receivedAt: 0, ...(confirmed ? { confirmed } : {}) } as Invocation,
    services: { commands: () => [], triggers: { root: 'mmops', prefix: '' } } as never,
    mustConfirm,
  });
  // b is a member already: shown in the preview, not changed
  const rows: Row[] = [
    { ref: '@a', user: person('a'), group: 'change' },
    { ref: '@b', user: person('b'), group: 'already', why: 'not a member' },
  ];
  const preview: Preview = { what: 'This will remove 1 person.\n', command: 'team', args: ['remove', 'acme', '@a'], pins: { 'the team': 't1', ...rowPins(rows) }, people: rowSubjects(rows) };
  const asked = (): Record<string, string> => {
    try {
      askFirst(ctx(), false, preview);
    } catch (e) {
      if (isUserError(e) && e.code === 'needs_confirmation') {
        expect(e.details.subjects).toEqual([person('a').id, person('b').id]);
        return e.details.pins ?? {};
      }
      throw e;
    }
    throw new Error('not asked');
  };

  it('asks without --yes, and a confirmed run with the same pins goes ahead', () => {
    const pins = asked();
    expect(Object.keys(pins).sort()).toEqual(['the team', WHO_THE_NAMES_ARE, THE_GROUPS].sort());
    for (const digest of Object.values(pins)) expect(digest).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(() => askFirst(ctx({ by: 'click', pins }), true, preview)).not.toThrow();
  });

  it('a confirmed run whose names now mean other people, or whose rows changed, does nothing', () => {
    const pins = asked();
    const renamed: Preview = { ...preview, pins: { 'the team': 't1', ...rowPins([{ ref: '@a', user: person('z'), group: 'change' }, rows[1] as Row]) } };
    expect(() => askFirst(ctx({ by: 'click', pins }), true, renamed)).toThrow(/Nothing was done: some of those names now belong to other people/);
    const fewer: Preview = { ...preview, pins: { 'the team': 't1', ...rowPins([{ ref: '@a', user: person('a'), group: 'already', why: 'not a member' }, rows[1] as Row]) } };
    expect(() => askFirst(ctx({ by: 'click', pins }), true, fewer)).toThrow(`Nothing was done: ${THE_GROUPS} changed since you were asked; ask again.`);
    const more: Preview = { ...preview, pins: { 'the team': 't1', ...rowPins([rows[0] as Row, { ...(rows[1] as Row), group: 'change' }]) } };
    expect(() => askFirst(ctx({ by: 'click', pins }), true, more)).toThrow(/Nothing was done/);
  });

  it('an approver who is one of the people is refused, whichever group the preview put them in', () => {
    const pins = asked();
    expect(() => askFirst(ctx({ by: 'approval', approver: { id: person('a').id, username: 'a' }, pins }), true, preview)).toThrow(/one of the people/);
    expect(() => askFirst(ctx({ by: 'approval', approver: { id: person('b').id, username: 'b' }, pins }), true, preview)).toThrow(/one of the people/);
    expect(() => askFirst(ctx({ by: 'approval', approver: { id: person('c').id, username: 'c' }, pins }), true, preview)).not.toThrow();
  });

  it('asks when a second person must approve (the dispatcher drops --yes then)', () => {
    expect(() => askFirst(ctx(undefined, true), false, preview)).toThrow(/Nothing has been changed yet/);
  });
});
