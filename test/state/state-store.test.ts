import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@redis/client';
import { describe, expect, it } from 'vitest';
import { createRedisStateStore, redactRedisUrl } from '../../src/state/redis-state-store.js';
import { createMemoryStateStore, type StateStore } from '../../src/state/state-store.js';
import { freshPrefix, probeRedis, REDIS_URL, redisStores, whenConnected } from '../helpers/redis.js';

const redis = await probeRedis();
const redisMade = redisStores();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The contract every StateStore keeps, run against each store with the real clock.
 * `pair()` gives two handles on the same state (two replicas on one Redis; the same
 * object for the in-process store).
 */
const stores: Array<{ name: string; available: boolean; pair(): Promise<[StateStore, StateStore]> }> = [
  {
    name: 'memory',
    available: true,
    async pair() {
      const s = createMemoryStateStore();
      return [s, s];
    },
  },
  {
    name: 'redis',
    available: redis.available,
    async pair() {
      const prefix = freshPrefix();
      const a = redisMade.make(prefix);
      const b = redisMade.make(prefix);
      await whenConnected(a);
      await whenConnected(b);
      return [a, b];
    },
  },
];

describe.each(stores)('StateStore contract: $name', ({ name, available, pair }) => {
  // defined only where it applies, so no run reports it as skipped
  if (name === 'redis' && process.env.CI) {
    it('Redis is reachable (CI requires it)', () => {
      expect(available, `Redis at ${REDIS_URL} must answer when CI is set`).toBe(true);
    });
  }

  describe.runIf(available)('behaviour', () => {
    it('claim is set-if-absent, seen by the other handle, and expires', async () => {
      const [a, b] = await pair();
      expect(await a.claim('post:1', 150)).toBe(true);
      expect(await b.claim('post:1', 150)).toBe(false);
      expect(await a.claim('post:1', 150)).toBe(false);
      await sleep(220);
      expect(await b.claim('post:1', 150)).toBe(true);
    });

    it('of 20 simultaneous claims on one key exactly one wins', async () => {
      const [a, b] = await pair();
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).claim('post:race', 5_000)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('get/set/delete, with and without ttl', async () => {
      const [a, b] = await pair();
      expect(await a.get('nothing')).toBeUndefined();
      await a.set('short', 'x', 120);
      await a.set('forever', 'y');
      expect(await b.get('short')).toBe('x');
      await sleep(200);
      expect(await b.get('short')).toBeUndefined();
      expect(await b.get('forever')).toBe('y');
      await b.set('forever', 'z');
      expect(await a.get('forever')).toBe('z');
      await b.delete('forever');
      expect(await a.get('forever')).toBeUndefined();
      await a.delete('never-there'); // deleting nothing is fine
      const text = 'with "quotes", ünïcödé and\nnewlines';
      await a.set('json', text);
      expect(await b.get('json')).toBe(text);
    });

    it('a set without ttl over one with ttl never expires', async () => {
      const [a] = await pair();
      await a.set('k', 'v1', 100);
      await a.set('k', 'v2');
      await sleep(160);
      expect(await a.get('k')).toBe('v2');
    });

    it('renew, swap and deleteIf write only over the expected value (compare-and-set), seen by the other handle', async () => {
      const [a, b] = await pair();
      expect(await a.claim('post:cas', 5_000, 'replica-a')).toBe(true);
      // someone else's id: nothing is written
      expect(await b.renew('post:cas', 'replica-b', 5_000)).toBe(false);
      expect(await b.swap('post:cas', 'replica-b', 'done', { ttlMs: 5_000 })).toBe(false);
      expect(await b.deleteIf('post:cas', 'replica-b')).toBe(false);
      expect(await b.swap('post:cas', 'replica-b', 'done', { ttlMs: 5_000, orAbsent: true })).toBe(false);
      expect(await a.get('post:cas')).toBe('replica-a');
      // the holder's id: written
      expect(await b.swap('post:cas', 'replica-a', 'replica-b', { ttlMs: 150 })).toBe(true);
      expect(await a.get('post:cas')).toBe('replica-b');
      expect(await a.deleteIf('post:cas', 'replica-a')).toBe(false);
      expect(await a.deleteIf('post:cas', 'replica-b')).toBe(true);
      expect(await b.get('post:cas')).toBeUndefined();
      // an absent key: only with orAbsent, and the ttl holds
      expect(await a.swap('post:cas', 'replica-a', 'done')).toBe(false);
      expect(await a.get('post:cas')).toBeUndefined();
      expect(await a.swap('post:cas', 'replica-a', 'done', { ttlMs: 150, orAbsent: true })).toBe(true);
      expect(await b.get('post:cas')).toBe('done');
      await sleep(220);
      expect(await b.get('post:cas')).toBeUndefined();
      // without ttl it stays
      await a.set('post:cas2', 'x', 150);
      expect(await b.swap('post:cas2', 'x', 'y')).toBe(true);
      await sleep(220);
      expect(await a.get('post:cas2')).toBe('y');
    });

    it('of 20 simultaneous compare-and-sets from one value exactly one wins', async () => {
      const [a, b] = await pair();
      await a.set('post:cas-race', 'old', 5_000);
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).swap('post:cas-race', 'old', `r${i}`, { ttlMs: 5_000 })));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('a lease has one holder until it expires; the fencing token grows on every handover', async () => {
      const [a, b] = await pair();
      const t1 = await a.acquireLease('leader', 'r1', 150);
      expect(t1).toBeTypeOf('number');
      expect(await b.acquireLease('leader', 'r2', 150)).toBeUndefined();
      expect(await a.acquireLease('leader', 'r1', 150)).toBe(t1); // renewal keeps the token
      await sleep(100);
      expect(await a.acquireLease('leader', 'r1', 150)).toBe(t1); // renewed: still held after the first ttl
      await sleep(100);
      expect(await b.acquireLease('leader', 'r2', 150)).toBeUndefined();
      await sleep(120);
      const t2 = await b.acquireLease('leader', 'r2', 150);
      expect(t2).toBeGreaterThan(t1!);
      expect(await a.acquireLease('leader', 'r1', 150)).toBeUndefined(); // the old holder lost it
      await a.releaseLease('leader', 'r1'); // not the holder: no effect
      expect(await a.acquireLease('leader', 'r1', 150)).toBeUndefined();
      await b.releaseLease('leader', 'r2');
      const t3 = await a.acquireLease('leader', 'r1', 150);
      expect(t3).toBeGreaterThan(t2!);
      // another lease name has its own holder
      expect(await b.acquireLease('other', 'r2', 150)).toBeTypeOf('number');
    });

    it('of 10 replicas asking for a free lease at once exactly one gets it', async () => {
      const [a, b] = await pair();
      const tokens = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).acquireLease('leader', `r${i}`, 5_000)));
      expect(tokens.filter((t) => t !== undefined)).toHaveLength(1);
    });
  });
});

describe.runIf(redis.available)('redis state store', () => {
  it('keeps every key under its prefix, so two prefixes never see each other', async () => {
    const prefix = freshPrefix();
    const a = redisMade.make(prefix);
    const b = redisMade.make();
    await whenConnected(a);
    await whenConnected(b);
    expect(await a.claim('post:x', 10_000)).toBe(true);
    expect(await b.claim('post:x', 10_000)).toBe(true);
    await a.set('mark', '42');
    expect(await b.get('mark')).toBeUndefined();
    const raw = createClient({ url: REDIS_URL });
    await raw.connect();
    expect(await raw.get(`${prefix}mark`)).toBe('42');
    expect(await raw.pTTL(`${prefix}post:x`)).toBeGreaterThan(9_000);
    await raw.close();
  });

  it('counts one round trip per claim', async () => {
    const s = redisMade.make();
    await whenConnected(s);
    const before = s.roundTrips();
    await s.claim('a', 1_000);
    await s.claim('a', 1_000);
    expect(s.roundTrips() - before).toBe(2);
  });

  it('fails fast and says so while Redis is unreachable; calls after close() reject', async () => {
    const errors: Error[] = [];
    // a port nothing listens on: connection refused
    const s = createRedisStateStore({ url: 'redis://user:hunter2@127.0.0.1:1', prefix: freshPrefix(), onError: (e) => errors.push(e) });
    const started = Date.now();
    await expect(s.claim('post:1', 1_000)).rejects.toThrow(/not connected/);
    expect(Date.now() - started).toBeLessThan(200);
    expect(s.healthy()).toBe(false);
    await sleep(150);
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(errors.map((e) => e.message).join('\n')).not.toContain('hunter2');
    await s.close();
    await expect(s.get('x')).rejects.toThrow(/closed/);
  });
});

describe('redactRedisUrl', () => {
  it('hides the password, keeps host and database', () => {
    expect(redactRedisUrl('redis://default:s3cret@redis.internal:6380/2')).toBe('redis://default:***@redis.internal:6380/2');
    expect(redactRedisUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(redactRedisUrl('not a url')).not.toContain('not a url');
  });
});

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('memory state store', () => {
  it('claim is set-if-absent and expires', async () => {
    const c = clock();
    const s = createMemoryStateStore({ now: c.now });
    expect(await s.claim('post:1', 1000)).toBe(true);
    expect(await s.claim('post:1', 1000)).toBe(false);
    c.advance(1001);
    expect(await s.claim('post:1', 1000)).toBe(true);
  });

  it('get/set/delete honour ttl', async () => {
    const c = clock();
    const s = createMemoryStateStore({ now: c.now });
    await s.set('a', 'x', 50);
    await s.set('b', 'y');
    expect(await s.get('a')).toBe('x');
    c.advance(51);
    expect(await s.get('a')).toBeUndefined();
    expect(await s.get('b')).toBe('y');
    await s.delete('b');
    expect(await s.get('b')).toBeUndefined();
  });

  it('a lease has one holder until it expires, and the fencing token grows on handover', async () => {
    const c = clock();
    const s = createMemoryStateStore({ now: c.now });
    const t1 = await s.acquireLease('leader', 'r1', 1000);
    expect(t1).toBeTypeOf('number');
    expect(await s.acquireLease('leader', 'r2', 1000)).toBeUndefined();
    expect(await s.acquireLease('leader', 'r1', 1000)).toBe(t1); // renewal keeps the token
    c.advance(1001);
    const t2 = await s.acquireLease('leader', 'r2', 1000);
    expect(t2).toBeGreaterThan(t1!);
    await s.releaseLease('leader', 'r1'); // not the holder: no effect
    expect(await s.acquireLease('leader', 'r1', 1000)).toBeUndefined();
    await s.releaseLease('leader', 'r2');
    expect(await s.acquireLease('leader', 'r1', 1000)).toBeGreaterThan(t2!);
  });

  it('stays within maxEntries, dropping the soonest-expiring first', async () => {
    const c = clock();
    const s = createMemoryStateStore({ now: c.now, maxEntries: 3 });
    await s.set('short', '1', 10);
    await s.set('long1', '1', 10_000);
    await s.set('long2', '1', 10_000);
    await s.set('long3', '1', 10_000);
    expect(s.size()).toBe(3);
    expect(await s.get('short')).toBeUndefined();
    expect(await s.get('long3')).toBe('1');
  });

  it('drops expired entries nobody reads again, without waiting for maxEntries', async () => {
    const c = clock();
    const s = createMemoryStateStore({ now: c.now });
    for (let i = 0; i < 1_500; i++) await s.claim(`slash-trigger:old-${i}`, 10);
    c.advance(11);
    for (let i = 0; i < 1_500; i++) await s.claim(`slash-trigger:new-${i}`, 10_000);
    // the 1,500 expired claims were never read again; a sweep removed them
    expect(s.size()).toBeLessThanOrEqual(1_500);
    expect(await s.get('slash-trigger:new-0')).toBe('1');
  });

  it('persists to a file and reloads live entries only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmops-state-'));
    const path = join(dir, 'state.json');
    const c = clock();
    const a = createMemoryStateStore({ now: c.now, persistPath: path });
    await a.set('mark', '123');
    await a.set('soon', 'x', 100);
    await a.claim('post:9', 10_000);
    await a.close();
    c.advance(200);
    const b = createMemoryStateStore({ now: c.now, persistPath: path });
    expect(await b.get('mark')).toBe('123');
    expect(await b.get('soon')).toBeUndefined();
    expect(await b.claim('post:9', 10_000)).toBe(false);
    await b.close();
  });

  it('keeps every change of a process killed before its debounced rewrite (the journal), and a cut last line is skipped', async () => {
    // the chaos test (test/chaos/chaos.test.ts): a post answered and marked done right before a SIGKILL was
    // answered again after the restart, because "done" waited 200 ms for the rewrite
    const dir = mkdtempSync(join(tmpdir(), 'mmops-state-'));
    const path = join(dir, 'state.json');
    const c = clock();
    const a = createMemoryStateStore({ now: c.now, persistPath: path, persistDelayMs: 60_000 });
    await a.set('mark', '100');
    await a.close(); // a snapshot, the journal starts again
    await a.claim('post:1', 10_000);
    await a.set('post:1', 'done', 86_400_000);
    await a.set('mark', '200');
    await a.claim('post:2', 10_000);
    await a.delete('post:2');
    // killed here: no close(), no rewrite; the last append was cut in the middle
    appendFileSync(`${path}.journal`, '["post:3","do');
    expect(JSON.parse(readFileSync(path, 'utf8')).entries).toEqual([['mark', '100', null]]);
    const b = createMemoryStateStore({ now: c.now, persistPath: path });
    expect(await b.get('post:1')).toBe('done');
    expect(await b.get('mark')).toBe('200');
    expect(await b.get('post:2')).toBeUndefined();
    expect(await b.get('post:3')).toBeUndefined();
    // the rewrite holds everything and empties the journal
    await b.close();
    expect(readFileSync(`${path}.journal`, 'utf8')).toBe('');
    const d = createMemoryStateStore({ now: c.now, persistPath: path });
    expect(await d.get('post:1')).toBe('done');
    expect(await d.get('mark')).toBe('200');
    await d.close();
  });

  it('ignores a corrupt file and reports it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmops-state-'));
    const path = join(dir, 'state.json');
    writeFileSync(path, '{not json');
    const errors: unknown[] = [];
    const s = createMemoryStateStore({ persistPath: path, onError: (e) => errors.push(e) });
    expect(errors).toHaveLength(1);
    await s.set('k', 'v');
    await s.close();
    expect(JSON.parse(readFileSync(path, 'utf8')).entries).toEqual([['k', 'v', null]]);
  });
});
