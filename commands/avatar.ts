/**
 * `avatar [@user]`, sent to the bot in a DM with an image attached: sets the profile
 * picture (yours, or someone else's with `edit_other_users`). The attachment is read
 * with the files API (`GET /files/{id}/info`, `GET /files/{id}`) and checked (one
 * image, your own upload, a real PNG/JPEG/GIF/BMP/WebP by its bytes, not too big)
 * before `POST /users/{id}/image`.
 *
 * No slash trigger of its own: a slash command cannot carry an attachment, so
 * `/mmops avatar` only explains how to do it.
 */
import { z } from 'zod';
import { defineCommand, defineSubcommand, type Access } from '../src/core/command.js';
import { UserError } from '../src/core/errors.js';
import { paragraph, reply, say } from '../src/core/reply.js';
import { EDIT_OTHERS, refuseBotSelf, serverSays } from './lib/admin-users.js';
import { rawWord, word } from './lib/args.js';
import { actingOn } from './lib/lookup.js';
import { userLabel } from './lib/people.js';

/** Largest image accepted (bytes). Profile pictures are shown small; this keeps uploads quick. */
export const MAX_AVATAR_BYTES = 5 * 1024 * 1024;
/** Largest image accepted in pixels (Mattermost's own image limit, 7680 × 4320). */
export const MAX_AVATAR_PIXELS = 7680 * 4320;

const FORMATS = 'PNG, JPEG, GIF, BMP or WebP';

/** The image type from the file's first bytes, or undefined when it is no image we accept. */
export function sniffImageType(b: Uint8Array): string | undefined {
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 && b[4] === 0x0d && b[5] === 0x0a) return 'image/png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 6 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38) return 'image/gif';
  if (b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d) return 'image/bmp';
  if (b.length >= 12 && b[0] === 0x52 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x46 && b[8] === 0x57 && b[9] === 0x45 && b[10] === 0x42 && b[11] === 0x50) return 'image/webp';
  return undefined;
}

const EXT: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/gif': 'gif', 'image/bmp': 'bmp', 'image/webp': 'webp' };
const IMAGE_MIME = new Set(Object.keys(EXT));

const megabytes = (n: number): string => `${(n / (1024 * 1024)).toFixed(1)} MB`;

const ACCESS: Access = { self: null, other: EDIT_OTHERS, adminTargetNeedsManageSystem: true };

const set = defineSubcommand({
  name: '',
  summary: 'Set a profile picture from the image attached to your DM',
  usage: 'avatar [@user]',
  examples: ['avatar', 'avatar @bob'],
  positional: ['target'],
  args: z.object({ target: word.optional() }),
  // POST /users/{id}/image: SessionHasPermissionToUserOrBot (docs/mattermost-notes.md §5.4)
  access: ACCESS,
  target: (raw) => rawWord(raw, 'target', 0),
  botNeeds: [EDIT_OTHERS],
  // changes someone's picture: decided on current roles, never the cache
  fresh: true,
  async execute(ctx) {
    const files = ctx.invocation.fileIds ?? [];
    if (ctx.invocation.source === 'slash' || files.length === 0) {
      return say(`Send me a direct message that says avatar (or avatar @user) with the picture attached: ${FORMATS}, up to ${megabytes(MAX_AVATAR_BYTES)}.`);
    }
    if (files.length > 1) throw new UserError('invalid_input', `Attach exactly one image (this message has ${files.length} files).`);
    const fileId = files[0] ?? '';
    const user = await actingOn(ctx, ctx.args.target, ACCESS);
    refuseBotSelf(ctx, user, 'change the picture of');

    const info = await serverSays('read the attached file', () => ctx.api.getFileInfo(fileId));
    // only a file the caller uploaded with this very message
    if (info.user_id !== ctx.caller.id || (ctx.invocation.postId && info.post_id && info.post_id !== ctx.invocation.postId)) {
      throw new UserError('forbidden', 'That attachment is not one you sent with this message.');
    }
    const declared = info.mime_type.toLowerCase();
    if (!IMAGE_MIME.has(declared)) {
      throw new UserError('invalid_input', `${info.name || 'The file'} is not an image I can use (${declared || 'unknown type'}). Attach a ${FORMATS} picture.`);
    }
    if (info.size > MAX_AVATAR_BYTES) {
      throw new UserError('invalid_input', `The image is ${megabytes(info.size)}; the limit is ${megabytes(MAX_AVATAR_BYTES)}. Attach a smaller picture.`);
    }
    if (info.width * info.height > MAX_AVATAR_PIXELS) {
      throw new UserError('invalid_input', `The image is ${info.width} × ${info.height} pixels; the limit is 7680 × 4320. Attach a smaller picture.`);
    }
    const data = await serverSays('download the attached file', () => ctx.api.getFile(fileId));
    if (data.byteLength > MAX_AVATAR_BYTES) {
      throw new UserError('invalid_input', `The image is ${megabytes(data.byteLength)}; the limit is ${megabytes(MAX_AVATAR_BYTES)}.`);
    }
    const mimeType = sniffImageType(data);
    if (!mimeType) throw new UserError('invalid_input', `${info.name || 'The file'} does not contain a ${FORMATS} image, whatever its name says.`);
    const filename = `avatar.${EXT[mimeType] ?? 'png'}`;
    await serverSays(`set the profile picture of ${user.id === ctx.caller.id ? 'you' : userLabel(user)}`, () => ctx.api.setProfileImage(user.id, { data, filename, mimeType }), {
      413: `Attach a picture under ${megabytes(MAX_AVATAR_BYTES)}.`,
      400: 'It may not be a valid image.',
      501: 'Image storage is not configured on the server.',
    });
    return reply([paragraph(user.id === ctx.caller.id ? 'Your profile picture is updated.' : `The profile picture of ${userLabel(user)} is updated.`)], { tone: 'ok' });
  },
});

export default defineCommand({
  name: 'avatar',
  summary: 'Set a profile picture by DMing the bot an image',
  hint: '[@user] (DM the bot with an image attached)',
  ownTrigger: false,
  subcommands: [set],
});
