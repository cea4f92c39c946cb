/**
 * Interactive message buttons and menus as the server keeps them (docs/mattermost-notes.md §8):
 * action ids filled in (`server/public/model/integration_action.go` GenerateActionIds),
 * `integration` stripped from every post a client receives (StripActionIntegrations, via
 * Post.ToJSON / EncodeJSON), and the AES-GCM cookie on each action of an ephemeral post
 * (AddPostActionCookies, encryptPostActionCookie, DecryptPostActionCookie).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { newId } from './ids.js';
import type { Post } from './store.js';

/** Props an action's `update` keeps from the original post (model.PostActionRetainPropKeys). */
export const RETAIN_PROP_KEYS: readonly string[] = ['from_webhook', 'override_username', 'override_icon_url'];

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Calls `fn` for every action object in `props.attachments[].actions[]` (in order). */
export function forEachAction(props: Record<string, unknown>, fn: (action: Record<string, unknown>) => void): void {
  const attachments = props.attachments;
  if (!Array.isArray(attachments)) return;
  for (const a of attachments) {
    if (!isRecord(a) || !Array.isArray(a.actions)) continue;
    for (const action of a.actions) if (isRecord(action)) fn(action);
  }
}

/** Gives every action without an id a fresh 26-char id, in place (GenerateActionIds). */
export function generateActionIds(props: Record<string, unknown>): void {
  forEachAction(props, (action) => {
    if (typeof action.id !== 'string' || action.id === '') action.id = newId();
  });
}

/** The integration of an action, as the server decodes it (PostActionIntegration). */
export const integrationSchema = z.object({
  url: z.string().optional(),
  context: z.record(z.string(), z.unknown()).nullish(),
});
export type ActionIntegration = z.infer<typeof integrationSchema>;

/** A stored action, as much as the click handler reads (model.PostAction). */
export interface StoredAction {
  id: string;
  type: string;
  dataSource: string;
  /** undefined when the action has none (or it does not decode) */
  integration: ActionIntegration | undefined;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** The first action with this id (Post.GetAction). */
export function findAction(props: Record<string, unknown>, id: string): StoredAction | undefined {
  let found: StoredAction | undefined;
  forEachAction(props, (action) => {
    if (found || action.id !== id) return;
    const integration = integrationSchema.safeParse(action.integration);
    found = { id, type: str(action.type), dataSource: str(action.data_source), integration: action.integration != null && integration.success ? integration.data : undefined };
  });
  return found;
}

/** A deep copy of `post` as a client receives it: no `integration` on any action (StripActionIntegrations). */
export function clientPost(post: Post): Post {
  let actions = false;
  forEachAction(post.props, () => {
    actions = true;
  });
  // most posts have no actions: no copy needed (the flood benchmark posts thousands)
  if (!actions) return post;
  const props = structuredClone(post.props);
  forEachAction(props, (action) => {
    delete action.integration;
  });
  return { ...post, props };
}

/** model.PostActionCookie: what an ephemeral post's action carries, encrypted. */
export const cookieSchema = z.object({
  type: z.string().optional(),
  post_id: z.string().optional(),
  root_post_id: z.string().optional(),
  channel_id: z.string().optional(),
  data_source: z.string().optional(),
  integration: integrationSchema.nullish(),
  retain_props: z.record(z.string(), z.unknown()).nullish(),
  remove_props: z.array(z.string()).nullish(),
});
export type PostActionCookie = z.infer<typeof cookieSchema>;

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The server's PostActionCookieSecret (32 random bytes, app/config.go
 * ensurePostActionCookieSecret): AES-256-GCM, a random 12-byte nonce, and
 * `base64(nonce ‖ ciphertext ‖ tag)` (standard alphabet, padded).
 */
export class CookieSecret {
  constructor(private readonly key: Buffer = randomBytes(32)) {}

  seal(plain: string): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    const sealed = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return Buffer.concat([nonce, sealed]).toString('base64');
  }

  /** The plaintext, or undefined when the cookie is not one this server sealed. */
  open(encoded: string): string | undefined {
    if (!B64.test(encoded)) return undefined;
    const raw = Buffer.from(encoded, 'base64');
    if (raw.length < 12 + 16) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(raw.length - 16));
      return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}

/** Go's `omitempty` on the cookie: empty strings, nil/empty maps and slices are left out. */
function cookieJson(c: PostActionCookie): string {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v) && v.length === 0) continue;
    if (isRecord(v) && Object.keys(v).length === 0) continue;
    out[k] = v;
  }
  return JSON.stringify(out);
}

/**
 * A copy of an ephemeral post whose actions each carry an encrypted cookie with their
 * type, post/root/channel ids, data source, integration and the retained props
 * (AddPostActionCookies). `integration` itself is still there; strip it with {@link clientPost}.
 */
export function addActionCookies(post: Post, secret: CookieSecret): Post {
  const props = structuredClone(post.props);
  const retain: Record<string, unknown> = {};
  const remove: string[] = [];
  for (const key of RETAIN_PROP_KEYS) {
    if (key in props) retain[key] = props[key];
    else remove.push(key);
  }
  forEachAction(props, (action) => {
    const integration = integrationSchema.safeParse(action.integration);
    const cookie: PostActionCookie = {
      type: str(action.type),
      post_id: post.id,
      root_post_id: post.root_id || post.id,
      channel_id: post.channel_id,
      data_source: str(action.data_source),
      integration: action.integration != null && integration.success ? integration.data : undefined,
      retain_props: retain,
      remove_props: remove,
    };
    action.cookie = secret.seal(cookieJson(cookie));
  });
  return { ...post, props };
}

/** Decrypts and decodes a cookie; undefined when it does not open or decode (the server answers 400). */
export function openCookie(secret: CookieSecret, encoded: string): PostActionCookie | undefined {
  const plain = secret.open(encoded);
  if (plain === undefined) return undefined;
  try {
    const parsed = cookieSchema.safeParse(JSON.parse(plain));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Slack `<url|text>` links → Markdown, as model.ParseSlackLinksToMarkdown. */
export function slackLinksToMarkdown(text: string): string {
  return text.replace(/<([^\n<|>]+)\|([^\n>]+)>/g, '[$2]($1)');
}
