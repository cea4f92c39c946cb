/**
 * A plain CommandContext for unit-testing a command's `execute` (a command is a pure
 * function of its context):
 * stubbed API (only the methods a test provides; any other call fails loudly),
 * configurable caller permissions, an audit recorder and a silent logger.
 *
 * @example
 *   const ctx = createTestContext({
 *     args: { target: '@bob' },
 *     api: { getStatus: async () => ({ user_id: bob.id, status: 'away', manual: true, last_activity_at: 0, dnd_end_time: 0 }) },
 *     allow: ['edit_other_users'],
 *   });
 *   const out = await whois.subcommands[0].execute(ctx);
 *   expect(ctx.calls.map((c) => c.method)).toEqual(['getStatus']);
 */
import { createHash } from 'node:crypto';
import type { ApiStats, MattermostApi } from '../../src/mattermost/api.js';
import { channelSchema, teamSchema, userSchema, type Channel, type Team, type User } from '../../src/mattermost/models.js';
import type {
  AuditEntry,
  CallerPermissions,
  CommandContext,
  CommandDefinition,
  Invocation,
  Logger,
  PermissionId,
  Requirement,
  Services,
  UserDirectory,
} from '../../src/core/command.js';
import { UserError } from '../../src/core/errors.js';
import type { BotStatus } from '../../src/services/bot-status.js';
import { silentLogger } from '../../src/log/logger.js';
import { createUserDirectory } from '../../src/core/users.js';

/** A stable 26-character Mattermost-shaped id for a test name. */
export function testId(name: string): string {
  return createHash('sha256').update(name).digest('hex').slice(0, 26);
}

/** A User with the server's defaults, id derived from the username. */
export function makeUser(partial: Partial<User> & { username: string }): User {
  return userSchema.parse({ id: testId(`user:${partial.username}`), roles: 'system_user', ...partial });
}

/** A Team with defaults, id derived from the name. */
export function makeTeam(partial: Partial<Team> & { name: string }): Team {
  return teamSchema.parse({ id: testId(`team:${partial.name}`), display_name: partial.name, type: 'O', ...partial });
}

/** A Channel with defaults, id derived from the name. */
export function makeChannel(partial: Partial<Channel> & { name: string }): Channel {
  return channelSchema.parse({ id: testId(`channel:${partial.name}`), type: 'O', display_name: partial.name, ...partial });
}

export interface ApiCall {
  method: string;
  args: unknown[];
}

const EMPTY_STATS: ApiStats = { requests: 0, byEndpoint: {}, rateLimitWaits: 0, retries: 0, lastRoundTripMs: 0 };

/**
 * A MattermostApi from a partial implementation. Calls are recorded in `calls`;
 * a method the test did not provide throws, naming it.
 */
export function stubApi(impl: Partial<MattermostApi> = {}, calls: ApiCall[] = []): MattermostApi & { calls: ApiCall[] } {
  const target: Record<string, unknown> = { ...impl };
  return new Proxy(target, {
    get(_t, prop) {
      if (prop === 'calls') return calls;
      if (prop === 'then') return undefined; // not a thenable
      if (typeof prop !== 'string') return undefined;
      if (prop === 'stats' && !impl.stats) return () => EMPTY_STATS;
      const fn = target[prop];
      return (...args: unknown[]) => {
        calls.push({ method: prop, args });
        if (typeof fn !== 'function') throw new Error(`api.${prop} is not stubbed in this test`);
        return Reflect.apply(fn, impl, args);
      };
    },
  }) as unknown as MattermostApi & { calls: ApiCall[] }; // test double: the Proxy implements every method
}

/** Which requirements the test caller holds. */
export type AllowSpec =
  | 'all'
  | 'none'
  | PermissionId[]
  | ((req: Requirement, where: { teamId?: string; channelId?: string }) => boolean);

/** CallerPermissions from an AllowSpec; `require` throws UserError `forbidden`. */
export function stubPerms(allow: AllowSpec = 'all'): CallerPermissions {
  const can = (req: Requirement, where: { teamId?: string; channelId?: string } = {}): boolean =>
    allow === 'all' ? true : allow === 'none' ? false : Array.isArray(allow) ? allow.includes(req.permission) : allow(req, where);
  return {
    can: async (req, where) => can(req, where),
    async require(req, where) {
      if (!can(req, where)) {
        throw new UserError('forbidden', `You need the ${req.permission} permission to do that.`, { requirement: req });
      }
    },
  };
}

export interface TestContextOptions<A> {
  args?: A;
  caller?: Partial<User>;
  target?: User;
  team?: Team;
  channel?: Channel;
  api?: Partial<MattermostApi>;
  invocation?: Partial<Invocation>;
  allow?: AllowSpec;
  users?: UserDirectory;
  services?: Partial<Services>;
  commands?: readonly CommandDefinition[];
  log?: Logger;
  /** a fixed clock (ms) or a clock function */
  now?: number | (() => number);
  signal?: AbortSignal;
  ref?: string;
}

export type TestContext<A> = CommandContext<A> & {
  /** audit entries the command wrote */
  audits: AuditEntry[];
  /** API calls the command made, in order */
  calls: ApiCall[];
};

/** Builds a CommandContext for a unit test; everything not given is a harmless default. */
export function createTestContext<A = Record<string, unknown>>(opts: TestContextOptions<A> = {}): TestContext<A> {
  const nowFn = typeof opts.now === 'function' ? opts.now : ((n: number) => () => n)(opts.now ?? 1_750_000_000_000);
  const caller = makeUser({ username: 'tester', first_name: 'Test', last_name: 'User', ...opts.caller });
  const calls: ApiCall[] = [];
  const api = stubApi(opts.api, calls);
  const audits: AuditEntry[] = [];
  const botStatus: BotStatus = {
    user: makeUser({ username: 'mmops', is_bot: true }),
    startedAt: nowFn() - 60_000,
    websocket: { connected: true, since: nowFn() - 60_000, reconnects: 0 },
    commandsServed: 0,
    lastError: null,
    serverVersion: '10.5.0',
  };
  const services: Services = {
    audit: (e) => audits.push(e),
    botStatus: () => botStatus,
    commands: () => opts.commands ?? [],
    policy: { extraRequirements: () => [] },
    ...opts.services,
  };
  const invocation: Invocation = {
    source: 'dm',
    text: '',
    userId: caller.id,
    channelId: opts.channel?.id ?? testId('channel:dm'),
    teamId: opts.team?.id ?? '',
    rootId: '',
    receivedAt: nowFn(),
    ...opts.invocation,
  };
  return {
    args: (opts.args ?? {}) as A, // test input: the caller states the validated shape
    invocation,
    caller,
    ...(opts.target ? { target: opts.target } : {}),
    ...(opts.team ? { team: opts.team } : {}),
    ...(opts.channel ? { channel: opts.channel } : {}),
    api,
    users: opts.users ?? createUserDirectory(api),
    perms: stubPerms(opts.allow),
    services,
    log: opts.log ?? silentLogger,
    ref: opts.ref ?? 'TEST01',
    signal: opts.signal ?? new AbortController().signal,
    now: nowFn,
    audits,
    calls,
  };
}
