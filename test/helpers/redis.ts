/**
 * Real Redis for tests: `REDIS_URL` (default redis://127.0.0.1:6379) and a fresh key
 * prefix per test. Without a reachable Redis the Redis tests are skipped with one loud
 * line, except when `CI` is set: then `redisRequiredInCi()` fails the run.
 *
 * @example
 *   const redis = await probeRedis();
 *   describe.runIf(redis.available)('on Redis', () => { ... freshPrefix() ... });
 */
import { randomUUID } from 'node:crypto';
import { createConnection } from 'node:net';
import { afterAll } from 'vitest';
import { createRedisStateStore, type RedisStateStore } from '../../src/state/redis-state-store.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

let probed: Promise<{ available: boolean; why: string }> | undefined;
let warned = false;

/** Whether Redis answers PING at REDIS_URL (asked once per test file). */
export function probeRedis(): Promise<{ available: boolean; why: string }> {
  probed ??= new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL(REDIS_URL);
    } catch {
      resolve({ available: false, why: `REDIS_URL ${JSON.stringify(REDIS_URL)} is not a URL` });
      return;
    }
    const sock = createConnection({ host: url.hostname || '127.0.0.1', port: Number(url.port || 6379) });
    const done = (available: boolean, why: string): void => {
      sock.destroy();
      resolve({ available, why });
    };
    sock.setTimeout(1_000, () => done(false, 'no answer within 1 s'));
    sock.on('error', (err) => done(false, err.message));
    sock.on('connect', () => sock.write('PING\r\n'));
    // +PONG, or -NOAUTH when a password is needed (the URL carries it; the store will use it)
    sock.on('data', (d) => done(/^(\+PONG|-NOAUTH)/.test(d.toString()), d.toString().trim()));
  }).then((r) => {
    const result = r as { available: boolean; why: string };
    if (!result.available && !warned && !process.env.CI) {
      warned = true;
      console.warn(`\n!!! Redis at ${REDIS_URL} is not reachable (${result.why}): Redis tests are SKIPPED. Start one with: redis-server --daemonize yes --port 6379 --save "" --appendonly no\n`);
    }
    return result;
  });
  return probed;
}

/** A key prefix no other test uses. */
export const freshPrefix = (): string => `mmops-test:${randomUUID()}:`;

/** Redis stores made through this are closed and their keys deleted after the file. */
export function redisStores(): { make(prefix?: string): RedisStateStore } {
  const made: Array<{ store: RedisStateStore; prefix: string }> = [];
  afterAll(async () => {
    for (const { store, prefix } of made) {
      await store.close();
      await deleteKeys(prefix);
    }
  });
  return {
    make(prefix = freshPrefix()) {
      const store = createRedisStateStore({ url: REDIS_URL, prefix });
      made.push({ store, prefix });
      return store;
    },
  };
}

/** Deletes every key under `prefix`. */
export async function deleteKeys(prefix: string): Promise<void> {
  const { createClient } = await import('@redis/client');
  const c = createClient({ url: REDIS_URL });
  await c.connect();
  for await (const keys of c.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) if (keys.length) await c.del(keys);
  await c.close();
}

/** Waits until the store is connected (at most 3 s). */
export async function whenConnected(store: RedisStateStore): Promise<void> {
  const until = Date.now() + 3_000;
  while (!store.healthy()) {
    if (Date.now() > until) throw new Error(`Redis at ${REDIS_URL} did not connect within 3 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
