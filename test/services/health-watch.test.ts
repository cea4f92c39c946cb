/**
 * The `/health watch` scheduler: posts once per change (not per tick), again on
 * recovery, persists watches and their last state to a JSON file, and resumes from it
 * after a restart. Clock and timers are fake; the file is real (a temporary directory).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HealthReport, HealthFlag, Verdict } from '../../src/services/health-check.js';
import {
  changeReply,
  compareSnapshots,
  createHealthWatchService,
  MIN_WATCH_INTERVAL_MS,
  watchFilePath,
  type HealthWatchScheduler,
  type WatchSnapshot,
  type WatchTimers,
} from '../../src/services/health-watch.js';
import { renderReply } from '../../src/render/markdown.js';
import { captureLines, createMemoryLogger, type MemoryLogger } from '../helpers/logger.js';
import type { Logger } from '../../src/core/command.js';
import { createLogger } from '../../src/log/logger.js';
import { createMemoryStateStore, type StateStore } from '../../src/state/state-store.js';
import type { Post } from '../../src/mattermost/models.js';
import { ApiError, NetworkError } from '../../src/mattermost/errors.js';

const CHANNEL = 'c'.repeat(26);
const OTHER_CHANNEL = 'd'.repeat(26);
const TEAM = 't'.repeat(26);
const ALICE = 'a'.repeat(26);
const MIN = 60_000;

/** A fake clock with timers that fire when the clock is advanced. */
function fakeClock(start = 1_750_000_000_000) {
  let t = start;
  let seq = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  const timers: WatchTimers = {
    set(fn, ms) {
      const id = ++seq;
      pending.set(id, { at: t + ms, fn });
      return id;
    },
    clear(handle) {
      if (typeof handle === 'number') pending.delete(handle);
    },
  };
  return {
    now: () => t,
    timers,
    pendingCount: () => pending.size,
    /** moves the clock, firing due timers in order */
    advance(ms: number): void {
      const until = t + ms;
      for (;;) {
        const next = [...pending.entries()].filter(([, p]) => p.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
        if (!next) break;
        pending.delete(next[0]);
        t = Math.max(t, next[1].at);
        next[1].fn();
      }
      t = until;
    },
  };
}

/** Scripted health: the test sets `verdict` / `flags` / `nodes` between ticks. */
function scripted() {
  const state = { verdict: 'healthy' as Verdict, flags: [] as HealthFlag[], nodes: ['app-1', 'app-2', 'app-3'] as string[] | null, calls: 0, fail: false };
  const check = async (): Promise<HealthReport> => {
    state.calls++;
    if (state.fail) throw new Error('check exploded');
    return {
      verdict: state.verdict,
      checkedAt: 0,
      server: { state: 'ok' },
      cluster: { state: 'ok', nodes: [], expected: {} },
      saml: { state: 'ok' },
      bot: { state: 'skipped' },
      flags: state.flags,
      nodes: state.nodes,
    };
  };
  return { state, check };
}

const flag = (key: string, text: string, severity: HealthFlag['severity'] = 'degraded'): HealthFlag => ({ key, text, section: 'cluster', severity });
const LAG = flag('cluster:app-3:version', 'app-3 has version 10.4.2; the others have 10.5.0.');
const SAML = flag('saml:private_key', 'SAML: the service provider private key is missing (the public certificate is there).');

let dir: string;
let path: string;
let log: MemoryLogger;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mmops-watch-'));
  path = watchFilePath(join(dir, 'state'));
  log = createMemoryLogger();
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function setup(opts: { clock?: ReturnType<typeof fakeClock>; script?: ReturnType<typeof scripted>; failPost?: () => boolean; logger?: Logger } = {}) {
  const clock = opts.clock ?? fakeClock();
  const script = opts.script ?? scripted();
  const posts: Array<{ channelId: string; message: string }> = [];
  const svc = createHealthWatchService({
    api: {
      ping: async () => ({ status: 'OK' }),
      getClusterStatus: async () => [],
      getSamlCertificateStatus: async () => ({ idp_certificate_file: false, public_certificate_file: false, private_key_file: false }),
      createPost: async () => {
        throw new Error('the test posts through `post`');
      },
    },
    store: { path },
    logger: opts.logger ?? log,
    runCheck: script.check,
    post: async (channelId, message) => {
      if (opts.failPost?.()) throw new Error('channel gone');
      posts.push({ channelId, message });
    },
    now: clock.now,
    timers: clock.timers,
  });
  /** advances the clock and waits for the check it triggered */
  const tick = async (ms: number): Promise<void> => {
    clock.advance(ms);
    await svc.whenIdle();
  };
  return { clock, script, posts, svc, tick };
}

const stored = (): { version: number; watches: Array<Record<string, unknown>> } => JSON.parse(readFileSync(path, 'utf8'));

describe('health watch', () => {
  let svc: HealthWatchScheduler | undefined;
  afterEach(async () => {
    await svc?.stop();
    svc = undefined;
  });

  it('stays quiet on a healthy start, posts once when it degrades, not on every tick, and once on recovery', async () => {
    const s = setup();
    svc = s.svc;
    await s.svc.start();
    await s.svc.add({ channelId: CHANNEL, teamId: TEAM, everyMs: 5 * MIN, createdBy: ALICE });
    await s.tick(0);
    expect(s.script.state.calls).toBe(1);
    expect(s.posts).toEqual([]);
    expect(s.svc.lastState(CHANNEL)?.verdict).toBe('healthy');

    s.script.state.verdict = 'degraded';
    s.script.state.flags = [LAG];
    await s.tick(5 * MIN);
    expect(s.posts).toHaveLength(1);
    expect(s.posts[0]?.channelId).toBe(CHANNEL);
    expect(s.posts[0]?.message).toContain('degraded (was healthy)');
    expect(s.posts[0]?.message).toContain('app\\-3 has version 10\\.4\\.2');

    for (let i = 0; i < 5; i++) await s.tick(5 * MIN);
    expect(s.script.state.calls).toBe(7);
    expect(s.posts).toHaveLength(1);

    s.script.state.verdict = 'healthy';
    s.script.state.flags = [];
    await s.tick(5 * MIN);
    expect(s.posts).toHaveLength(2);
    expect(s.posts[1]?.message).toContain('healthy again (was degraded)');
    expect(s.posts[1]?.message).toContain('Resolved:');
    await s.tick(5 * MIN);
    expect(s.posts).toHaveLength(2);
  });

  it('logs why a check or a post failed in real pino output, without secrets', async () => {
    const { lines, stream } = captureLines();
    let failPost = false;
    const s = setup({ logger: createLogger({ level: 'info', destination: stream }), failPost: () => failPost });
    svc = s.svc;
    await s.svc.start();
    await s.svc.add({ channelId: CHANNEL, teamId: TEAM, everyMs: MIN, createdBy: ALICE });
    s.script.state.fail = true;
    await s.tick(0);
    s.script.state.fail = false;
    s.script.state.verdict = 'degraded';
    s.script.state.flags = [LAG];
    failPost = true;
    await s.tick(MIN);
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries.find((e) => e.msg === 'health check failed')).toMatchObject({ err: { type: 'Error', message: 'check exploded' } });
    expect(entries.find((e) => e.msg === 'health change could not be posted')).toMatchObject({ err: { type: 'Error', message: 'channel gone' } });
    expect(lines.join('\n')).not.toContain('[object Object]');
  });

  it('posts when a flagged item or the node set changes while the verdict stays the same', async () => {
    const s = setup();
    svc = s.svc;
    s.script.state.verdict = 'degraded';
    s.script.state.flags = [LAG];
    await s.svc.start();
    await s.svc.add({ channelId: CHANNEL, teamId: TEAM, everyMs: MIN, createdBy: ALICE });
    await s.tick(0);
    // a new watch on an unhealthy workspace says so at once
    expect(s.posts).toHaveLength(1);
    expect(s.posts[0]?.message).toContain('Needs attention:');

    s.script.state.flags = [LAG, SAML];
    await s.tick(MIN);
    expect(s.posts).toHaveLength(2);
    expect(s.posts[1]?.message).toContain('still');
    expect(s.posts[1]?.message).toContain('New:');
    expect(s.posts[1]?.message).toContain('private key is missing');
    expect(s.posts[1]?.message).not.toContain('10\\.4\\.2'); // unchanged items are not repeated

    s.script.state.nodes = ['app-1', 'app-3'];
    await s.tick(MIN);
    expect(s.posts).toHaveLength(3);
    expect(s.posts[2]?.message).toContain('Cluster nodes left: app\\-2');

    // the cluster could not be read: nodes unknown, which is not "every node left"
    s.script.state.nodes = null;
    await s.tick(MIN);
    expect(s.posts).toHaveLength(3);
  });

  it('checks on the interval: nothing runs before a watch is due', async () => {
    const s = setup();
    svc = s.svc;
    await s.svc.start();
    await s.svc.add({ channelId: CHANNEL, teamId: TEAM, everyMs: 10 * MIN, createdBy: ALICE });
    await s.tick(0);
    expect(s.script.state.calls).toBe(1);
    await s.tick(9 * MIN);
    expect(s.script.state.calls).toBe(1);
    await s.tick(MIN);
    expect(s.script.state.calls).toBe(2);
    expect(s.svc.nextRunAt(CHANNEL)).toBe(s.clock.now() + 10 * MIN);
  });

  it('runs one check for every watch due at the same moment', async () => {
    const s = setup();
    svc = s.svc;
    s.script.state.verdict = 'down';
    s.script.state.flags = [flag('server:unreachable', 'The server does not answer.', 'down')];
    await s.svc.start();
    await s.svc.add({ channelId: CHANNEL, teamId: TEAM, everyMs: MIN, createdBy: ALICE });
    await s.svc.add({ channelId: OTHER_CHANNEL, teamId: TEAM, everyMs: MIN, createdBy: ALICE });
    await s.tick(0);
    expect(s.script.state.calls).toBe(1);
    expect(s.posts.map((p) => p.channelId).sort()).toEqual([CHANNEL, OTHER_CHANNEL]);
  });

  it('persists watches and their last state, and resumes after a restart without repeating itself', async () => {
    const clock = fakeClock();
    const script = scripted();
    script.state.verdict = 'degraded';
    script.state.flags = [LAG];
    const first = setup({ clock, script });
    await first.svc.start();
    const w = await first.svc.add({ channelId: CHANNEL, teamId: TEAM, everyMs: 2 * MIN, createdBy: ALICE });
    await first.tick(0);
    expect(first.posts).toHaveLength(1);
    await first.svc.stop();

    const file = stored();
    expect(file.version).toBe(1);
    expect(file.watches).toHaveLength(1);
    expect(file.watches[0]).toMatchObject({ id: w.id, channelId: CHANNEL, teamId: TEAM, everyMs: 2 * MIN, createdBy: ALICE, last: { verdict: 'degraded' } });

    // the bot restarts: a new service over the same file, same state → quiet
    clock.advance(30 * MIN);
    const second = setup({ clock, script });
    svc = second.svc;
    expect(second.svc.list()).toEqual([w]);
    await second.svc.start();
    await second.tick(0);
    expect(script.state.calls).toBe(2);
    expect(second.posts).toEqual([]);

    // and it keeps watching on the stored interval
    script.state.verdict = 'healthy';
    script.state.flags = [];
    await second.tick(2 * MIN);
    expect(second.posts).toHaveLength(1);
    expect(second.posts[0]?.message).toContain('healthy again');
    expect(stored().watches[0]).toMatchObject({ last: { verdict: 'healthy' } });
  });

  it('retries a post that failed on the next tick instead of forgetting the change', async () => {
    let failing = true;
    const s = setup({ failPost: () => failing });
    svc = s.svc;
    await s.svc.start();
    await s.svc.add({ channelId: CHANNEL, teamId: TEAM, everyMs: MIN, createdBy: ALICE });
    await s.tick(0);
    s.script.state.verdict = 'degraded';
    s.script.state.flags = [LAG];
    await s.tick(MIN);
    expect(s.posts).toHaveLength(0);
    expect(log.find('health change could not be posted')).toBeDefined();
    failing = false;
    await s.tick(MIN);
    expect(s.posts).toHaveLength(1);
    expect(s.posts[0]?.message).toContain('degraded (was healthy)');
  });

  it('after an outage during which nothing could be posted, says so once it can post again', async () => {
    let failing = false;
    const s = setup({ failPost: () => failing });
    svc = s.svc;
    await s.svc.start();
    await s.svc.add({ channelId: CHANNEL, teamId: TEAM, everyMs: MIN, createdBy: ALICE });
    await s.tick(0);
    failing = true;
    s.script.state.verdict = 'down';
    s.script.state.flags = [flag('server:unreachable', 'The server does not answer.', 'down')];
    await s.tick(MIN);
    await s.tick(MIN);
    // back, and back to what was last said (healthy): still worth one post
    failing = false;
    s.script.state.verdict = 'healthy';
    s.script.state.flags = [];
    await s.tick(MIN);
    expect(s.posts).toHaveLength(1);
    expect(s.posts[0]?.message).toContain('Health watch: 🟢 healthy again');
    expect(s.posts[0]?.message).toContain('could not be reached for about 2 min');
    await s.tick(MIN);
    expect(s.posts).toHaveLength(1);
  });

  it('survives a check that throws and keeps the schedule', async () => {
    const s = setup();
    svc = s.svc;
    await s.svc.start();
    await s.svc.add({ channelId: CHANNEL, teamId: TEAM, everyMs: MIN, createdBy: ALICE });
    s.script.state.fail = true;
    await s.tick(0);
    expect(log.find('health check failed')).toBeDefined();
    s.script.state.fail = false;
    await s.tick(MIN);
    expect(s.script.state.calls).toBe(2);
    expect(s.svc.lastState(CHANNEL)?.verdict).toBe('healthy');
  });

  it('removes a watch: no more checks, and the file forgets it', async () => {
    const s = setup();
    svc = s.svc;
    await s.svc.start();
    await s.svc.add({ channelId: CHANNEL, teamId: TEAM, everyMs: MIN, createdBy: ALICE });
    await s.tick(0);
    const removed = await s.svc.remove(CHANNEL);
    expect(removed?.channelId).toBe(CHANNEL);
    expect(await s.svc.remove(CHANNEL)).toBeUndefined();
    await s.tick(10 * MIN);
    expect(s.script.state.calls).toBe(1);
    expect(s.clock.pendingCount()).toBe(0);
    expect(stored().watches).toEqual([]);
  });

  it('keeps one watch per channel: adding again changes the interval and keeps what was said', async () => {
    const s = setup();
    svc = s.svc;
    s.script.state.verdict = 'degraded';
    s.script.state.flags = [LAG];
    await s.svc.start();
    await s.svc.add({ channelId: CHANNEL, teamId: TEAM, everyMs: MIN, createdBy: ALICE });
    await s.tick(0);
    expect(s.posts).toHaveLength(1);
    await s.svc.add({ channelId: CHANNEL, teamId: TEAM, everyMs: 10 * MIN, createdBy: ALICE });
    await s.tick(0);
    expect(s.svc.list()).toHaveLength(1);
    expect(s.svc.list()[0]?.everyMs).toBe(10 * MIN);
    expect(s.posts).toHaveLength(1);
  });

  it('clamps intervals to the allowed range', async () => {
    const s = setup();
    svc = s.svc;
    const w = await s.svc.add({ channelId: CHANNEL, teamId: TEAM, everyMs: 5_000, createdBy: ALICE });
    expect(w.everyMs).toBe(MIN_WATCH_INTERVAL_MS);
  });

  it('moves an unreadable file aside and starts empty', () => {
    const stateDir = join(dir, 'state');
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(path, '{"version":1,"watches":[{"id":"x"}]}');
    const s = setup();
    expect(s.svc.list()).toEqual([]);
    expect(log.find('health watch file is not valid')).toBeDefined();
    expect(readdirSync(stateDir).some((f) => f.startsWith('watches.json.corrupt-'))).toBe(true);
  });
});

describe('compareSnapshots / changeReply', () => {
  const snap = (verdict: Verdict, flags: HealthFlag[] = [], nodes: string[] | null = ['a', 'b']): WatchSnapshot => ({
    verdict,
    flags: flags.map((f) => ({ key: f.key, text: f.text })),
    nodes,
    at: 0,
  });

  it('sees no change when only the texts of the same items differ', () => {
    const a = snap('degraded', [LAG]);
    const b = snap('degraded', [{ ...LAG, text: 'reworded' }]);
    expect(compareSnapshots(a, b)).toBeUndefined();
  });

  it('reports joined nodes and escapes server-provided names', () => {
    const change = compareSnapshots(snap('healthy', [], ['a']), snap('healthy', [], ['a', '@channel-node']));
    expect(change?.nodesJoined).toEqual(['@channel-node']);
    const text = renderReply(changeReply(change ?? (() => { throw new Error('no change'); })()));
    expect(text).toContain('still 🟢 healthy');
    expect(text).not.toMatch(/(^|[^\u200b])@channel/);
  });
});

describe('health watches shared by replicas (state store)', () => {
  /** one replica's service on the shared store; `lead` says whether its fencing check passes */
  function replica(state: StateStore, owner: string, clock: ReturnType<typeof fakeClock>, script: ReturnType<typeof scripted>, posts: string[]) {
    const role = { lead: false };
    const svc = createHealthWatchService({
      api: {
        ping: async () => ({ status: 'OK' }),
        getClusterStatus: async () => [],
        getSamlCertificateStatus: async () => ({ idp_certificate_file: false, public_certificate_file: false, private_key_file: false }),
        createPost: async () => {
          throw new Error('the test posts through `post`');
        },
      },
      store: { state, owner, refreshMs: 1_000 },
      canAct: async () => role.lead,
      logger: log,
      runCheck: script.check,
      post: async (_channelId, message) => {
        posts.push(`${owner}: ${message.split('\n')[0]}`);
      },
      now: clock.now,
      timers: clock.timers,
    });
    return { svc, role };
  }

  it('a watch added on a follower is run by the leader; a new leader resumes without repeating the last post', async () => {
    const state = createMemoryStateStore();
    const clock = fakeClock();
    const script = scripted();
    const posts: string[] = [];
    const a = replica(state, 'a', clock, script, posts);
    const b = replica(state, 'b', clock, script, posts);
    a.role.lead = true;
    await a.svc.start();

    // added through the follower: the leader sees it on its next read
    await b.svc.add({ channelId: CHANNEL, teamId: TEAM, everyMs: MIN, createdBy: ALICE });
    expect(a.svc.list()).toHaveLength(0);
    await a.svc.refresh();
    expect(a.svc.list().map((w) => w.channelId)).toEqual([CHANNEL]);

    script.state.verdict = 'degraded';
    script.state.flags = [LAG];
    clock.advance(0);
    await a.svc.whenIdle();
    expect(posts).toEqual([expect.stringMatching(/^a: .*Health watch: .*degraded/i)]);

    // the leader dies; b takes over, reads the watch with its last state and its schedule
    await a.svc.stop();
    b.role.lead = true;
    await b.svc.start();
    expect(b.svc.nextRunAt(CHANNEL)).toBe(clock.now() + MIN);
    expect(b.svc.lastState(CHANNEL)?.verdict).toBe('degraded');
    clock.advance(MIN);
    await b.svc.whenIdle();
    expect(posts).toHaveLength(1); // nothing changed: no second post about the same state

    script.state.verdict = 'healthy';
    script.state.flags = [];
    clock.advance(MIN);
    await b.svc.whenIdle();
    expect(posts).toEqual([expect.stringMatching(/^a: /), expect.stringMatching(/^b: .*Health watch: .*again/i)]);
    await b.svc.stop();
  });

  it('a change posted by a leader that died before recording it is neither posted again nor lost (chaos test, issue 13)', async () => {
    // before: the next leader compared against the state before that change and posted it
    // again (or, had it recovered meanwhile, never announced the recovery)
    const state = createMemoryStateStore();
    const clock = fakeClock();
    const script = scripted();
    const channel: Array<Post & { pending_post_id?: string }> = [];
    const BOT = 'b'.repeat(26);
    let aDead = false;
    /** A's view of the store: gone (every call fails) from the moment A has posted */
    const aState: StateStore = {
      claim: (k, ms) => (aDead ? Promise.reject(new Error('killed')) : state.claim(k, ms)),
      get: (k) => (aDead ? Promise.reject(new Error('killed')) : state.get(k)),
      renew: (k, v, ms) => (aDead ? Promise.reject(new Error('killed')) : state.renew(k, v, ms)),
      set: (k, v, ms) => (aDead ? Promise.reject(new Error('killed')) : state.set(k, v, ms)),
      delete: (k) => (aDead ? Promise.reject(new Error('killed')) : state.delete(k)),
      swap: (k, e, v, o) => (aDead ? Promise.reject(new Error('killed')) : state.swap(k, e, v, o)),
      deleteIf: (k, e) => (aDead ? Promise.reject(new Error('killed')) : state.deleteIf(k, e)),
      acquireLease: (n, o, ms) => (aDead ? Promise.reject(new Error('killed')) : state.acquireLease(n, o, ms)),
      releaseLease: (n, o) => (aDead ? Promise.reject(new Error('killed')) : state.releaseLease(n, o)),
      close: async () => {},
    };
    const make = (owner: string, store: StateStore, onPost: () => void) =>
      createHealthWatchService({
        api: {
          ping: async () => ({ status: 'OK' }),
          getClusterStatus: async () => [],
          getSamlCertificateStatus: async () => ({ idp_certificate_file: false, public_certificate_file: false, private_key_file: false }),
          createPost: async (p) => {
            // the server answers a repeated pending_post_id with the first post (app/post.go deduplicateCreatePost)
            const first = channel.find((x) => x.pending_post_id !== undefined && x.pending_post_id === p.pending_post_id);
            if (first) return first;
            const post: Post & { pending_post_id?: string } = {
              ...(p.pending_post_id ? { pending_post_id: p.pending_post_id } : {}), id: `p${channel.length}`.padEnd(26, '0'), create_at: clock.now(), update_at: clock.now(), edit_at: 0, delete_at: 0, user_id: BOT, channel_id: p.channel_id, root_id: '', message: p.message, type: '', props: p.props ?? {}, file_ids: [] };
            channel.push(post);
            onPost();
            return post;
          },
          getPostsSince: async (_c, since) => {
            const posts = channel.filter((x) => x.update_at >= since);
            return { order: posts.map((x) => x.id), posts: Object.fromEntries(posts.map((x) => [x.id, x])), next_post_id: '', prev_post_id: '' };
          },
        },
        botUserId: BOT,
        store: { state: store, owner, refreshMs: 1_000 },
        canAct: async () => true,
        logger: log,
        // a real report carries the time of its check
        runCheck: async () => ({ ...(await script.check()), checkedAt: clock.now() }),
        now: clock.now,
        timers: clock.timers,
      });
    const a = make('a', aState, () => {
      aDead = true; // SIGKILL right after the post went out
    });
    await a.add({ channelId: CHANNEL, teamId: TEAM, everyMs: MIN, createdBy: ALICE });
    await a.start();
    await a.whenIdle(); // quiet baseline (healthy)
    script.state.verdict = 'degraded';
    script.state.flags = [LAG];
    clock.advance(MIN);
    await a.whenIdle();
    expect(channel.map((p) => p.message.split('\n')[0])).toEqual([expect.stringMatching(/degraded/)]);
    await a.stop();

    const b = make('b', state, () => undefined);
    await b.start();
    clock.advance(MIN);
    await b.whenIdle();
    expect(channel).toHaveLength(1); // the same change is not posted again
    expect(b.lastState(CHANNEL)?.verdict).toBe('degraded');
    script.state.verdict = 'healthy';
    script.state.flags = [];
    clock.advance(MIN);
    await b.whenIdle();
    expect(channel.map((p) => p.message.split('\n')[0])).toEqual([expect.stringMatching(/degraded/), expect.stringMatching(/again/i)]);
    // the same state again is a new change: posted again, not taken for the first post
    script.state.verdict = 'degraded';
    script.state.flags = [LAG];
    clock.advance(MIN);
    await b.whenIdle();
    expect(channel).toHaveLength(3);
    await b.stop();
  });

  it('a replica whose fencing check fails does not post and records nothing', async () => {
    const state = createMemoryStateStore();
    const clock = fakeClock();
    const script = scripted();
    const posts: string[] = [];
    const a = replica(state, 'a', clock, script, posts);
    await a.svc.add({ channelId: CHANNEL, teamId: TEAM, everyMs: MIN, createdBy: ALICE });
    await a.svc.start(); // started, but no longer the leader by the time it would post
    script.state.verdict = 'down';
    clock.advance(0);
    await a.svc.whenIdle();
    expect(posts).toEqual([]);
    expect(a.svc.lastState(CHANNEL)).toBeUndefined();
    await a.svc.stop();
  });

  it('keeps both of two watches added at once on two replicas (changes are serialised)', async () => {
    const state = createMemoryStateStore();
    const clock = fakeClock();
    const script = scripted();
    const a = replica(state, 'a', clock, script, []);
    const b = replica(state, 'b', clock, script, []);
    await Promise.all([
      a.svc.add({ channelId: CHANNEL, teamId: TEAM, everyMs: MIN, createdBy: ALICE }),
      b.svc.add({ channelId: OTHER_CHANNEL, teamId: TEAM, everyMs: 2 * MIN, createdBy: ALICE }),
    ]);
    await a.svc.refresh();
    expect(a.svc.list().map((w) => w.channelId).sort()).toEqual([CHANNEL, OTHER_CHANNEL].sort());
    expect(await b.svc.remove(CHANNEL)).toMatchObject({ channelId: CHANNEL });
    await a.svc.refresh();
    expect(a.svc.list().map((w) => w.channelId)).toEqual([OTHER_CHANNEL]);
    await a.svc.stop();
    await b.svc.stop();
  });
});

describe('health watch during an outage (real checks, a scripted server)', () => {
  /** the server's answer to the bot's ping, tick by tick */
  type Answer = 'ok' | 'no answer' | '429' | '502';
  function realChecks() {
    const clock = fakeClock();
    const posts: string[] = [];
    const answer = { now: 'ok' as Answer };
    const svc = createHealthWatchService({
      api: {
        ping: async () => {
          if (answer.now === 'no answer') throw new NetworkError('GET /system/ping', 'connect ECONNREFUSED');
          if (answer.now === '429') throw new ApiError(429, '', 'Too many requests', 'r', 'GET /system/ping', 1);
          if (answer.now === '502') throw new ApiError(502, '', 'Bad gateway', 'r', 'GET /system/ping');
          return { status: 'OK' };
        },
        getClusterStatus: async () => {
          if (answer.now === '429') throw new ApiError(429, '', 'Too many requests', 'r', 'GET /cluster/status', 1);
          return [];
        },
        getSamlCertificateStatus: async () => ({ idp_certificate_file: false, public_certificate_file: false, private_key_file: false }),
        createPost: async () => {
          throw new Error('the test posts through `post`');
        },
      },
      store: { path },
      logger: log,
      post: async (_channelId, message) => {
        posts.push(message);
      },
      now: clock.now,
      timers: clock.timers,
    });
    const tick = async (ms: number): Promise<void> => {
      clock.advance(ms);
      await svc.whenIdle();
    };
    return { svc, posts, answer, tick };
  }

  it('a rate-limited read is "unknown", not "down": nothing is posted for it', async () => {
    const s = realChecks();
    await s.svc.start();
    await s.svc.add({ channelId: CHANNEL, teamId: TEAM, everyMs: MIN, createdBy: ALICE });
    await s.tick(0);
    expect(s.svc.lastState(CHANNEL)?.verdict).toBe('healthy');
    s.answer.now = '429';
    for (let i = 0; i < 5; i++) await s.tick(MIN);
    expect(s.posts).toEqual([]);
    expect(s.svc.lastState(CHANNEL)?.verdict).toBe('healthy');
    expect(log.entries.some((e) => /unknown/.test(e.msg))).toBe(true);
    s.answer.now = 'ok';
    await s.tick(MIN);
    expect(s.posts).toEqual([]);
    await s.svc.stop();
  });

  it('reports an outage once, however the failing reads alternate (no answer, 429, 502), and the recovery once', async () => {
    const s = realChecks();
    await s.svc.start();
    await s.svc.add({ channelId: CHANNEL, teamId: TEAM, everyMs: MIN, createdBy: ALICE });
    await s.tick(0);
    const during: Answer[] = ['no answer', '429', 'no answer', '502', '429', '502', 'no answer', '429'];
    for (const a of during) {
      s.answer.now = a;
      await s.tick(MIN);
    }
    expect(s.posts).toHaveLength(1);
    expect(s.posts[0]).toContain('down');
    s.answer.now = 'ok';
    await s.tick(MIN);
    await s.tick(MIN);
    expect(s.posts).toHaveLength(2);
    expect(s.posts[1]).toContain('healthy again (was down)');
    await s.svc.stop();
  });
});
