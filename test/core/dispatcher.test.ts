import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import {
  defineCommand,
  defineSubcommand,
  type AuditEntry,
  type CommandContext,
  type CommandDefinition,
  type Invocation,
  type Requirement,
  type Services,
} from '../../src/core/command.js';
import { createDispatcher, type DispatcherDeps } from '../../src/core/dispatcher.js';
import { UserError } from '../../src/core/errors.js';
import { createLogger } from '../../src/log/logger.js';
import type { CheckOptions, Decision, PermissionService, Where } from '../../src/core/permission-service.js';
import { createRegistry } from '../../src/core/registry.js';
import { fields, reply, say } from '../../src/core/reply.js';
import { renderReply } from '../../src/render/markdown.js';
import type { MattermostApi } from '../../src/mattermost/api.js';
import { ApiError } from '../../src/mattermost/errors.js';
import { callerSignal } from '../../src/mattermost/bound-signal.js';
import type { User } from '../../src/mattermost/models.js';
import { makeTeam, makeUser, stubApi, testId } from '../helpers/context.js';
import { captureLines, createMemoryLogger } from '../helpers/logger.js';
import { liveMentions, tableProblems } from '../render/checks.js';

// ---------------------------------------------------------------------------
// People, permissions and an API stub

const alice = makeUser({ username: 'alice', roles: 'system_user system_admin', first_name: 'Alice' });
const bob = makeUser({ username: 'bob', first_name: 'Bob' });
const heidi = makeUser({ username: 'heidi', roles: 'system_user helpdesk' });
const frank = makeUser({ username: 'frank', delete_at: 1 });
const robot = makeUser({ username: 'robot', is_bot: true });
const botUser = makeUser({ username: 'mmops', is_bot: true });
const ann = makeUser({ username: 'ann', first_name: 'Ann', last_name: 'Lee' });
const anna = makeUser({ username: 'anna', first_name: 'Anna', last_name: 'Lee' });
const everyone = [alice, bob, heidi, frank, robot, botUser, ann, anna];
const acme = makeTeam({ name: 'acme', display_name: 'Acme Corp' });

/** `permission` = held everywhere; `permission@team:<id>` = only in that team. */
const grants: Record<string, string[]> = {
  [alice.id]: ['manage_system', 'edit_other_users', 'manage_team'],
  [heidi.id]: ['edit_other_users'],
  [bob.id]: [`manage_team@team:${acme.id}`],
  [botUser.id]: ['edit_other_users'],
};

interface CheckCall {
  userId: string;
  req: Requirement;
  where: Where | undefined;
  opts: CheckOptions | undefined;
}

/** `current`: what the server holds now, returned only to fresh reads (the cache still has `everyone`). */
function stubPermissions(current: Record<string, User> = {}): PermissionService & { checks: CheckCall[]; userReads: Array<{ userId: string; opts: CheckOptions | undefined }> } {
  const checks: CheckCall[] = [];
  const userReads: Array<{ userId: string; opts: CheckOptions | undefined }> = [];
  return {
    checks,
    userReads,
    async check(userId, req, where, opts): Promise<Decision> {
      // every test user is a system_user, which holds view_members (visibility is tested in
      // test/core/permissions/visibility.test.ts and test/security/visibility.test.ts)
      if (req.permission === 'view_members') return { allowed: true };
      checks.push({ userId, req, where, opts });
      const held = grants[userId] ?? [];
      const ok = held.includes(req.permission) || (where?.teamId !== undefined && held.includes(`${req.permission}@team:${where.teamId}`));
      return ok ? { allowed: true } : { allowed: false, reason: 'missing_permission', requirement: req };
    },
    async getUser(userId, opts) {
      userReads.push({ userId, opts });
      const now = opts?.fresh ? current[userId] : undefined;
      if (now) return now;
      const u = everyone.find((x) => x.id === userId);
      if (!u) throw new ApiError(404, 'app.user.missing_account.const', 'not found', 'r', 'GET /users/{user_id}');
      return u;
    },
    handleEvent() {},
    clear() {},
    stats: () => ({ hits: 0, misses: 0, size: 0 }),
  };
}

function apiStub(): MattermostApi & { calls: Array<{ method: string; args: unknown[] }> } {
  return stubApi({
    getUsersByUsernames: async (names) => everyone.filter((u) => names.includes(u.username)),
    getUsersByIds: async (ids) => everyone.filter((u) => ids.includes(u.id)),
    searchUsers: async ({ term }) => everyone.filter((u) => `${u.first_name} ${u.last_name}`.toLowerCase().includes(term.toLowerCase())),
    getTeam: async (id) => {
      if (id === acme.id) return acme;
      throw new ApiError(404, 'app.team.get.find.app_error', 'no', 'r', 'GET /teams/{team_id}');
    },
    getTeamByName: async (name) => {
      if (name === acme.name) return acme;
      throw new ApiError(404, 'app.team.get_by_name.missing.app_error', 'no', 'r', 'GET /teams/name/{name}');
    },
    getChannel: async (id) => {
      throw new ApiError(404, 'app.channel.get.existing.app_error', 'no', 'r', `GET /channels/${id.length}`);
    },
    // what a real client would run this call under (src/mattermost/bound-signal.ts)
    getMe: async (o) => {
      signalSeenByApi = callerSignal(o);
      return botUser;
    },
  });
}

// ---------------------------------------------------------------------------
// Test commands

const ran = vi.fn<(ctx: CommandContext) => void>();
let lastSignal: AbortSignal | undefined;
let signalSeenByApi: AbortSignal | undefined;
let apiFailure = new ApiError(500, '', '', '', 'GET /x');

const OTHER: Requirement = { permission: 'edit_other_users', scope: 'system' };

const testCommands: CommandDefinition[] = [
  defineCommand({
    name: 'echo',
    summary: 'Repeat words',
    hint: 'words',
    ownTrigger: true,
    subcommands: [
      defineSubcommand({
        name: '',
        summary: 'Repeat',
        usage: 'echo words...',
        examples: ['echo hi'],
        positional: ['words...'],
        args: z.object({ words: z.array(z.string()) }),
        access: { self: null },
        async execute(ctx) {
          ran(ctx);
          return say(ctx.args.words.join(' '));
        },
      }),
    ],
  }),
  defineCommand({
    name: 'user',
    summary: 'Manage people',
    hint: 'deactivate @user',
    ownTrigger: true,
    subcommands: [
      defineSubcommand({
        name: 'deactivate',
        summary: 'Deactivate someone',
        usage: 'user deactivate @user [--force]',
        examples: ['user deactivate @bob'],
        positional: ['target'],
        args: z.object({ target: z.string(), force: z.boolean().default(false) }),
        access: { self: null, other: OTHER, adminTargetNeedsManageSystem: true },
        target: (raw) => (typeof raw.target === 'string' ? raw.target : undefined),
        destructive: true,
        async execute(ctx) {
          ran(ctx);
          return say(`done ${ctx.target?.username ?? ''} force=${String(ctx.args.force)}`);
        },
      }),
      defineSubcommand({
        name: 'count',
        summary: 'Needs a number',
        usage: 'user count --n N',
        examples: ['user count --n 2'],
        args: z.object({ n: z.number().int().min(1) }),
        access: { self: { permission: 'manage_system', scope: 'system' } },
        async execute(ctx) {
          ran(ctx);
          return say(`n=${ctx.args.n}`);
        },
      }),
      defineSubcommand({
        name: 'sessions',
        summary: 'Sensitive',
        usage: 'user sessions',
        examples: ['user sessions'],
        args: z.object({}),
        access: { self: null },
        sensitive: true,
        execute: async () => reply([fields([['Token', 'hidden']])], { visibility: 'channel' }),
      }),
      defineSubcommand({
        name: 'purge',
        summary: 'Needs bot rights',
        usage: 'user purge',
        examples: ['user purge'],
        args: z.object({}),
        access: { self: null },
        botNeeds: [{ permission: 'manage_system', scope: 'system' }],
        async execute(ctx) {
          ran(ctx);
          return say('purged');
        },
      }),
    ],
  }),
  defineCommand({
    name: 'team',
    summary: 'Team things',
    hint: 'rename <team>',
    ownTrigger: true,
    subcommands: [
      defineSubcommand({
        name: 'rename',
        summary: 'Needs manage_team in the named team',
        usage: 'team rename <team>',
        examples: ['team rename acme'],
        positional: ['team'],
        args: z.object({ team: z.string() }),
        access: { self: { permission: 'manage_team', scope: 'team' } },
        scope: (raw) => (typeof raw.team === 'string' ? { team: raw.team } : {}),
        async execute(ctx) {
          ran(ctx);
          return say(`renamed ${ctx.team?.name ?? '?'}`);
        },
      }),
    ],
  }),
  defineCommand({
    name: 'trouble',
    summary: 'Fails in various ways',
    hint: '',
    ownTrigger: false,
    subcommands: [
      defineSubcommand({
        name: 'crash',
        summary: 'throws',
        usage: 'trouble crash',
        examples: ['trouble crash'],
        args: z.object({}),
        access: { self: null },
        execute: async () => {
          throw new TypeError('kaboom with token=s3cr3t-t0ken');
        },
      }),
      defineSubcommand({
        name: 'slow',
        summary: 'never finishes',
        usage: 'trouble slow',
        examples: ['trouble slow'],
        args: z.object({}),
        access: { self: null },
        execute: (ctx) => {
          lastSignal = ctx.signal;
          return new Promise(() => {}); // ignores the signal: the dispatcher must still answer
        },
      }),
      defineSubcommand({
        name: 'bound',
        summary: 'calls the API without passing a signal',
        usage: 'trouble bound',
        examples: ['trouble bound'],
        args: z.object({}),
        access: { self: null },
        execute: async (ctx) => {
          lastSignal = ctx.signal;
          await ctx.api.getMe();
          return say('ok');
        },
      }),
      defineSubcommand({
        name: 'api403',
        summary: 'server says no',
        usage: 'trouble api403',
        examples: ['trouble api403'],
        args: z.object({}),
        access: { self: null },
        execute: async () => {
          throw new ApiError(403, 'api.context.permissions.app_error', 'You do not have the appropriate permissions.', 'r', 'PUT /users/{user_id}/active');
        },
      }),
      defineSubcommand({
        name: 'apifail',
        summary: 'server says no, as set in apiFailure',
        usage: 'trouble apifail',
        examples: ['trouble apifail'],
        args: z.object({}),
        access: { self: null },
        execute: async () => {
          throw apiFailure;
        },
      }),
      defineSubcommand({
        name: 'ambiguous',
        summary: 'user error with candidates',
        usage: 'trouble ambiguous',
        examples: ['trouble ambiguous'],
        args: z.object({}),
        access: { self: null },
        execute: async (ctx) => {
          await ctx.users.resolve('Lee');
          return say('unreachable');
        },
      }),
    ],
  }),
];

// ---------------------------------------------------------------------------

function setup(over: Partial<DispatcherDeps> = {}, policy: Record<string, Requirement[]> = {}, current: Record<string, User> = {}) {
  ran.mockReset();
  const log = createMemoryLogger();
  const audits: AuditEntry[] = [];
  const permissions = stubPermissions(current);
  const api = apiStub();
  const services: Services = {
    audit: (e) => audits.push(e),
    botStatus: () => {
      throw new Error('not used');
    },
    commands: () => testCommands,
    policy: { extraRequirements: (c, s) => policy[`${c} ${s}`.trim()] ?? [] },
  };
  let refs = 0;
  const dispatcher = createDispatcher({
    registry: createRegistry(testCommands),
    api,
    permissions,
    services,
    logger: log,
    botUserId: botUser.id,
    newRef: () => `REF${String(++refs).padStart(3, '0')}`,
    ...over,
  });
  const run = async (who: User, text: string, inv: Partial<Invocation> = {}) => {
    const result = await dispatcher.dispatch({
      source: 'dm',
      text,
      userId: who.id,
      channelId: testId('channel:dm'),
      teamId: '',
      rootId: '',
      receivedAt: 0,
      ...inv,
    });
    return { result, text: renderReply(result.reply) };
  };
  return { run, log, audits, permissions, api, dispatcher };
}

describe('dispatcher: finding the command', () => {
  it('runs a command and passes parsed args', async () => {
    const { run } = setup();
    const { result, text } = await run(bob, 'echo hello "big world"');
    expect(result).toMatchObject({ outcome: 'ok', command: 'echo', subcommand: '' });
    expect(text).toBe('hello big world');
  });

  it('strips the root trigger', async () => {
    const { run } = setup();
    expect((await run(bob, '/mmops echo hi')).text).toBe('hi');
  });

  it('answers an unknown command with close matches and help', async () => {
    const { run } = setup();
    const { result, text } = await run(bob, 'ecko hi');
    expect(result.outcome).toBe('unknown_command');
    expect(text).toContain("I don't know `ecko`. Did you mean `echo`?");
    expect(text).toContain('`help`');
    expect(ran).not.toHaveBeenCalled();
  });

  it('lists the subcommands when none is named and there is no default', async () => {
    const { run } = setup();
    const { result, text } = await run(bob, 'user');
    expect(result.outcome).toBe('user_error');
    expect(text).toContain('`user deactivate @\u200buser [--force]`'); // code() disarms the @ (the tokenizer strips it again)
    expect(text).toContain('`user count --n N`');
  });

  it('shows slash-style usage for slash invocations', async () => {
    const { run } = setup();
    const { text } = await run(bob, 'trouble', { source: 'slash' });
    expect(text).toContain('`/mmops trouble crash`');
    const own = await run(bob, 'user', { source: 'slash' });
    expect(own.text).toContain('`/user deactivate @\u200buser [--force]`');
  });

  it('answers --help with the usage, without running anything', async () => {
    const { run } = setup();
    const { result, text } = await run(bob, 'user deactivate --help');
    expect(result.outcome).toBe('ok');
    expect(text).toContain('user deactivate @\u200buser');
    expect(text).not.toContain('user count');
    expect(ran).not.toHaveBeenCalled();
  });

  it('reports an unbalanced quote plainly', async () => {
    const { run } = setup();
    const { result, text } = await run(bob, 'echo "oops');
    expect(result.outcome).toBe('user_error');
    expect(text).toMatch(/quote is never closed/);
  });
});

describe('dispatcher: caller and permissions', () => {
  it('refuses deactivated callers and bots', async () => {
    const { run } = setup();
    expect((await run(frank, 'echo hi')).result.outcome).toBe('refused');
    const b = await run(robot, 'echo hi');
    expect(b.result.outcome).toBe('refused');
    expect(b.text).toContain("Bots can't run commands");
    expect(ran).not.toHaveBeenCalled();
    const allowed = setup({ allowBots: true });
    expect((await allowed.run(robot, 'echo hi')).result.outcome).toBe('ok');
  });

  it('refuses before validating arguments, naming the permission and scope', async () => {
    const { run } = setup();
    const refused = await run(bob, 'user count --n notanumber');
    expect(refused.result.outcome).toBe('refused');
    expect(refused.result.reply.tone).toBe('refused');
    expect(refused.text).toBe(':no_entry: You need `manage_system` (system-wide) to do that.');
    expect(refused.text).not.toMatch(/"n"|number/);
    // the same input from someone allowed reaches validation
    const invalid = await run(alice, 'user count --n notanumber');
    expect(invalid.result.outcome).toBe('user_error');
    expect(invalid.text).toMatch(/"n"/);
    expect(invalid.text).toContain('Usage: `user count --n N`');
    expect(ran).not.toHaveBeenCalled();
  });

  it('refuses privileged subcommands for a caller nothing proves (unsigned slash), before any lookup', async () => {
    const { run, permissions, api } = setup();
    const refused = await run(alice, 'user deactivate @ann', { source: 'slash', unverifiedCaller: true });
    expect(refused.result.outcome).toBe('refused');
    expect(refused.text).toContain("I can't verify who sent this slash command");
    expect(refused.text).toContain('direct message');
    expect(ran).not.toHaveBeenCalled();
    expect(permissions.checks).toEqual([]);
    expect(api.calls).toEqual([]);
    // a policy requirement makes an open subcommand privileged too
    const withPolicy = setup({}, { echo: [{ permission: 'manage_system', scope: 'system' }] });
    expect((await withPolicy.run(alice, 'echo hi', { source: 'slash', unverifiedCaller: true })).result.outcome).toBe('refused');
    // open subcommands still run, and the same privileged one runs when the caller is proven
    expect((await run(bob, 'echo hi', { source: 'slash', unverifiedCaller: true })).text).toBe('hi');
    expect((await run(alice, 'user deactivate @ann', { source: 'slash' })).result.outcome).toBe('ok');
  });

  it('runs nothing when refused, and audits the refusal', async () => {
    const { run, audits } = setup();
    const { result } = await run(bob, 'user deactivate @ann');
    expect(result.outcome).toBe('refused');
    expect(ran).not.toHaveBeenCalled();
    expect(audits).toEqual([
      expect.objectContaining({ who: { id: bob.id, username: 'bob' }, command: 'user deactivate', target: '@ann', outcome: 'refused', scope: 'system', ref: result.ref }),
    ]);
  });

  it('hides whether a target exists from callers who could not act on others', async () => {
    const { run } = setup();
    const ghost = await run(bob, 'user deactivate @ghost');
    const real = await run(bob, 'user deactivate @ann');
    expect(ghost.result.outcome).toBe('refused');
    expect(ghost.text).toBe(real.text);
    // someone allowed learns it plainly
    const admin = await run(alice, 'user deactivate @ghost');
    expect(admin.result.outcome).toBe('user_error');
    expect(admin.text).toContain('No one matches');
  });

  it('lets a caller act on themself with the self requirement', async () => {
    const { run } = setup();
    const { result, text } = await run(bob, 'user deactivate @bob --force');
    expect(result.outcome).toBe('ok');
    expect(text).toBe('done bob force=true');
  });

  it('needs manage_system to act on a system admin', async () => {
    const { run, permissions } = setup();
    const { result, text } = await run(heidi, 'user deactivate @alice');
    expect(result.outcome).toBe('refused');
    expect(text).toContain('`manage_system`');
    expect(permissions.checks.map((c) => c.req.permission)).toEqual(['edit_other_users', 'manage_system']);
    expect((await run(heidi, 'user deactivate @bob')).result.outcome).toBe('ok');
  });

  it('checks privileged subcommands against the server: caller and target read once each, every check sharing one set of fresh reads', async () => {
    const { run, permissions } = setup();
    expect((await run(alice, 'user deactivate @bob')).result.outcome).toBe('ok');
    const fresh = permissions.checks[0]?.opts?.fresh;
    expect(fresh).toMatchObject({ loads: expect.any(Map) });
    expect(permissions.checks.every((c) => c.opts?.fresh === fresh)).toBe(true);
    expect(permissions.userReads.filter((r) => r.opts?.fresh === fresh).map((r) => r.userId)).toEqual([alice.id, bob.id]);
    expect(ran.mock.calls.at(-1)?.[0]).toMatchObject({ fresh: true });
    // a subcommand that is neither destructive, sensitive nor declared fresh keeps the cache
    permissions.userReads.length = 0;
    await run(alice, 'user count --n 1');
    expect(permissions.checks.at(-1)?.opts?.fresh).toBe(false);
    expect(permissions.userReads.every((r) => !r.opts?.fresh)).toBe(true);
    expect(ran.mock.calls.at(-1)?.[0].fresh).toBeUndefined();
  });

  it('a sensitive read is privileged too: the caller is read fresh', async () => {
    const { run, permissions } = setup();
    await run(bob, 'user sessions');
    expect(permissions.userReads.some((r) => r.userId === bob.id && typeof r.opts?.fresh === 'object')).toBe(true);
  });

  it("decides on the target's current roles: someone promoted to system admin since the cache was filled is protected at once", async () => {
    const promoted = { ...bob, roles: 'system_user system_admin' };
    const { run, permissions, api } = setup({}, {}, { [bob.id]: promoted });
    const { result, text } = await run(heidi, 'user deactivate @bob');
    expect(result.outcome).toBe('refused');
    expect(text).toContain('`manage_system`');
    expect(permissions.checks.map((c) => c.req.permission)).toEqual(['edit_other_users', 'manage_system']);
    expect(ran).not.toHaveBeenCalled();
    expect(api.calls.filter((c) => !c.method.startsWith('get'))).toEqual([]);
  });

  it("decides on the caller's current account: deactivated since the cache was filled means refused", async () => {
    const { run } = setup({}, {}, { [alice.id]: { ...alice, delete_at: 5 } });
    const { result, text } = await run(alice, 'user deactivate @bob');
    expect(result.outcome).toBe('refused');
    expect(text).toContain('Your account is deactivated.');
    expect(ran).not.toHaveBeenCalled();
  });

  it('adds the operator policy requirements', async () => {
    const { run } = setup({}, { echo: [{ permission: 'manage_system', scope: 'system' }] });
    expect((await run(bob, 'echo hi')).result.outcome).toBe('refused');
    expect((await run(alice, 'echo hi')).result.outcome).toBe('ok');
  });

  it('checks team requirements in the team the subcommand names', async () => {
    const { run, permissions } = setup();
    const ok = await run(bob, 'team rename acme');
    expect(ok.text).toBe('renamed acme');
    expect(permissions.checks[0]?.where).toEqual({ teamId: acme.id });
    const missing = await run(bob, 'team rename nowhere');
    expect(missing.result.outcome).toBe('user_error');
    expect(missing.text).toContain('No team named "nowhere"');
  });

  it('names the team in a team-scoped refusal', async () => {
    const { run } = setup();
    const { text } = await run(heidi, 'team rename acme');
    expect(text).toBe(':no_entry: You need `manage_team` (in team **Acme Corp**) to do that.');
  });

  it('says when the bot itself lacks a right', async () => {
    const { run } = setup();
    const { result, text } = await run(alice, 'user purge');
    expect(result.outcome).toBe('unavailable');
    expect(text).toContain('Not available: the bot account lacks `manage_system`');
    expect(ran).not.toHaveBeenCalled();
  });
});

describe('dispatcher: execution and failures', () => {
  it('turns a crash into an apology with a ref, logging the error without secrets', async () => {
    const { run, log } = setup();
    const { result, text } = await run(bob, 'trouble crash');
    expect(result.outcome).toBe('crash');
    expect(text).toBe(`:warning: Sorry, something went wrong (ref ${result.ref}).`);
    const entry = log.find('command crashed');
    expect(entry?.level).toBe('error');
    expect(entry?.fields).toMatchObject({ ref: result.ref, command: 'trouble', subcommand: 'crash' });
    expect(log.dump()).toContain('kaboom');
    expect(log.dump()).not.toContain('s3cr3t-t0ken');
  });

  it('keeps the crash details in real pino output (type, scrubbed message, stack)', async () => {
    const { lines, stream } = captureLines();
    const { run } = setup({ logger: createLogger({ level: 'info', destination: stream }) });
    const { result } = await run(bob, 'trouble crash');
    const crash = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'command crashed');
    expect(crash).toMatchObject({ ref: result.ref, command: 'trouble', err: { type: 'TypeError', message: 'kaboom with token=[redacted]' } });
    expect(String((crash?.err as Record<string, unknown> | undefined)?.stack)).toContain('TypeError: kaboom');
    expect(lines.join('\n')).not.toContain('s3cr3t-t0ken');
    expect(lines.join('\n')).not.toContain('[object Object]');
  });

  it('stops at the deadline even when the command ignores its signal', async () => {
    const { run, log } = setup({ deadlineMs: 30 });
    const { result, text } = await run(bob, 'trouble slow');
    expect(result.outcome).toBe('timeout');
    expect(text).toContain('took too long');
    expect(text).toContain(result.ref);
    expect(lastSignal?.aborted).toBe(true);
    expect(log.find('invocation deadline passed')).toBeDefined();
  });

  it("binds ctx.api to the invocation's deadline: a call without a signal runs under ctx.signal", async () => {
    const { run } = setup();
    signalSeenByApi = undefined;
    const { result } = await run(bob, 'trouble bound');
    expect(result.outcome).toBe('ok');
    expect(lastSignal).toBeInstanceOf(AbortSignal);
    expect(signalSeenByApi).toBe(lastSignal);
    // outside the command, the same API runs unbound again
    expect(callerSignal(undefined)).toBeUndefined();
  });

  it('stops when the caller aborts (shutdown)', async () => {
    const { dispatcher } = setup();
    const ac = new AbortController();
    const p = dispatcher.dispatch(
      { source: 'dm', text: 'trouble slow', userId: bob.id, channelId: 'c', teamId: '', rootId: '', receivedAt: 0 },
      { signal: ac.signal },
    );
    setTimeout(() => ac.abort(), 5);
    const result = await p;
    expect(result.outcome).toBe('unavailable');
    expect(renderReply(result.reply)).toContain('shutting down');
  });

  it("explains a 403 from the server with the server's message", async () => {
    const { run } = setup();
    const { result, text } = await run(bob, 'trouble api403');
    expect(result.outcome).toBe('unavailable');
    expect(result.reply.tone).toBe('refused');
    expect(text).toContain('Mattermost refused that: You do not have the appropriate permissions\\.');
  });

  it('treats a 401 with another error id as a refusal with its message, not a bad token', async () => {
    const { run, log } = setup();
    apiFailure = new ApiError(
      401,
      'api.user.update_active.not_enable.app_error',
      'You cannot deactivate yourself because this feature is not enabled.',
      'r',
      'PUT /api/v4/users/{user_id}/active',
    );
    const { result, text } = await run(bob, 'trouble apifail');
    expect(result.outcome).toBe('unavailable');
    expect(result.reply.tone).toBe('refused');
    expect(text).toContain('Mattermost refused that: You cannot deactivate yourself because this feature is not enabled\\.');
    expect(text).not.toContain('MM_BOT_TOKEN');
    expect(log.find('bot token rejected')).toBeUndefined();
  });

  it('names MM_BOT_TOKEN only when the server rejected the token itself', async () => {
    const { run, log } = setup();
    apiFailure = new ApiError(401, 'api.context.session_expired.app_error', 'Invalid or expired session, please login again.', 'r', 'GET /api/v4/users/{user_id}');
    const { result, text } = await run(bob, 'trouble apifail');
    expect(result.outcome).toBe('unavailable');
    expect(text).toContain('MM_BOT_TOKEN');
    expect(text).toContain(result.ref);
    expect(log.find('bot token rejected')?.level).toBe('error');
  });

  it("turns a 403 reading a channel's members into \"I can't see that channel\"", async () => {
    const { run } = setup();
    apiFailure = new ApiError(403, 'api.context.permissions.app_error', 'You do not have the appropriate permissions.', 'r', 'GET /api/v4/channels/{channel_id}/members/{user_id}');
    const { result, text } = await run(bob, 'trouble apifail');
    expect(result.outcome).toBe('unavailable');
    expect(text).toContain("I can't see that channel; add me to it or ask in a DM.");
  });

  it('lists candidates for an ambiguous name', async () => {
    const { run } = setup();
    const { result, text } = await run(bob, 'trouble ambiguous');
    expect(result.outcome).toBe('user_error');
    expect(text).toContain('matches 2 people');
    expect(text).toContain(`- @\u200bann`);
    expect(text).toContain(`- @\u200banna`);
  });

  it('keeps sensitive output for the caller only', async () => {
    const { run } = setup();
    const { result } = await run(bob, 'user sessions');
    expect(result.reply).toMatchObject({ sensitive: true, visibility: 'caller' });
  });

  it('audits privileged actions that ran, with the outcome', async () => {
    const { run, audits } = setup();
    await run(alice, 'user deactivate @bob');
    await run(bob, 'echo not privileged');
    expect(audits).toEqual([expect.objectContaining({ command: 'user deactivate', target: '@bob', outcome: 'succeeded' })]);
  });

  it('hands the command the caller, target, api and a per-invocation ref', async () => {
    const { run } = setup();
    const { result } = await run(alice, 'user deactivate @bob');
    const ctx = ran.mock.calls[0]?.[0];
    expect(ctx?.caller.id).toBe(alice.id);
    expect(ctx?.target?.id).toBe(bob.id);
    expect(ctx?.ref).toBe(result.ref);
    expect(await ctx?.perms.can({ permission: 'manage_system', scope: 'system' })).toBe(true);
  });

  it('counts what it served by command and outcome', async () => {
    const { run, dispatcher } = setup();
    await run(bob, 'echo a');
    await run(bob, 'echo b');
    await run(bob, 'nope');
    await run(bob, 'user count --n 1');
    expect(dispatcher.stats()).toEqual({
      served: 4,
      byOutcome: { ok: 2, unknown_command: 1, refused: 1 },
      byCommand: { echo: { ok: 2 }, '?': { unknown_command: 1 }, user: { refused: 1 } },
    });
  });

  it('logs one line per invocation without the command text', async () => {
    const { run, log } = setup();
    await run(bob, 'echo my-password-is-hunter2');
    const lines = log.entries.filter((e) => e.msg === 'command answered');
    expect(lines).toHaveLength(1);
    expect(lines[0]?.fields).toMatchObject({ command: 'echo', outcome: 'ok', userId: bob.id });
    expect(log.dump()).not.toContain('hunter2');
  });

  it('never lets a UserError thrown by a command become a crash', async () => {
    const cmd = defineCommand({
      name: 'nf',
      summary: 'not found',
      hint: '',
      ownTrigger: false,
      subcommands: [
        defineSubcommand({
          name: '',
          summary: 's',
          usage: 'nf',
          examples: ['nf'],
          args: z.object({}),
          access: { self: null },
          execute: async () => {
            throw new UserError('not_found', 'No such thing as @channel.');
          },
        }),
      ],
    });
    const { run } = setup({ registry: createRegistry([cmd]) });
    const { result, text } = await run(bob, 'nf');
    expect(result.outcome).toBe('user_error');
    expect(result.reply.tone).toBe('warning');
    expect(text).toContain('@\u200bchannel');
  });
});

describe('dispatcher: random input', () => {
  it('never crashes on what people type, and never answers with a live mention', async () => {
    const { run } = setup();
    const word = fc.oneof(
      fc.constantFrom('echo', 'user', 'deactivate', 'count', 'team', 'rename', 'trouble', 'ambiguous', '--n', '--force', '--help', '-h', '@channel', '@ghost', '@ann', 'acme', '"', '\\', '~x', '--', '|'),
      fc.string({ maxLength: 10 }),
    );
    const line = fc.array(word, { maxLength: 8 }).map((w) => w.join(' '));
    await fc.assert(
      fc.asyncProperty(line, fc.constantFrom(alice, bob, heidi), async (text, who) => {
        const { result, text: out } = await run(who, text);
        expect(result.outcome).not.toBe('crash');
        expect(liveMentions(out)).toEqual([]);
        expect(tableProblems(out)).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });
});
