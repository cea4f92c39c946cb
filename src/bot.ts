/**
 * The composition root: config → API → permissions → dispatcher → transports.
 * `npm start` (main.ts), `npm run demo` and the end-to-end tests all start the bot
 * through {@link createBot}, so they run the same code path.
 *
 * The parts live in src/bot/: the runtime record (runtime.ts), start-up as typed steps,
 * each taking the parts it needs and returning the parts it makes (startup.ts: listen →
 * identify → parts → teams and rights → WebSocket → ready → slash registration in the
 * background), WebSocket events as a map from name to
 * handlers (events.ts), and shutdown (shutdown.ts). The API client and the state store
 * are passed in through {@link BotDeps} (`api`, `state`), or built from the config.
 *
 * @example
 *   const bot = createBot(config, { logger });
 *   await bot.start();
 *   ...
 *   await bot.stop();
 */
import type { Config } from './config.js';
import { createRuntime, runInvocation, urlOf } from './bot/runtime.js';
import { stopBot } from './bot/shutdown.js';
import { startBot } from './bot/startup.js';
import type { Bot, BotDeps } from './bot/types.js';

export { StartupError, isStartupError, type StartupErrorCode } from './bot/startup-error.js';
export type { Bot, BotDeps } from './bot/types.js';

/** Creates the bot; nothing happens until start(). */
export function createBot(config: Config, deps: BotDeps = {}): Bot {
  const rt = createRuntime(config, deps);
  return {
    start: () => startBot(rt),
    stop: () => stopBot(rt),
    get url() {
      return urlOf(rt.published.bound);
    },
    get opsUrl() {
      return urlOf(rt.published.opsBound ?? rt.published.bound);
    },
    get slashUrl() {
      return rt.published.urls.slash;
    },
    get user() {
      return rt.published.me;
    },
    registrations: () => rt.published.registration?.reports() ?? [],
    registered: () => rt.registrationDone,
    rights: () => rt.published.rights,
    socket: () => rt.published.socket,
    metrics: rt.metrics,
    dispatch: (inv) => runInvocation(rt, inv),
    replica: { id: rt.replication.replicaId, isLeader: () => !rt.replication.leader || rt.replication.leader.isLeader() },
  };
}
