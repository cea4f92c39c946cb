/**
 * `/health watch`: scheduled health checks that post to a channel only when
 * something changes (the verdict, the set of flagged items, the set of cluster
 * nodes), and once more when it recovers; never once per tick.
 *
 * **Where watches live.** Watches are kept in one JSON file,
 * `$MMOPS_STATE_DIR/watches.json` (default `./.mmops/watches.json`, relative to the
 * bot's working directory; see {@link watchFilePath}). It holds each watch (channel,
 * interval, who created it and when) and the last state that was announced, so after a
 * restart the bot resumes every watch and stays quiet if nothing changed meanwhile.
 * The file is rewritten atomically (temporary file + rename) after every change. A file
 * that cannot be read is moved aside to `watches.json.corrupt-<time>` and the bot starts
 * with no watches, saying so in the log.
 *
 * **Several replicas** (MMOPS_REDIS_URL): the same document lives in the shared
 * {@link StateStore} instead (key `health-watches`), each watch with its next run time
 * (`nextAt`), so a new leader resumes the schedule where the old one left it. Changes
 * are read-modify-write under a short lock lease, so a watch added on one replica is
 * never lost to a check recorded on another. Only the leader (src/bot/leader.ts) runs
 * the schedule, and it confirms its fencing token (`canAct`) right before each post.
 * Every replica re-reads the document every few seconds for `list()`.
 *
 * One check serves every watch that is due at the same moment; a check never overlaps
 * the previous one. Clock and timers are injectable for tests.
 *
 * @example
 *   const watches = createHealthWatchService({
 *     api, logger, store: { path: watchFilePath(config.stateDir) },
 *     botStatus: () => status.snapshot(),
 *   });
 *   await watches.start();
 *   await watches.add({ channelId, teamId, everyMs: 5 * 60_000, createdBy: userId });
 *   // … on shutdown
 *   await watches.stop();
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../core/command.js';
import { serializeError } from '../log/logger.js';
import { list, md, paragraph, raw, reply, title, type Block, type Reply } from '../core/reply.js';
import type { MattermostApi } from '../mattermost/api.js';
import type { StateStore } from '../state/state-store.js';
import { renderReply } from '../render/markdown.js';
import type { BotStatus } from './bot-status.js';
import { runHealthCheck, VERDICT_LABEL, type HealthReport, type Verdict } from './health-check.js';

/** A scheduled `/health watch`. */
export interface HealthWatch {
  id: string;
  channelId: string;
  teamId: string;
  everyMs: number;
  createdBy: string;
  createdAt: number;
}

export interface HealthWatchService {
  add(w: Omit<HealthWatch, 'id' | 'createdAt'>): Promise<HealthWatch>;
  remove(channelId: string): Promise<HealthWatch | undefined>;
  list(): HealthWatch[];
}

declare module '../core/command.js' {
  interface Services {
    /** the `/health watch` service (absent: this bot keeps no watches) */
    watches?: HealthWatchService;
  }
}

/** Shortest interval a watch may have. */
export const MIN_WATCH_INTERVAL_MS = 60_000;
/** Longest interval a watch may have. */
export const MAX_WATCH_INTERVAL_MS = 24 * 3_600_000;
/** The interval when none is given. */
export const DEFAULT_WATCH_INTERVAL_MS = 5 * 60_000;
/** The file name inside the state directory. */
export const WATCH_FILE_NAME = 'watches.json';

/** `<stateDir>/watches.json` (default state directory `./.mmops`, as MMOPS_STATE_DIR). */
export function watchFilePath(stateDir = './.mmops'): string {
  return join(stateDir, WATCH_FILE_NAME);
}

/** What was last announced (or silently recorded) for a watch. */
export interface WatchSnapshot {
  verdict: Verdict;
  flags: Array<{ key: string; text: string }>;
  /** cluster node names; null when the cluster could not be read */
  nodes: string[] | null;
  at: number;
}

const snapshotSchema = z.object({
  verdict: z.enum(['healthy', 'degraded', 'down', 'unknown']),
  flags: z.array(z.object({ key: z.string(), text: z.string() })),
  nodes: z.array(z.string()).nullable(),
  at: z.number(),
});

const watchSchema = z.object({
  id: z.string().min(1),
  channelId: z.string().min(1),
  teamId: z.string(),
  everyMs: z.number().int().min(MIN_WATCH_INTERVAL_MS).max(MAX_WATCH_INTERVAL_MS),
  createdBy: z.string(),
  createdAt: z.number(),
  last: snapshotSchema.optional(),
  /** a change about to be posted ({@link WATCH_PROP} tag): the next leader looks for it in the channel */
  announcing: z.object({ tag: z.string(), snap: snapshotSchema }).optional(),
  /** next run (ms since epoch); kept only in the shared store, where the schedule is shared */
  nextAt: z.number().optional(),
});

const fileSchema = z.object({ version: z.literal(1), watches: z.array(watchSchema) });
type StoredWatch = z.infer<typeof watchSchema>;

/** Timers the scheduler uses (injectable for tests). */
export interface WatchTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: WatchTimers = {
  set(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref(); // a pending check must not keep the process alive
    return t;
  },
  clear(handle) {
    clearTimeout(handle as NodeJS.Timeout); // only ever a handle `set` returned
  },
};

export interface HealthWatchServiceOptions {
  /** used for the default check and the default post */
  api: Pick<MattermostApi, 'ping' | 'getClusterStatus' | 'getSamlCertificateStatus' | 'createPost'> & Partial<Pick<MattermostApi, 'getPostsSince'>>;
  /**
   * the bot's user id: before announcing a change the channel is read for the same
   * announcement by a leader that died before recording it (see {@link WATCH_PROP});
   * without it that check is skipped
   */
  botUserId?: string;
  /** the JSON file watches are kept in (see {@link watchFilePath}), or the shared state store */
  store: { path: string } | SharedWatchStore;
  /**
   * asked right before each post; false = do not post (the leader's fencing check,
   * src/bot/leader.ts `confirm`). Default: always post.
   */
  canAct?: () => Promise<boolean>;
  logger: Logger;
  /** the bot's own status, for the default check's bot section (optional) */
  botStatus?: () => BotStatus;
  /** the check to run (default: {@link runHealthCheck} over `api`) */
  runCheck?: () => Promise<HealthReport>;
  /** posts a Markdown message to a channel (default: `api.createPost`, tagged with {@link WATCH_PROP}) */
  post?: (channelId: string, message: string, tag: string) => Promise<void>;
  now?: () => number;
  timers?: WatchTimers;
  newId?: () => string;
}

/** Watches kept in a {@link StateStore} shared by replicas. */
export interface SharedWatchStore {
  state: StateStore;
  /** this replica's id (holds the short lock while changing the document) */
  owner: string;
  /** key of the document (default `health-watches`) */
  key?: string;
  /** how often every replica re-reads the document (default 5 s) */
  refreshMs?: number;
}

/** A HealthWatchService with a scheduler. */
export interface HealthWatchScheduler extends HealthWatchService {
  /** starts the schedule (watches from the file are resumed) */
  start(): Promise<void>;
  /** stops the schedule and waits for a running check and pending writes */
  stop(): Promise<void>;
  /** stops running checks (this replica is no longer the leader) but keeps the watches readable */
  pause(): Promise<void>;
  /** re-reads the shared document now (no-op for the file) */
  refresh(): Promise<void>;
  /** runs every watch that is due now (the scheduler calls it; tests may too) */
  runDue(): Promise<void>;
  /** resolves when no check is running and every write is on disk */
  whenIdle(): Promise<void>;
  /** what was last announced for the watch in that channel */
  lastState(channelId: string): WatchSnapshot | undefined;
  /** when the watch in that channel runs next (ms since epoch) */
  nextRunAt(channelId: string): number | undefined;
}

/** Whether a HealthWatchService is this module's scheduler (which can tell the last state). */
export function isHealthWatchScheduler(s: HealthWatchService): s is HealthWatchScheduler {
  return 'lastState' in s && typeof s.lastState === 'function' && 'runDue' in s && typeof s.runDue === 'function';
}

/** What changed between two snapshots, or undefined when nothing did. */
export interface WatchChange {
  from?: WatchSnapshot;
  to: WatchSnapshot;
  added: Array<{ key: string; text: string }>;
  resolved: Array<{ key: string; text: string }>;
  nodesJoined: string[];
  nodesLeft: string[];
}

/** The snapshot of a report a watch compares and stores. */
/**
 * The prop on every announcement: `<watch id>:<time of the state it follows>:<state key>`. A leader killed after posting
 * a change but before recording it would otherwise have the next leader post it again;
 * the next leader finds the tag in the channel and only records it.
 */
export const WATCH_PROP = 'mmops_watch';

/**
 * The flags that say the server does not answer its ping, however it failed (no answer, a
 * 5xx): one outage, so a read that fails one way and then another is not a change.
 */
const OUTAGE_KEYS = new Set(['server:unreachable', 'server:error']);
const sameOutage = (key: string): string => (OUTAGE_KEYS.has(key) ? 'server:down' : key);

/** A short key for a state as announced: verdict, flagged items, nodes (not the time). */
export function stateKey(s: WatchSnapshot): string {
  const canonical = JSON.stringify([s.verdict, [...new Set(s.flags.map((f) => sameOutage(f.key)))].sort(), s.nodes ? [...s.nodes].sort() : null]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

export function snapshotOf(report: HealthReport): WatchSnapshot {
  return {
    verdict: report.verdict,
    flags: report.flags.map((f) => ({ key: f.key, text: f.text })),
    nodes: report.nodes,
    at: report.checkedAt,
  };
}

/**
 * Compares the last announced snapshot with a new one (pure). The first check of a
 * watch (`prev` undefined) is a change only when the verdict is not healthy, so a new
 * watch on a healthy workspace stays quiet. Nodes are only compared when both checks
 * could read the cluster.
 */
export function compareSnapshots(prev: WatchSnapshot | undefined, next: WatchSnapshot): WatchChange | undefined {
  if (!prev) {
    if (next.verdict === 'healthy') return undefined;
    return { to: next, added: next.flags, resolved: [], nodesJoined: [], nodesLeft: [] };
  }
  const before = new Map(prev.flags.map((f) => [sameOutage(f.key), f]));
  const after = new Map(next.flags.map((f) => [sameOutage(f.key), f]));
  const added = next.flags.filter((f) => !before.has(sameOutage(f.key)));
  const resolved = prev.flags.filter((f) => !after.has(sameOutage(f.key)));
  let nodesJoined: string[] = [];
  let nodesLeft: string[] = [];
  if (prev.nodes && next.nodes) {
    const was = new Set(prev.nodes);
    const is = new Set(next.nodes);
    nodesJoined = next.nodes.filter((n) => !was.has(n));
    nodesLeft = prev.nodes.filter((n) => !is.has(n));
  }
  if (prev.verdict === next.verdict && !added.length && !resolved.length && !nodesJoined.length && !nodesLeft.length) return undefined;
  return { from: prev, to: next, added, resolved, nodesJoined, nodesLeft };
}

/** "about 3 min", "about 2 h" */
function roughly(ms: number): string {
  const min = Math.max(1, Math.round(ms / 60_000));
  return min < 90 ? `about ${min} min` : `about ${Math.round(min / 60)} h`;
}

/**
 * The post for a change (plain strings in it are escaped by the renderer).
 * `unannouncedOutageMs`: how long the server was down while nothing could be posted.
 */
export function changeReply(change: WatchChange, unannouncedOutageMs?: number): Reply {
  const { from, to } = change;
  let head;
  if (!from) head = md`Health watch: ${VERDICT_LABEL[to.verdict]}`;
  else if (from.verdict !== to.verdict && to.verdict === 'healthy') head = md`Health watch: ${VERDICT_LABEL.healthy} again (was ${from.verdict})`;
  else if (from.verdict !== to.verdict) head = md`Health watch: ${VERDICT_LABEL[to.verdict]} (was ${from.verdict})`;
  else if (unannouncedOutageMs !== undefined && !change.added.length && !change.resolved.length) head = md`Health watch: ${VERDICT_LABEL[to.verdict]} again`;
  else head = md`Health watch: still ${VERDICT_LABEL[to.verdict]}, but something changed`;
  const blocks: Block[] = [title(head)];
  if (unannouncedOutageMs !== undefined) {
    blocks.push(paragraph(md`Mattermost could not be reached for ${roughly(unannouncedOutageMs)} before this, so nothing could be posted meanwhile.`));
  }
  if (change.added.length) blocks.push(paragraph(raw(from ? 'New:' : 'Needs attention:')), list(change.added.map((f) => f.text)));
  if (change.resolved.length) blocks.push(paragraph(raw('Resolved:')), list(change.resolved.map((f) => f.text)));
  if (change.nodesJoined.length) blocks.push(paragraph(md`Cluster nodes joined: ${change.nodesJoined.join(', ')}`));
  if (change.nodesLeft.length) blocks.push(paragraph(md`Cluster nodes left: ${change.nodesLeft.join(', ')}`));
  return reply(blocks, { visibility: 'channel', tone: to.verdict === 'healthy' ? 'ok' : to.verdict === 'down' ? 'error' : 'warning' });
}

const publicWatch = (w: StoredWatch): HealthWatch => ({
  id: w.id,
  channelId: w.channelId,
  teamId: w.teamId,
  everyMs: w.everyMs,
  createdBy: w.createdBy,
  createdAt: w.createdAt,
});

/** Creates the service; the file is read now (so `list()` is right at once), nothing runs before `start()`. */
export function createHealthWatchService(opts: HealthWatchServiceOptions): HealthWatchScheduler {
  const log = opts.logger.child({ component: 'health-watch' });
  const now = opts.now ?? Date.now;
  const timers = opts.timers ?? realTimers;
  const newId = opts.newId ?? (() => randomBytes(8).toString('hex'));
  const shared = 'state' in opts.store ? opts.store : undefined;
  const path = 'path' in opts.store ? opts.store.path : '(shared state store)';
  const sharedKey = shared?.key ?? 'health-watches';
  const runCheck = opts.runCheck ?? (() => runHealthCheck({ api: opts.api, now, ...(opts.botStatus ? { botStatus: opts.botStatus } : {}) }));
  const post =
    opts.post ??
    (async (channelId: string, message: string, tag: string) => {
      // a repeat within 30 s is one post (server/channels/app/post.go deduplicateCreatePost)
      await opts.api.createPost({ channel_id: channelId, message, props: { [WATCH_PROP]: tag }, pending_post_id: `${WATCH_PROP}:${tag}` });
    });

  /** Whether this announcement is in the channel already (posted by a leader that died before recording it). */
  async function announced(channelId: string, tag: string, since: number): Promise<boolean> {
    const read = opts.api.getPostsSince;
    if (!read || !opts.botUserId) return false;
    try {
      const list = await read.call(opts.api, channelId, since);
      return Object.values(list.posts).some((p) => p.user_id === opts.botUserId && p.props[WATCH_PROP] === tag);
    } catch (err) {
      log.warn({ channelId, err: serializeError(err) }, 'could not read the channel to see whether this change was announced; announcing it');
      return false;
    }
  }

  const watches = new Map<string, StoredWatch>(); // by channel id
  const due = new Map<string, number>(); // channel id → next run
  const unannounced = new Map<string, number>(); // watch id → since when it was down with nobody told
  let started = false;
  let timer: unknown;
  let running: Promise<void> | undefined;
  let writes: Promise<void> = Promise.resolve();
  let refreshTimer: unknown;
  let refreshFailing = false;
  let closed = false;

  if (!shared) for (const w of load()) watches.set(w.channelId, w);
  else {
    void refresh();
    const every = shared.refreshMs ?? 5_000;
    const again = (): void => {
      refreshTimer = timers.set(() => {
        void refresh().finally(() => {
          if (!closed) again();
        });
      }, every);
    };
    again();
  }

  async function readShared(state: StateStore): Promise<Map<string, StoredWatch>> {
    const fresh = new Map<string, StoredWatch>();
    const text = await state.get(sharedKey);
    if (text === undefined) return fresh;
    try {
      const parsed = fileSchema.safeParse(JSON.parse(text));
      if (parsed.success) for (const w of parsed.data.watches) fresh.set(w.channelId, w);
      else log.error({ key: sharedKey, issues: parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`) }, 'stored health watches are not valid; treated as none');
    } catch (err) {
      log.error({ key: sharedKey, err: serializeError(err) }, 'stored health watches could not be read; treated as none');
    }
    return fresh;
  }

  /** Takes the cache (and the schedule) from a fresh copy of the shared document. */
  function adopt(fresh: Map<string, StoredWatch>): void {
    for (const channelId of [...due.keys()]) if (!fresh.has(channelId)) due.delete(channelId);
    for (const w of fresh.values()) {
      const prev = watches.get(w.channelId);
      const known = prev?.id === w.id ? due.get(w.channelId) : undefined;
      due.set(w.channelId, w.nextAt ?? known ?? now());
    }
    watches.clear();
    for (const [k, w] of fresh) watches.set(k, w);
  }

  async function refresh(): Promise<void> {
    if (!shared || closed) return;
    try {
      const fresh = await readShared(shared.state);
      if (running) return; // the check that runs now records its own result; take the next copy
      adopt(fresh);
      if (refreshFailing) log.info({}, 'health watches readable again from the state store');
      refreshFailing = false;
      schedule();
    } catch (err) {
      if (!refreshFailing) log.warn({ err: serializeError(err) }, 'health watches could not be read from the state store; using the last copy');
      refreshFailing = true;
    }
  }

  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  /** Applies `fn` to the stored watches: under the lock, on a fresh copy, when shared. */
  async function mutate(fn: (m: Map<string, StoredWatch>) => void): Promise<void> {
    if (!shared) {
      fn(watches);
      await persist();
      return;
    }
    const lock = `${sharedKey}:lock`;
    // longer than the lock's lease: a lock left by a replica that died runs out first
    const deadline = Date.now() + 6_000;
    while ((await shared.state.acquireLease(lock, shared.owner, 5_000)) === undefined) {
      if (Date.now() > deadline) throw new Error('the health watches are being changed by another replica; try again');
      await sleep(20);
    }
    try {
      const fresh = await readShared(shared.state);
      fn(fresh);
      await shared.state.set(sharedKey, JSON.stringify({ version: 1, watches: [...fresh.values()] }));
      adopt(fresh);
    } finally {
      await shared.state.releaseLease(lock, shared.owner).catch(() => undefined); // it expires on its own
    }
  }

  function load(): StoredWatch[] {
    if (!existsSync(path)) return [];
    try {
      const parsed = fileSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
      if (parsed.success) {
        log.info({ path, watches: parsed.data.watches.length }, 'health watches loaded');
        return parsed.data.watches;
      }
      log.error({ path, issues: parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`) }, 'health watch file is not valid');
    } catch (err) {
      log.error({ path, err: serializeError(err) }, 'health watch file could not be read');
    }
    const aside = `${path}.corrupt-${now()}`;
    try {
      renameSync(path, aside);
      log.warn({ path, movedTo: aside }, 'unreadable health watch file moved aside; starting with no watches');
    } catch (err) {
      log.error({ path, err: serializeError(err) }, 'unreadable health watch file could not be moved aside');
    }
    return [];
  }

  /** Queues an atomic rewrite of the file with the current watches. */
  function persist(): Promise<void> {
    if (shared) return writes;
    const body = `${JSON.stringify({ version: 1, watches: [...watches.values()] }, null, 2)}\n`;
    writes = writes
      .then(async () => {
        mkdirSync(dirname(path), { recursive: true });
        const tmp = `${path}.${process.pid}.tmp`;
        await writeFile(tmp, body, 'utf8');
        await rename(tmp, path);
      })
      .catch((err: unknown) => log.error({ path, err: serializeError(err) }, 'health watches could not be saved'));
    return writes;
  }

  function schedule(): void {
    if (timer !== undefined) {
      timers.clear(timer);
      timer = undefined;
    }
    if (!started || running) return; // a running check reschedules when it ends
    let next = Infinity;
    for (const at of due.values()) next = Math.min(next, at);
    if (next === Infinity) return;
    timer = timers.set(() => {
      timer = undefined;
      void runDue();
    }, Math.max(0, next - now()));
  }

  async function checkDue(): Promise<void> {
    const t = now();
    const dueNow = [...watches.values()].filter((w) => (due.get(w.channelId) ?? Infinity) <= t);
    if (!dueNow.length) return;
    let report: HealthReport;
    try {
      report = await runCheck();
    } catch (err) {
      log.error({ err: serializeError(err) }, 'health check failed');
      for (const w of dueNow) due.set(w.channelId, now() + w.everyMs);
      return;
    }
    if (report.verdict === 'unknown') {
      // a rate-limited read says nothing about the state: keep the last one, ask again next time
      log.info({ watches: dueNow.length }, 'health state unknown (a read was rate-limited); nothing announced, checked again at the next interval');
      for (const w of dueNow) due.set(w.channelId, now() + w.everyMs);
      return;
    }
    const snap = snapshotOf(report);
    let dirty = false;
    /** watch id → what to record (shared store: applied to a fresh copy under the lock) */
    const record = new Map<string, { last?: WatchSnapshot; nextAt: number }>();
    for (const w of dueNow) {
      const current = watches.get(w.channelId);
      if (current?.id !== w.id) continue; // removed or replaced while the check ran
      due.set(w.channelId, now() + w.everyMs);
      record.set(current.id, { nextAt: now() + w.everyMs });
      // a leader died around posting a change: if the post is there, it is what was last said
      if (current.announcing) {
        if (await announced(current.channelId, current.announcing.tag, current.last?.at ?? current.createdAt)) {
          log.info({ watch: current.id, channelId: current.channelId }, 'a change announced by a leader that stopped before recording it; recorded now');
          current.last = current.announcing.snap;
          record.set(current.id, { last: current.last, nextAt: now() + w.everyMs });
          dirty = true;
        }
        delete current.announcing;
      }
      const found = compareSnapshots(current.last, snap);
      const outageSince = unannounced.get(current.id);
      if (!found && (outageSince === undefined || snap.verdict === 'down')) {
        if (!current.last) {
          current.last = snap; // quiet baseline for a new watch
          record.set(current.id, { last: snap, nextAt: now() + w.everyMs });
          dirty = true;
        }
        continue;
      }
      if (opts.canAct && !(await opts.canAct())) {
        log.info({ watch: current.id }, 'not the leader any more: the new leader announces this change');
        return;
      }
      // back to what was last said, after an outage nobody could be told about
      const change: WatchChange = found ?? { ...(current.last ? { from: current.last } : {}), to: snap, added: [], resolved: [], nodesJoined: [], nodesLeft: [] };
      const outageMs = outageSince !== undefined && snap.verdict !== 'down' ? now() - outageSince : undefined;
      // one tag per transition (from the state last said, to this one): the server dedupes
      // a repeated pending_post_id for 30 s, so a state that comes back must not reuse one
      const tag = `${current.id}:${current.last?.at ?? 0}:${stateKey(snap)}`;
      // say what is about to be posted, so that the next leader can tell whether it was
      await noteAnnouncing(current, { tag, snap });
      try {
        if (await announced(current.channelId, tag, current.last?.at ?? current.createdAt)) {
          log.info({ watch: current.id, channelId: current.channelId }, 'this change was announced by a leader that stopped before recording it; recorded now');
        } else {
          await post(current.channelId, renderReply(changeReply(change, outageMs)), tag);
        }
        current.last = snap;
        delete current.announcing;
        record.set(current.id, { last: snap, nextAt: now() + w.everyMs });
        unannounced.delete(current.id);
        dirty = true;
        log.info({ watch: current.id, channelId: current.channelId, verdict: snap.verdict, added: change.added.length, resolved: change.resolved.length }, 'health change posted');
      } catch (err) {
        // keep the old state: the change is announced on the next successful tick
        if (snap.verdict === 'down' && !unannounced.has(current.id)) unannounced.set(current.id, now());
        log.warn({ watch: current.id, channelId: current.channelId, err: serializeError(err) }, 'health change could not be posted');
      }
    }
    if (shared) {
      await mutate((m) => {
        for (const stored of m.values()) {
          const r = record.get(stored.id);
          if (!r) continue;
          if (r.last) {
            stored.last = r.last;
            delete stored.announcing;
          }
          stored.nextAt = r.nextAt;
        }
      });
    } else if (dirty) await persist();
  }

  /** Records the change about to be posted (best effort: a failure is logged, the post goes ahead). */
  async function noteAnnouncing(watch: StoredWatch, announcing: NonNullable<StoredWatch['announcing']>): Promise<void> {
    watch.announcing = announcing;
    try {
      if (shared) {
        await mutate((m) => {
          for (const stored of m.values()) if (stored.id === watch.id) stored.announcing = announcing;
        });
      } else await persist();
    } catch (err) {
      log.warn({ watch: watch.id, err: serializeError(err) }, 'could not record the change about to be posted; posting it anyway');
    }
  }

  function runDue(): Promise<void> {
    if (running) return running;
    running = checkDue()
      .catch((err: unknown) => log.error({ err: serializeError(err) }, 'health watch tick failed'))
      .finally(() => {
        running = undefined;
        schedule();
      });
    return running;
  }

  return {
    async add(w) {
      const everyMs = Math.min(MAX_WATCH_INTERVAL_MS, Math.max(MIN_WATCH_INTERVAL_MS, Math.round(w.everyMs)));
      const stored: StoredWatch = {
        id: newId(),
        channelId: w.channelId,
        teamId: w.teamId,
        everyMs,
        createdBy: w.createdBy,
        createdAt: now(),
        ...(shared ? { nextAt: now() } : {}),
      };
      await mutate((m) => {
        // changing the interval of a watch keeps what the channel was already told
        const prior = m.get(w.channelId);
        if (prior?.last) stored.last = prior.last;
        m.set(w.channelId, stored);
      });
      due.set(w.channelId, now()); // first check right away
      schedule();
      return publicWatch(stored);
    },
    async remove(channelId) {
      if (!shared && !watches.has(channelId)) return undefined;
      let removed: StoredWatch | undefined;
      await mutate((m) => {
        removed = m.get(channelId);
        m.delete(channelId);
      });
      if (!removed) return undefined;
      due.delete(channelId);
      schedule();
      return publicWatch(removed);
    },
    list: () => [...watches.values()].map(publicWatch),
    async start() {
      if (started) return;
      if (shared) await refresh();
      started = true;
      // resume: every stored watch checks once right away, against its stored last state
      for (const w of watches.values()) if (!due.has(w.channelId)) due.set(w.channelId, now());
      log.info({ path, watches: watches.size }, 'health watches started');
      schedule();
    },
    async stop() {
      started = false;
      closed = true;
      if (refreshTimer !== undefined) timers.clear(refreshTimer);
      schedule(); // clears the timer
      await running;
      await writes;
    },
    async pause() {
      started = false;
      schedule();
      await running;
    },
    refresh,
    runDue,
    async whenIdle() {
      await running;
      await writes;
    },
    lastState: (channelId) => watches.get(channelId)?.last,
    nextRunAt: (channelId) => due.get(channelId),
  };
}

/**
 * The `deps.watches` factory for `createBot` (src/bot.ts): watches kept in
 * `$MMOPS_STATE_DIR/watches.json`, posting as the bot, started at once. The bot's own
 * section is left out of scheduled checks unless `botStatus` is given.
 */
export function createBotHealthWatches(
  ctx: { api: MattermostApi; logger: Logger; config: { stateDir: string } },
  extra: Partial<Pick<HealthWatchServiceOptions, 'botStatus' | 'now' | 'timers'>> = {},
): HealthWatchScheduler {
  const service = createHealthWatchService({ api: ctx.api, logger: ctx.logger, store: { path: watchFilePath(ctx.config.stateDir) }, ...extra });
  void service.start();
  return service;
}
