/**
 * Start-up step: buttons, approvals and dialogs (src/services/confirmations.ts,
 * src/services/dialogs.ts). The signing secret is MMOPS_ACTIONS_SECRET, else one generated
 * at the first start and kept in the state store, so every replica (and the next start)
 * verifies what another signed.
 */
import { FORMS } from '../../commands/lib/forms.js';
import type { Invocation } from '../core/command.js';
import type { AuditTrail } from '../core/audit.js';
import type { PermissionService } from '../core/permission-service.js';
import type { LoadedPolicy } from '../core/permissions/policy.js';
import type { User } from '../mattermost/models.js';
import type { Reply } from '../core/reply.js';
import { renderAttachments } from '../render/attachments.js';
import { renderPosts } from '../render/markdown.js';
import { createActionTokens, newActionsSecret } from '../services/action-token.js';
import { createConfirmations, type Confirmations } from '../services/confirmations.js';
import { createDialogs, type Dialogs } from '../services/dialogs.js';
import type { StateStore } from '../state/state-store.js';
import { runInvocation, type BotRuntime, type BotUrls } from './runtime.js';
import { StartupError } from './startup-error.js';

/** Where the server sends clicks and dialog submissions (relative to MMOPS_PUBLIC_URL). */
export const ACTIONS_PATH = '/actions';
export const DIALOGS_PATH = '/dialogs';

const SECRET_KEY = 'actions-secret';

/** The shared signing secret: configured, else read from (or created once in) the state store. */
export async function actionsSecret(store: StateStore, configured: string | null, sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))): Promise<string> {
  if (configured) return configured;
  for (let attempt = 0; attempt < 20; attempt++) {
    const kept = await store.get(SECRET_KEY);
    if (kept) return kept;
    // one replica creates it; the others read what it wrote
    if (await store.claim(`${SECRET_KEY}:creating`, 5_000)) {
      const fresh = newActionsSecret();
      // only if none is kept yet: a replica paused past the lock while it made one must not
      // replace the secret another replica already signs with (set-if-absent, one round trip)
      if (await store.swap(SECRET_KEY, '', fresh, { orAbsent: true })) return fresh;
      continue; // read the one that was kept
    }
    await sleep(250);
  }
  throw new Error('the actions secret was being created by another replica but never appeared');
}

/** A reply as one post: its text (the first part, cut if longer) and its buttons. */
function renderPost(reply: Reply, actionsUrl: string): { message: string; props?: Record<string, unknown> } {
  const [first = '', ...rest] = renderPosts(reply);
  const message = rest.length ? `${first}\n\n_(cut: the whole answer is longer than one message)_` : first;
  const attachments = renderAttachments(reply.buttons, actionsUrl);
  return { message, ...(attachments.length ? { props: { attachments } } : {}) };
}

/** The buttons-and-approvals service and the dialogs service. */
export interface Interactions {
  confirmations: Confirmations;
  dialogs: Dialogs;
}

/** Builds the confirmations and dialogs services (before the dispatcher, which asks them). */
export async function buildInteractions(
  rt: BotRuntime,
  parts: { me: User; policy: LoadedPolicy; permissions: PermissionService; audit: AuditTrail; urls: BotUrls },
): Promise<Interactions> {
  const { config, log } = rt;
  let secret: string;
  try {
    secret = await actionsSecret(rt.replication.state, config.actionsSecret);
  } catch (err) {
    throw new StartupError('config', `MMOPS_ACTIONS_SECRET is not set and none could be kept in the state store (${err instanceof Error ? err.message : String(err)}); set it`, 2);
  }
  const tokens = createActionTokens({ secret });
  const { me, policy, audit, urls } = parts;
  const dispatch = (inv: Invocation) => runInvocation(rt, inv);
  const confirmations = createConfirmations({
    tokens,
    store: rt.replication.state,
    dispatch,
    renderPost: (r) => renderPost(r, urls.actions),
    api: rt.api,
    permissions: parts.permissions,
    audit,
    logger: log,
    botUserId: me.id,
    canEphemeral: () => rt.canEphemeral,
    repliesStored: (inv) => inv.source === 'dm' || (inv.source === 'mention' && !rt.canEphemeral),
    ...(policy.approvals ? { approvals: policy.approvals } : {}),
    confirmTtlMs: config.confirmTtlMs,
    approvalTtlMs: config.approvalTtlMs,
    now: rt.now,
  });
  const dialogs = createDialogs({
    tokens,
    store: rt.replication.state,
    forms: FORMS,
    api: rt.api,
    dispatch,
    render: (r) => renderPosts(r),
    dialogsUrl: urls.dialogs,
    canEphemeral: () => rt.canEphemeral,
    botUserId: me.id,
    logger: log,
    audit,
    now: rt.now,
  });
  if (policy.approvals) log.info({ channel: policy.approvals.channel, commands: [...policy.approvals.commands] }, 'two-person rule: these subcommands need approval');
  return { confirmations, dialogs };
}
