/**
 * What the dispatcher needs to hand a reply's files to the caller (src/render/file-answer.ts
 * implements it). A small port, like core/interactions.ts: the dispatcher knows nothing
 * about uploads or DM channels.
 */
import type { Block, ReplyFile } from './reply.js';

/** Where the files went. */
export interface DeliveredFiles {
  /** the caller's DM with the bot */
  channelId: string;
  /** the post that carries the files */
  postId: string;
  names: string[];
}

export interface FileDelivery {
  /**
   * Uploads `files` into the caller's DM with the bot and posts them there; throws what the
   * API throws. `replyTo`: the post that asked (DM, mention), marked on the file post as every
   * answer is (`mmops_reply_to`, src/services/catch-up.ts).
   */
  deliver(req: { userId: string; files: ReplyFile[]; ref: string; label: string; replyTo?: string }): Promise<DeliveredFiles>;
  /** the line the answer carries about them (`inThatDm`: the answer is in that same DM) */
  pointer(where: DeliveredFiles, inThatDm: boolean): Block;
}
