/**
 * The bot's view of the Mattermost REST API v4: one method per endpoint it uses,
 * every result parsed with zod (see models.ts). Implemented by `createRestApi`
 * (rest-api.ts, on @mattermost/client's Client4). Commands and the permission
 * service depend on this interface only, so tests can hand them any implementation.
 *
 * Every method throws ApiError / NetworkError / ProtocolError (errors.ts).
 * `opts.signal` aborts the request (the invocation deadline).
 */
import type {
  AnalyticsRow,
  Audit,
  Channel,
  ChannelMember,
  ClientConfig,
  ClusterInfo,
  Command,
  CommandInput,
  EmailInviteWithError,
  FileInfo,
  Job,
  Ping,
  PluginStatus,
  Post,
  PostList,
  Preference,
  Role,
  SamlCertificateStatus,
  Scheme,
  Session,
  Status,
  Team,
  TeamMember,
  TeamMemberWithError,
  User,
  UserAutocomplete,
  UserReport,
} from './models.js';

export interface CallOptions {
  signal?: AbortSignal;
}

export interface UserSearchOptions {
  term: string;
  team_id?: string;
  in_channel_id?: string;
  allow_inactive?: boolean;
  limit?: number;
}

export interface Page {
  page: number;
  perPage: number;
}

export interface MattermostApi {
  // users ---------------------------------------------------------------
  /** GET /users/me */
  getMe(o?: CallOptions): Promise<User>;
  /** GET /users/{id} */
  getUser(userId: string, o?: CallOptions): Promise<User>;
  /** POST /users/ids (unknown ids are silently dropped by the server) */
  getUsersByIds(ids: string[], o?: CallOptions): Promise<User[]>;
  /** POST /users/usernames (unknown names are silently dropped by the server) */
  getUsersByUsernames(usernames: string[], o?: CallOptions): Promise<User[]>;
  /** GET /users/email/{email} */
  getUserByEmail(email: string, o?: CallOptions): Promise<User>;
  /** POST /users/search */
  searchUsers(search: UserSearchOptions, o?: CallOptions): Promise<User[]>;
  /**
   * GET /users?role=&active=true&page=&per_page= (a filtered listing, e.g. the active
   * system admins; users the bot cannot see are left out by the server)
   */
  listUsers(
    q: { role?: string; active?: boolean; inactive?: boolean; inTeam?: string; page: number; perPage: number },
    o?: CallOptions,
  ): Promise<User[]>;
  /**
   * GET /users/stats/filtered?roles=&include_bots=&include_deleted= (api4/user.go
   * getFilteredUsersStats: `sysconsole_read_user_management_users`)
   */
  getFilteredUserStats(q: { roles?: string[]; includeBots?: boolean; includeDeleted?: boolean }, o?: CallOptions): Promise<{ total_users_count: number }>;
  /** GET /users/stats: active users the caller may see (api4/user.go getTotalUsersStats) */
  getUserStats(o?: CallOptions): Promise<{ total_users_count: number }>;
  /**
   * GET /reports/users (9.x; system admins only, api4/report.go getUsersForReporting): one
   * keyset page (≤ 100) sorted by username, with last login, last status and post counts
   */
  getUsersReport(
    q: { pageSize: number; fromColumnValue?: string; fromId?: string; teamFilter?: string; hideInactive?: boolean; hideActive?: boolean },
    o?: CallOptions,
  ): Promise<UserReport[]>;
  /** GET /users/autocomplete?name=&in_team=&in_channel=&limit= */
  autocompleteUsers(
    q: { name: string; teamId?: string; channelId?: string; limit?: number },
    o?: CallOptions,
  ): Promise<UserAutocomplete>;
  /** PUT /users/{id}/active */
  updateUserActive(userId: string, active: boolean, o?: CallOptions): Promise<void>;
  /** PUT /users/{id}/roles (roles space-separated) */
  updateUserRoles(userId: string, roles: string, o?: CallOptions): Promise<void>;
  /** GET /users/{id}/sessions (tokens stripped) */
  getSessions(userId: string, o?: CallOptions): Promise<Session[]>;
  /** POST /users/{id}/sessions/revoke/all */
  revokeAllSessions(userId: string, o?: CallOptions): Promise<void>;
  /** GET /users/{id}/audits?page&per_page */
  getAudits(userId: string, page: Page, o?: CallOptions): Promise<Audit[]>;
  /** PUT /users/{id}/mfa */
  updateMfa(userId: string, activate: boolean, code?: string, o?: CallOptions): Promise<void>;
  /** PUT /users/{id}/auth */
  updateAuth(
    userId: string,
    auth: { auth_service: string; auth_data: string },
    o?: CallOptions,
  ): Promise<void>;
  /** PUT /users/{id}/password (as an admin: no current password) */
  updatePassword(userId: string, newPassword: string, o?: CallOptions): Promise<void>;
  /** POST /users/{id}/image (multipart, field `image`) */
  setProfileImage(
    userId: string,
    image: { data: Uint8Array; filename: string; mimeType: string },
    o?: CallOptions,
  ): Promise<void>;
  /** GET /users/{id}/teams */
  getTeamsForUser(userId: string, o?: CallOptions): Promise<Team[]>;
  /**
   * GET /users/{id}/channels?include_deleted= — every channel of the user in every team,
   * DMs and group messages included (needs `edit_other_users` for someone else). For a
   * user in no channel at all the server's streamed answer is not JSON (ProtocolError).
   */
  getChannelsForUser(userId: string, q: { includeDeleted?: boolean }, o?: CallOptions): Promise<Channel[]>;
  /**
   * GET /users/{id}/teams/{team_id}/channels — the user's channels of that team plus every
   * DM and group message (api4/channel.go getChannelsForTeamForUser → sqlstore GetChannels:
   * `TeamId = ? OR TeamId = ''`, 5.37 and 9.10); the catch-up's listing on servers before 6.1.
   * A user with no channel there gets 404 `app.channel.get_channels.not_found.app_error`.
   */
  getChannelsForTeamForUser(userId: string, teamId: string, q?: { includeDeleted?: boolean }, o?: CallOptions): Promise<Channel[]>;
  /** GET /users/{id}/teams/members: the user's membership in each of its teams, one call */
  getTeamMembersForUser(userId: string, o?: CallOptions): Promise<TeamMember[]>;

  // statuses ------------------------------------------------------------
  /** GET /users/{id}/status */
  getStatus(userId: string, o?: CallOptions): Promise<Status>;
  /** POST /users/status/ids (unknown ids come back as offline rows) */
  getStatusesByIds(userIds: string[], o?: CallOptions): Promise<Status[]>;
  /** PUT /users/{id}/status; dndEndTime in seconds */
  updateStatus(
    userId: string,
    status: 'online' | 'away' | 'dnd' | 'offline',
    dndEndTime?: number,
    o?: CallOptions,
  ): Promise<Status>;

  // teams ---------------------------------------------------------------
  /** GET /teams/{id} */
  getTeam(teamId: string, o?: CallOptions): Promise<Team>;
  /** GET /teams/name/{name} */
  getTeamByName(name: string, o?: CallOptions): Promise<Team>;
  /** GET /teams/{id}/members?page&per_page */
  getTeamMembers(teamId: string, page: Page, o?: CallOptions): Promise<TeamMember[]>;
  /** POST /teams/{id}/members/ids */
  getTeamMembersByIds(teamId: string, userIds: string[], o?: CallOptions): Promise<TeamMember[]>;
  /** GET /teams/{id}/members/{user_id} */
  getTeamMember(teamId: string, userId: string, o?: CallOptions): Promise<TeamMember>;
  /** POST /teams/{id}/members/batch?graceful=true */
  addTeamMembers(teamId: string, userIds: string[], o?: CallOptions): Promise<TeamMemberWithError[]>;
  /** POST /teams/{id}/invite/email?graceful=true */
  inviteToTeamByEmail(teamId: string, emails: string[], o?: CallOptions): Promise<EmailInviteWithError[]>;
  /**
   * PUT /teams/{id}/members/{user_id}/schemeRoles: sets the member's scheme flags, in a team
   * with or without a permission scheme (5.37 `api4/team.go` updateTeamMemberSchemeRoles;
   * 9.10 `server/channels/api4/team.go`). `PUT …/roles` with `team_user team_admin` is
   * refused (400 `api.channel.update_team_member_roles.scheme_role.app_error`) in a team with
   * a scheme, whose member roles have the scheme's own names (5.37 `app/team.go`
   * UpdateTeamMemberRoles). Explicit (non-scheme) roles are kept.
   */
  updateTeamMemberSchemeRoles(teamId: string, userId: string, roles: { scheme_admin: boolean; scheme_user: boolean }, o?: CallOptions): Promise<void>;
  /** DELETE /teams/{id}/members/{user_id} (the server has no batch form) */
  removeTeamMember(teamId: string, userId: string, o?: CallOptions): Promise<void>;

  // channels ------------------------------------------------------------
  /** GET /channels/{id} */
  getChannel(channelId: string, o?: CallOptions): Promise<Channel>;
  /** GET /teams/{team_id}/channels/name/{name} */
  getChannelByName(teamId: string, name: string, o?: CallOptions): Promise<Channel>;
  /** GET /channels/{id}/members?page&per_page */
  getChannelMembers(channelId: string, page: Page, o?: CallOptions): Promise<ChannelMember[]>;
  /** POST /channels/{id}/members/ids */
  getChannelMembersByIds(channelId: string, userIds: string[], o?: CallOptions): Promise<ChannelMember[]>;
  /** GET /channels/{id}/members/{user_id} */
  getChannelMember(channelId: string, userId: string, o?: CallOptions): Promise<ChannelMember>;
  /** POST /channels/{id}/members with one `user_id` (a list is not accepted by 9.10, api4/channel.go addChannelMember) */
  addChannelMember(channelId: string, userId: string, o?: CallOptions): Promise<ChannelMember>;
  /** DELETE /channels/{id}/members/{user_id} */
  removeChannelMember(channelId: string, userId: string, o?: CallOptions): Promise<void>;
  /** POST /channels/direct */
  createDirectChannel(userIdA: string, userIdB: string, o?: CallOptions): Promise<Channel>;
  /** GET /channels/{id}/posts?since=ms: posts updated after `since` (the server stops at 1,000 rows) */
  getPostsSince(channelId: string, since: number, o?: CallOptions): Promise<PostList>;
  /** GET /channels/{id}/posts?per_page=&before=: one page, newest first (per_page ≤ 200) */
  getPostsPage(channelId: string, q: { perPage: number; before?: string }, o?: CallOptions): Promise<PostList>;

  // roles and schemes ---------------------------------------------------
  /** POST /roles/names (unknown names are silently dropped) */
  getRolesByNames(names: string[], o?: CallOptions): Promise<Role[]>;
  /** GET /schemes/{id} */
  getScheme(schemeId: string, o?: CallOptions): Promise<Scheme>;

  // preferences ---------------------------------------------------------
  /** GET /users/{id}/preferences[/{category}] */
  getPreferences(userId: string, category?: string, o?: CallOptions): Promise<Preference[]>;
  /** PUT /users/{id}/preferences */
  savePreferences(userId: string, prefs: Preference[], o?: CallOptions): Promise<void>;
  /** POST /users/{id}/preferences/delete */
  deletePreferences(userId: string, prefs: Preference[], o?: CallOptions): Promise<void>;

  // system --------------------------------------------------------------
  /** GET /system/ping?get_server_status=true&use_rest_semantics=true */
  ping(o?: CallOptions): Promise<Ping>;
  /** GET /cluster/status */
  getClusterStatus(o?: CallOptions): Promise<ClusterInfo[]>;
  /**
   * GET /config/client?format=old (the server's client configuration: string values
   * such as `SiteURL`, `AsymmetricSigningPublicKey`)
   */
  getClientConfig(o?: CallOptions): Promise<ClientConfig>;
  /** GET /saml/certificate/status */
  getSamlCertificateStatus(o?: CallOptions): Promise<SamlCertificateStatus>;

  // slash commands ------------------------------------------------------
  /** GET /commands?team_id=&custom_only=true */
  listCustomCommands(teamId: string, o?: CallOptions): Promise<Command[]>;
  /** POST /commands */
  createCommand(cmd: CommandInput, o?: CallOptions): Promise<Command>;
  /** PUT /commands/{id} (body is the whole command, id included) */
  updateCommand(cmd: Command, o?: CallOptions): Promise<Command>;

  // posts and files -----------------------------------------------------
  /** POST /posts */
  createPost(
    post: {
      channel_id: string;
      message: string;
      root_id?: string;
      props?: Record<string, unknown>;
      /**
       * files uploaded by the bot and not yet in a post; the server attaches only those
       * (FileInfoStore.AttachToPost) and silently leaves the rest out
       */
      file_ids?: string[];
      /** makes the call idempotent for 30 s (the server returns the first post; docs/mattermost-notes.md, app/post.go deduplicateCreatePost) */
      pending_post_id?: string;
    },
    o?: CallOptions,
  ): Promise<Post>;
  /** POST /posts/ephemeral */
  createEphemeralPost(
    userId: string,
    post: { channel_id: string; message: string; root_id?: string; props?: Record<string, unknown> },
    o?: CallOptions,
  ): Promise<Post>;
  /**
   * POST /actions/dialogs/open: shows a dialog to the user a `trigger_id` was issued for
   * (docs/mattermost-notes.md §8.7; no session needed, the trigger is the credential).
   */
  openDialog(req: { trigger_id: string; url: string; dialog: Record<string, unknown> }, o?: CallOptions): Promise<void>;
  /** GET /files/{id}/info */
  getFileInfo(fileId: string, o?: CallOptions): Promise<FileInfo>;
  /** GET /files/{id} (bytes) */
  getFile(fileId: string, o?: CallOptions): Promise<Uint8Array>;
  /**
   * POST /files?channel_id=&filename= with the file as the raw body (api4/file.go
   * uploadFileSimple; needs `upload_file` in that channel). A stream body is sent chunked.
   */
  uploadFile(
    channelId: string,
    file: { name: string; mimeType: string; body: () => Uint8Array | AsyncIterable<Uint8Array> },
    o?: CallOptions,
  ): Promise<FileInfo>;

  // analytics and licence -------------------------------------------------
  /**
   * GET /analytics/old?name=&team_id= (`get_analytics`, api4/system.go getAnalytics):
   * `standard` counts, `post_counts_day` / `user_counts_with_posts_day` rows named by date
   */
  getAnalytics(name: 'standard' | 'post_counts_day' | 'user_counts_with_posts_day', teamId?: string, o?: CallOptions): Promise<AnalyticsRow[]>;
  /**
   * GET /license/client?format=old (api4/license.go getClientLicense): every caller gets
   * the sanitized map (no id, customer, dates); `read_license_information` gets it whole
   */
  getClientLicense(o?: CallOptions): Promise<Record<string, string>>;
  /**
   * GET /jobs?page=&per_page= newest first: the jobs of every type the caller may read
   * (api4/job.go getJobs: per type, e.g. read_ldap_sync_job; 403 when none)
   */
  getJobs(page: Page, o?: CallOptions): Promise<Job[]>;
  /** GET /plugins/statuses (api4/plugin.go getPluginStatuses: sysconsole_read_plugins; 501 when plugins are off) */
  getPluginStatuses(o?: CallOptions): Promise<PluginStatus[]>;

  /** Counters of this client's traffic, for /health and /metrics. */
  stats(): ApiStats;
}

export interface ApiStats {
  requests: number;
  /** per `METHOD /route/with/{id}/placeholders` and status */
  byEndpoint: Record<string, { count: number; byStatus: Record<string, number>; totalMs: number }>;
  rateLimitWaits: number;
  retries: number;
  lastRoundTripMs: number;
}
