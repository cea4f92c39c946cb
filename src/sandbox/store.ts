/**
 * The live data of the fake Mattermost server and the server-side rules that read it:
 * effective roles and permission checks (docs/mattermost-notes.md §5 intro), profile sanitization
 * (docs/mattermost-notes.md §5.3), membership lookups. Route handlers and tests share one instance; tests may
 * mutate any field directly (e.g. `store.config.enableCommands = false`).
 */
import { BUILT_IN_ROLES, type RoleRecord } from './role-catalog.js';
import { idFor } from './ids.js';

export type { RoleRecord } from './role-catalog.js';

/** A user as stored (secrets included; they never leave through the API). */
export interface StoredUser {
  id: string;
  create_at: number;
  update_at: number;
  delete_at: number;
  username: string;
  password: string;
  auth_data: string;
  auth_service: string;
  email: string;
  email_verified: boolean;
  nickname: string;
  first_name: string;
  last_name: string;
  position: string;
  roles: string;
  allow_marketing: boolean;
  props: Record<string, string>;
  notify_props: Record<string, string>;
  last_password_update: number;
  last_picture_update: number;
  failed_attempts: number;
  locale: string;
  timezone: { useAutomaticTimezone: string; automaticTimezone: string; manualTimezone: string };
  mfa_active: boolean;
  mfa_secret: string;
  last_activity_at: number;
  is_bot: boolean;
  bot_description: string;
  bot_owner_id: string;
  disable_welcome_email: boolean;
  last_login: number;
}

export interface StoredTeam {
  id: string;
  create_at: number;
  update_at: number;
  delete_at: number;
  display_name: string;
  name: string;
  description: string;
  email: string;
  type: 'O' | 'I';
  company_name: string;
  allowed_domains: string;
  invite_id: string;
  allow_open_invite: boolean;
  scheme_id: string | null;
  group_constrained: boolean | null;
  policy_id: string | null;
  cloud_limits_archived: boolean;
}

export interface StoredTeamMember {
  team_id: string;
  user_id: string;
  /** explicit (non-scheme) roles, space-separated */
  explicit_roles: string;
  delete_at: number;
  scheme_guest: boolean;
  scheme_user: boolean;
  scheme_admin: boolean;
}

export interface StoredChannel {
  id: string;
  team_id: string;
  create_at: number;
  update_at: number;
  delete_at: number;
  type: 'O' | 'P' | 'D' | 'G';
  display_name: string;
  name: string;
  header: string;
  purpose: string;
  last_post_at: number;
  last_root_post_at: number;
  total_msg_count: number;
  total_msg_count_root: number;
  extra_update_at: number;
  creator_id: string;
  scheme_id: string | null;
  group_constrained: boolean | null;
  shared: boolean | null;
  policy_id: string | null;
}

export interface StoredChannelMember {
  channel_id: string;
  user_id: string;
  explicit_roles: string;
  last_viewed_at: number;
  last_update_at: number;
  msg_count: number;
  msg_count_root: number;
  mention_count: number;
  mention_count_root: number;
  urgent_mention_count: number;
  notify_props: Record<string, string>;
  scheme_guest: boolean;
  scheme_user: boolean;
  scheme_admin: boolean;
}

export interface StoredScheme {
  id: string;
  name: string;
  display_name: string;
  description: string;
  create_at: number;
  update_at: number;
  delete_at: number;
  scope: 'team' | 'channel';
  default_team_admin_role: string;
  default_team_user_role: string;
  default_team_guest_role: string;
  default_channel_admin_role: string;
  default_channel_user_role: string;
  default_channel_guest_role: string;
}

export interface StoredStatus {
  user_id: string;
  status: string;
  manual: boolean;
  last_activity_at: number;
  /** seconds */
  dnd_end_time: number;
  prev_status?: string;
}

export interface StoredPreference {
  user_id: string;
  category: string;
  name: string;
  value: string;
}

export interface StoredSession {
  id: string;
  token: string;
  create_at: number;
  expires_at: number;
  last_activity_at: number;
  user_id: string;
  device_id: string;
  roles: string;
  is_oauth: boolean;
  expired_notify: boolean;
  props: Record<string, string>;
  local: boolean;
}

export interface StoredAudit {
  id: string;
  create_at: number;
  user_id: string;
  action: string;
  extra_info: string;
  ip_address: string;
  session_id: string;
}

export interface StoredCommand {
  id: string;
  token: string;
  create_at: number;
  update_at: number;
  delete_at: number;
  creator_id: string;
  team_id: string;
  trigger: string;
  method: string;
  username: string;
  icon_url: string;
  auto_complete: boolean;
  auto_complete_desc: string;
  auto_complete_hint: string;
  display_name: string;
  description: string;
  url: string;
  plugin_id: string;
}

/** The wire Post (docs/mattermost-notes.md §5.10). */
export interface Post {
  id: string;
  create_at: number;
  update_at: number;
  edit_at: number;
  delete_at: number;
  is_pinned: boolean;
  user_id: string;
  channel_id: string;
  root_id: string;
  original_id: string;
  message: string;
  type: string;
  props: Record<string, unknown>;
  hashtags: string;
  file_ids?: string[];
  pending_post_id: string;
  reply_count: number;
  last_reply_at: number;
  participants: null;
  metadata: Record<string, unknown>;
}

export interface StoredFile {
  id: string;
  user_id: string;
  post_id: string;
  channel_id: string;
  create_at: number;
  update_at: number;
  delete_at: number;
  name: string;
  extension: string;
  size: number;
  mime_type: string;
  width: number;
  height: number;
  has_preview_image: boolean;
  /** the bytes served by GET /files/{id} */
  data: Uint8Array;
}

export interface ClusterNode {
  id: string;
  version: string;
  schema_version: string;
  config_hash: string;
  ipaddress: string;
  hostname: string;
}

/** A token that authenticates requests: a personal access token or a login session. */
export interface TokenRecord {
  token: string;
  user_id: string;
  /** the session row it belongs to (login sessions) or '' for access tokens */
  session_id: string;
  kind: 'access_token' | 'session';
}

/** Server settings the fake honours. */
export interface FakeConfig {
  siteName: string;
  /** SiteURL; set by startFakeMattermost to the listening URL unless seeded */
  siteUrl: string;
  buildNumber: string;
  configHash: string;
  licensed: boolean;
  enableCommands: boolean;
  enableEmailInvitations: boolean;
  enableUserStatuses: boolean;
  enableUserDeactivation: boolean;
  enablePostUsernameOverride: boolean;
  enablePostIconOverride: boolean;
  enableDeveloper: boolean;
  showEmailAddress: boolean;
  showFullName: boolean;
  /** SSO services switched on (`ldap`, `saml`, `gitlab`, `google`, `office365`, `openid`) */
  enabledAuthServices: string[];
  /** false → image upload answers 501 (no file driver) */
  fileDriver: boolean;
  /** FileSettings.MaxFileSize (bytes) */
  maxFileSize: number;
  databaseStatus: 'OK' | 'UNHEALTHY';
  filestoreStatus: 'OK' | 'UNHEALTHY';
  /** OutgoingIntegrationRequestsTimeout, seconds */
  outgoingIntegrationTimeoutSec: number;
  /**
   * true (every current server): slash `trigger_id`s are signed and the public key is in
   * the client config; false plays a server without an asymmetric signing key (empty
   * `trigger_id`, no `AsymmetricSigningPublicKey`).
   */
  signingKey: boolean;
  /**
   * How a post action's `update` on an ephemeral post is handled (docs/mattermost-notes.md §8.5):
   * `current` (app/integration_action.go applyPostActionUpdate → UpdateEphemeralPost) sends the
   * clicker a `post_edited` with the new post; `old` (UpdatePost on a row that does not exist)
   * fails the click with 404 app.post.get.app_error after the integration already ran.
   * `current` also returns goto_location and adds `selected_option` for any action type.
   */
  actionsCompat: 'current' | 'old';
  /** FileSettings.EnableFileAttachments: false → POST /files answers 403 */
  enableFileAttachments: boolean;
  /**
   * The licence behind GET /license/client (when `licensed`): seats and dates in ms.
   * utils/license.go GetClientLicense / GetSanitizedClientLicense.
   */
  license: { id: string; users: number; skuShortName: string; company: string; issuedAt: number; startsAt: number; expiresAt: number };
  /**
   * Activity before the sandbox started, for GET /analytics/old: posts and distinct posters
   * per day, `daysAgo` 1 = yesterday. Posts made in the sandbox are counted on top.
   */
  postHistory: Array<{ daysAgo: number; posts: number; people: number }>;
  /** GET /jobs rows (model.Job), newest first when served */
  jobs: Array<{ id: string; type: string; status: string; create_at: number; start_at: number; last_activity_at: number }>;
  /** PluginSettings.Enable: false → GET /plugins/statuses answers 501 */
  enablePlugins: boolean;
  /** GET /plugins/statuses rows (model.PluginStatus) */
  plugins: Array<{ plugin_id: string; cluster_id: string; plugin_path: string; state: number; error: string; name: string; description: string; version: string }>;
}

export interface SamlState {
  enabled: boolean;
  idp_certificate_file: boolean;
  private_key_file: boolean;
  public_certificate_file: boolean;
}

/** What a seed provides; every part is optional and defaults to empty. */
export interface SeedData {
  config?: Partial<FakeConfig>;
  users?: StoredUser[];
  teams?: StoredTeam[];
  teamMembers?: StoredTeamMember[];
  channels?: StoredChannel[];
  channelMembers?: StoredChannelMember[];
  /** extra roles; the built-in roles are always added (a seeded role with a built-in name replaces it) */
  roles?: RoleRecord[];
  schemes?: StoredScheme[];
  statuses?: StoredStatus[];
  preferences?: StoredPreference[];
  sessions?: StoredSession[];
  audits?: StoredAudit[];
  commands?: StoredCommand[];
  posts?: Post[];
  files?: StoredFile[];
  cluster?: ClusterNode[];
  saml?: SamlState;
  tokens?: TokenRecord[];
  images?: Array<{ user_id: string; data: Uint8Array; mime: string }>;
}

/** The default config of a fresh server (Mattermost defaults, commands on). */
export function defaultConfig(): FakeConfig {
  return {
    siteName: 'Mattermost',
    siteUrl: '',
    buildNumber: '12345',
    configHash: '1a2b3c4d5e6f',
    licensed: true,
    enableCommands: true,
    enableEmailInvitations: true,
    enableUserStatuses: true,
    enableUserDeactivation: false,
    enablePostUsernameOverride: false,
    enablePostIconOverride: false,
    enableDeveloper: false,
    showEmailAddress: true,
    showFullName: true,
    enabledAuthServices: [],
    fileDriver: true,
    maxFileSize: 5 * 1024 * 1024,
    databaseStatus: 'OK',
    filestoreStatus: 'OK',
    outgoingIntegrationTimeoutSec: 30,
    signingKey: true,
    actionsCompat: 'current',
    enableFileAttachments: true,
    license: {
      id: 'sandboxlicense00000000000a',
      users: 500,
      skuShortName: 'enterprise',
      company: 'Sandbox Inc.',
      issuedAt: Date.UTC(2026, 0, 1),
      startsAt: Date.UTC(2026, 0, 1),
      expiresAt: Date.UTC(2027, 11, 31),
    },
    postHistory: [],
    jobs: [],
    enablePlugins: true,
    plugins: [],
  };
}

/** The built-in role records (fresh copies). */
export function builtInRoles(): RoleRecord[] {
  return Object.entries(BUILT_IN_ROLES).map(([name, r]) => ({
    id: idFor(`role:${name}`),
    name,
    display_name: r.display,
    description: r.display.replace(/\.name$/, '.description'),
    create_at: 1_600_000_000_000,
    update_at: 1_600_000_000_000,
    delete_at: 0,
    permissions: [...r.permissions],
    scheme_managed: r.schemeManaged,
    built_in: true,
  }));
}

const splitRoles = (s: string): string[] => s.split(/\s+/).filter(Boolean);

/** The live data and the rules over it. */
export class FakeStore {
  config: FakeConfig;
  users = new Map<string, StoredUser>();
  teams = new Map<string, StoredTeam>();
  teamMembers: StoredTeamMember[] = [];
  channels = new Map<string, StoredChannel>();
  channelMembers: StoredChannelMember[] = [];
  /** by role name */
  roles = new Map<string, RoleRecord>();
  schemes = new Map<string, StoredScheme>();
  statuses = new Map<string, StoredStatus>();
  preferences: StoredPreference[] = [];
  sessions: StoredSession[] = [];
  audits: StoredAudit[] = [];
  commands = new Map<string, StoredCommand>();
  posts: Post[] = [];
  files = new Map<string, StoredFile>();
  cluster: ClusterNode[] = [];
  saml: SamlState = { enabled: false, idp_certificate_file: false, private_key_file: false, public_certificate_file: false };
  /** token string → record */
  tokens = new Map<string, TokenRecord>();
  /** email invitations accepted by POST /teams/{id}/invite/email */
  invitations: Array<{ team_id: string; email: string; invited_by: string; at: number }> = [];
  /** profile images set through POST /users/{id}/image */
  images = new Map<string, { data: Uint8Array; mime: string }>();

  constructor(seed: SeedData = {}) {
    this.config = { ...defaultConfig(), ...seed.config };
    for (const r of builtInRoles()) this.roles.set(r.name, r);
    for (const r of seed.roles ?? []) this.roles.set(r.name, structuredClone(r));
    for (const u of seed.users ?? []) this.users.set(u.id, structuredClone(u));
    for (const t of seed.teams ?? []) this.teams.set(t.id, structuredClone(t));
    this.teamMembers = structuredClone(seed.teamMembers ?? []);
    for (const c of seed.channels ?? []) this.channels.set(c.id, structuredClone(c));
    this.channelMembers = structuredClone(seed.channelMembers ?? []);
    for (const s of seed.schemes ?? []) this.schemes.set(s.id, structuredClone(s));
    for (const s of seed.statuses ?? []) this.statuses.set(s.user_id, structuredClone(s));
    this.preferences = structuredClone(seed.preferences ?? []);
    this.sessions = structuredClone(seed.sessions ?? []);
    this.audits = structuredClone(seed.audits ?? []);
    for (const c of seed.commands ?? []) this.commands.set(c.id, structuredClone(c));
    this.posts = structuredClone(seed.posts ?? []);
    for (const f of seed.files ?? []) this.files.set(f.id, { ...f, data: new Uint8Array(f.data) });
    this.cluster = structuredClone(seed.cluster ?? []);
    if (seed.saml) this.saml = { ...seed.saml };
    for (const t of seed.tokens ?? []) this.tokens.set(t.token, { ...t });
    for (const i of seed.images ?? []) this.images.set(i.user_id, { data: new Uint8Array(i.data), mime: i.mime });
  }

  // lookups ------------------------------------------------------------------

  userByUsername(username: string): StoredUser | undefined {
    const u = username.replace(/^@/, '').toLowerCase();
    for (const user of this.users.values()) if (user.username === u) return user;
    return undefined;
  }

  userByEmail(email: string): StoredUser | undefined {
    const e = email.toLowerCase();
    for (const user of this.users.values()) if (user.email.toLowerCase() === e) return user;
    return undefined;
  }

  /** A user by username, failing loudly (for test helpers). */
  requireUser(username: string): StoredUser {
    const u = this.userByUsername(username);
    if (!u) throw new Error(`fake store: no user "${username}"`);
    return u;
  }

  teamByName(name: string): StoredTeam | undefined {
    for (const t of this.teams.values()) if (t.name === name) return t;
    return undefined;
  }

  channelByName(teamId: string, name: string): StoredChannel | undefined {
    for (const c of this.channels.values()) if (c.team_id === teamId && c.name === name) return c;
    return undefined;
  }

  teamMember(teamId: string, userId: string): StoredTeamMember | undefined {
    return this.teamMembers.find((m) => m.team_id === teamId && m.user_id === userId && m.delete_at === 0);
  }

  channelMember(channelId: string, userId: string): StoredChannelMember | undefined {
    return this.channelMembers.find((m) => m.channel_id === channelId && m.user_id === userId);
  }

  isTeamMember(teamId: string, userId: string): boolean {
    return this.teamMember(teamId, userId) !== undefined;
  }

  isChannelMember(channelId: string, userId: string): boolean {
    return this.channelMember(channelId, userId) !== undefined;
  }

  /** DM channel between two users, if it exists. */
  directChannel(a: string, b: string): StoredChannel | undefined {
    const name = [a, b].sort().join('__');
    for (const c of this.channels.values()) if (c.type === 'D' && c.name === name) return c;
    return undefined;
  }

  statusOf(userId: string): StoredStatus {
    return this.statuses.get(userId) ?? { user_id: userId, status: 'offline', manual: false, last_activity_at: 0, dnd_end_time: 0 };
  }

  // roles and permissions ----------------------------------------------------

  /** Union of the permissions of the named roles (unknown or deleted roles grant nothing). */
  rolesGrant(roleNames: string[], permission: string): boolean {
    for (const name of roleNames) {
      const role = this.roles.get(name);
      if (role && role.delete_at === 0 && role.permissions.includes(permission)) return true;
    }
    return false;
  }

  systemRoles(user: StoredUser): string[] {
    return splitRoles(user.roles);
  }

  /** Effective team roles: explicit roles plus scheme flags mapped through the team's scheme. */
  teamRoles(member: StoredTeamMember): string[] {
    const team = this.teams.get(member.team_id);
    const scheme = team?.scheme_id ? this.schemes.get(team.scheme_id) : undefined;
    const roles = splitRoles(member.explicit_roles);
    if (member.scheme_guest) roles.push(scheme?.default_team_guest_role || 'team_guest');
    if (member.scheme_user) roles.push(scheme?.default_team_user_role || 'team_user');
    if (member.scheme_admin) roles.push(scheme?.default_team_admin_role || 'team_admin');
    return roles;
  }

  /** Effective channel roles: explicit + flags via the channel scheme, else the team scheme. */
  channelRoles(member: StoredChannelMember): string[] {
    const channel = this.channels.get(member.channel_id);
    let scheme = channel?.scheme_id ? this.schemes.get(channel.scheme_id) : undefined;
    if (!scheme && channel?.team_id) {
      const team = this.teams.get(channel.team_id);
      scheme = team?.scheme_id ? this.schemes.get(team.scheme_id) : undefined;
    }
    const roles = splitRoles(member.explicit_roles);
    if (member.scheme_guest) roles.push(scheme?.default_channel_guest_role || 'channel_guest');
    if (member.scheme_user) roles.push(scheme?.default_channel_user_role || 'channel_user');
    if (member.scheme_admin) roles.push(scheme?.default_channel_admin_role || 'channel_admin');
    return roles;
  }

  /**
   * SessionHasPermissionTo: the stored permissions of the user's system roles, nothing
   * derived (`server/channels/app/authorization.go` `RolesGrantPermission`). Ancillary
   * permissions count only where a role definition stores them (see role-catalog.ts).
   */
  hasPermission(user: StoredUser, permission: string): boolean {
    return this.rolesGrant(this.systemRoles(user), permission);
  }

  isAdmin(user: StoredUser): boolean {
    return this.hasPermission(user, 'manage_system');
  }

  /** SessionHasPermissionToTeam. */
  hasTeamPermission(user: StoredUser, teamId: string, permission: string): boolean {
    if (this.isAdmin(user)) return true;
    const member = this.teamMember(teamId, user.id);
    if (member && this.rolesGrant(this.teamRoles(member), permission)) return true;
    return this.hasPermission(user, permission);
  }

  /** SessionHasPermissionToChannel. */
  hasChannelPermission(user: StoredUser, channelId: string, permission: string): boolean {
    const member = this.channelMember(channelId, user.id);
    if (member && this.rolesGrant(this.channelRoles(member), permission)) return true;
    if (this.isAdmin(user)) return true;
    const channel = this.channels.get(channelId);
    if (channel?.team_id) return this.hasTeamPermission(user, channel.team_id, permission);
    return this.hasPermission(user, permission);
  }

  /** SessionHasPermissionToUser: self, or edit_other_users (+ manage_system for admin targets). */
  hasPermissionToUser(caller: StoredUser, targetId: string): boolean {
    if (caller.id === targetId) return true;
    if (!this.hasPermission(caller, 'edit_other_users')) return false;
    const target = this.users.get(targetId);
    if (target && this.isAdmin(target)) return this.isAdmin(caller);
    return true;
  }

  // wire shapes --------------------------------------------------------------

  /** The User as the API returns it: self (secrets stripped) or another user (docs/mattermost-notes.md §5.3). */
  userView(user: StoredUser, viewer: StoredUser | undefined): Record<string, unknown> {
    const self = viewer?.id === user.id;
    const asAdmin = viewer ? this.isAdmin(viewer) : false;
    const out: Record<string, unknown> = {
      id: user.id,
      create_at: user.create_at,
      update_at: user.update_at,
      delete_at: user.delete_at,
      username: user.username,
      auth_service: user.auth_service,
      email: user.email,
      nickname: user.nickname,
      first_name: user.first_name,
      last_name: user.last_name,
      position: user.position,
      roles: user.roles,
      locale: user.locale,
      timezone: { ...user.timezone },
      disable_welcome_email: user.disable_welcome_email,
    };
    if (user.props && Object.keys(user.props).length) out.props = { ...user.props };
    if (user.last_picture_update) out.last_picture_update = user.last_picture_update;
    if (user.mfa_active) out.mfa_active = true;
    if (user.is_bot) out.is_bot = true;
    if (user.bot_description) out.bot_description = user.bot_description;
    if (user.last_activity_at) out.last_activity_at = user.last_activity_at;
    if (self) {
      if (user.email_verified) out.email_verified = true;
      if (user.allow_marketing) out.allow_marketing = true;
      out.notify_props = { ...user.notify_props };
      if (user.last_password_update) out.last_password_update = user.last_password_update;
      if (user.failed_attempts) out.failed_attempts = user.failed_attempts;
      return out;
    }
    if (!this.config.showEmailAddress && !asAdmin) out.email = '';
    if (!this.config.showFullName && !asAdmin) {
      out.first_name = '';
      out.last_name = '';
    }
    if (!asAdmin) out.auth_service = '';
    return out;
  }

  teamView(team: StoredTeam, viewer: StoredUser | undefined): Record<string, unknown> {
    const canManage = viewer ? this.hasTeamPermission(viewer, team.id, 'manage_team') : false;
    const out: Record<string, unknown> = { ...team };
    if (!canManage) {
      out.email = '';
      out.invite_id = '';
    }
    return out;
  }

  teamMemberView(m: StoredTeamMember): Record<string, unknown> {
    return {
      team_id: m.team_id,
      user_id: m.user_id,
      roles: this.teamRoles(m).join(' '),
      delete_at: m.delete_at,
      scheme_guest: m.scheme_guest,
      scheme_user: m.scheme_user,
      scheme_admin: m.scheme_admin,
      explicit_roles: m.explicit_roles,
    };
  }

  channelMemberView(m: StoredChannelMember): Record<string, unknown> {
    const { explicit_roles, ...rest } = m;
    return { ...rest, notify_props: { ...m.notify_props }, roles: this.channelRoles(m).join(' '), explicit_roles };
  }

  sessionView(s: StoredSession): Record<string, unknown> {
    return { ...structuredClone(s), token: '', team_members: [] };
  }

  statusView(s: StoredStatus): Record<string, unknown> {
    return { user_id: s.user_id, status: s.status, manual: s.manual, last_activity_at: s.last_activity_at, dnd_end_time: s.dnd_end_time };
  }

  commandView(c: StoredCommand): Record<string, unknown> {
    return { ...c };
  }

  fileInfoView(f: StoredFile): Record<string, unknown> {
    const { data: _data, ...rest } = f;
    return rest;
  }

  schemeView(s: StoredScheme): Record<string, unknown> {
    return { ...s };
  }
}

/** A new TeamMember row with scheme flags for a plain member. */
export function teamMemberRow(teamId: string, userId: string, kind: 'user' | 'admin' | 'guest' = 'user'): StoredTeamMember {
  return {
    team_id: teamId,
    user_id: userId,
    explicit_roles: '',
    delete_at: 0,
    scheme_guest: kind === 'guest',
    scheme_user: kind !== 'guest',
    scheme_admin: kind === 'admin',
  };
}

/** Default channel-member notify props (docs/mattermost-notes.md §5.6). */
export const DEFAULT_CHANNEL_NOTIFY_PROPS: Readonly<Record<string, string>> = {
  desktop: 'default',
  push: 'default',
  email: 'default',
  mark_unread: 'all',
  ignore_channel_mentions: 'default',
  channel_auto_follow_threads: 'off',
};

/**
 * A new Channel row, as the server's store writes one (`model/channel.go` Channel, PreSave):
 * the caller gives who and what it is, the rest starts empty at `at`.
 */
export function channelRow(
  fields: Pick<StoredChannel, 'id' | 'team_id' | 'type' | 'display_name' | 'name' | 'creator_id'> & Partial<StoredChannel>,
  at: number,
): StoredChannel {
  return {
    create_at: at,
    update_at: at,
    delete_at: 0,
    header: '',
    purpose: '',
    last_post_at: at,
    last_root_post_at: at,
    total_msg_count: 0,
    total_msg_count_root: 0,
    extra_update_at: 0,
    scheme_id: null,
    group_constrained: null,
    shared: null,
    policy_id: null,
    ...fields,
  };
}

/** A new ChannelMember row. */
export function channelMemberRow(channelId: string, userId: string, kind: 'user' | 'admin' | 'guest' = 'user', at = 0): StoredChannelMember {
  return {
    channel_id: channelId,
    user_id: userId,
    explicit_roles: '',
    last_viewed_at: at,
    last_update_at: at,
    msg_count: 0,
    msg_count_root: 0,
    mention_count: 0,
    mention_count_root: 0,
    urgent_mention_count: 0,
    notify_props: { ...DEFAULT_CHANNEL_NOTIFY_PROPS },
    scheme_guest: kind === 'guest',
    scheme_user: kind !== 'guest',
    scheme_admin: kind === 'admin',
  };
}
