/**
 * zod schemas for the Mattermost wire models the bot relies on (see
 * docs/mattermost-notes.md). Every API response and WebSocket payload is
 * parsed through one of these before the rest of the bot sees it.
 *
 * The server omits `omitempty` fields, so optional fields get defaults here and the
 * rest of the code can trust them. Unknown fields are stripped.
 */
import { z } from 'zod';

const str = z.string().default('');
const num = z.number().default(0);
const bool = z.boolean().default(false);
const strMap = z.record(z.string(), z.string());

/** A 26-character Mattermost id (lowercase base32). */
export const idSchema = z.string().regex(/^[a-z0-9]{26}$/, 'not a Mattermost id');
export const isMattermostId = (s: string): boolean => /^[a-z0-9]{26}$/.test(s);

export const userSchema = z.object({
  id: z.string(),
  create_at: num,
  update_at: num,
  delete_at: num,
  username: z.string(),
  auth_service: str,
  email: str,
  nickname: str,
  first_name: str,
  last_name: str,
  position: str,
  roles: str,
  locale: str,
  timezone: z
    .object({
      useAutomaticTimezone: z.union([z.string(), z.boolean()]).optional(),
      automaticTimezone: z.string().optional(),
      manualTimezone: z.string().optional(),
    })
    .partial()
    .optional()
    .catch(undefined),
  mfa_active: bool,
  is_bot: bool,
  bot_description: str,
  last_picture_update: num,
  last_activity_at: num,
  props: strMap.optional().catch(undefined),
});
export type User = z.infer<typeof userSchema>;

export const statusValueSchema = z.enum(['online', 'away', 'dnd', 'offline', 'ooo']);
export type StatusValue = z.infer<typeof statusValueSchema>;

export const statusSchema = z.object({
  user_id: z.string(),
  status: z.string(),
  manual: bool,
  last_activity_at: num,
  /** seconds, not milliseconds (the one exception in the API) */
  dnd_end_time: num,
});
export type Status = z.infer<typeof statusSchema>;

export const sessionSchema = z.object({
  id: z.string(),
  create_at: num,
  expires_at: num,
  last_activity_at: num,
  user_id: z.string(),
  device_id: str,
  roles: str,
  is_oauth: bool,
  props: strMap.optional().catch(undefined),
  // `token` is deliberately not part of the schema: it is stripped on parse so that
  // it can never reach a reply or a log line.
});
export type Session = z.infer<typeof sessionSchema>;

export const auditSchema = z.object({
  id: z.string(),
  create_at: num,
  user_id: str,
  action: str,
  extra_info: str,
  ip_address: str,
  session_id: str,
});
export type Audit = z.infer<typeof auditSchema>;

export const teamSchema = z.object({
  id: z.string(),
  create_at: num,
  update_at: num,
  delete_at: num,
  display_name: str,
  name: z.string(),
  description: str,
  type: str,
  allow_open_invite: bool,
  scheme_id: z.string().nullable().optional(),
  /** membership managed by synced groups (LDAP/SAML group sync): the server refuses most changes by hand */
  group_constrained: z.boolean().nullable().optional(),
});
export type Team = z.infer<typeof teamSchema>;

export const teamMemberSchema = z.object({
  team_id: z.string(),
  user_id: z.string(),
  roles: str,
  delete_at: num,
  scheme_guest: bool,
  scheme_user: bool,
  scheme_admin: bool,
  explicit_roles: str,
});
export type TeamMember = z.infer<typeof teamMemberSchema>;

export const channelSchema = z.object({
  id: z.string(),
  team_id: str,
  create_at: num,
  update_at: num,
  delete_at: num,
  type: z.string(),
  display_name: str,
  name: z.string(),
  header: str,
  purpose: str,
  creator_id: str,
  scheme_id: z.string().nullable().optional(),
  /** membership managed by synced groups (LDAP/SAML group sync) */
  group_constrained: z.boolean().nullable().optional(),
  /** when the newest post was made (ms); what catch-up uses to skip quiet channels */
  last_post_at: z.number().optional(),
});
export type Channel = z.infer<typeof channelSchema>;

export const channelMemberSchema = z.object({
  channel_id: z.string(),
  user_id: z.string(),
  roles: str,
  last_viewed_at: num,
  msg_count: num,
  mention_count: num,
  scheme_guest: bool,
  scheme_user: bool,
  scheme_admin: bool,
  explicit_roles: str,
});
export type ChannelMember = z.infer<typeof channelMemberSchema>;

export const roleSchema = z.object({
  id: z.string(),
  name: z.string(),
  display_name: str,
  description: str,
  permissions: z.array(z.string()).default([]),
  scheme_managed: bool,
  built_in: bool,
  delete_at: num,
});
export type Role = z.infer<typeof roleSchema>;

/** `GET /schemes/{id}`: maps the scheme flags of members to concrete role names. */
export const schemeSchema = z.object({
  id: z.string(),
  name: str,
  display_name: str,
  scope: str,
  default_team_admin_role: str,
  default_team_user_role: str,
  default_team_guest_role: str,
  default_channel_admin_role: str,
  default_channel_user_role: str,
  default_channel_guest_role: str,
});
export type Scheme = z.infer<typeof schemeSchema>;

export const preferenceSchema = z.object({
  user_id: z.string(),
  category: z.string(),
  name: z.string(),
  value: z.string(),
});
export type Preference = z.infer<typeof preferenceSchema>;

export const commandSchema = z.object({
  id: z.string(),
  token: str,
  create_at: num,
  update_at: num,
  delete_at: num,
  creator_id: str,
  team_id: z.string(),
  trigger: z.string(),
  method: str,
  username: str,
  icon_url: str,
  auto_complete: bool,
  auto_complete_desc: str,
  auto_complete_hint: str,
  display_name: str,
  description: str,
  url: str,
  plugin_id: str,
});
export type Command = z.infer<typeof commandSchema>;

/** What the bot sends when creating or updating a custom slash command. */
export interface CommandInput {
  team_id: string;
  trigger: string;
  method: 'P';
  url: string;
  auto_complete: boolean;
  auto_complete_desc: string;
  auto_complete_hint: string;
  display_name: string;
  description: string;
  username?: string;
}

export const postSchema = z.object({
  id: z.string(),
  create_at: num,
  update_at: num,
  edit_at: num,
  delete_at: num,
  user_id: z.string(),
  channel_id: z.string(),
  root_id: str,
  message: str,
  type: str,
  props: z.record(z.string(), z.unknown()).nullable().default({}).transform((p) => p ?? {}),
  file_ids: z.array(z.string()).nullable().default([]).transform((f) => f ?? []),
});
export type Post = z.infer<typeof postSchema>;

/** GET /channels/{id}/posts: `order` lists the matching posts newest first; `posts` also holds their thread roots. */
export const postListSchema = z.object({
  order: z.array(z.string()).nullable().default([]).transform((o) => o ?? []),
  posts: z.record(z.string(), postSchema).nullable().default({}).transform((p) => p ?? {}),
  next_post_id: str,
  prev_post_id: str,
});
export type PostList = z.infer<typeof postListSchema>;

export const fileInfoSchema = z.object({
  id: z.string(),
  user_id: str,
  post_id: str,
  channel_id: str,
  name: str,
  extension: str,
  size: num,
  mime_type: str,
  width: num,
  height: num,
});
export type FileInfo = z.infer<typeof fileInfoSchema>;

/** POST /files: `{ file_infos: [...], client_ids: [...] }` (model.FileUploadResponse) */
export const fileUploadResponseSchema = z.object({ file_infos: z.array(fileInfoSchema).min(1) });

/** One row of GET /analytics/old (model.AnalyticsRow): a count, or a day `YYYY-MM-DD` and its count */
export const analyticsRowSchema = z.object({ name: z.string(), value: z.number() });
export type AnalyticsRow = z.infer<typeof analyticsRowSchema>;

/** GET /license/client?format=old: a flat map of strings (utils/license.go GetClientLicense) */
export const clientLicenseSchema = z.record(z.string(), z.string());

/** One row of GET /reports/users (model.UserReport: the user plus model.UserPostStats) */
export const userReportSchema = userSchema.extend({
  last_login: num,
  last_status_at: z.number().optional(),
  last_post_date: z.number().optional(),
  days_active: z.number().optional(),
  total_posts: z.number().optional(),
});
export type UserReport = z.infer<typeof userReportSchema>;

/** One row of GET /jobs (model.Job; `data` left out: it can hold anything) */
export const jobSchema = z.object({
  id: z.string(),
  type: z.string(),
  status: z.string(),
  create_at: num,
  start_at: num,
  last_activity_at: num,
});
export type Job = z.infer<typeof jobSchema>;

/** One row of GET /plugins/statuses (model.PluginStatus; state 0 not running, 2 running, 3/4 failed) */
export const pluginStatusSchema = z.object({
  plugin_id: z.string(),
  cluster_id: str,
  state: z.number(),
  error: str,
  name: str,
  version: str,
});
export type PluginStatus = z.infer<typeof pluginStatusSchema>;

/** GET /users/stats (model.UsersStats) */
export const usersStatsSchema = z.object({ total_users_count: z.number() });

/**
 * GET /config/client?format=old: a flat map of strings (server/config/client.go
 * GenerateClientConfig). Only the keys the bot reads are named; the rest pass through.
 */
export const clientConfigSchema = z
  .object({
    /** no trailing slash (server/config/utils.go fixConfig); '' when not configured */
    SiteURL: z.string().optional(),
    /** base64 DER SPKI of the key that signs trigger ids (docs/mattermost-notes.md §4.5); absent without one */
    AsymmetricSigningPublicKey: z.string().optional(),
  })
  .catchall(z.unknown());
export type ClientConfig = z.infer<typeof clientConfigSchema>;

export const pingSchema = z.object({
  status: z.string(),
  database_status: z.string().optional(),
  filestore_status: z.string().optional(),
  ActiveSearchBackend: z.string().optional(),
  root_status: z.boolean().optional(),
});
export type Ping = z.infer<typeof pingSchema>;

export const clusterInfoSchema = z.object({
  id: str,
  version: str,
  schema_version: str,
  config_hash: str,
  ipaddress: str,
  hostname: str,
});
export type ClusterInfo = z.infer<typeof clusterInfoSchema>;

export const samlCertificateStatusSchema = z.object({
  idp_certificate_file: bool,
  private_key_file: bool,
  public_certificate_file: bool,
});
export type SamlCertificateStatus = z.infer<typeof samlCertificateStatusSchema>;

export const statusOkSchema = z.object({ status: z.string() });

/** One row of `POST /teams/{id}/members/batch?graceful=true`. */
export const teamMemberWithErrorSchema = z.object({
  user_id: z.string(),
  member: teamMemberSchema.nullable().optional(),
  error: z
    .object({ id: str, message: str })
    .nullable()
    .optional(),
});
export type TeamMemberWithError = z.infer<typeof teamMemberWithErrorSchema>;

/** One row of `POST /teams/{id}/invite/email?graceful=true`. */
export const emailInviteWithErrorSchema = z.object({
  email: z.string(),
  error: z
    .object({ id: str, message: str })
    .nullable()
    .optional(),
});
export type EmailInviteWithError = z.infer<typeof emailInviteWithErrorSchema>;

export const userAutocompleteSchema = z.object({
  users: z.array(userSchema).default([]),
  out_of_channel: z.array(userSchema).optional(),
});
export type UserAutocomplete = z.infer<typeof userAutocompleteSchema>;

/** The AppError body of every API error except 429 (which is plain text). */
export const appErrorSchema = z.object({
  id: str,
  message: str,
  detailed_error: str,
  request_id: str,
  status_code: num,
});

// ---------------------------------------------------------------------------
// WebSocket frames

export const wsBroadcastSchema = z.object({
  omit_users: z.record(z.string(), z.boolean()).nullable().optional(),
  user_id: str,
  channel_id: str,
  team_id: str,
  connection_id: str.optional(),
  omit_connection_id: str.optional(),
});

/** A server → client event. `data` values that are JSON strings are parsed by consumers. */
export const wsEventSchema = z.object({
  event: z.string(),
  data: z.record(z.string(), z.unknown()).nullable().default({}).transform((d) => d ?? {}),
  broadcast: wsBroadcastSchema.default({ user_id: '', channel_id: '', team_id: '' }),
  seq: z.number().int().nonnegative(),
});
export type WsEvent = z.infer<typeof wsEventSchema>;

/** A server → client reply to an action the client sent. */
export const wsReplySchema = z.object({
  status: z.string(),
  seq_reply: z.number().int(),
  data: z.record(z.string(), z.unknown()).optional(),
  error: z.object({ id: str, message: str }).partial().optional(),
});
export type WsReply = z.infer<typeof wsReplySchema>;

/** `posted` event data (the `post` field is JSON inside a string). */
export const postedDataSchema = z.object({
  post: z.string(),
  channel_type: str,
  channel_display_name: str,
  channel_name: str,
  sender_name: str,
  team_id: str,
  mentions: z.string().optional(),
});

/** Parses a value that is JSON inside a string, then validates it; undefined when bad. */
export function parseJsonString<T>(schema: z.ZodType<T>, value: unknown): T | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(value));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
