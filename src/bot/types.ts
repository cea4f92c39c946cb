/** The bot's public shape (re-exported by src/bot.ts) and what a caller may replace. */
import type { Config } from '../config.js';
import type { CommandDefinition, Invocation, Logger } from '../core/command.js';
import type { HealthWatchService } from '../services/health-watch.js';
import type { DispatchResult } from '../core/dispatcher.js';
import type { BotRights } from '../core/permissions/bot-rights.js';
import type { MattermostApi } from '../mattermost/api.js';
import type { User } from '../mattermost/models.js';
import type { MattermostSocket, WebSocketClientOptions } from '../mattermost/websocket.js';
import type { Metrics } from '../services/metrics.js';
import type { TeamRegistration } from '../services/slash-registration.js';
import type { ReplaySet } from '../services/slash-trust.js';
import type { ReplicationDeps } from './replication.js';

/** the `/health watch` service with its optional stop (BotDeps.watches builds one) */
export type WatchService = HealthWatchService & { stop?(): void | Promise<void> };

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
  watches?: (ctx: { api: MattermostApi; logger: Logger; botUserId: string; config: Config }) => WatchService;
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
