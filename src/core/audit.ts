/**
 * The audit trail of privileged actions: one structured log line each, and
 * optionally a one-line summary posted to an audit channel (MMOPS_AUDIT_CHANNEL).
 * Posting is fire-and-forget: a failure is logged and never reaches the caller,
 * because an unreachable audit channel must not break the command being audited.
 *
 * The channel is for people, so it is kept readable under attack: refusals are
 * aggregated per user (the first is posted, later ones within the minute become one
 * "N more refusals by @x" line, at most once a minute per user), and text a user typed
 * (the target as written, error details) is cut to {@link AUDIT_TEXT_MAX} characters
 * and escaped. The log still gets one line per entry.
 *
 * @example
 *   const audit = createAuditTrail(log, { post: (line) => postToAuditChannel(line) });
 *   audit({ who: { id, username: 'ann' }, command: 'user deactivate', target: '@bob',
 *           scope: 'system', outcome: 'succeeded', ref: 'K3X9QF' });
 *   await audit.flush(); // at shutdown: pending refusal summaries are posted
 */
import type { AuditEntry, Logger } from './command.js';
import { serializeError } from '../log/logger.js';
import { escapeText } from './reply.js';

export interface AuditTrailOptions {
  /** posts one Markdown line (already escaped) to the audit channel */
  post?: (line: string) => Promise<void>;
  /** how long refusals by one user are summed into one line (default 60 000 ms) */
  refusalWindowMs?: number;
  now?: () => number;
}

/** The audit function, plus `flush` for shutdown. */
export interface AuditTrail {
  (entry: AuditEntry): void;
  /** posts the pending refusal summaries now and waits for every post in flight */
  flush(): Promise<void>;
}

/** Longest user-typed text an audit-channel line quotes. */
export const AUDIT_TEXT_MAX = 60;

const OUTCOME_MARK: Record<AuditEntry['outcome'], string> = {
  allowed: 'allowed',
  refused: 'refused',
  succeeded: 'done',
  failed: 'failed',
  requested: 'sent for approval',
  cancelled: 'cancelled',
};

/** At most `max` characters (code points, so no emoji is split), with … when cut. */
export function cut(text: string, max = AUDIT_TEXT_MAX): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/** The one-line Markdown summary of an entry; every field is escaped, typed text cut. */
export function formatAuditLine(e: AuditEntry): string {
  const target = e.target ? ` → ${escapeText(cut(e.target))}` : '';
  const detail = e.detail ? ` (${escapeText(cut(e.detail))})` : '';
  const confirmed = e.confirmedBy ? ` · confirmed by ${escapeText(cut(e.confirmedBy))}` : '';
  return (
    `audit: ${escapeText(`@${e.who.username}`)} ran \`${e.command.replace(/`/g, "'")}\`${target}` +
    ` in ${escapeText(e.scope)}: **${OUTCOME_MARK[e.outcome]}**${detail}${confirmed} · ref ${escapeText(e.ref)}`
  );
}

/** "audit: 299 more refusals by @dave in the last minute (latest: `user roles`, ref X)" */
export function formatRefusalSummary(username: string, count: number, latest: AuditEntry): string {
  return (
    `audit: ${count} more ${count === 1 ? 'refusal' : 'refusals'} by ${escapeText(`@${username}`)} in the last minute` +
    ` (latest: \`${latest.command.replace(/`/g, "'")}\`, ref ${escapeText(latest.ref)})`
  );
}

interface RefusalWindow {
  /** refusals after this time start a new window */
  until: number;
  suppressed: number;
  latest?: AuditEntry;
  username: string;
  timer?: NodeJS.Timeout;
}

/** Creates the audit function the dispatcher and commands call. */
export function createAuditTrail(logger: Logger, opts: AuditTrailOptions = {}): AuditTrail {
  const log = logger.child({ component: 'audit' });
  const now = opts.now ?? Date.now;
  const windowMs = opts.refusalWindowMs ?? 60_000;
  const windows = new Map<string, RefusalWindow>();
  const inFlight = new Set<Promise<void>>();

  function send(line: string, ref: string): void {
    const post = opts.post;
    if (!post) return;
    // via then(): a post function that throws synchronously is caught the same way
    const p = Promise.resolve(line)
      .then(post)
      .catch((err: unknown) => {
        log.warn({ err: serializeError(err), ref }, 'audit line could not be posted');
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }

  function postEntry(entry: AuditEntry): void {
    let line: string;
    try {
      line = formatAuditLine(entry);
    } catch (err) {
      log.warn({ err: serializeError(err), ref: entry.ref }, 'audit line could not be formatted');
      return;
    }
    send(line, entry.ref);
  }

  /** Posts the summary of `userId`'s window if it holds any; the window continues. */
  function summarize(userId: string, w: RefusalWindow): void {
    clearTimeout(w.timer);
    w.timer = undefined;
    if (w.suppressed > 0 && w.latest) {
      send(formatRefusalSummary(w.username, w.suppressed, w.latest), w.latest.ref);
      w.suppressed = 0;
      w.latest = undefined;
      // one summary a minute at most: the next refusals wait for the next one
      w.until = now() + windowMs;
    } else {
      windows.delete(userId);
    }
  }

  function sweep(): void {
    if (windows.size < 10_000) return;
    const t = now();
    for (const [id, w] of windows) if (w.until <= t && w.suppressed === 0) windows.delete(id);
  }

  function refusal(entry: AuditEntry): void {
    const id = entry.who.id;
    const t = now();
    const w = windows.get(id);
    if (w && t >= w.until && w.suppressed > 0) summarize(id, w);
    const current = windows.get(id);
    if (!current || t >= current.until) {
      sweep();
      windows.set(id, { until: t + windowMs, suppressed: 0, username: entry.who.username });
      postEntry(entry);
      return;
    }
    current.suppressed += 1;
    current.latest = entry;
    if (!current.timer) {
      current.timer = setTimeout(() => summarize(id, current), Math.max(0, current.until - t));
      current.timer.unref();
    }
  }

  const audit = ((entry: AuditEntry) => {
    log.info({ audit: entry }, 'audit');
    if (!opts.post) return;
    if (entry.outcome === 'refused') refusal(entry);
    else postEntry(entry);
  }) as AuditTrail;

  audit.flush = async () => {
    for (const [id, w] of [...windows]) {
      if (w.suppressed > 0) summarize(id, w);
      clearTimeout(w.timer);
    }
    windows.clear();
    await Promise.all([...inFlight]);
  };
  return audit;
}
