/**
 * `/mmops help` through the real pipeline against the fake server: generated from the
 * definitions, filtered by what the caller may run (and the operator policy).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import help, { describeAccess } from '../../commands/help.js';
import members from '../../commands/members.js';
import prefs from '../../commands/prefs.js';
import status from '../../commands/status.js';
import teams from '../../commands/teams.js';
import whois from '../../commands/whois.js';
import { defineCommand, defineSubcommand } from '../../src/core/command.js';
import { say } from '../../src/core/reply.js';
import { demoSeed, userIdFor } from '../../src/sandbox/seed.js';
import { createHarness, type Harness } from '../helpers/harness.js';
import { expectSafeRendering, plain } from './lib/fixtures.js';

/** An admin-only command, to see hiding at work. */
const vault = defineCommand({
  name: 'vault',
  summary: 'Admin-only probe',
  hint: '',
  ownTrigger: true,
  subcommands: [
    defineSubcommand({
      name: '',
      summary: 'Open the vault',
      usage: 'vault',
      examples: ['vault'],
      args: z.object({}),
      access: { self: { permission: 'manage_system', scope: 'system' } },
      execute: async () => say('open'),
    }),
  ],
});

let h: Harness;
beforeAll(async () => {
  h = await createHarness({
    commands: [status, whois, teams, members, prefs, help, vault],
    // the operator restricts `whois search` to system admins
    policy: { extraRequirements: (cmd, sub) => (cmd === 'whois' && sub === 'search' ? [{ permission: 'manage_system', scope: 'system' }] : []) },
  });
});
afterAll(async () => {
  await h?.close();
});

const run = async (user: string, text: string, inv = {}) => {
  const out = await h.run(user, text, inv);
  return { ...out, plain: plain(out.text) };
};

describe('help overview', () => {
  it('lists only what the caller may run, with usage as they type it', async () => {
    const { result, plain: t } = await run('dave', 'help');
    expect(result.outcome).toBe('ok');
    expect(t).toContain('`/mmops status [@user|email|id ...]`');
    expect(t).toContain('`/whois @user|email|id|"full name"`');
    expect(t).toContain('`/teams members [team] [--page N] [--role admin|member|guest]`');
    expect(t).toContain('`/members [~channel]');
    expect(t).not.toContain('/vault');
    expect(t).not.toContain('whois search'); // hidden by the policy
    expect(t).toContain("2 more need permissions you don't have here");
    expect(t).toContain('`/mmops help <command>`');
  });

  it('shows an admin everything', async () => {
    const { plain: t } = await run('alice', 'help');
    expect(t).toContain('`/vault`');
    expect(t).toContain('`/whois search');
    expect(t).not.toContain('more need permissions');
  });

  it('writes commands without a slash in a DM, and checks team-scoped ones across the caller\u2019s teams', async () => {
    const { plain: t } = await run('dave', 'help', { source: 'dm', teamId: '', channelId: '' });
    expect(t).toContain('`status [@user|email|id ...]`');
    expect(t).toContain('`teams members [team]');
    expect(t).not.toContain('`/');
  });

  it('renders without live mentions and with intact rows', async () => {
    expectSafeRendering((await run('alice', 'help')).text);
  });
});

describe('help <command>', () => {
  it('gives usage, examples and permissions per subcommand', async () => {
    const { plain: t } = await run('dave', 'help teams');
    expect(t).toContain('#### teams — Teams of a person, and members of a team');
    expect(t).toContain('Slash command `/teams` or `/mmops teams`');
    expect(t).toContain('**Examples:** `/teams members acme`, `/teams members acme --page 2`, `/teams members ops --role admin`');
    expect(t).toContain('**Who may:** anyone for themselves; `sysconsole_read_user_management_users` system-wide for someone else');
    expect(t).toContain('**Who may:** `view_team` in the team');
    expect(t).toContain('**You:** can run this');
  });

  it('says how built-in names are reached', async () => {
    expect((await run('dave', 'help status')).plain).toContain('`/mmops status` (`/status` is a Mattermost built-in)');
  });

  it('names the missing permission of a hidden command or subcommand when asked for it', async () => {
    expect((await run('dave', 'help vault')).plain).toContain("**You:** can't run this: it needs `manage_system` system-wide");
    const search = await run('dave', 'help whois search');
    expect(search.plain).toContain('`manage_system` system-wide (local policy)');
    expect(search.plain).toContain("can't run this");
    expect(search.plain).not.toContain('whois complete');
  });

  it('accepts a leading slash or the root trigger, and names close matches for unknown commands', async () => {
    expect((await run('dave', 'help /whois')).plain).toContain('#### whois');
    expect((await run('dave', 'help mmops whois')).plain).toContain('#### whois');
    const typo = await run('dave', 'help whoiz');
    expect(typo.result.outcome).toBe('user_error');
    expect(typo.plain).toContain('There is no command "whoiz"');
    expect(typo.plain).toContain('- whois');
    const sub = await run('dave', 'help teams nosuch');
    expect(sub.plain).toContain('teams has no subcommand "nosuch"');
    expect(sub.plain).toContain('- teams members');
  });
});

describe('help when the bot account lacks a permission', () => {
  // the bot is a plain system user here: no edit_other_users, which `status set` and
  // every `prefs` subcommand need from the bot itself (it calls the API with its token)
  let weak: Harness;
  beforeAll(async () => {
    const seed = demoSeed();
    for (const u of seed.users ?? []) if (u.id === userIdFor('mmops')) u.roles = 'system_user';
    weak = await createHarness({ commands: [status, prefs, teams, help], seed });
  });
  afterAll(async () => {
    await weak?.close();
  });

  it('marks such subcommands as not available in the overview instead of presenting them as usable', async () => {
    const { result, text } = await weak.run('dave', 'help');
    const t = plain(text);
    expect(result.outcome).toBe('ok');
    const row = (usage: string): string | undefined => t.split('\n').find((l) => l.includes(usage));
    expect(row('`/mmops status set')).toContain('(not available: the bot account lacks `edit_other_users`)');
    expect(row('`/prefs [category]')).toContain('(not available: the bot account lacks `edit_other_users`)');
    // what the bot can carry out is not marked
    expect(row('`/teams members')).not.toContain('not available');
    expect(row('`/mmops status [@user')).not.toContain('not available');
    expectSafeRendering(text);
  });

  it('says so in the details of a command', async () => {
    const t = plain((await weak.run('dave', 'help status set')).text);
    expect(t).toContain('(not available: the bot account lacks `edit_other_users`)');
    expect(t).toContain("**You:** could run this, but I can't carry it out");
    // and the dispatcher agrees when it is run
    const run = await weak.run('dave', 'status set away');
    expect(run.result.outcome).toBe('unavailable');
    expect(run.text).toContain('the bot account lacks `edit_other_users`');
  });

  it('marks nothing when the bot holds everything', async () => {
    expect((await run('alice', 'help')).plain).not.toContain('not available');
  });
});

describe('describeAccess', () => {
  it('puts each access rule in words', () => {
    const sys = (permission: string) => ({ permission, scope: 'system' as const });
    expect(describeAccess({ self: null, other: null }).value).toBe('anyone');
    expect(describeAccess({ self: null }).value).toBe('anyone');
    expect(plain(describeAccess({ self: null, other: sys('edit_other_users'), adminTargetNeedsManageSystem: true }).value)).toBe(
      'anyone for themselves; `edit_other_users` system-wide for someone else (and `manage_system` when that person is a system admin)',
    );
    expect(plain(describeAccess({ self: { permission: 'view_team', scope: 'team' } }, [sys('manage_system')]).value)).toBe(
      '`view_team` in the team, plus `manage_system` system-wide (local policy)',
    );
  });
});
