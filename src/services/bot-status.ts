/**
 * The bot's view of itself, for `/health` (Services.botStatus): who it is, since when
 * it runs, the WebSocket state, how many commands it served and the last error.
 *
 * @example
 *   const status = createBotStatus({ socket: () => socket.state() });
 *   status.setUser(me); status.commandServed(); status.snapshot();
 */
import type { User } from '../mattermost/models.js';

/** What the bot knows about itself (for /health). */
export interface BotStatus {
  user: User;
  startedAt: number;
  websocket: { connected: boolean; since: number | null; reconnects: number };
  commandsServed: number;
  lastError: { at: number; message: string } | null;
  serverVersion: string;
  /** names of the teams where slash commands are registered (absent: not known) */
  slashTeams?: string[];
  /**
   * whether slash requests carry the server's signature: 'verified' (checked on every
   * request), 'unsigned' (the server signs none: privileged commands by DM only),
   * 'unsigned_allowed' (none, and MMOPS_ALLOW_UNSIGNED_SLASH=true), 'unknown' (its key
   * could not be read yet)
   */
  slashSignatures?: 'verified' | 'unsigned' | 'unsigned_allowed' | 'unknown';
}

declare module '../core/command.js' {
  interface Services {
    /** Gives the bot's current view of itself. */
    botStatus(): BotStatus;
  }
}

export interface BotStatusOptions {
  /** the WebSocket state, read on every snapshot */
  socket: () => { connected: boolean; since: number | null; reconnects: number };
  /** where slash commands are registered and whether their requests are signed, read on every snapshot */
  slash?: () => Pick<BotStatus, 'slashTeams' | 'slashSignatures'>;
  now?: () => number;
}

export interface BotStatusTracker {
  setUser(user: User): void;
  setServerVersion(version: string): void;
  commandServed(): void;
  /** records an unexpected failure (message only; never a token) */
  error(message: string): void;
  /** The current status; throws before the bot knows its own user. */
  snapshot(): BotStatus;
}

/** Creates the tracker (see the module comment). */
export function createBotStatus(opts: BotStatusOptions): BotStatusTracker {
  const now = opts.now ?? Date.now;
  const startedAt = now();
  let user: User | undefined;
  let serverVersion = '';
  let served = 0;
  let lastError: BotStatus['lastError'] = null;

  return {
    setUser(u) {
      user = u;
    },
    setServerVersion(v) {
      serverVersion = v;
    },
    commandServed() {
      served += 1;
    },
    error(message) {
      lastError = { at: now(), message };
    },
    snapshot() {
      if (!user) throw new Error('bot status asked before start-up identified the bot');
      const ws = opts.socket();
      return {
        user,
        startedAt,
        websocket: { connected: ws.connected, since: ws.since, reconnects: ws.reconnects },
        commandsServed: served,
        lastError,
        serverVersion,
        ...opts.slash?.(),
      };
    },
  };
}

/**
 * The plain server version from a `hello` event's `server_version`
 * (`10.5.0.12345.1a2b3c4d5e6f.true` → `10.5.0`), or the input when it has another shape.
 */
export function shortServerVersion(v: string): string {
  const m = /^(\d+\.\d+\.\d+)/.exec(v);
  return m?.[1] ?? v;
}
