/**
 * The responder for answers that leave outside a request's own response: a form's answer
 * (src/services/dialogs.ts) and an approval's outcome for the requester
 * (src/services/confirmations.ts). One rule for both, the same as the DM/mention transport's:
 *
 * - where the bot may create ephemeral posts (`create_post_ephemeral`), the answer is an
 *   ephemeral post for that person, where they are (or in their DM with the bot); with
 *   `preferDm` (an answer that may come much later) only a sensitive one is;
 * - else a non-sensitive answer is posted in their DM with the bot;
 * - a sensitive answer (a password, sessions) is never a stored post: without an ephemeral
 *   post only a stored notice without the content is left, naming the reference id.
 *
 * @example
 *   const answers = createPrivateAnswers({ api, botUserId, canEphemeral, render, logger });
 *   await answers.send({ userId, channelId, rootId }, reply, ref);
 */
import type { Logger } from '../core/command.js';
import type { Reply } from '../core/reply.js';
import type { MattermostApi } from '../mattermost/api.js';
import { isApiError } from '../mattermost/errors.js';

export interface PrivateAnswerDeps {
  api: Pick<MattermostApi, 'createEphemeralPost' | 'createPost' | 'createDirectChannel'>;
  botUserId: string;
  canEphemeral(): boolean;
  render(reply: Reply): string[];
  logger: Logger;
}

export interface PrivateAnswers {
  /** Delivers `reply` to `to.userId` alone (see the module comment); never throws. */
  send(to: { userId: string; channelId?: string; rootId?: string }, reply: Reply, ref: string, opts?: { preferDm?: boolean }): Promise<'ephemeral' | 'dm' | 'notice' | 'failed'>;
}

/** The stored notice left where a sensitive answer could not be shown privately. */
export const privateNotice = (ref: string): string =>
  `I could not show that answer to you privately, so I did not send it (ref ${ref}). Run it again as a slash command; its answer is only shown to you.`;

/** Creates the responder (see the module comment). */
export function createPrivateAnswers(deps: PrivateAnswerDeps): PrivateAnswers {
  const log = deps.logger.child({ component: 'private-answer' });
  return {
    async send(to, reply, ref, opts = {}) {
      const posts = deps.render(reply);
      try {
        const dm = async (): Promise<string> => (await deps.api.createDirectChannel(deps.botUserId, to.userId)).id;
        // an ephemeral post reaches only clients online now: an answer that may come hours
        // later (an approval) is a stored DM unless it holds a secret
        if (deps.canEphemeral() && (reply.sensitive || !opts.preferDm)) {
          try {
            const channelId = to.channelId ?? (await dm());
            for (const message of posts) await deps.api.createEphemeralPost(to.userId, { channel_id: channelId, message, ...(to.rootId ? { root_id: to.rootId } : {}) });
            return 'ephemeral';
          } catch (err) {
            if (!isApiError(err)) throw err;
            log.warn({ err, ref }, 'ephemeral answer failed');
          }
        }
        const channelId = await dm();
        if (reply.sensitive) {
          log.error({ ref }, 'sensitive answer could not be shown privately; not sent');
          await deps.api.createPost({ channel_id: channelId, message: privateNotice(ref) });
          return 'notice';
        }
        for (const message of posts) await deps.api.createPost({ channel_id: channelId, message });
        return 'dm';
      } catch (err) {
        log.error({ err, ref }, 'answer could not be delivered');
        return 'failed';
      }
    },
  };
}
