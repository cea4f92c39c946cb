/**
 * What one bot holds from createBot on (logger, API client, state store, metrics…), the
 * few facts that change while it runs (phase, `hello`s, the server version), and
 * {@link Published}: what start-up has made so far, for the readers that come before or
 * after the steps (HTTP routes, the status, shutdown, the Bot's getters). The start-up
 * steps themselves (startup.ts) never read `published`: each takes the parts it needs as
 * arguments and returns the parts it makes, so the compiler checks their order.
 */
import type { Config, ListenAddress } from '../config.js';
import type { Invocation, Logger } from '../core/command.js';
import type { AuditTrail } from '../core/audit.js';
import type { Dispatcher, DispatchResult } from '../core/dispatcher.js';
import { createLogger } from '../log/logger.js';
import type { BotRights } from '../core/permissions/bot-rights.js';
import { createUserCache, type UserCache } from '../core/users.js';
import type { MattermostApi } from '../mattermost/api.js';
import type { ClientConfig, User } from '../mattermost/models.js';
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

/** Where the server reaches the bot; '' before the HTTP listener is up. */
export interface BotUrls {
  slash: string;
  /** button clicks */
  actions: string;
  /** dialog submissions */
  dialogs: string;
}

/**
 * What start-up has made so far. Written by startBot (startup.ts) as each step returns
 * (the listen and WebSocket steps put their servers here as soon as they exist, so a
 * failure later in the step closes them); read only where a part is wanted before or outside the steps: the HTTP routes (which
 * answer "still starting" until their part is there), the status, shutdown (which closes
 * what a failed start-up left) and the Bot's getters.
 */
export interface Published {
  http?: HttpServer;
  bound?: ListenAddress;
  opsHttp?: HttpServer;
  opsBound?: ListenAddress;
  urls: BotUrls;
  me?: User;
  audit?: AuditTrail;
  watches?: WatchService | undefined;
  confirmations?: Confirmations;
  dialogs?: Dialogs;
  dispatcher?: Dispatcher;
  registration?: SlashRegistration;
  trust?: SlashTrust;
  ledger?: PostLedger | undefined;
  intake?: WsIntake;
  catchUp?: CatchUp | undefined;
  rights?: BotRights | undefined;
  socket?: MattermostSocket;
}

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
  /** what start-up has made so far (see {@link Published}) */
  readonly published: Published;

  phase: Phase;
  /** whether the bot may create ephemeral posts (found by the own-rights step; false until then) */
  canEphemeral: boolean;
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
      socket: () => rt.published.socket?.state(),
      probe: (signal) => api.ping({ signal }),
      degraded: () => replication.problem(),
      now,
    }),
    clientConfig,
    published: { urls: { slash: '', actions: '', dialogs: '' } },
    phase: 'idle',
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
    slashTeams: rt.published.registration?.reports().filter((r) => !r.error && r.registered.length > 0).map((r) => r.teamName) ?? [],
    slashSignatures: slashSignatures(rt),
  };
}

function socketStatus(rt: BotRuntime): { connected: boolean; since: number | null; reconnects: number } {
  const s = rt.published.socket?.state();
  return { connected: s?.connected ?? false, since: s?.since ?? null, reconnects: s?.reconnects ?? 0 };
}

/** How slash requests are checked: by the server's signature, or not (and whether allowed). */
export function slashSignatures(rt: BotRuntime): NonNullable<BotStatus['slashSignatures']> {
  const key = rt.published.trust?.keyState() ?? 'unknown';
  if (key === 'present') return 'verified';
  if (rt.config.allowUnsignedSlash) return 'unsigned_allowed';
  return key === 'absent' ? 'unsigned' : 'unknown';
}

/**
 * Runs one invocation through the dispatcher and counts it. Looked up at each call: the
 * buttons and dialogs are built before the dispatcher (which asks them), and run through it.
 */
export async function runInvocation(rt: BotRuntime, inv: Invocation): Promise<DispatchResult> {
  const dispatcher = rt.published.dispatcher;
  if (!dispatcher) throw new Error('dispatch before start-up finished');
  const result = await dispatcher.dispatch(inv);
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
