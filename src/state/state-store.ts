/**
 * The one seam for state that must outlive a process or be shared between replicas:
 * de-duplication claims (post ids, trigger ids), high-water marks, leases. Nothing
 * stateful that matters across restarts or replicas hides in a module-level `Map`;
 * it goes through a {@link StateStore} passed in like the API client (style.md, "One
 * shared-state seam"; grammY's StorageAdapter is the model).
 *
 * Two implementations: {@link createMemoryStateStore} (one process; optionally
 * persisted to a JSON file in MMOPS_STATE_DIR so a restart keeps its marks) and a
 * Redis one for replicas (src/state/redis-state-store.ts).
 *
 * Keys are plain strings; values are strings (callers JSON-encode). Every method is
 * async so the Redis store can implement it with one round trip.
 *
 * @example
 *   const store = createMemoryStateStore();
 *   if (await store.claim(`post:${post.id}`, 10 * 60_000)) handle(post); // exactly one handler
 *   const lease = await store.acquireLease('leader', replicaId, 10_000);
 *   if (lease !== undefined) registerSlashCommands();                    // fencing token = lease
 */
import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** The shared-state interface every store implements. */
export interface StateStore {
  /** Set-if-absent with expiry (`value`, default '1'): true when this call created the key (the caller owns it). */
  claim(key: string, ttlMs: number, value?: string): Promise<boolean>;
  /**
   * Extends the expiry of `key` only while it still holds `value` (compare-and-renew, one
   * round trip): false when the key expired or someone else's value replaced it.
   */
  renew(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** The value, or undefined when absent or expired. */
  get(key: string): Promise<string | undefined>;
  /** Store a value; without `ttlMs` it never expires. */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * Compare-and-set, one round trip: stores `value` (with `ttlMs`, else no expiry) only while
   * `key` holds `expected`, or, with `orAbsent`, holds nothing. True when it stored. What a
   * holder writes to a claim it may have lost (src/bot/replication.ts): it never overwrites
   * the claim of whoever took it over.
   */
  swap(key: string, expected: string, value: string, opts?: { ttlMs?: number; orAbsent?: boolean }): Promise<boolean>;
  /** Deletes `key` only while it holds `expected` (compare-and-delete, one round trip); true when it deleted. */
  deleteIf(key: string, expected: string): Promise<boolean>;
  /**
   * Take or renew a named lease for `owner`. Returns the fencing token (a number that
   * grows each time the lease changes hands) while `owner` holds it, else undefined.
   */
  acquireLease(name: string, owner: string, ttlMs: number): Promise<number | undefined>;
  /** Give a lease up early (only if `owner` holds it). */
  releaseLease(name: string, owner: string): Promise<void>;
  /** Release resources (connections, timers); flushes a persisted store. */
  close(): Promise<void>;
}

interface Entry {
  value: string;
  /** ms since epoch; Infinity = never */
  expiresAt: number;
}

export interface MemoryStateStoreOptions {
  now?: () => number;
  /** upper bound on entries; the soonest-expiring are dropped first beyond it (default 100 000) */
  maxEntries?: number;
  /**
   * Persist to this JSON file (atomic rewrite, debounced) and load it at creation.
   * A file that cannot be parsed is ignored (the caller logs through `onError`).
   * Every change is also appended at once to `<persistPath>.journal` (one short line,
   * synchronously), so a process killed between two rewrites (SIGKILL) loses nothing:
   * "this post was answered" must survive the moment right after the answer went out.
   */
  persistPath?: string;
  /** debounce for persistence writes (default 200 ms) */
  persistDelayMs?: number;
  onError?: (err: unknown) => void;
}

const FILE_VERSION = 1;
/**
 * Writes between two sweeps of expired entries. Without them an entry nobody reads again
 * (a slash trigger id in the replay set, a post claim) stays until the store reaches
 * maxEntries: 100,000 trigger ids are ~16 MB of heap kept for nothing under `npm start`'s
 * 64 MB old space. A sweep walks every entry, so it runs once per this many writes.
 */
const SWEEP_EVERY_WRITES = 1_000;

/** The in-process store: one replica, today's behaviour. */
export function createMemoryStateStore(opts: MemoryStateStoreOptions = {}): StateStore & { size(): number; flush(): Promise<void> } {
  const now = opts.now ?? Date.now;
  const maxEntries = opts.maxEntries ?? 100_000;
  const entries = new Map<string, Entry>();
  const leases = new Map<string, { owner: string; expiresAt: number; token: number }>();
  let fencing = 0;
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  let writes = 0;

  const journalPath = opts.persistPath ? `${opts.persistPath}.journal` : undefined;
  if (opts.persistPath) load(opts.persistPath);
  if (journalPath) replay(journalPath);

  /** Applies the changes written since the last rewrite (lines of [key, value|null, expiresAt|null]). */
  function replay(path: string): void {
    let text: string;
    try {
      text = readFileSyncSafe(path);
    } catch (err) {
      opts.onError?.(err);
      return;
    }
    const t = now();
    for (const line of text.split('\n')) {
      if (!line) continue;
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch {
        continue; // a line cut short by the kill: the change before it is all that was made
      }
      if (!Array.isArray(row) || typeof row[0] !== 'string') continue;
      if (row[1] === null) entries.delete(row[0]);
      else if (typeof row[1] === 'string') {
        const expiresAt = typeof row[2] === 'number' ? row[2] : Infinity;
        if (expiresAt > t) entries.set(row[0], { value: row[1], expiresAt });
        else entries.delete(row[0]);
      }
    }
  }

  /** Appends one change to the journal at once (see persistPath). */
  function journal(key: string, e: Entry | undefined): void {
    if (!journalPath) return;
    const row = [key, e ? e.value : null, e && Number.isFinite(e.expiresAt) ? e.expiresAt : null];
    try {
      appendFileSync(journalPath, `${JSON.stringify(row)}\n`, { mode: 0o600 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && opts.persistPath) {
        try {
          mkdirSync(dirname(opts.persistPath), { recursive: true });
          appendFileSync(journalPath, `${JSON.stringify(row)}\n`, { mode: 0o600 });
          return;
        } catch (again) {
          opts.onError?.(again);
          return;
        }
      }
      opts.onError?.(err);
    }
  }

  function load(path: string): void {
    let text: string;
    try {
      text = readFileSyncSafe(path);
    } catch (err) {
      opts.onError?.(err);
      return;
    }
    if (!text) return;
    try {
      const data = JSON.parse(text) as unknown;
      if (!data || typeof data !== 'object' || (data as { v?: unknown }).v !== FILE_VERSION) return;
      const rows = (data as { entries?: unknown }).entries;
      if (!Array.isArray(rows)) return;
      const t = now();
      for (const row of rows) {
        if (!Array.isArray(row) || typeof row[0] !== 'string' || typeof row[1] !== 'string') continue;
        const expiresAt = typeof row[2] === 'number' ? row[2] : Infinity;
        if (expiresAt > t) entries.set(row[0], { value: row[1], expiresAt });
      }
      const f = (data as { fencing?: unknown }).fencing;
      if (typeof f === 'number' && Number.isFinite(f)) fencing = f;
    } catch (err) {
      opts.onError?.(err);
    }
  }

  function live(key: string): Entry | undefined {
    const e = entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= now()) {
      entries.delete(key);
      return undefined;
    }
    return e;
  }

  function sweepExpired(): void {
    const t = now();
    for (const [k, e] of entries) if (e.expiresAt <= t) entries.delete(k);
  }

  /** After every claim or set: a sweep now and then, and the bound on entries. */
  function afterWrite(): void {
    writes += 1;
    if (writes % SWEEP_EVERY_WRITES === 0) sweepExpired();
    bound();
    schedule();
  }

  function bound(): void {
    if (entries.size <= maxEntries) return;
    sweepExpired();
    if (entries.size <= maxEntries) return;
    const byExpiry = [...entries].sort((a, b) => a[1].expiresAt - b[1].expiresAt);
    for (const [k] of byExpiry.slice(0, entries.size - maxEntries)) entries.delete(k);
  }

  function schedule(): void {
    if (!opts.persistPath || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void flush();
    }, opts.persistDelayMs ?? 200);
    timer.unref();
  }

  function flush(): Promise<void> {
    const path = opts.persistPath;
    if (!path) return Promise.resolve();
    // the snapshot and the journal's restart happen in one synchronous step, so no change
    // made in between is in neither
    writing = writing
      .then(() => {
        const t = now();
        const rows: Array<[string, string, number | null]> = [];
        for (const [k, e] of entries) if (e.expiresAt > t) rows.push([k, e.value, Number.isFinite(e.expiresAt) ? e.expiresAt : null]);
        writeAtomic(path, JSON.stringify({ v: FILE_VERSION, fencing, entries: rows }));
        if (journalPath) writeFileSync(journalPath, '', { mode: 0o600 });
      })
      .catch((err: unknown) => opts.onError?.(err));
    return writing;
  }

  const store = {
    async claim(key: string, ttlMs: number, value = '1'): Promise<boolean> {
      if (live(key)) return false;
      const e = { value, expiresAt: now() + ttlMs };
      entries.set(key, e);
      journal(key, e);
      afterWrite();
      return true;
    },
    async get(key: string): Promise<string | undefined> {
      return live(key)?.value;
    },
    async renew(key: string, value: string, ttlMs: number): Promise<boolean> {
      const e = live(key);
      if (!e || e.value !== value) return false;
      e.expiresAt = now() + ttlMs;
      journal(key, e);
      schedule();
      return true;
    },
    async set(key: string, value: string, ttlMs?: number): Promise<void> {
      const e = { value, expiresAt: ttlMs === undefined ? Infinity : now() + ttlMs };
      entries.set(key, e);
      journal(key, e);
      afterWrite();
    },
    async delete(key: string): Promise<void> {
      if (entries.delete(key)) {
        journal(key, undefined);
        schedule();
      }
    },
    async swap(key: string, expected: string, value: string, o: { ttlMs?: number; orAbsent?: boolean } = {}): Promise<boolean> {
      const cur = live(key);
      if (cur ? cur.value !== expected : !o.orAbsent) return false;
      const e = { value, expiresAt: o.ttlMs === undefined ? Infinity : now() + o.ttlMs };
      entries.set(key, e);
      journal(key, e);
      afterWrite();
      return true;
    },
    async deleteIf(key: string, expected: string): Promise<boolean> {
      if (live(key)?.value !== expected) return false;
      entries.delete(key);
      journal(key, undefined);
      schedule();
      return true;
    },
    async acquireLease(name: string, owner: string, ttlMs: number): Promise<number | undefined> {
      const t = now();
      const cur = leases.get(name);
      if (cur && cur.expiresAt > t && cur.owner !== owner) return undefined;
      if (cur && cur.owner === owner && cur.expiresAt > t) {
        cur.expiresAt = t + ttlMs;
        return cur.token;
      }
      fencing += 1;
      leases.set(name, { owner, expiresAt: t + ttlMs, token: fencing });
      return fencing;
    },
    async releaseLease(name: string, owner: string): Promise<void> {
      if (leases.get(name)?.owner === owner) leases.delete(name);
    },
    async close(): Promise<void> {
      if (timer) {
        clearTimeout(timer);
        timer = undefined;
      }
      await flush();
    },
    size: () => entries.size,
    flush,
  };
  return store;
}


function readFileSyncSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

function writeAtomic(path: string, body: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, body, { mode: 0o600 });
  renameSync(tmp, path);
}
