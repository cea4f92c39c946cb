/**
 * The {@link StateStore} on Redis, for several replicas of the bot (MMOPS_REDIS_URL).
 *
 * Client: node-redis (`@redis/client`, the core package of node-redis without the
 * module add-ons): the client Redis itself maintains, typed, no dependencies, and it
 * can turn its offline queue off (`disableOfflineQueue`) so a command during an outage
 * fails at once instead of waiting for a reconnect; a claim that waits would answer a
 * post long after another replica could have.
 *
 * - claim = `SET key 1 NX PX ttl` (one round trip);
 * - get / set / delete = GET / SET [PX] / DEL;
 * - renew, swap, deleteIf = one Lua script each (atomic on the server) that compares the
 *   key's value with the caller's before it extends, overwrites or deletes it: a replica
 *   that lost a claim never touches the claim of the replica that took it over;
 * - leases: one Lua script (atomic on the server) that renews the lease for its holder,
 *   or takes a free one and INCRs the fencing counter, so the token grows on every
 *   handover and never goes back, also across a restart of any replica.
 *
 * Every key carries the prefix (MMOPS_REDIS_PREFIX, default `mmops:`) so several bots,
 * or tests, share one Redis without seeing each other's keys.
 *
 * @example
 *   const store = await connectRedisStateStore({ url: 'redis://127.0.0.1:6379', prefix: 'mmops:' });
 *   if (await store.claim(`post:${post.id}`, 10 * 60_000)) handle(post);
 *   await store.close();
 */
import { createClient } from '@redis/client';
import type { StateStore } from './state-store.js';

export interface RedisStateStoreOptions {
  /** redis:// or rediss:// URL (credentials in it are never logged) */
  url: string;
  /** prepended to every key (default `mmops:`) */
  prefix?: string;
  /** how long one command may take before it fails (default 1 000 ms) */
  commandTimeoutMs?: number;
  /** connect timeout (default 2 000 ms) */
  connectTimeoutMs?: number;
  /** told once per change of connection state (not per failed command) */
  onStateChange?: (state: RedisConnectionState) => void;
  /** an error of the connection (already summarised, no credentials) */
  onError?: (err: Error) => void;
}

export type RedisConnectionState = 'up' | 'down';

/** A Redis store; `healthy()` says whether the last connection attempt succeeded. */
export interface RedisStateStore extends StateStore {
  /** true while connected */
  healthy(): boolean;
  /** round trips made so far (benchmarks count the ones a command costs) */
  roundTrips(): number;
  /** PING (one round trip); throws when Redis does not answer */
  ping(): Promise<void>;
}

// KEYS[1] = lease hash (owner, token), KEYS[2] = fencing counter; ARGV[1] = owner, ARGV[2] = ttl ms.
// Returns the fencing token while ARGV[1] holds the lease, nil otherwise.
const ACQUIRE_LEASE = `
local cur = redis.call('HGET', KEYS[1], 'owner')
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(redis.call('HGET', KEYS[1], 'token'))
end
if cur then return nil end
local token = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'token', token)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return token
`;

// KEYS[1] = key, ARGV[1] = value, ARGV[2] = ttl ms. Extends the expiry only while the key holds the value.
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`;

// KEYS[1] = key, ARGV[1] = expected, ARGV[2] = value, ARGV[3] = ttl ms ('' = none), ARGV[4] = '1' when
// an absent key counts as expected. Sets the value only while the key holds the expected one.
const SWAP = `
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] or (cur == false and ARGV[4] == '1') then
  if ARGV[3] == '' then redis.call('SET', KEYS[1], ARGV[2]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
  return 1
end
return 0
`;

// KEYS[1] = key, ARGV[1] = expected. Deletes the key only while it holds the expected value.
const DELETE_IF = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

// KEYS[1] = lease hash; ARGV[1] = owner. Deletes the lease only if ARGV[1] holds it.
const RELEASE_LEASE = `
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

/** Removes user:password from a Redis URL, for messages. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    if (u.username && u.password === '') u.username = '***';
    return u.toString();
  } catch {
    return '(unparsable Redis URL)';
  }
}

/**
 * Creates the store and starts connecting in the background; commands fail fast while
 * Redis is unreachable and the client keeps reconnecting (capped backoff).
 */
export function createRedisStateStore(opts: RedisStateStoreOptions): RedisStateStore {
  const prefix = opts.prefix ?? 'mmops:';
  const timeoutMs = opts.commandTimeoutMs ?? 1_000;
  let up = false;
  let closed = false;
  let trips = 0;
  let lastErrorText = '';

  const client = createClient({
    url: opts.url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: opts.connectTimeoutMs ?? 2_000,
      // 50 ms, 100 ms, … capped at 2 s, with jitter: back quickly after a short blip
      reconnectStrategy: (retries: number) => Math.round(Math.min(2_000, 50 * 2 ** Math.min(retries, 6)) * (0.75 + Math.random() * 0.5)),
    },
  });
  const setState = (next: boolean): void => {
    if (next === up) return;
    up = next;
    opts.onStateChange?.(next ? 'up' : 'down');
  };
  client.on('ready', () => setState(true));
  client.on('end', () => setState(false));
  client.on('reconnecting', () => setState(false));
  client.on('error', (err: unknown) => {
    setState(false);
    const e = err instanceof Error ? err : new Error(String(err));
    // the client repeats the same error on every reconnect attempt: tell it once
    const text = `${e.name}: ${e.message}`;
    if (text === lastErrorText) return;
    lastErrorText = text;
    opts.onError?.(new Error(`Redis at ${redactRedisUrl(opts.url)}: ${e.message}`));
  });
  client.on('ready', () => {
    lastErrorText = '';
  });
  const connecting = client.connect().catch(() => {
    // reported through 'error'; the reconnect strategy keeps trying
  });

  const k = (key: string): string => `${prefix}${key}`;

  /** Runs one command with a deadline; a closed or disconnected client fails at once. */
  async function call<T>(fn: () => Promise<T>): Promise<T> {
    if (closed) throw new Error('state store closed');
    if (!client.isReady) throw new Error(`Redis at ${redactRedisUrl(opts.url)} is not connected`);
    trips += 1;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        fn(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  const ms = (ttlMs: number): number => Math.max(1, Math.ceil(ttlMs));

  return {
    async claim(key, ttlMs, value = '1') {
      const r = await call(() => client.set(k(key), value, { condition: 'NX', expiration: { type: 'PX', value: ms(ttlMs) } }));
      return r === 'OK';
    },
    async renew(key, value, ttlMs) {
      const r = await call(() => client.eval(RENEW, { keys: [k(key)], arguments: [value, String(ms(ttlMs))] }));
      return r === 1;
    },
    async get(key) {
      const v = await call(() => client.get(k(key)));
      return v === null ? undefined : String(v);
    },
    async set(key, value, ttlMs) {
      await call(() => (ttlMs === undefined ? client.set(k(key), value) : client.set(k(key), value, { expiration: { type: 'PX', value: ms(ttlMs) } })));
    },
    async delete(key) {
      await call(() => client.del(k(key)));
    },
    async swap(key, expected, value, o = {}) {
      const ttl = o.ttlMs === undefined ? '' : String(ms(o.ttlMs));
      const r = await call(() => client.eval(SWAP, { keys: [k(key)], arguments: [expected, value, ttl, o.orAbsent ? '1' : '0'] }));
      return r === 1;
    },
    async deleteIf(key, expected) {
      const r = await call(() => client.eval(DELETE_IF, { keys: [k(key)], arguments: [expected] }));
      return r === 1;
    },
    async acquireLease(name, owner, ttlMs) {
      const r = await call(() =>
        client.eval(ACQUIRE_LEASE, { keys: [k(`lease:${name}`), k(`lease:${name}:fencing`)], arguments: [owner, String(ms(ttlMs))] }),
      );
      return typeof r === 'number' ? r : undefined;
    },
    async releaseLease(name, owner) {
      await call(() => client.eval(RELEASE_LEASE, { keys: [k(`lease:${name}`)], arguments: [owner] }));
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        // a clean QUIT when connected; a client still trying to connect is just dropped
        if (client.isReady) await client.close();
        else if (client.isOpen) client.destroy();
      } catch {
        if (client.isOpen) client.destroy();
      }
      await connecting;
      setState(false);
    },
    healthy: () => up && client.isReady,
    roundTrips: () => trips,
    async ping() {
      await call(() => client.ping());
    },
  };
}

/** Creates the store and waits (at most `waitMs`, default 3 s) for the first connection. */
export async function connectRedisStateStore(opts: RedisStateStoreOptions & { waitMs?: number }): Promise<RedisStateStore> {
  let onUp: (() => void) | undefined;
  const first = new Promise<void>((resolve) => {
    onUp = resolve;
  });
  const store = createRedisStateStore({
    ...opts,
    onStateChange: (s) => {
      if (s === 'up') onUp?.();
      opts.onStateChange?.(s);
    },
  });
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([first, new Promise<void>((resolve) => (timer = setTimeout(resolve, opts.waitMs ?? 3_000)))]);
  clearTimeout(timer);
  return store;
}
