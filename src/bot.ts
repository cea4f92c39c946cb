/**
 * The composition root: config → API → permissions → dispatcher → transports.
 * `npm start` (main.ts), `npm run demo` and the end-to-end tests all start the bot
 * through {@link createBot}, so they run the same code path.
 *
 * Start-up (issue 2): listen on MMOPS_LISTEN (health answers from the start) →
 * `GET /users/me` (401 → "the server rejected MM_BOT_TOKEN"; unreachable → retried with
 * backoff) → the bot's teams and its own rights → WebSocket → slash-command registration
 * per team → one "ready" log line. Shutdown: stop taking work, finish what is in
 * flight (bounded), close the WebSocket with 1000, close the HTTP server.
 *
 * @example
 *   const bot = createBot(config, { logger });
 *   await bot.start();
 *   ...
 *   await bot.stop();
 */
import { z } from 'zod';
import { resolvePublicUrl, type Config, type ListenAddress } from './config.js';
import type { BotStatus, CommandDefinition, HealthWatchService, Invocation, Logger, Services } from './core/command.js';
import { createReplication, type ReplicationDeps } from './bot/replication.js';
import { createAuditTrail, type AuditTrail } from './core/audit.js';
import { createDispatcher, type Dispatcher, type DispatchResult } from './core/dispatcher.js';
import { withScheduler } from './core/scheduler.js';
import { createLogger } from './core/logger.js';
import type { PermissionService } from './core/permission-service.js';
import { resolveBotRights, type BotRights } from './core/permissions/bot-rights.js';
import { isPolicyError, loadPolicy, type LoadedPolicy } from './core/permissions/policy.js';
import { createPermissionService } from './core/permissions/service.js';
import { createVisibilityService, type VisibilityService } from './core/permissions/visibility.js';
import { createRegistry, type Registry } from './core/registry.js';
import { createUserCache } from './core/users.js';
import { renderPosts } from './render/markdown.js';
import type { MattermostApi } from './mattermost/api.js';
import { isApiError, isNetworkError } from './mattermost/errors.js';
import { compatibilityPaths, parseServerVersion } from './mattermost/compat.js';
import type { ClientConfig, Team, TeamMember, User, WsEvent } from './mattermost/models.js';
import { createRestApi } from './mattermost/rest-api.js';
import { createHookUrlCheck, createResponseUrlClient } from './mattermost/response-url.js';
import { createWebSocketClient, type MattermostSocket, type WebSocketClientOptions } from './mattermost/websocket.js';
import { createBotStatus, shortServerVersion } from './services/bot-status.js';
import { createBotHealthWatches } from './services/health-watch.js';
import { createMetrics, type Metrics } from './services/metrics.js';
import { createSlashRegistration, SLASH_PATH, type SlashRegistration, type TeamRegistration } from './services/slash-registration.js';
import { createSlashTrust, type ReplaySet, type SlashTrust } from './services/slash-trust.js';
import { createHttpServer, type HttpServer } from './transports/http-server.js';
import { createInFlight } from './transports/in-flight.js';
import { createOpsRoutes, createReadinessCheck } from './transports/ops-endpoints.js';
import { createSlashEndpoint } from './transports/slash-endpoint.js';
import { createDelayedAnswers } from './transports/delayed-answer.js';
import { createWsIntake, type WsIntake } from './transports/ws-intake.js';
import { createCatchUp, type CatchUp } from './services/catch-up.js';
import { createPostLedger, type PostLedger } from './services/post-ledger.js';

/** Why start-up stopped; `exitCode` is what main.ts exits with. */
export type StartupErrorCode = 'token_rejected' | 'config' | 'stopped' | 'failed';

export class StartupError extends Error {
  override readonly name = 'StartupError';
  constructor(
    readonly code: StartupErrorCode,
    /** one line for the person running the bot (no secrets) */
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export const isStartupError = (e: unknown): e is StartupError => e instanceof StartupError;

/** Replaceable parts, for tests and the sandbox; everything defaults to the real thing. */
export interface BotDeps extends ReplicationDeps {
  logger?: Logger;
  api?: MattermostApi;
  /** builds the WebSocket client (default: createWebSocketClient on MM_URL) */
  socket?: (opts: WebSocketClientOptions) => MattermostSocket;
  /** extra options for the default WebSocket client (e.g. a short backoff in tests) */
  websocket?: Partial<Omit<WebSocketClientOptions, 'url' | 'token' | 'logger'>>;
  commands?: readonly CommandDefinition[];
  /**
   * the `/health watch` service (Services.watches), built once the bot knows itself
   * (default: watches kept in `$MMOPS_STATE_DIR/watches.json`)
   */
  watches?: (ctx: { api: MattermostApi; logger: Logger; botUserId: string; config: Config }) => HealthWatchService & { stop?(): void | Promise<void> };
  now?: () => number;
  /** answer "working" on a slash command after this long (default 2 000 ms) */
  slowReplyMs?: number;
  /** `GET /users/me` retry delays while the server is unreachable (default 1 s … 30 s) */
  startupBackoff?: { minMs: number; maxMs: number };
  /** how long start-up waits for the WebSocket before carrying on (default 15 s) */
  wsReadyTimeoutMs?: number;
  /** how long shutdown waits for work in flight (default 10 s) */
  shutdownGraceMs?: number;
  /** per-invocation deadline (default: the dispatcher's 25 s) */
  deadlineMs?: number;
  /** where accepted slash trigger ids are remembered (default: in this process) */
  replay?: ReplaySet;
}

export interface Bot {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** base URL of the bot's HTTP endpoint (loopback form), once started */
  readonly url: string;
  /** base URL of /healthz, /readyz and /metrics (MMOPS_OPS_LISTEN, else the same as `url`) */
  readonly opsUrl: string;
  /** the URL slash commands are registered with */
  readonly slashUrl: string;
  /** the bot account, once start-up identified it */
  readonly user: User | undefined;
  /** per-team slash registration results */
  registrations(): TeamRegistration[];
  /** settles once the slash commands are registered in every team (start() does not wait for it) */
  registered(): Promise<void>;
  /** the bot's own rights, once resolved */
  rights(): BotRights | undefined;
  /** the WebSocket client, once created */
  socket(): MattermostSocket | undefined;
  metrics: Metrics;
  /** runs one invocation through the dispatcher (the console and tests use it) */
  dispatch(inv: Invocation): Promise<DispatchResult>;
  /** this replica: its id, and whether it leads now (always true for one replica) */
  replica: { id: string; isLeader(): boolean };
}

const addedToTeamSchema = z.object({ team_id: z.string().min(1), user_id: z.string().min(1) });
const userUpdatedSchema = z.object({ user: z.object({ id: z.string().min(1) }) });
const helloSchema = z.object({ server_version: z.string().default('') });

/** The default team and channel roles (server/public/model/role.go), read with the bot's own. */
const BASE_ROLE_NAMES = ['team_user', 'team_admin', 'team_guest', 'channel_user', 'channel_admin', 'channel_guest'];

/** Teams whose slash commands are registered at once, in the background after start-up. */
const SLASH_REGISTRATION_CONCURRENCY = 4;

const EPHEMERAL_RIGHT = { permission: 'create_post_ephemeral', scope: 'system' } as const;

/** Creates the bot; nothing happens until start(). */
export function createBot(config: Config, deps: BotDeps = {}): Bot {
  const log = deps.logger ?? createLogger({ level: config.logLevel });
  const now = deps.now ?? Date.now;
  let commands: readonly CommandDefinition[] = deps.commands ?? [];
  const metrics = createMetrics();
  const replication = createReplication({ config, logger: log, deps });
  const work = createInFlight();
  const stopping = new AbortController();
  const api: MattermostApi =
    deps.api ??
    createRestApi({
      url: config.mmUrl,
      token: config.botToken,
      logger: log,
      maxConcurrency: config.limits.apiConcurrency,
      onRequest: (info) => metrics.apiRequest(info),
    });

  let phase: 'idle' | 'starting' | 'running' | 'stopping' | 'stopped' = 'idle';
  let http: HttpServer | undefined;
  let bound: ListenAddress | undefined;
  let opsHttp: HttpServer | undefined;
  let opsBound: ListenAddress | undefined;
  let slashUrl = '';
  let me: User | undefined;
  let socket: MattermostSocket | undefined;
  let permissions: PermissionService | undefined;
  let visibility: VisibilityService | undefined;
  let registration: SlashRegistration | undefined;
  let trust: SlashTrust | undefined;
  let dispatcher: Dispatcher | undefined;
  let intake: WsIntake | undefined;
  let ledger: PostLedger | undefined;
  let catchUp: CatchUp | undefined;
  let rights: BotRights | undefined;
  let canEphemeral = false;
  /** settles when the background slash registration is done (or stopped) */
  let registrationDone: Promise<void> = Promise.resolve();
  let audit: AuditTrail | undefined;
  let hellos = 0;
  let serverVersion = '';
  let watches: (HealthWatchService & { stop?(): void | Promise<void> }) | undefined;
  const teamFilter: ReadonlySet<string> | null = config.teams ? new Set(config.teams) : null;
  const userCache = createUserCache({ now });
  const status = createBotStatus({
    now,
    slash: () => ({
      slashTeams: registration?.reports().filter((r) => !r.error && r.registered.length > 0).map((r) => r.teamName) ?? [],
      slashSignatures: slashSignatures(),
    }),
    socket: () => {
      const s = socket?.state();
      return { connected: s?.connected ?? false, since: s?.since ?? null, reconnects: s?.reconnects ?? 0 };
    },
  });

  // The client config (SiteURL, the trigger_id signing key) is read by two start-up steps;
  // reads within a few seconds share one request, later refreshes read it again.
  let clientConfigRead: { at: number; value: Promise<ClientConfig> } | undefined;
  function clientConfig(): Promise<ClientConfig> {
    const t = now();
    if (clientConfigRead && t - clientConfigRead.at < 5_000) return clientConfigRead.value;
    const value = api.getClientConfig({ signal: stopping.signal });
    clientConfigRead = { at: t, value };
    value.catch(() => {
      if (clientConfigRead?.value === value) clientConfigRead = undefined;
    });
    return value;
  }

  // Delayed slash answers: response_url on a leash, through a client of its own
  const hookUrls = createHookUrlCheck({ mmUrl: config.mmUrl, siteUrl: async () => (await clientConfig()).SiteURL ?? '', logger: log, now });
  const delayed = createDelayedAnswers({ hooks: hookUrls, client: createResponseUrlClient(), api, logger: log });

  const readiness = createReadinessCheck({
    phase: () => (phase === 'running' ? 'running' : phase === 'stopping' || phase === 'stopped' ? 'stopping' : 'starting'),
    socket: () => socket?.state(),
    probe: (signal) => api.ping({ signal }),
    degraded: () => replication.problem(),
    now,
  });

  function slashSignatures(): NonNullable<BotStatus['slashSignatures']> {
    const key = trust?.keyState() ?? 'unknown';
    if (key === 'present') return 'verified';
    if (config.allowUnsignedSlash) return 'unsigned_allowed';
    return key === 'absent' ? 'unsigned' : 'unknown';
  }

  async function run(inv: Invocation): Promise<DispatchResult> {
    if (!dispatcher) throw new Error('dispatch before start-up finished');
    const result = await dispatcher.dispatch(inv);
    metrics.commandServed(result.command ?? 'unknown', result.outcome, result.durationMs);
    status.commandServed();
    if (result.outcome === 'crash') status.error(`unexpected error (ref ${result.ref})`);
    return result;
  }

  const render = (reply: Parameters<typeof renderPosts>[0]): string[] => renderPosts(reply);

  // ---------------------------------------------------------------------------
  // start-up steps

  function loadPolicyOrExit(): LoadedPolicy {
    try {
      return loadPolicy(config.policyPath ?? undefined, commands);
    } catch (err) {
      if (isPolicyError(err)) throw new StartupError('config', `MMOPS_POLICY: ${err.message}`, 2);
      throw err;
    }
  }

  async function listen(): Promise<void> {
    const handleSlash = createSlashEndpoint({
      authenticate: async (token, teamId) => (registration ? registration.authenticate(token, teamId) : undefined),
      knownToken: (token) => registration?.verify(token) !== undefined,
      // before start-up knows the key nothing is trusted: refuse rather than run unchecked
      checkCaller: async (req) => (trust ? trust.check(req) : { verdict: 'refused', reason: 'missing' }),
      run,
      render,
      respondLater: (url, body, to) => delayed.deliver(url, body, to),
      work,
      logger: log,
      onStatus: (s) => metrics.slashRequest(s),
      ...(deps.slowReplyMs !== undefined ? { slowAfterMs: deps.slowReplyMs } : {}),
      now,
    });
    const opsRoutes = createOpsRoutes({ readiness, metrics: () => metrics.render(), logger: log });
    const slashRoute = { method: 'POST' as const, path: SLASH_PATH, handle: handleSlash };
    // With MMOPS_OPS_LISTEN the main listener serves /slash alone, so it can be exposed
    // to the Mattermost server without exposing health and metrics.
    http = createHttpServer({
      listen: config.listen,
      logger: log,
      maxConnections: config.limits.maxConnections,
      routes: config.opsListen ? [slashRoute] : [slashRoute, ...opsRoutes],
    });
    bound = await startListener(http, 'MMOPS_LISTEN', config.listen);
    if (config.opsListen) {
      opsHttp = createHttpServer({ listen: config.opsListen, logger: log, routes: opsRoutes });
      opsBound = await startListener(opsHttp, 'MMOPS_OPS_LISTEN', config.opsListen);
    }
    slashUrl = `${resolvePublicUrl(config, bound)}${SLASH_PATH}`;
    if (!config.publicUrl && (bound.host === '0.0.0.0' || bound.host === '::')) {
      log.warn(
        { slashUrl },
        `MMOPS_PUBLIC_URL is not set, so slash commands point at ${slashUrl}, which only works when Mattermost runs on this machine; set MMOPS_PUBLIC_URL to the address Mattermost can reach (e.g. MMOPS_PUBLIC_URL=https://mmops.example.com)`,
      );
    }
  }

  async function startListener(server: HttpServer, variable: string, where: ListenAddress): Promise<ListenAddress> {
    try {
      return await server.start();
    } catch (err) {
      const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
      const at = `${where.host}:${where.port}`;
      const why =
        code === 'EADDRINUSE'
          ? `${at} is already in use; choose another port`
          : code === 'EACCES'
            ? `not allowed to listen on ${at} (ports below 1024 need privileges)`
            : code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND'
              ? `${where.host} is not an address of this machine`
              : `cannot listen on ${at} (${err instanceof Error ? err.message : String(err)})`;
      throw new StartupError('config', `${variable}: ${why} (e.g. ${variable}=127.0.0.1:${variable === 'MMOPS_LISTEN' ? 3979 : 9090})`, 2);
    }
  }

  /** Sleeps `ms`, or throws StartupError('stopped') as soon as stop() is called. */
  function pause(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (stopping.signal.aborted) return reject(new StartupError('stopped', 'stopped during start-up', 0));
      const timer = setTimeout(() => {
        stopping.signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(new StartupError('stopped', 'stopped during start-up', 0));
      };
      stopping.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  async function identify(): Promise<User> {
    const { minMs, maxMs } = deps.startupBackoff ?? { minMs: 1_000, maxMs: 30_000 };
    for (let attempt = 0; ; attempt++) {
      try {
        return await api.getMe({ signal: stopping.signal });
      } catch (err) {
        if (stopping.signal.aborted) throw new StartupError('stopped', 'stopped during start-up', 0);
        if (isApiError(err) && err.isTokenRejected) {
          throw new StartupError(
            'token_rejected',
            `the server rejected MM_BOT_TOKEN (401 from ${config.mmUrl}): check that the token is current and that its bot account is enabled`,
            1,
          );
        }
        const transient = isNetworkError(err) || (isApiError(err) && (err.status >= 500 || err.status === 429));
        if (!transient) {
          const what = isApiError(err) ? `${err.status} ${err.serverErrorId || err.serverMessage}` : err instanceof Error ? err.message : String(err);
          throw new StartupError('failed', `GET /api/v4/users/me on ${config.mmUrl} failed: ${what}`, 1);
        }
        const delay = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 16));
        const jittered = Math.round(delay / 2 + Math.random() * (delay / 2));
        log.warn(
          { err, attempt: attempt + 1, retryInMs: jittered },
          `Mattermost at ${config.mmUrl} is unreachable; retrying in ${Math.round(jittered / 1000)} s`,
        );
        await pause(jittered);
      }
    }
  }

  /** The teams slash commands go into: every team of the bot, or those named in MMOPS_TEAMS. */
  async function chooseTeams(botId: string): Promise<Team[]> {
    let mine: Team[];
    try {
      mine = await api.getTeamsForUser(botId);
    } catch (err) {
      log.warn({ err }, 'could not list the teams of the bot; no slash command is registered');
      return [];
    }
    const active = mine.filter((t) => t.delete_at === 0);
    if (!teamFilter) return active;
    const names = new Set(active.map((t) => t.name));
    for (const wanted of teamFilter) {
      if (!names.has(wanted)) {
        log.warn({ team: wanted }, `MMOPS_TEAMS names "${wanted}", but the bot is not a member of such a team: add the bot to it, or fix the name`);
      }
    }
    return active.filter((t) => teamFilter?.has(t.name));
  }

  function auditPoster(): ((line: string) => Promise<void>) | undefined {
    const target = config.auditChannel;
    if (!target) return undefined;
    let channelId: Promise<string> | undefined;
    const resolve = async (): Promise<string> => {
      const team = await api.getTeamByName(target.team);
      const channel = await api.getChannelByName(team.id, target.channel);
      return channel.id;
    };
    return async (line) => {
      channelId ??= resolve().catch((err: unknown) => {
        channelId = undefined; // try again next time (the bot may be added later)
        throw err;
      });
      await api.createPost({ channel_id: await channelId, message: line });
    };
  }

  async function checkAuditChannel(): Promise<void> {
    const target = config.auditChannel;
    if (!target) return;
    try {
      const team = await api.getTeamByName(target.team);
      await api.getChannelByName(team.id, target.channel);
      log.info({ auditChannel: `${target.team}:${target.channel}` }, 'audit summaries go to the audit channel');
    } catch (err) {
      log.warn(
        { err, auditChannel: `${target.team}:${target.channel}` },
        `MMOPS_AUDIT_CHANNEL: the bot cannot see channel "${target.channel}" in team "${target.team}"; audit lines are logged only until it can (add the bot to the channel)`,
      );
    }
  }

  function onEvent(ev: WsEvent): void {
    try {
      permissions?.handleEvent(ev);
    } catch (err) {
      log.warn({ err, event: ev.event }, 'permission cache could not apply an event');
    }
    try {
      visibility?.handleEvent(ev);
    } catch (err) {
      log.warn({ err, event: ev.event }, 'visibility cache could not apply an event');
    }
    switch (ev.event) {
      case 'hello': {
        hellos += 1;
        const v = helloSchema.safeParse(ev.data);
        if (v.success && v.data.server_version) {
          serverVersion = shortServerVersion(v.data.server_version);
          status.setServerVersion(serverVersion);
        }
        // a fresh connection (not a resume): whatever was posted in the gap is read over REST
        catchUp?.trigger(hellos > 1 ? 'the WebSocket did not resume' : 'start-up');
        if (hellos > 1) {
          // a new hello means events were missed: nothing cached can be trusted
          permissions?.clear();
          visibility?.clear();
          userCache.clear();
          log.info({ reconnects: socket?.state().reconnects }, 'WebSocket gap: caches cleared');
        }
        return;
      }
      case 'user_updated': {
        const u = userUpdatedSchema.safeParse(ev.data);
        if (u.success) userCache.forget(u.data.user.id);
        return;
      }
      case 'added_to_team': {
        const d = addedToTeamSchema.safeParse(ev.data);
        if (d.success && me && d.data.user_id === me.id) void registerNewTeam(d.data.team_id);
        return;
      }
      case 'posted':
        if (intake) void intake.handleEvent(ev);
        return;
      default:
        return;
    }
  }

  async function registerNewTeam(teamId: string): Promise<void> {
    if (!registration || phase !== 'running') return;
    try {
      const team = await api.getTeam(teamId);
      if (teamFilter && !teamFilter.has(team.name)) {
        log.info({ team: team.name }, 'the bot was added to a team not listed in MMOPS_TEAMS; no slash command registered there');
        return;
      }
      const report = await work.track(replication.addTeam(registration, team));
      log.info({ team: team.name, registered: report.registered }, `the bot was added to team ${team.name}: slash commands registered`);
    } catch (err) {
      log.warn({ err, teamId }, 'could not register slash commands in a new team');
    }
  }

  async function connectSocket(user: User): Promise<void> {
    const make = deps.socket ?? createWebSocketClient;
    socket = make({ url: config.mmUrl, token: config.botToken, logger: log, now, ...deps.websocket });
    socket.onEvent(onEvent);
    socket.onState((s) => {
      if (!s.connected && phase === 'running') log.warn({ lastError: s.lastError }, 'WebSocket disconnected; reconnecting');
    });
    metrics.setSources({
      socket: () => socket?.state() ?? { connected: false, reconnects: 0 },
    });
    socket.start();
    const timeoutMs = deps.wsReadyTimeoutMs ?? 15_000;
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      socket.ready().then(
        () => 'ready' as const,
        () => 'stopped' as const,
      ),
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (outcome === 'stopped' || stopping.signal.aborted) throw new StartupError('stopped', 'stopped during start-up', 0);
    if (outcome === 'timeout') {
      const s = socket.state();
      log.warn(
        { lastError: s.lastError, authRejected: s.authRejected, bot: user.username },
        `the WebSocket is not connected after ${Math.round(timeoutMs / 1000)} s; carrying on (slash commands work, DMs and mentions start once it connects)`,
      );
    }
  }

  /**
   * One call each for the bot's teams (done by chooseTeams) and its memberships in them
   * (`GET /users/{id}/teams/members`): the bot's own permission checks then need no
   * call per team, so a restart costs about (teams + 5) calls, the teams' `GET /commands`
   * included.
   */
  async function primeBotFacts(perms: PermissionService, user: User, teams: Team[]): Promise<void> {
    if (!perms.prime) return;
    perms.prime({ users: [user], teams });
    let members: TeamMember[];
    try {
      members = await api.getTeamMembersForUser(user.id, { signal: stopping.signal });
    } catch (err) {
      log.warn({ err }, "could not list the bot's team memberships at once; they are read per team instead");
      return;
    }
    const byTeam = new Map(members.map((m) => [m.team_id, m]));
    perms.prime({ teamMembers: teams.map((t) => ({ teamId: t.id, userId: user.id, member: byTeam.get(t.id) ?? null })) });
    // every role the bot's own checks read, in one call (else one batch per kind of check)
    const names = new Set([...BASE_ROLE_NAMES, ...user.roles.split(/\s+/), ...members.flatMap((m) => m.roles.split(/\s+/))]);
    names.delete('');
    try {
      const roles = await api.getRolesByNames([...names], { signal: stopping.signal });
      const byName = new Map(roles.map((r) => [r.name, r]));
      perms.prime({ roles: [...names].map((name) => ({ name, role: byName.get(name) ?? null })) });
    } catch (err) {
      log.warn({ err }, 'could not read the roles at once; they are read as needed');
    }
  }

  /** Registers the slash commands of every team, a few teams at a time, paced by the REST client. */
  async function registerInBackground(reg: SlashRegistration, teams: Team[]): Promise<void> {
    const started = now();
    try {
      await replication.startSlash(reg, teams, { concurrency: SLASH_REGISTRATION_CONCURRENCY, signal: stopping.signal });
    } catch (err) {
      if (!stopping.signal.aborted) log.warn({ err }, 'slash command registration stopped early');
      return;
    }
    if (stopping.signal.aborted) return;
    const reports = reg.reports();
    const registered = Object.fromEntries(reports.map((r) => [r.teamName, r.error ? [] : r.registered]));
    const failed = reports.filter((r) => r.error).length;
    log.info(
      {
        teams: teams.length,
        failed,
        ms: now() - started,
        ...(teams.length <= 20 ? { registered } : {}),
      },
      teams.length <= 20
        ? `slash commands registered: ${teams.map((t) => `${t.name}: ${(registered[t.name] ?? []).join(' ') || 'no slash commands'}`).join('; ') || 'no team'}`
        : `slash commands registered in ${teams.length - failed} of ${teams.length} teams`,
    );
  }

  async function start(): Promise<void> {
    if (phase !== 'idle') throw new Error(`start() called while ${phase}`);
    phase = 'starting';
    try {
      // loaded here so that tests and tools can run the bot with their own command set
      if (!deps.commands) commands = (await import('../commands/index.js')).allCommands;
      const registry: Registry = createRegistry(commands, log);
      const policy = loadPolicyOrExit();
      if (policy.source) log.info({ policy: policy.source, rules: policy.rules.map((r) => r.key) }, 'policy loaded');
      await listen();
      log.info({ url: urlOf(), slashUrl, ...(opsBound ? { opsUrl: urlOf(opsBound) } : {}) }, 'HTTP endpoint listening');

      const user = await identify();
      me = user;
      status.setUser(user);
      if (!user.is_bot) {
        log.warn({ username: user.username }, 'MM_BOT_TOKEN belongs to a regular user, not a bot account; it works, but a bot account is recommended');
      }

      permissions = createPermissionService({ api, allowBots: config.allowBots, selfUserId: user.id, logger: log, now });
      const perms = permissions;
      visibility = createVisibilityService({ api, permissions: perms, logger: log, now });
      metrics.setSources({ api: () => api.stats(), cache: () => perms.stats(), startedAt: now() });
      const makeWatches =
        deps.watches ??
        ((ctx) =>
          replication.sharedWatches({ api, logger: log, botStatus: () => status.snapshot(), now }) ??
          createBotHealthWatches(ctx, { botStatus: () => status.snapshot(), now }));
      watches = makeWatches({ api, logger: log, botUserId: user.id, config });
      const post = auditPoster();
      audit = createAuditTrail(log, { ...(post ? { post } : {}), now });
      const services: Services = {
        ...(watches ? { watches } : {}),
        audit,
        botStatus: () => status.snapshot(),
        commands: () => registry.all(),
        policy,
        siteUrl: config.mmUrl,
        triggers: { root: config.rootTrigger, prefix: config.triggerPrefix },
        botCan: async (req, where) => (await perms.check(user.id, req, where ?? {})).allowed,
      };
      // every way in (slash, DM, mention) runs through this one fair admission (scheduler.ts)
      dispatcher = withScheduler(
        createDispatcher({
          registry,
          api,
          permissions: perms,
          services,
          logger: log,
          botUserId: user.id,
          rootTrigger: config.rootTrigger,
          allowBots: config.allowBots,
          userCache,
          visibility,
          now,
          ...(deps.deadlineMs !== undefined ? { deadlineMs: deps.deadlineMs } : {}),
        }),
        { limits: config.limits, logger: log },
      );
      registration = createSlashRegistration({
        api,
        logger: log,
        botUserId: user.id,
        commands: registry.all(),
        rootTrigger: config.rootTrigger,
        triggerPrefix: config.triggerPrefix,
        slashUrl,
        now,
      });
      const slashTrust = createSlashTrust({
        fetchKey: async () => (await clientConfig()).AsymmetricSigningPublicKey,
        maxAgeMs: config.triggerMaxAgeMs,
        allowUnsigned: config.allowUnsignedSlash,
        logger: log,
        ...(post ? { alarm: post } : {}),
        // replicas share the claims, so a request replayed to another replica is caught too
        ...(deps.replay ? { replay: deps.replay } : replication.shared ? { replay: replication.state } : {}),
        now,
      });
      await slashTrust.start();
      trust = slashTrust;
      try {
        ledger = await createPostLedger({
          store: replication.state,
          now,
          // the one claim model: the replicas' claims on post:<id> (claim, renew, done)
          claims: replication.postClaims,
          exclusive: !replication.shared,
          onError: (err, what) => log.warn({ err }, `state store: ${what} failed`),
        });
      } catch (err) {
        log.error({ err }, 'the state store cannot be read: no catch-up of posts missed while the bot was away until the next start');
      }
      intake = createWsIntake({
        botUserId: user.id,
        botUsername: user.username,
        run,
        render,
        api,
        canEphemeral: () => canEphemeral,
        work,
        logger: log,
        onCommand: (source) => metrics.wsCommand(source),
        ...(ledger ? { ledger } : {}),
        late: { runWindowMs: config.catchupRunWindowMs, maxAgeMs: config.catchupMaxAgeMs },
        now,
      });
      if (ledger) {
        const handler = intake;
        catchUp = createCatchUp({
          api,
          ledger,
          botUserId: user.id,
          handle: (post, channel) => handler.handleMissed(post, channel),
          logger: log,
          now,
          maxAgeMs: config.catchupMaxAgeMs,
          recheckAfterMs: replication.postClaims.leaseMs + 1_000,
        });
      }

      const teams = await chooseTeams(user.id);
      await primeBotFacts(perms, user, teams);
      rights = await resolveBotRights(perms, user.id, registry.all(), teams.map((t) => t.id)).catch((err: unknown) => {
        log.warn({ err }, 'could not resolve the bot account\'s own rights');
        return undefined;
      });
      if (rights) {
        log.info(
          {
            available: rights.available,
            unavailable: rights.unavailable.map((u) => ({ command: u.command, lacks: `${u.lacks.permission} (${u.lacks.scope})`, ...(u.teamIds ? { teamIds: u.teamIds } : {}) })),
          },
          rights.unavailable.length === 0
            ? 'the bot account can carry out every command'
            : `the bot account cannot carry out: ${rights.unavailable.map((u) => `${u.command} (lacks ${u.lacks.permission})`).join(', ')}`,
        );
      }
      canEphemeral = await perms
        .check(user.id, EPHEMERAL_RIGHT)
        .then((d) => d.allowed)
        .catch(() => false);
      if (!canEphemeral) {
        log.info({}, 'the bot lacks create_post_ephemeral: private answers to mentions go by direct message');
      }
      await checkAuditChannel();
      await hookUrls.load();

      await connectSocket(user);
      // at every start-up; the first hello already asked for it when the socket is up
      if (hellos === 0) catchUp?.trigger('start-up');

      // DMs and mentions are answered from here on; slash commands follow in the background
      phase = 'running';
      // which version-dependent behaviour the bot assumes (docs/mattermost-notes.md §0)
      const compat = compatibilityPaths(parseServerVersion(serverVersion));
      log.info(
        { serverVersion: serverVersion || 'unknown', compatibility: Object.fromEntries(compat.map((c) => [c.feature, c.path])) },
        `compatibility paths for Mattermost ${serverVersion || '(version unknown)'}: ${compat.map((c) => c.feature).join(', ')}`,
      );
      log.info(
        {
          serverVersion: serverVersion || 'unknown',
          bot: user.username,
          teams: teams.length <= 20 ? teams.map((t) => t.name) : `${teams.length} teams`,
          slashRequests: slashSignatures(),
          url: urlOf(),
          slashUrl,
        },
        `ready: @${user.username} on Mattermost ${serverVersion || '(version unknown)'} answers DMs and mentions; ` +
          (teams.length > 0 ? `registering slash commands in ${teams.length} team${teams.length === 1 ? '' : 's'}` : 'in no team (DMs only)') +
          `; slash requests ${slashSignatures() === 'verified' ? "verified by the server's signature" : slashSignatures() === 'unknown' ? 'not verifiable yet (signing key unread)' : 'not signed by the server'}`,
      );
      registrationDone = registerInBackground(registration, teams);
    } catch (err) {
      // leave nothing running behind a failed start
      await shutdown(0);
      if (isStartupError(err)) throw err;
      log.error({ err }, 'start-up failed');
      throw new StartupError('failed', `start-up failed: ${err instanceof Error ? err.message : String(err)}`, 1);
    }
  }

  let shutdownPromise: Promise<void> | undefined;
  /** Idempotent: stop() and a failed start() may both ask for it. */
  function shutdown(graceMs: number): Promise<void> {
    shutdownPromise ??= doShutdown(graceMs);
    return shutdownPromise;
  }

  async function doShutdown(graceMs: number): Promise<void> {
    phase = 'stopping';
    stopping.abort();
    work.close();
    catchUp?.stop();
    const drained = await work.drain(graceMs);
    if (!drained) {
      // what could not finish is answered "send it again" (and its late result dropped)
      const cut = (await intake?.abandon().catch((err: unknown) => log.warn({ err }, 'could not answer the commands cut short'))) ?? 0;
      // answers already on their way, and the "send it again" lines, get one more grace period
      const done = await work.drain(graceMs);
      log.warn({ inFlight: work.size, answeredResend: cut, drained: done }, 'shutdown: work was still in flight after the grace period');
    }
    await ledger?.flush().catch((err: unknown) => log.warn({ err }, 'the catch-up mark could not be stored'));
    // pending refusal summaries reach the audit channel before the bot goes
    await audit?.flush().catch((err: unknown) => log.warn({ err }, 'audit summaries could not be flushed'));
    await Promise.resolve(watches?.stop?.()).catch((err: unknown) => log.warn({ err }, 'health watches did not stop cleanly'));
    await replication.stop(); // gives the leader lease up: another replica takes over at once
    await trust?.stop().catch((err: unknown) => log.warn({ err }, 'slash trust did not stop cleanly'));
    await socket?.stop().catch((err: unknown) => log.warn({ err }, 'WebSocket did not close cleanly'));
    await http?.stop();
    await opsHttp?.stop();
    phase = 'stopped';
  }

  async function stop(): Promise<void> {
    if (phase === 'stopped' || phase === 'idle') {
      if (phase === 'idle') await replication.stop(); // a Redis connection opens with createBot
      phase = 'stopped';
      return;
    }
    if (phase === 'stopping') {
      // start() failing (or a second signal) is already shutting down: just wait
      await shutdownPromise;
      return;
    }
    log.info({ inFlight: work.size }, 'shutting down');
    await shutdown(deps.shutdownGraceMs ?? 10_000);
    log.info({}, 'stopped');
  }

  function urlOf(address: ListenAddress | undefined = bound): string {
    if (!address) return '';
    const host = address.host === '0.0.0.0' ? '127.0.0.1' : address.host === '::' ? '::1' : address.host;
    return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  }

  return {
    start,
    stop,
    get url() {
      return urlOf();
    },
    get opsUrl() {
      return urlOf(opsBound ?? bound);
    },
    get slashUrl() {
      return slashUrl;
    },
    get user() {
      return me;
    },
    registrations: () => registration?.reports() ?? [],
    registered: () => registrationDone,
    rights: () => rights,
    socket: () => socket,
    metrics,
    dispatch: run,
    replica: { id: replication.replicaId, isLeader: () => !replication.leader || replication.leader.isLeader() },
  };
}
