/**
 * The file responder: a reply's files go to the caller alone, in their DM with the bot,
 * as one post carrying every file (`POST /files` for each, then `POST /posts` with
 * `file_ids`). That is how the server delivers its own user export
 * (server/channels/app/report.go SendReportToUser: a DM from the system bot with the file).
 * Wherever the command was typed, the answer there then points to that DM
 * ({@link filePointer}); a slash command's answer is ephemeral, so the pointer is too.
 *
 * The upload needs `upload_file` in the DM (the bot is a member of its own DMs) and the
 * attachments setting on (api4/file.go uploadFileStream); the post attaches only files the
 * bot uploaded and that are in no post yet (store FileInfoStore.AttachToPost), so a file
 * the post did not take is reported, never silently lost.
 *
 * @example
 *   const files = createFileResponder({ api, botUserId: me.id, logger });
 *   const where = await files.deliver({ userId, files: reply.files, ref, label: 'users export' });
 */
import type { Logger } from '../core/command.js';
import type { DeliveredFiles, FileDelivery } from '../core/files.js';
import { md, paragraph, type Block } from '../core/reply.js';
import type { MattermostApi } from '../mattermost/api.js';
import { ProtocolError } from '../mattermost/errors.js';

/** The reply-to prop every stored answer carries (src/services/catch-up.ts REPLY_TO_PROP). */
const REPLY_TO_PROP = 'mmops_reply_to';

export interface FileResponderDeps {
  api: Pick<MattermostApi, 'createDirectChannel' | 'uploadFile' | 'createPost'>;
  botUserId: string;
  logger: Logger;
}

/** Creates the responder (see the module comment). */
export function createFileResponder(deps: FileResponderDeps): FileDelivery {
  const log = deps.logger.child({ component: 'file-answer' });
  return {
    async deliver({ userId, files, ref, label, replyTo }) {
      const dm = await deps.api.createDirectChannel(deps.botUserId, userId);
      const ids: string[] = [];
      for (const f of files) {
        const info = await deps.api.uploadFile(dm.id, { name: f.name, mimeType: f.mimeType, body: f.body });
        log.info({ ref, file: info.name, size: info.size }, 'file uploaded');
        ids.push(info.id);
      }
      const names = files.map((f) => f.name);
      const message = md`Your ${label} (ref ${ref}): ${names.join(', ')}`.value;
      const post = await deps.api.createPost({ channel_id: dm.id, message, file_ids: ids, props: { mmops_reply_ref: ref, ...(replyTo ? { [REPLY_TO_PROP]: replyTo } : {}) } });
      const attached = post.file_ids ?? [];
      if (attached.length !== ids.length) {
        log.error({ ref, uploaded: ids.length, attached: attached.length }, 'the server attached fewer files than were uploaded');
        throw new ProtocolError('POST /api/v4/posts', `the post took ${attached.length} of ${ids.length} files`);
      }
      return { channelId: dm.id, postId: post.id, names } satisfies DeliveredFiles;
    },
    pointer: filePointer,
  };
}

/** The line that says where the files went, for the answer where the command was typed. */
export function filePointer(where: DeliveredFiles, inThatDm: boolean): Block {
  const names = where.names.join(', ');
  return paragraph(inThatDm ? md`:paperclip: Attached above: ${names}` : md`:paperclip: Sent to you in your direct messages with me: ${names}`);
}
