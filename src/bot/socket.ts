/** Start-up step: the WebSocket (DMs, mentions, cache invalidation). */
import { createWebSocketClient, type MattermostSocket } from '../mattermost/websocket.js';
import { createEventRouter, type EventParts } from './events.js';
import type { BotRuntime } from './runtime.js';
import { stoppedDuringStartup } from './startup-error.js';

/**
 * Connects and waits for readiness (bounded: after BotDeps.wsReadyTimeoutMs start-up
 * carries on, slash commands work and DMs start once it connects), then asks for the
 * start-up catch-up if the first hello has not already. The socket is published as soon
 * as it exists, so a failure from here on closes it.
 */
export async function connectSocket(rt: BotRuntime, parts: Omit<EventParts, 'socket'>): Promise<MattermostSocket> {
  const { config, deps, log } = rt;
  const user = parts.me;
  const make = deps.socket ?? createWebSocketClient;
  const socket = make({ url: config.mmUrl, token: config.botToken, logger: log, now: rt.now, ...deps.websocket });
  rt.published.socket = socket;
  socket.onEvent(createEventRouter(rt, { ...parts, socket }));
  socket.onState((s) => {
    if (!s.connected && rt.phase === 'running') log.warn({ lastError: s.lastError }, 'WebSocket disconnected; reconnecting');
  });
  rt.metrics.setSources({ socket: () => socket.state() });
  socket.start();
  const timeoutMs = deps.wsReadyTimeoutMs ?? 15_000;
  const outcome = await readyOrTimeout(socket.ready(), timeoutMs);
  if (outcome === 'stopped' || rt.stopping.signal.aborted) throw stoppedDuringStartup();
  if (outcome === 'timeout') {
    const s = socket.state();
    log.warn(
      { lastError: s.lastError, authRejected: s.authRejected, bot: user.username },
      `the WebSocket is not connected after ${Math.round(timeoutMs / 1000)} s; carrying on (slash commands work, DMs and mentions start once it connects)`,
    );
  }
  // at every start-up; the first hello already asked for it when the socket is up
  if (rt.hellos === 0) parts.catchUp?.trigger('start-up');
  return socket;
}

async function readyOrTimeout(ready: Promise<unknown>, timeoutMs: number): Promise<'ready' | 'stopped' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    ready.then(
      () => 'ready' as const,
      () => 'stopped' as const,
    ),
    new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  return outcome;
}
