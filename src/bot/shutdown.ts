/**
 * Shutdown hands over: stop taking work, finish what is in flight
 * within the grace period, answer what cannot finish "send it again", store the catch-up
 * mark, give the leader lease up, close the WebSocket with 1000 and the HTTP servers.
 */
import type { BotRuntime } from './runtime.js';

/** Idempotent: stop() and a failed start() may both ask for it. */
export function shutdown(rt: BotRuntime, graceMs: number): Promise<void> {
  rt.shutdownPromise ??= doShutdown(rt, graceMs);
  return rt.shutdownPromise;
}

/** Bot.stop(): shuts down from any phase, once; later calls wait for the first. */
export async function stopBot(rt: BotRuntime): Promise<void> {
  if (rt.phase === 'stopped' || rt.phase === 'idle') {
    if (rt.phase === 'idle') await rt.replication.stop(); // a Redis connection opens with createBot
    rt.phase = 'stopped';
    return;
  }
  if (rt.phase === 'stopping') {
    // start() failing (or a second signal) is already shutting down: just wait
    await rt.shutdownPromise;
    return;
  }
  rt.log.info({ inFlight: rt.work.size }, 'shutting down');
  await shutdown(rt, rt.deps.shutdownGraceMs ?? 10_000);
  rt.log.info({}, 'stopped');
}

async function doShutdown(rt: BotRuntime, graceMs: number): Promise<void> {
  rt.phase = 'stopping';
  rt.stopping.abort();
  rt.work.close();
  rt.published.catchUp?.stop();
  await drainWork(rt, graceMs);
  await closeParts(rt);
  rt.phase = 'stopped';
}

/** Waits for work in flight; what could not finish is answered "send it again" (its late result dropped). */
async function drainWork(rt: BotRuntime, graceMs: number): Promise<void> {
  const { work, log } = rt;
  if (await work.drain(graceMs)) return;
  const cut = (await rt.published.intake?.abandon().catch((err: unknown) => log.warn({ err }, 'could not answer the commands cut short'))) ?? 0;
  // answers already on their way, and the "send it again" lines, get one more grace period
  const done = await work.drain(graceMs);
  log.warn({ inFlight: work.size, answeredResend: cut, drained: done }, 'shutdown: work was still in flight after the grace period');
}

/** Closes every part start-up published, in order; each failure is logged and the next part still closes. */
async function closeParts(rt: BotRuntime): Promise<void> {
  const { log, published: p } = rt;
  await p.ledger?.flush().catch((err: unknown) => log.warn({ err }, 'the catch-up mark could not be stored'));
  // pending refusal summaries reach the audit channel before the bot goes
  await p.audit?.flush().catch((err: unknown) => log.warn({ err }, 'audit summaries could not be flushed'));
  await Promise.resolve(p.watches?.stop?.()).catch((err: unknown) => log.warn({ err }, 'health watches did not stop cleanly'));
  await rt.replication.stop(); // gives the leader lease up: another replica takes over at once
  await p.trust?.stop().catch((err: unknown) => log.warn({ err }, 'slash trust did not stop cleanly'));
  await p.socket?.stop().catch((err: unknown) => log.warn({ err }, 'WebSocket did not close cleanly'));
  await p.http?.stop();
  await p.opsHttp?.stop();
}
