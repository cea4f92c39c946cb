/**
 * The audit trail of privileged actions: one structured log line each, and
 * optionally a one-line summary posted to an audit channel (MMOPS_AUDIT_CHANNEL).
 * Posting is fire-and-forget: a failure is logged and never reaches the caller,
 * because an unreachable audit channel must not break the command being audited.
 *
 * @example
 *   const audit = createAuditTrail(log, { post: (line) => postToAuditChannel(line) });
 *   audit({ who: { id, username: 'ann' }, command: 'user deactivate', target: '@bob',
 *           scope: 'system', outcome: 'succeeded', ref: 'K3X9QF' });
 */
import type { AuditEntry, Logger } from './command.js';
import { serializeError } from './logger.js';
import { escapeText } from './reply.js';

export interface AuditTrailOptions {
  /** posts one Markdown line (already escaped) to the audit channel */
  post?: (line: string) => Promise<void>;
}

const OUTCOME_MARK: Record<AuditEntry['outcome'], string> = {
  allowed: 'allowed',
  refused: 'refused',
  succeeded: 'done',
  failed: 'failed',
};

/** The one-line Markdown summary of an entry; every field is escaped. */
export function formatAuditLine(e: AuditEntry): string {
  const target = e.target ? ` → ${escapeText(e.target)}` : '';
  const detail = e.detail ? ` (${escapeText(e.detail.slice(0, 200))})` : '';
  return (
    `audit: ${escapeText(`@${e.who.username}`)} ran \`${e.command.replace(/`/g, "'")}\`${target}` +
    ` in ${escapeText(e.scope)}: **${OUTCOME_MARK[e.outcome]}**${detail} · ref ${escapeText(e.ref)}`
  );
}

/** Creates the audit function the dispatcher and commands call. */
export function createAuditTrail(logger: Logger, opts: AuditTrailOptions = {}): (entry: AuditEntry) => void {
  const log = logger.child({ component: 'audit' });
  return (entry) => {
    log.info({ audit: entry }, 'audit');
    const post = opts.post;
    if (!post) return;
    let line: string;
    try {
      line = formatAuditLine(entry);
    } catch (err) {
      log.warn({ err: serializeError(err), ref: entry.ref }, 'audit line could not be formatted');
      return;
    }
    // via then(): a post function that throws synchronously is caught the same way
    Promise.resolve(line).then(post).catch((err: unknown) => {
      log.warn({ err: serializeError(err), ref: entry.ref }, 'audit line could not be posted');
    });
  };
}
