import { describe, expect, it } from 'vitest';
import type { CommandDefinition } from '../../src/core/command.js';
import { ApiError } from '../../src/mattermost/errors.js';
import type { Command, CommandInput, Team } from '../../src/mattermost/models.js';
import { createSlashRegistration } from '../../src/services/slash-registration.js';
import { stubApi } from '../helpers/context.js';
import { createMemoryLogger } from '../helpers/logger.js';

const BOT = 'botbotbotbotbotbotbotbot01';
const HUMAN = 'humanhumanhumanhumanhuma01';
const URL = 'https://bot.example.com/slash';
const team: Team = { id: 'teamteamteamteamteamteam01', create_at: 0, update_at: 0, delete_at: 0, display_name: 'Acme', name: 'acme', description: '', type: 'O', allow_open_invite: true };

const def = (name: string, ownTrigger = true): CommandDefinition => ({ name, summary: `${name} summary`, hint: `${name} hint`, ownTrigger, subcommands: [] });
const COMMANDS = [def('whois'), def('teams'), def('status', false), def('health')];

/** A tiny in-memory command store that behaves like POST/GET/PUT /commands (docs/mattermost-notes.md §4.3). */
function fakeServer(initial: Command[] = [], opts: { refuse?: number; builtIns?: string[] } = {}) {
  const commands = [...initial];
  let n = 0;
  const builtIns = new Set(opts.builtIns ?? ['status', 'help']);
  const api = stubApi({
    listCustomCommands: async (teamId) => {
      if (opts.refuse) throw new ApiError(opts.refuse, 'api.context.permissions.app_error', 'no', 'r', 'GET /commands');
      return commands.filter((c) => c.team_id === teamId).map((c) => ({ ...c }));
    },
    createCommand: async (input: CommandInput) => {
      if (builtIns.has(input.trigger) || commands.some((c) => c.team_id === input.team_id && c.trigger === input.trigger && c.delete_at === 0)) {
        throw new ApiError(400, 'api.command.duplicate_trigger.app_error', 'taken', 'r', 'POST /commands');
      }
      const created: Command = {
        id: `cmd${String(++n).padStart(23, '0')}`,
        token: `tok${String(n).padStart(23, '0')}`,
        create_at: 1,
        update_at: 1,
        delete_at: 0,
        creator_id: BOT,
        icon_url: '',
        username: '',
        plugin_id: '',
        ...input,
      };
      commands.push(created);
      return { ...created };
    },
    updateCommand: async (cmd: Command) => {
      const i = commands.findIndex((c) => c.id === cmd.id);
      if (i < 0) throw new ApiError(404, 'store.sql_command.save.get.app_error', 'nope', 'r', 'PUT /commands/{id}');
      commands[i] = { ...cmd, update_at: 2 };
      return { ...cmd };
    },
  });
  return { api, commands };
}

const existing = (over: Partial<Command>): Command => ({
  id: 'existingexistingexisting01',
  token: 'existingtokenexistingtok01',
  create_at: 0,
  update_at: 0,
  delete_at: 0,
  creator_id: BOT,
  team_id: team.id,
  trigger: 'whois',
  method: 'P',
  username: '',
  icon_url: '',
  auto_complete: true,
  auto_complete_desc: 'whois summary',
  auto_complete_hint: 'whois hint',
  display_name: 'mmops whois',
  description: 'whois summary',
  url: URL,
  plugin_id: '',
  ...over,
});

function make(api: ReturnType<typeof fakeServer>['api'], over: { prefix?: string; root?: string; now?: () => number } = {}) {
  const log = createMemoryLogger();
  const reg = createSlashRegistration({
    api,
    logger: log,
    botUserId: BOT,
    commands: COMMANDS,
    rootTrigger: over.root ?? 'mmops',
    triggerPrefix: over.prefix ?? '',
    slashUrl: URL,
    ...(over.now ? { now: over.now } : {}),
  });
  return { reg, log };
}

describe('slash registration', () => {
  it('registers the root trigger and every own trigger, skipping built-ins', async () => {
    const server = fakeServer();
    const { reg } = make(server.api);
    const report = await reg.registerTeam(team);
    expect(report.registered).toEqual(['/mmops', '/whois', '/teams', '/health']);
    expect(report.warnings).toEqual([]);
    expect(server.commands.map((c) => c.trigger)).toEqual(['mmops', 'whois', 'teams', 'health']);
    const whois = server.commands.find((c) => c.trigger === 'whois');
    expect(whois).toMatchObject({ method: 'P', url: URL, auto_complete: true, auto_complete_desc: 'whois summary', auto_complete_hint: 'whois hint' });
  });

  it('is idempotent: a second run (a restart) creates nothing and keeps the tokens', async () => {
    const server = fakeServer();
    const first = make(server.api);
    await first.reg.registerTeam(team);
    const tokens = server.commands.map((c) => c.token);
    server.api.calls.length = 0;

    const second = make(server.api);
    const report = await second.reg.registerTeam(team);
    expect(report.registered).toEqual(['/mmops', '/whois', '/teams', '/health']);
    expect(server.commands).toHaveLength(4);
    expect(server.api.calls.map((c) => c.method)).toEqual(['listCustomCommands']);
    for (const t of tokens) expect(second.reg.verify(t)).toBeDefined();
  });

  it('asks the fencing check before each write and stops writing the moment it says no (a deposed leader)', async () => {
    const server = fakeServer([existing({ url: 'http://old-host:3978/slash' })]);
    const { reg, log } = make(server.api);
    let asked = 0;
    // still the leader for the first write only
    const report = await reg.registerTeam(team, { mayWrite: async () => ++asked === 1 });
    const writes = server.api.calls.filter((c) => c.method === 'createCommand' || c.method === 'updateCommand');
    expect(writes).toHaveLength(1);
    expect(asked).toBe(2);
    // the existing command is kept (its token still verifies); nothing else was created
    expect(server.commands).toHaveLength(2);
    expect(report.registered.length).toBeGreaterThanOrEqual(1);
    expect(log.entries.some((e) => e.level === 'warn' && /no longer the leader/.test(e.msg))).toBe(true);
  });

  it('writes nothing when the fencing check says no from the start', async () => {
    const server = fakeServer([existing({ url: 'http://old-host:3978/slash' })]);
    const { reg } = make(server.api);
    await reg.registerTeam(team, { mayWrite: async () => false });
    expect(server.api.calls.filter((c) => c.method === 'createCommand' || c.method === 'updateCommand')).toEqual([]);
    expect(server.commands.find((c) => c.trigger === 'whois')?.url).toBe('http://old-host:3978/slash');
    expect(reg.verify('existingtokenexistingtok01')).toBeDefined();
  });

  it('updates our command in place when its URL or text changed', async () => {
    const server = fakeServer([existing({ url: 'http://old-host:3978/slash', auto_complete_desc: 'old' })]);
    const { reg } = make(server.api);
    await reg.registerTeam(team);
    expect(server.commands.filter((c) => c.trigger === 'whois')).toHaveLength(1);
    expect(server.commands.find((c) => c.trigger === 'whois')).toMatchObject({ id: 'existingexistingexisting01', url: URL, auto_complete_desc: 'whois summary' });
    expect(server.api.calls.filter((c) => c.method === 'updateCommand')).toHaveLength(1);
    expect(reg.verify('existingtokenexistingtok01')).toMatchObject({ command: 'whois', trigger: 'whois', teamId: team.id });
  });

  it('never touches a command it did not create, and warns how to reach the command instead', async () => {
    const theirs = existing({ id: 'theirstheirstheirstheirs01', creator_id: HUMAN, url: 'https://other.example/hook', token: 'theirtokentheirtokenthei01' });
    const server = fakeServer([theirs]);
    const { reg, log } = make(server.api);
    const report = await reg.registerTeam(team);
    expect(server.commands.find((c) => c.id === theirs.id)).toEqual(theirs);
    expect(server.commands.filter((c) => c.trigger === 'whois')).toHaveLength(1);
    expect(report.registered).not.toContain('/whois');
    expect(report.warnings).toEqual(['/whois is already used by another integration in team acme: use /mmops whois instead']);
    expect(log.entries.filter((e) => e.level === 'warn').map((e) => e.msg)).toEqual(report.warnings);
    expect(reg.verify('theirtokentheirtokenthei01')).toBeUndefined();
    expect(server.api.calls.some((c) => c.method === 'updateCommand')).toBe(false);
  });

  it('warns once for a trigger the server refuses, and carries on', async () => {
    const server = fakeServer([], { builtIns: ['status', 'help', 'teams'] });
    const { reg, log } = make(server.api);
    const report = await reg.registerTeam(team);
    expect(report.registered).toEqual(['/mmops', '/whois', '/health']);
    expect(report.warnings).toEqual(['/teams is refused by the server (built-in or taken by another integration) in team acme: use /mmops teams instead']);
    await reg.registerTeam(team); // re-run (added_to_team): no second log line
    expect(log.entries.filter((e) => e.level === 'warn')).toHaveLength(1);
  });

  it('applies MMOPS_TRIGGER_PREFIX to the per-command triggers only', async () => {
    const server = fakeServer();
    const { reg } = make(server.api, { prefix: 'ops-' });
    const report = await reg.registerTeam(team);
    expect(report.registered).toEqual(['/mmops', '/ops-whois', '/ops-teams', '/ops-health']);
    // with a prefix, a built-in name is no longer refused… but status has ownTrigger=false
    expect(server.commands.some((c) => c.trigger === 'ops-status')).toBe(false);
  });

  it('names the missing permission and registers nothing without it', async () => {
    const server = fakeServer([], { refuse: 403 });
    const { reg, log } = make(server.api);
    const report = await reg.registerTeam(team);
    expect(report.registered).toEqual([]);
    expect(report.error).toContain('manage_slash_commands');
    expect(report.error).toContain('DMs and mentions still work');
    expect(log.entries.some((e) => e.level === 'warn' && e.msg.includes('manage_slash_commands'))).toBe(true);
    expect(reg.bindings()).toEqual([]);
  });

  it('says when custom slash commands are disabled on the server', async () => {
    const server = fakeServer([], { refuse: 501 });
    const { reg } = make(server.api);
    const report = await reg.registerTeam(team);
    expect(report.error).toContain('disabled on the server');
  });

  it('verifies tokens: the binding for ours, undefined for anything else', async () => {
    const server = fakeServer();
    const { reg } = make(server.api);
    await reg.registerTeam(team);
    const root = server.commands.find((c) => c.trigger === 'mmops');
    expect(reg.verify(root?.token ?? '')).toMatchObject({ command: null, trigger: 'mmops' });
    expect(reg.verify('')).toBeUndefined();
    expect(reg.verify(`${root?.token}x`)).toBeUndefined();
    expect(reg.verify('short')).toBeUndefined();
  });

  it('binds a token to its team: another team\'s token never matches', async () => {
    const server = fakeServer();
    const { reg } = make(server.api);
    const other: Team = { ...team, id: 'otherteamotherteamotherte1', name: 'other' };
    await reg.registerTeam(team);
    await reg.registerTeam(other);
    const rootA = server.commands.find((c) => c.trigger === 'mmops' && c.team_id === team.id)?.token ?? '';
    expect(await reg.authenticate(rootA, team.id)).toMatchObject({ teamId: team.id, trigger: 'mmops' });
    expect(await reg.authenticate(rootA, other.id)).toBeUndefined();
    expect(await reg.authenticate(rootA, 'unknownteamunknownteamunk1')).toBeUndefined();
  });

  it('re-reads a team\'s tokens once on an unknown token (regen_token), at most once a minute per team', async () => {
    const server = fakeServer();
    let t = 0;
    const { reg, log } = make(server.api, { now: () => t });
    await reg.registerTeam(team);
    const lists = () => server.api.calls.filter((c) => c.method === 'listCustomCommands').length;
    const before = lists();
    const root = server.commands.find((c) => c.trigger === 'mmops');
    if (!root) throw new Error('no root command');
    const old = root.token;
    root.token = 'regeneratedregeneratedreg1';
    // the new token: one re-read, then accepted; the old one is refused from then on
    expect(await reg.authenticate('regeneratedregeneratedreg1', team.id)).toMatchObject({ trigger: 'mmops' });
    expect(lists()).toBe(before + 1);
    expect(log.entries.some((e) => e.msg.includes('tokens changed (regenerated): /mmops'))).toBe(true);
    expect(await reg.authenticate(old, team.id)).toBeUndefined();
    // unknown tokens within the minute: no further reads, even many at once
    await Promise.all(Array.from({ length: 20 }, () => reg.authenticate('guessguessguessguessguess1', team.id)));
    expect(lists()).toBe(before + 1);
    t += 60_000;
    expect(await reg.authenticate('guessguessguessguessguess1', team.id)).toBeUndefined();
    expect(lists()).toBe(before + 2);
    // tokens never reach the log
    expect(log.dump()).not.toContain('regeneratedregeneratedreg1');
  });
});
