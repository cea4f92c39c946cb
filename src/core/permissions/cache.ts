/**
 * A small LRU cache with a per-entry time to live and a size bound, with hit/miss
 * counters. Used by the permission service; kept separate so its eviction rules are
 * tested on their own.
 *
 * @example
 *   const c = createLruTtlCache<string>({ ttlMs: 30_000, maxEntries: 100, now: Date.now });
 *   c.set('user:abc', 'x'); c.get('user:abc'); // { value: 'x' }
 */

export interface LruTtlCache<V> {
  /** The entry, or `undefined` when absent or expired (counted as hit / miss). */
  get(key: string): { value: V } | undefined;
  /** Stores (or refreshes) an entry; evicts the least recently used ones beyond the bound. */
  set(key: string, value: V): void;
  delete(key: string): void;
  /** Drops every entry whose key and value match. */
  deleteWhere(pred: (key: string, value: V) => boolean): number;
  clear(): void;
  stats(): { hits: number; misses: number; size: number };
}

/** Creates an LRU + TTL cache (Map insertion order is the recency order). */
export function createLruTtlCache<V>(opts: { ttlMs: number; maxEntries: number; now: () => number }): LruTtlCache<V> {
  const { ttlMs, maxEntries, now } = opts;
  if (!(maxEntries >= 1)) throw new RangeError(`maxEntries must be at least 1 (got ${maxEntries})`);
  if (!(ttlMs >= 0)) throw new RangeError(`ttlMs must not be negative (got ${ttlMs})`);
  const map = new Map<string, { value: V; expiresAt: number }>();
  let hits = 0;
  let misses = 0;

  return {
    get(key) {
      const e = map.get(key);
      if (!e || e.expiresAt <= now()) {
        if (e) map.delete(key);
        misses++;
        return undefined;
      }
      // move to the most-recent end
      map.delete(key);
      map.set(key, e);
      hits++;
      return { value: e.value };
    },
    set(key, value) {
      map.delete(key);
      map.set(key, { value, expiresAt: now() + ttlMs });
      while (map.size > maxEntries) {
        const oldest = map.keys().next();
        if (oldest.done) break;
        map.delete(oldest.value);
      }
    },
    delete(key) {
      map.delete(key);
    },
    deleteWhere(pred) {
      let n = 0;
      for (const [k, e] of map) {
        if (pred(k, e.value)) {
          map.delete(k);
          n++;
        }
      }
      return n;
    },
    clear() {
      map.clear();
    },
    stats() {
      return { hits, misses, size: map.size };
    },
  };
}
