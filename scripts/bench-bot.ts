/**
 * `npm run bench`, child process: the bot, started exactly as `npm start` does
 * (config from the environment → createBot → start), answering the parent over IPC.
 *
 * With `BENCH_INSTRUMENT=1` it also measures the bot's own time per slash request:
 * the time from the request reaching the HTTP server to the response being written,
 * minus the time spent inside Mattermost API calls made for it (the union of the API
 * call intervals, so parallel calls are not counted twice). That only attributes calls
 * correctly when requests do not overlap, so the parent sends them one at a time.
 * Instrumenting wraps the API client (every method timed), so the instrumented bot is
 * used for that measurement only.
 *
 * With `BENCH_COUNT_REDIS=1` and MMOPS_REDIS_URL, the bot gets the same Redis store it
 * would build itself (src/bot/replication.ts), passed in through BotDeps.state and counted:
 * round trips (the store's own counter) and calls per StateStore method.
 */
import { IncomingMessage, Server, ServerResponse } from 'node:http';
import { getHeapSpaceStatistics } from 'node:v8';
import { createBot, type BotDeps } from '../src/bot.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log/logger.js';
import type { MattermostApi } from '../src/mattermost/api.js';
import { createRestApi } from '../src/mattermost/rest-api.js';
import { createRedisStateStore, type RedisStateStore } from '../src/state/redis-state-store.js';
import type { StateStore } from '../src/state/state-store.js';
import { notifyParent, percentile, serveParent } from './bench-lib.js';

const loadedAt = performance.now();
const loaded = loadConfig(process.env);
if (!loaded.ok) {
  console.error(loaded.problems.join('\n'));
  process.exit(2);
}
const config = loaded.config;
const logger = createLogger({ level: config.logLevel, base: { app: 'mmops' } });
const instrument = process.env.BENCH_INSTRUMENT === '1';

interface Sample {
  start: number;
  /** API call intervals [start, end] */
  calls: Array<[number, number]>;
}
let current: Sample | undefined;
const samples: Array<{ wallMs: number; apiMs: number; calls: number }> = [];

/** Length of the union of intervals. */
function unionLength(intervals: Array<[number, number]>): number {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let curStart = -Infinity;
  let curEnd = -Infinity;
  for (const [s, e] of sorted) {
    if (s > curEnd) {
      if (curEnd > curStart) total += curEnd - curStart;
      curStart = s;
      curEnd = e;
    } else curEnd = Math.max(curEnd, e);
  }
  if (curEnd > curStart) total += curEnd - curStart;
  return total;
}

/** Times every API method call made while a slash request is being handled. */
function timed(api: MattermostApi): MattermostApi {
  return new Proxy(api, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || prop === 'stats') return value;
      return (...args: unknown[]) => {
        const sample = current;
        const t0 = performance.now();
        const result: unknown = Reflect.apply(value, target, args);
        if (!sample || !(result instanceof Promise)) return result;
        return result.finally(() => sample.calls.push([t0, performance.now()]));
      };
    },
  });
}

if (instrument) {
  // Wrap the request event of every HTTP server in this process (only the bot's exists).
  const emit = Server.prototype.emit;
  Server.prototype.emit = function (this: Server, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'request') {
      const [req, res] = args;
      if (req instanceof IncomingMessage && res instanceof ServerResponse && req.url === '/slash') {
        const sample: Sample = { start: performance.now(), calls: [] };
        current = sample;
        res.once('finish', () => {
          const wallMs = performance.now() - sample.start;
          samples.push({ wallMs, apiMs: unionLength(sample.calls), calls: sample.calls.length });
          if (current === sample) current = undefined;
        });
      }
    }
    return Reflect.apply(emit, this, [event, ...args]) === true;
  } as typeof Server.prototype.emit;
}

/** StateStore calls by method, and the Redis store under them. */
const storeCalls: Record<string, number> = {};
let redisStore: RedisStateStore | undefined;

/** The Redis store the bot would build from MMOPS_REDIS_URL, with every call counted by method. */
function countedRedisStore(url: string, prefix: string): StateStore & { healthy(): boolean } {
  const store = createRedisStateStore({ url, prefix, onError: (err) => logger.warn({ err: err.message }, 'state store (Redis) error') });
  redisStore = store;
  const count = (name: string): void => {
    storeCalls[name] = (storeCalls[name] ?? 0) + 1;
  };
  return {
    healthy: () => store.healthy(),
    claim: (key, ttlMs, value) => (count('claim'), store.claim(key, ttlMs, value)),
    renew: (key, value, ttlMs) => (count('renew'), store.renew(key, value, ttlMs)),
    get: (key) => (count('get'), store.get(key)),
    set: (key, value, ttlMs) => (count('set'), store.set(key, value, ttlMs)),
    delete: (key) => (count('delete'), store.delete(key)),
    swap: (key, expected, value, o) => (count('swap'), store.swap(key, expected, value, o)),
    deleteIf: (key, expected) => (count('deleteIf'), store.deleteIf(key, expected)),
    acquireLease: (name, owner, ttlMs) => (count('acquireLease'), store.acquireLease(name, owner, ttlMs)),
    releaseLease: (name, owner) => (count('releaseLease'), store.releaseLease(name, owner)),
    close: () => store.close(),
  };
}

const deps: BotDeps = { logger };
if (instrument) deps.api = timed(createRestApi({ url: config.mmUrl, token: config.botToken, logger }));
if (process.env.BENCH_COUNT_REDIS === '1' && config.redisUrl) {
  deps.state = countedRedisStore(config.redisUrl, config.redisPrefix);
  deps.sharedState = true;
}

const createdAt = performance.now();
const bot = createBot(config, deps);
await bot.start();
const readyAt = performance.now();
let registeredAt = 0;
void bot.registered().then(() => {
  registeredAt = performance.now();
});
bot.socket()?.onState((s) => notifyParent('socketState', { connected: s.connected, at: Date.now(), reconnects: s.reconnects }));

let cpuMark = process.cpuUsage();
serveParent({
  info: () => ({
    url: bot.url,
    botId: bot.user?.id ?? '',
    /** createBot() → start() resolved */
    startToReadyMs: readyAt - createdAt,
    /** createBot() → slash commands registered in every team (0 while still registering) */
    startToRegisteredMs: registeredAt > 0 ? registeredAt - createdAt : 0,
    /** process start → slash commands registered in every team (0 while still registering) */
    processToRegisteredMs: registeredAt,
    /** process start (node + module loading) → ready */
    processToReadyMs: readyAt,
    /** node start + loading the bot's modules */
    loadMs: loadedAt,
  }),
  memory: () => process.memoryUsage(),
  /** Redis round trips so far and StateStore calls by method (BENCH_COUNT_REDIS=1) */
  redis: () => ({ roundTrips: redisStore?.roundTrips() ?? 0, calls: { ...storeCalls } }),
  /** V8 heap spaces (size and used, MB), to see which one grows */
  heapSpaces: () =>
    Object.fromEntries(getHeapSpaceStatistics().map((h) => [h.space_name, { size: Math.round(h.space_size / 2 ** 20), used: Math.round(h.space_used_size / 2 ** 20) }])),
  /** heap after a full collection (needs node --expose-gc; else the plain figures) */
  memoryAfterGc: () => {
    const gc: unknown = Reflect.get(globalThis, 'gc');
    if (typeof gc === 'function') {
      gc();
      gc();
    }
    return { ...process.memoryUsage(), collected: typeof gc === 'function' };
  },
  socket: () => {
    const s = bot.socket()?.state();
    return { connected: s?.connected ?? false, reconnects: s?.reconnects ?? 0 };
  },
  /** starts a new measurement window (overhead samples and CPU time) */
  resetSamples: () => {
    samples.length = 0;
    cpuMark = process.cpuUsage();
  },
  /** CPU time (user + system) of this process since resetSamples, in µs */
  cpu: () => {
    const c = process.cpuUsage(cpuMark);
    return { micros: c.user + c.system };
  },
  /** overhead per slash request since resetSamples, in ms; CPU time of the whole process per request, in µs */
  samples: () => {
    const cpu = process.cpuUsage(cpuMark);
    const overhead = Float64Array.from(samples.map((s) => s.wallMs - s.apiMs)).sort();
    const wall = Float64Array.from(samples.map((s) => s.wallMs)).sort();
    const api = Float64Array.from(samples.map((s) => s.apiMs)).sort();
    const n = samples.length;
    return {
      count: n,
      apiCallsPerRequest: n ? samples.reduce((a, s) => a + s.calls, 0) / n : 0,
      wall: { p50: percentile(wall, 0.5), p95: percentile(wall, 0.95), p99: percentile(wall, 0.99) },
      api: { p50: percentile(api, 0.5), p95: percentile(api, 0.95), p99: percentile(api, 0.99) },
      overhead: { p50: percentile(overhead, 0.5), p95: percentile(overhead, 0.95), p99: percentile(overhead, 0.99) },
      cpuMicrosPerRequest: n ? (cpu.user + cpu.system) / n : 0,
    };
  },
  stop: async () => {
    await bot.stop();
    await redisStore?.close();
    setImmediate(() => process.exit(0));
  },
});
notifyParent('ready', { url: bot.url });
