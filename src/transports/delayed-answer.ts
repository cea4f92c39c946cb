/**
 * Delivery of a slow slash command's answer. Through `response_url` only when it is a
 * command hook URL of this Mattermost server (the leash in src/mattermost/response-url.ts),
 * with the separate response_url client; otherwise, or when that POST fails, as ephemeral
 * posts to the caller where the command was typed (`POST /posts/ephemeral`).
 *
 * @example
 *   const delayed = createDelayedAnswers({ hooks, client: createResponseUrlClient(), api, logger });
 *   createSlashEndpoint({ ..., respondLater: (url, body, to) => delayed.deliver(url, body, to) });
 */
import type { Logger } from '../core/command.js';
import type { MattermostApi } from '../mattermost/api.js';
import { originForLog, type HookUrlCheck, type ResponseUrlClient } from '../mattermost/response-url.js';
import type { CommandResponse, DelayedAnswerTarget } from './slash-endpoint.js';

export interface DelayedAnswers {
  deliver(responseUrl: string, body: CommandResponse, to: DelayedAnswerTarget): Promise<void>;
}

/** Creates the delivery (see the module comment). */
export function createDelayedAnswers(opts: {
  hooks: HookUrlCheck;
  client: ResponseUrlClient;
  api: Pick<MattermostApi, 'createEphemeralPost'>;
  logger: Logger;
}): DelayedAnswers {
  const log = opts.logger.child({ component: 'delayed-answer' });

  async function asEphemeral(body: CommandResponse, to: DelayedAnswerTarget): Promise<void> {
    for (const part of [body, ...(body.extra_responses ?? [])]) {
      if (!part.text) continue;
      await opts.api.createEphemeralPost(to.userId, { channel_id: to.channelId, message: part.text, ...(to.rootId ? { root_id: to.rootId } : {}) });
    }
  }

  return {
    async deliver(responseUrl, body, to) {
      if (responseUrl && (await opts.hooks.allows(responseUrl))) {
        try {
          await opts.client.post(responseUrl, { ...body });
          return;
        } catch (err) {
          log.warn({ err }, 'response_url POST failed; answering by ephemeral post');
        }
      } else {
        log.warn(
          { responseUrlOrigin: responseUrl ? originForLog(responseUrl) : '(none)' },
          'response_url ignored: not a command hook URL of this Mattermost server; answering by ephemeral post',
        );
      }
      await asEphemeral(body, to);
    },
  };
}
