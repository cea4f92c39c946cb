/**
 * The one runtime record the start-up steps (startup.ts), the event handlers (events.ts)
 * and shutdown (shutdown.ts) work over: what exists from createBot on (logger, API
 * client, state store, metrics…) and what start-up fills in, step by step.
 */
import type { Config, ListenAddress } from '../config.js';
import type { CommandDefinition, Invocation, Logger, Services } from '../core/command.js';
import type { AuditTrail } from '../core/audit.js';
import type { Dispatcher, DispatchResult } from '../core/dispatcher.js';
import { createLogger } from '../log/logger.js';
import type { PermissionService } from '../core/permission-service.js';
import type { BotRights } from '../core/permissions/bot-rights.js';
import type { LoadedPolicy } from '../core/permissions/policy.js';
import type { VisibilityService } from '../core/permissions/visibility.js';
import type { Registry } from '../core/registry.js';
import { createUserCache, type UserCache } from '../core/users.js';
import type { MattermostApi } from '../mattermost/api.js';
import type { ClientConfig, Team, User } from '../mattermost/models.js';
import { createRestApi } from '../mattermost/rest-api.js';
import { createHookUrlCheck, createResponseUrlClient, type HookUrlCheck } from '../mattermost/response-url.js';
import type { MattermostSocket } from '../mattermost/websocket.js';
import { renderPosts } from '../render/markdown.js';
import { createBotStatus, type BotStatus, type BotStatusTracker } from '../services/bot-status.js';
import type { CatchUp } from '../services/catch-up.js';
import type { Confirmations } from '../services/confirmations.js';
import type { Dialogs } from '../services/dialogs.js';
import { createMetrics, type Metrics } from '../services/metrics.js';
import type { PostLedger } from '../services/post-ledger.js';
import type { SlashRegistration } from '../services/slash-registration.js';
import type { SlashTrust } from '../services/slash-trust.js';
import { createDelayedAnswers, type DelayedAnswers } from '../transports/delayed-answer.js';
import type { HttpServer } from '../transports/http-server.js';
import { createInFlight, type InFlight } from '../transports/in-flight.js';
import { createReadinessCheck } from '../transports/ops-endpoints.js';
import type { WsIntake } from '../transports/ws-intake.js';
import { createReplication, type Replication } from './replication.js';
import type { BotDeps, WatchService } from './types.js';

export type Phase = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

/** Everything one bot holds; the `readonly` parts exist from createBot on. */
export interface BotRuntime {
  readonly config: Config;
  readonly deps: BotDeps;
  readonly log: Logger;
  readonly now: () => number;
  readonly api: MattermostApi;
  readonly metrics: Metrics;
  readonly replication: Replication;
  /** work in flight (slash and WebSocket), drained at shutdown */
  readonly work: InFlight;
  /** aborted when shutdown begins: start-up steps and API reads stop */
  readonly stopping: AbortController;
  readonly userCache: UserCache;
  readonly status: BotStatusTracker;
  /** MMOPS_TEAMS, when set */
  readonly teamFilter: ReadonlySet<string> | null;
  readonly hookUrls: HookUrlCheck;
  readonly delayed: DelayedAnswers;
  readonly readiness: ReturnType<typeof createReadinessCheck>;
  /** the client config, one read shared by the reads of a few seconds */
  readonly clientConfig: () => Promise<ClientConfig>;

  phase: Phase;
  commands: readonly CommandDefinition[];
  // filled in by the start-up steps, in this order
  registry?: Registry;
  policy?: LoadedPolicy;
  http?: HttpServer;
  bound?: ListenAddress;
  opsHttp?: HttpServer;
  opsBound?: ListenAddress;
  slashUrl: string;
  /** where the server sends button clicks and dialog submissions */
  actionsUrl: string;
  dialogsUrl: string;
  me?: User;
  permissions?: PermissionService;
  visibility?: VisibilityService;
  watches?: WatchService | undefined;
  /** posts a line to MMOPS_AUDIT_CHANNEL (undefined without one) */
  auditPost?: ((line: string) => Promise<void>) | undefined;
  audit?: AuditTrail;
  services?: Services;
  dispatcher?: Dispatcher;
  registration?: SlashRegistration;
  trust?: SlashTrust;
  ledger?: PostLedger;
  intake?: WsIntake;
  catchUp?: CatchUp;
  confirmations?: Confirmations;
  dialogs?: Dialogs;
  teams?: Team[];
  rights?: BotRights | undefined;
  canEphemeral: boolean;
  socket?: MattermostSocket;
  /** `hello` events seen: the first is the start-up connection, later ones are gaps */
  hellos: number;
  serverVersion: string;
  /** settles when the background slash registration is done (or stopped) */
  registrationDone: Promise<void>;
  shutdownPromise?: Promise<void>;
}

/** Builds the runtime record: the parts that exist before start(). */
export function createRuntime(config: Config, deps: BotDeps): BotRuntime {
  const log = deps.logger ?? createLogger({ level: config.logLevel });
  const now = deps.now ?? Date.now;
  const metrics = createMetrics();
  const api =
    deps.api ??
    createRestApi({
      url: config.mmUrl,
      token: config.botToken,
      logger: log,
      maxConcurrency: config.limits.apiConcurrency,
      onRequest: (info) => metrics.apiRequest(info),
    });
  const stopping = new AbortController();
  const clientConfig = sharedClientConfig(api, now, stopping.signal);
  const hookUrls = createHookUrlCheck({ mmUrl: config.mmUrl, siteUrl: async () => (await clientConfig()).SiteURL ?? '', logger: log, now });
  const replication = createReplication({ config, logger: log, deps });
  // the status and readiness read the record lazily, so they are wired after it exists
  const rt: BotRuntime = {
    config,
    deps,
    log,
    now,
    api,
    metrics,
    replication,
    work: createInFlight(),
    stopping,
    userCache: createUserCache({ now }),
    status: createBotStatus({ now, slash: () => slashStatus(rt), socket: () => socketStatus(rt) }),
    teamFilter: config.teams ? new Set(config.teams) : null,
    hookUrls,
    // delayed slash answers: response_url on a leash, through a client of its own
    delayed: createDelayedAnswers({ hooks: hookUrls, client: createResponseUrlClient(), api, logger: log }),
    readiness: createReadinessCheck({
      phase: () => readinessPhase(rt.phase),
      socket: () => rt.socket?.state(),
      probe: (signal) => api.ping({ signal }),
      degraded: () => replication.problem(),
      now,
    }),
    clientConfig,
    phase: 'idle',
    commands: deps.commands ?? [],
    slashUrl: '',
    actionsUrl: '',
    dialogsUrl: '',
    canEphemeral: false,
    hellos: 0,
    serverVersion: '',
    registrationDone: Promise.resolve(),
  };
  return rt;
}

/**
 * The client config (SiteURL, the trigger_id signing key) is read by two start-up steps;
 * reads within a few seconds share one request, later refreshes read it again.
 */
function sharedClientConfig(api: MattermostApi, now: () => number, signal: AbortSignal): () => Promise<ClientConfig> {
  let read: { at: number; value: Promise<ClientConfig> } | undefined;
  return () => {
    const t = now();
    if (read && t - read.at < 5_000) return read.value;
    const value = api.getClientConfig({ signal });
    read = { at: t, value };
    value.catch(() => {
      if (read?.value === value) read = undefined;
    });
    return value;
  };
}

function readinessPhase(phase: Phase): 'starting' | 'running' | 'stopping' {
  if (phase === 'running') return 'running';
  return phase === 'stopping' || phase === 'stopped' ? 'stopping' : 'starting';
}

function slashStatus(rt: BotRuntime): Pick<BotStatus, 'slashTeams' | 'slashSignatures'> {
  return {
    slashTeams: rt.registration?.reports().filter((r) => !r.error && r.registered.length > 0).map((r) => r.teamName) ?? [],
    slashSignatures: slashSignatures(rt),
  };
}

function socketStatus(rt: BotRuntime): { connected: boolean; since: number | null; reconnects: number } {
  const s = rt.socket?.state();
  return { connected: s?.connected ?? false, since: s?.since ?? null, reconnects: s?.reconnects ?? 0 };
}

/** How slash requests are checked: by the server's signature, or not (and whether allowed). */
export function slashSignatures(rt: BotRuntime): NonNullable<BotStatus['slashSignatures']> {
  const key = rt.trust?.keyState() ?? 'unknown';
  if (key === 'present') return 'verified';
  if (rt.config.allowUnsignedSlash) return 'unsigned_allowed';
  return key === 'absent' ? 'unsigned' : 'unknown';
}

/** Runs one invocation through the dispatcher and counts it. */
export async function runInvocation(rt: BotRuntime, inv: Invocation): Promise<DispatchResult> {
  if (!rt.dispatcher) throw new Error('dispatch before start-up finished');
  const result = await rt.dispatcher.dispatch(inv);
  rt.metrics.commandServed(result.command ?? 'unknown', result.outcome, result.durationMs);
  rt.status.commandServed();
  if (result.outcome === 'crash') rt.status.error(`unexpected error (ref ${result.ref})`);
  return result;
}

export const render = (reply: Parameters<typeof renderPosts>[0]): string[] => renderPosts(reply);

/** The loopback form of a listen address (`http://127.0.0.1:3979`), '' before listening. */
export function urlOf(address: ListenAddress | undefined): string {
  if (!address) return '';
  const host = address.host === '0.0.0.0' ? '127.0.0.1' : address.host === '::' ? '::1' : address.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

/** A part a start-up step needs from an earlier one (a programming error if missing). */
export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`start-up step out of order: ${what} is not there yet`);
  return value;
}
