/**
 * Who is asking? Decides, for each slash request, whether its signed `trigger_id` proves
 * that the form's `user_id` typed the command (docs/mattermost-notes.md §4.5). The
 * command token only proves the request was made *for* our command, and team admins
 * can read it; the signature needs the server's private key.
 *
 * - The server's public key (`AsymmetricSigningPublicKey` of the client config) is read
 *   at start-up and again, at most once a minute, when a signature does not verify (the
 *   key may have changed) or while the server has shown none.
 * - Accepted: a valid signature, for the form's `user_id`, issued within `maxAgeMs`,
 *   whose client trigger id was never accepted before (a claim in a {@link ReplaySet},
 *   kept as long as a trigger id can be accepted at all).
 * - Refused: one warning log line per request, and at most one audit-channel line per
 *   source address per minute ("N forged or stale slash requests"); later refusals in
 *   the same minute are counted into a line at the end of it.
 * - A server without a key: the request is `unsigned` (the caller is not proven);
 *   the dispatcher then refuses privileged commands unless MMOPS_ALLOW_UNSIGNED_SLASH.
 *
 * @example
 *   const trust = createSlashTrust({ fetchKey: async () => (await api.getClientConfig()).AsymmetricSigningPublicKey,
 *     maxAgeMs: 60_000, allowUnsigned: false, logger, alarm: (line) => postToAuditChannel(line) });
 *   await trust.start();
 *   const r = await trust.check({ triggerId: form.trigger_id, userId: form.user_id, source: req.socket.remoteAddress ?? '' });
 */
import type { KeyObject } from 'node:crypto';
import type { Logger } from '../core/command.js';
import { parseSigningKey, verifyTriggerId, type TriggerRejection } from '../core/trigger-id.js';
import { createMemoryStateStore } from '../state/state-store.js';

/** Set-if-absent with expiry; a `StateStore` (src/state/state-store.ts) is one, so replicas can share it. */
export interface ReplaySet {
  /** true when `key` was not claimed yet (and now is) */
  claim(key: string, ttlMs: number): Promise<boolean>;
}

export type SlashRefusal = TriggerRejection | 'replayed';

export type SlashTrustResult =
  /** the server's signature proves the form's user_id */
  | { verdict: 'verified' }
  /** the server signs nothing: the user_id is a claim; `allowed` = MMOPS_ALLOW_UNSIGNED_SLASH */
  | { verdict: 'unsigned'; allowed: boolean }
  /** answer 401, run nothing */
  | { verdict: 'refused'; reason: SlashRefusal };

export interface SlashTrustOptions {
  /** the server's `AsymmetricSigningPublicKey`, undefined when it has none; throws when the server cannot be asked */
  fetchKey(): Promise<string | undefined>;
  /** MMOPS_TRIGGER_MAX_AGE */
  maxAgeMs: number;
  /** MMOPS_ALLOW_UNSIGNED_SLASH */
  allowUnsigned: boolean;
  logger: Logger;
  /** posts one line to the audit channel (absent: refusals are only logged) */
  alarm?: (line: string) => Promise<void>;
  /** default: an in-process store (one replica) */
  replay?: ReplaySet;
  now?: () => number;
  /** least time between two key reads (default 60 000) */
  refreshIntervalMs?: number;
  /** one audit line per source per this long (default 60 000) */
  alarmWindowMs?: number;
  /** allowed clock skew for issue times in the future (default 5 000) */
  skewMs?: number;
}

export interface SlashTrust {
  /** Reads the key (never throws; a failure is logged and retried on demand). */
  start(): Promise<void>;
  check(req: { triggerId: string; userId: string; source: string }): Promise<SlashTrustResult>;
  /** 'present', 'absent' (the server has none) or 'unknown' (not read yet / the read failed) */
  keyState(): 'present' | 'absent' | 'unknown';
  /** Posts pending alarm counts and clears timers. */
  stop(): Promise<void>;
}

const REASON_WORDS: Record<SlashRefusal, string> = {
  missing: 'no trigger_id',
  malformed: 'malformed trigger_id',
  bad_signature: 'signature does not verify',
  user_mismatch: 'signed for another user',
  stale: 'too old',
  future: 'issued in the future',
  replayed: 'replayed',
};

interface SourceAlarm {
  lastPostAt: number;
  pending: number;
  reasons: Map<SlashRefusal, number>;
  timer?: NodeJS.Timeout;
}

/** Most sources tracked for alarms at once; the quietest are forgotten first. */
const MAX_SOURCES = 1_000;

/** Creates the checker (see the module comment). */
export function createSlashTrust(opts: SlashTrustOptions): SlashTrust {
  const log = opts.logger.child({ component: 'slash-trust' });
  const now = opts.now ?? Date.now;
  const refreshIntervalMs = opts.refreshIntervalMs ?? 60_000;
  const alarmWindowMs = opts.alarmWindowMs ?? 60_000;
  const skewMs = opts.skewMs ?? 5_000;
  const local = createMemoryStateStore({ now, maxEntries: 100_000 });
  const replay = opts.replay ?? local;
  let replayDown = false;
  // A trigger id is accepted only while fresh, so remembering it a little longer suffices.
  const replayTtlMs = opts.maxAgeMs + skewMs + 60_000;

  let key: KeyObject | undefined;
  let state: 'present' | 'absent' | 'unknown' = 'unknown';
  let lastReadAt = Number.NEGATIVE_INFINITY;
  let reading: Promise<boolean> | undefined;
  const alarms = new Map<string, SourceAlarm>();

  /** Reads the key; true when a (new) key is now in hand. */
  async function readKey(): Promise<boolean> {
    lastReadAt = now();
    const before = key;
    try {
      const published = await opts.fetchKey();
      const parsed = parseSigningKey(published);
      if (published && !parsed) {
        log.warn({}, 'the server publishes an AsymmetricSigningPublicKey that is not a P-256 public key; slash requests cannot be verified');
      }
      if (parsed) {
        key = parsed;
        if (state !== 'present') log.info({}, "slash requests are verified with the server's signing key (signed trigger_id)");
        state = 'present';
      } else if (!key) {
        if (state !== 'absent') {
          log.warn(
            { allowUnsigned: opts.allowUnsigned },
            opts.allowUnsigned
              ? 'the server signs no slash trigger_id, and MMOPS_ALLOW_UNSIGNED_SLASH=true: privileged slash commands trust the user_id sent with the command token (unsafe)'
              : 'the server signs no slash trigger_id: privileged commands are refused over slash and work in DMs (MMOPS_ALLOW_UNSIGNED_SLASH=true would allow them, unsafely)',
          );
        }
        state = 'absent';
      }
    } catch (err) {
      log.warn({ err }, 'could not read the server signing key (GET /api/v4/config/client); trying again on the next slash request, at most once a minute');
    }
    return key !== undefined && key !== before;
  }

  /** Re-reads the key unless it was read less than a refresh interval ago; single flight. */
  function maybeRefresh(): Promise<boolean> {
    if (reading) return reading;
    if (now() - lastReadAt < refreshIntervalMs) return Promise.resolve(false);
    reading = readKey().finally(() => {
      reading = undefined;
    });
    return reading;
  }

  function alarmLine(source: string, a: SourceAlarm, count: number): string {
    const reasons = [...a.reasons.entries()].map(([r, n]) => `${REASON_WORDS[r]} ×${n}`).join(', ');
    return `:warning: ${count} forged or stale slash ${count === 1 ? 'request' : 'requests'} refused from \`${source.replace(/`/g, '')}\` (${reasons})`;
  }

  function post(line: string): void {
    if (!opts.alarm) return;
    opts.alarm(line).catch((err: unknown) => log.warn({ err }, 'could not post the forged-request alarm to the audit channel'));
  }

  function flush(source: string): void {
    const a = alarms.get(source);
    if (!a) return;
    a.timer = undefined;
    if (a.pending === 0) return;
    post(alarmLine(source, a, a.pending));
    a.pending = 0;
    a.reasons.clear();
    a.lastPostAt = now();
  }

  function raiseAlarm(source: string, reason: SlashRefusal): void {
    const t = now();
    let a = alarms.get(source);
    if (!a) {
      if (alarms.size >= MAX_SOURCES) {
        // forget sources with nothing pending, oldest first
        for (const [s, old] of alarms) {
          if (old.pending === 0 && !old.timer) alarms.delete(s);
          if (alarms.size < MAX_SOURCES / 2) break;
        }
      }
      a = { lastPostAt: Number.NEGATIVE_INFINITY, pending: 0, reasons: new Map() };
      alarms.set(source, a);
    }
    a.pending += 1;
    a.reasons.set(reason, (a.reasons.get(reason) ?? 0) + 1);
    if (a.timer) return;
    const quietFor = t - a.lastPostAt;
    if (quietFor >= alarmWindowMs) {
      flush(source);
      return;
    }
    a.timer = setTimeout(() => flush(source), alarmWindowMs - quietFor);
    a.timer.unref();
  }

  function refuse(reason: SlashRefusal, source: string, userId: string): SlashTrustResult {
    log.warn({ reason, source, claimedUserId: userId }, `slash request refused (401): ${REASON_WORDS[reason]}`);
    raiseAlarm(source || 'unknown address', reason);
    return { verdict: 'refused', reason };
  }

  async function check(req: { triggerId: string; userId: string; source: string }): Promise<SlashTrustResult> {
    if (!key) await maybeRefresh();
    if (!key) {
      log.debug({ keyState: state }, 'slash request not signed by the server: the caller is not proven');
      return { verdict: 'unsigned', allowed: opts.allowUnsigned };
    }
    const verifyWith = (k: KeyObject) => verifyTriggerId(req.triggerId, { key: k, userId: req.userId, maxAgeMs: opts.maxAgeMs, now: now(), skewMs });
    let verdict = verifyWith(key);
    // The server's key may have changed (a restored database, a new cluster): read it again, once.
    if (!verdict.ok && verdict.reason === 'bad_signature' && (await maybeRefresh()) && key) verdict = verifyWith(key);
    if (!verdict.ok) return refuse(verdict.reason, req.source, req.userId);
    if (!(await claim(`slash-trigger:${verdict.clientTriggerId}`))) return refuse('replayed', req.source, req.userId);
    return { verdict: 'verified' };
  }

  /** Claims in the (shared) replay set; while it is unreachable, in this process only. */
  async function claim(key: string): Promise<boolean> {
    if (replay === local) return local.claim(key, replayTtlMs);
    try {
      const fresh = await replay.claim(key, replayTtlMs);
      if (replayDown) log.info({}, 'the shared store answers again: slash replay checks are shared again');
      replayDown = false;
      // remembered here too, so the fallback below still knows it during an outage
      await local.claim(key, replayTtlMs);
      return fresh;
    } catch (err) {
      if (!replayDown) log.warn({ err }, 'the shared store does not answer: slash replay checks fall back to this replica alone');
      replayDown = true;
      return local.claim(key, replayTtlMs);
    }
  }

  return {
    async start() {
      await maybeRefresh();
    },
    check,
    keyState: () => state,
    async stop() {
      for (const [source, a] of alarms) {
        if (a.timer) clearTimeout(a.timer);
        flush(source);
      }
      alarms.clear();
    },
  };
}
