import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineCommand, defineSubcommand, type CommandDefinition } from '../../../src/core/command.js';
import { emptyPolicy, isPolicyError, loadPolicy, parsePolicy, PolicyError } from '../../../src/core/permissions/policy.js';
import { reply } from '../../../src/core/reply.js';

const sub = (name: string) =>
  defineSubcommand({
    name,
    summary: name || 'default',
    usage: name,
    examples: [],
    args: z.object({}),
    access: { self: null },
    async execute() {
      return reply([]);
    },
  });

const commands: CommandDefinition[] = [
  defineCommand({ name: 'whois', summary: 'who', hint: '', ownTrigger: true, subcommands: [sub('')] }),
  defineCommand({ name: 'user', summary: 'user', hint: '', ownTrigger: true, subcommands: [sub('sessions'), sub('deactivate'), sub('roles')] }),
  defineCommand({ name: 'teams', summary: 'teams', hint: '', ownTrigger: true, subcommands: [sub(''), sub('members')] }),
];

const dir = mkdtempSync(join(tmpdir(), 'mmops-policy-'));
let n = 0;
const file = (content: string): string => {
  const p = join(dir, `policy-${++n}.json`);
  writeFileSync(p, content);
  return p;
};

describe('loadPolicy', () => {
  it('no path, or an empty one, is the empty policy', () => {
    expect(loadPolicy(undefined, commands)).toBe(emptyPolicy);
    expect(loadPolicy('  ', commands)).toBe(emptyPolicy);
    expect(emptyPolicy.extraRequirements('whois', '')).toEqual([]);
  });

  it('adds requirements per command and per subcommand', () => {
    const p = loadPolicy(
      file(
        JSON.stringify({
          description: 'tighter help desk',
          commands: {
            whois: { require: [{ permission: 'manage_team', scope: 'team' }] },
            user: { description: 'all user subcommands', require: [{ permission: 'edit_other_users', scope: 'system' }] },
            'user  sessions': {
              require: [
                { permission: 'manage_system', scope: 'system' },
                { permission: 'edit_other_users', scope: 'system' },
              ],
            },
            'teams members': { require: [{ permission: 'view_team', scope: 'team' }] },
          },
        }),
      ),
      commands,
    );
    expect(p.extraRequirements('whois', '')).toEqual([{ permission: 'manage_team', scope: 'team' }]);
    expect(p.extraRequirements('user', 'deactivate')).toEqual([{ permission: 'edit_other_users', scope: 'system' }]);
    // command-level and subcommand-level add up, without duplicates
    expect(p.extraRequirements('user', 'sessions')).toEqual([
      { permission: 'edit_other_users', scope: 'system' },
      { permission: 'manage_system', scope: 'system' },
    ]);
    expect(p.extraRequirements('teams', '')).toEqual([]);
    expect(p.extraRequirements('teams', 'members')).toEqual([{ permission: 'view_team', scope: 'team' }]);
    expect(p.extraRequirements('prefs', '')).toEqual([]);
    expect(p.rules.map((r) => r.key)).toEqual(['whois', 'user', 'user sessions', 'teams members']);
    expect(p.source).toMatch(/policy-\d+\.json$/);
  });

  it('returns copies: a caller mutating the result cannot loosen the policy', () => {
    const p = parsePolicy(JSON.stringify({ commands: { whois: { require: [{ permission: 'manage_team', scope: 'team' }] } } }), 'x.json', commands);
    const first = p.extraRequirements('whois', '');
    first.length = 0;
    expect(p.extraRequirements('whois', '')).toHaveLength(1);
  });

  const bad: Array<[string, string | null, RegExp, string]> = [
    ['malformed JSON', '{"commands": {', /not valid JSON/, 'malformed_json'],
    ['unknown command', JSON.stringify({ commands: { whoami: { require: [{ permission: 'x', scope: 'team' }] } } }), /unknown command "whoami" \(known: teams, user, whois\)/, 'invalid'],
    ['unknown subcommand', JSON.stringify({ commands: { 'user nuke': { require: [{ permission: 'x', scope: 'system' }] } } }), /"user" has no subcommand "nuke" \(known: sessions, deactivate, roles\)/, 'invalid'],
    ['subcommand of a command without any', JSON.stringify({ commands: { 'whois card': { require: [{ permission: 'x', scope: 'system' }] } } }), /"whois" has no subcommand "card" \(it has no subcommands\)/, 'invalid'],
    ['three words', JSON.stringify({ commands: { 'user sessions all': { require: [{ permission: 'x', scope: 'system' }] } } }), /a key is "command" or "command subcommand"/, 'invalid'],
    ['bad scope', JSON.stringify({ commands: { whois: { require: [{ permission: 'manage_team', scope: 'global' }] } } }), /commands\.whois\.require\[0\]\.scope: scope must be "system", "team" or "channel"/, 'invalid'],
    ['bad permission id', JSON.stringify({ commands: { whois: { require: [{ permission: 'Manage Team', scope: 'team' }] } } }), /permission: must be a Mattermost permission id/, 'invalid'],
    ['empty require', JSON.stringify({ commands: { whois: { require: [] } } }), /require: must list at least one requirement/, 'invalid'],
    ['unknown field', JSON.stringify({ commands: { whois: { requires: [] } } }), /unknown field "requires"/, 'invalid'],
    ['unknown top-level field', JSON.stringify({ command: {} }), /\(top level\): unknown field "command"/, 'invalid'],
    ['missing require', JSON.stringify({ commands: { whois: {} } }), /commands\.whois\.require: missing \(expected array\)/, 'invalid'],
    ['not an object', '[]', /\(top level\)/, 'invalid'],
  ];
  it.each(bad)('%s → one clear line naming the file', (_name, content, problem, code) => {
    const path = file(content ?? '');
    let err: unknown;
    try {
      loadPolicy(path, commands);
    } catch (e) {
      err = e;
    }
    expect(isPolicyError(err)).toBe(true);
    const pe = err instanceof PolicyError ? err : undefined;
    expect(pe?.code).toBe(code);
    expect(pe?.message).toContain(`invalid policy file ${path}: `);
    expect(pe?.message).toMatch(problem);
    expect(pe?.message).not.toContain('\n');
  });

  it.each([
    ['a missing file', join(dir, 'nope.json'), /cannot read it \(file not found\)/],
    ['a directory', (() => {
      const d = join(dir, 'a-dir');
      mkdirSync(d, { recursive: true });
      return d;
    })(), /cannot read it \(is a directory\)/],
  ])('%s is unreadable', (_n, path, problem) => {
    expect(() => loadPolicy(path, commands)).toThrow(problem);
    try {
      loadPolicy(path, commands);
    } catch (e) {
      expect(e instanceof PolicyError && e.code).toBe('unreadable');
    }
  });
});

describe('approvals (the two-person rule)', () => {
  const confirmable = defineCommand({
    name: 'user',
    summary: 'user',
    hint: '',
    ownTrigger: true,
    subcommands: [{ ...sub('deactivate'), confirm: true }, sub('sessions')],
  });
  const withConfirm = [commands[0] as CommandDefinition, confirmable];

  it('reads the channel, the approvers and the subcommands; a policy may hold approvals alone', () => {
    const p = parsePolicy(JSON.stringify({ approvals: { channel: 'ops/approvals', approvers: { permission: 'manage_system', scope: 'system' }, commands: ['user deactivate'] } }), 'a.json', withConfirm);
    expect(p.approvals?.channel).toBe('ops/approvals');
    expect(p.approvals?.approvers).toEqual({ permission: 'manage_system', scope: 'system' });
    expect([...(p.approvals?.commands ?? [])]).toEqual(['user deactivate']);
    expect(p.extraRequirements('user', 'deactivate')).toEqual([]);
    const byRole = parsePolicy(JSON.stringify({ approvals: { channel: 'abcdefghijklmnopqrstuvwxyz', approvers: { role: 'system_admin' }, commands: ['user deactivate'] } }), 'b.json', withConfirm);
    expect(byRole.approvals?.approvers).toEqual({ role: 'system_admin' });
  });

  it('refuses a subcommand that does not ask to confirm, an unknown one, a bad channel or approver, naming the problem', () => {
    const bad = (approvals: unknown): string => {
      try {
        parsePolicy(JSON.stringify({ approvals }), 'p.json', withConfirm);
        return 'accepted';
      } catch (e) {
        expect(isPolicyError(e)).toBe(true);
        return (e as PolicyError).message;
      }
    };
    const ok = { channel: 'ops/approvals', approvers: { role: 'system_admin' }, commands: ['user deactivate'] };
    expect(bad({ ...ok, commands: ['user sessions'] })).toContain('"user sessions" is not a subcommand that asks to confirm (these can need approval: user deactivate)');
    expect(bad({ ...ok, commands: ['whois'] })).toContain('approvals.commands[0]');
    expect(bad({ ...ok, commands: [] })).toContain('must list at least one');
    expect(bad({ ...ok, channel: 'no slash here' })).toContain('approvals.channel');
    expect(bad({ ...ok, approvers: { role: 'Admin!' } })).toContain('approvals.approvers');
    expect(bad({ ...ok, approvers: { permission: 'manage_system' } })).toContain('approvals.approvers');
    expect(bad({ ...ok, extra: 1 })).toContain('unknown field "extra"');
  });
});
