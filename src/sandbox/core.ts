/**
 * Server-side behaviour shared by the REST routes, the slash-command runner and the
 * test controls: creating posts (with the `posted` event and per-recipient mentions),
 * ephemeral posts, DM channels, and the `user_updated` triple (docs/mattermost-notes.md §3.8).
 */
import { createHash } from 'node:crypto';
import { newId } from './ids.js';
import { AppError, appError, invalidBodyParam } from './http.js';
import type { Hub } from './hub.js';
import { createTriggerSigner, type TriggerSigner } from './signing.js';
import { addActionCookies, clientPost, CookieSecret, generateActionIds } from './post-actions.js';
import type { IntegrationCall } from './routes-actions.js';
import type { OpenedDialog } from './routes-dialogs.js';
import type { SignedTrigger } from './signing.js';
import type { ServerProfile } from './versions.js';
import { channelMemberRow, channelRow, type FakeStore, type Post, type StoredChannel, type StoredUser } from './store.js';

/** A response_url registration (docs/mattermost-notes.md §4.4). */
export interface CommandHook {
  id: string;
  commandId: string;
  userId: string;
  channelId: string;
  teamId: string;
  rootId: string;
  createAt: number;
  useCount: number;
}

export interface CreatePostInput {
  message: string;
  rootId?: string;
  fileIds?: string[];
  props?: Record<string, unknown>;
  type?: string;
  /** honoured only for admins, like the server */
  createAt?: number;
}

export interface CreatePostOpts {
  fromWebhook?: boolean;
  overrideUsername?: string;
  overrideIconUrl?: string;
  setOnline?: boolean;
}

const MENTION_RE = /(?:^|[^\w@.-])@([a-z0-9][a-z0-9._-]*)/gi;

export class SandboxCore {
  readonly ephemeral: Array<{ userId: string; post: Post }> = [];
  readonly hooks = new Map<string, CommandHook>();
  /** this server's asymmetric signing key (one per instance), see signing.ts */
  readonly signer: TriggerSigner;
  /** PostActionCookieSecret: encrypts the action cookies of ephemeral posts (post-actions.ts) */
  readonly cookieSecret = new CookieSecret();
  /** every request sent to an integration for a click or a dialog submission (routes-actions.ts) */
  readonly integrationCalls: IntegrationCall[] = [];
  /** dialogs delivered by POST /actions/dialogs/open, oldest first (routes-dialogs.ts) */
  readonly dialogs: OpenedDialog[] = [];
  /** where each trigger id was issued (client trigger id → channel/team), newest 1,000 */
  readonly triggerContexts = new Map<string, { channelId: string; teamId: string }>();

  constructor(
    readonly store: FakeStore,
    readonly hub: Hub,
    /** the server version this sandbox behaves as (versions.ts) */
    readonly profile: ServerProfile,
    signingKeyPem?: string,
  ) {
    this.signer = createTriggerSigner(signingKeyPem);
  }

  /** `a.b.c` of the version played */
  get version(): string {
    return this.profile.version;
  }

  /** A trigger id signed for `userId` (model.GenerateTriggerId), remembering where it was issued. */
  issueTrigger(userId: string, channelId: string, teamId: string): SignedTrigger {
    const t = this.signer.sign(userId);
    this.triggerContexts.set(t.clientTriggerId, { channelId, teamId });
    if (this.triggerContexts.size > 1000) {
      const oldest = this.triggerContexts.keys().next();
      if (!oldest.done) this.triggerContexts.delete(oldest.value);
    }
    return t;
  }

  /** `<version>.<build>.<config hash>.<licensed>` (X-Version-Id and hello). */
  versionId(): string {
    const c = this.store.config;
    return `${this.version}.${c.buildNumber}.${c.configHash}.${c.licensed}`;
  }

  /** Channel by id, `team:channel-name`, or `@username` (the DM with `asUser`, created if needed). */
  resolveChannel(spec: string, asUser: StoredUser): StoredChannel {
    if (spec.startsWith('@')) {
      const other = this.store.userByUsername(spec.slice(1));
      if (!other) throw new Error(`fake server: no user ${spec}`);
      return this.directChannel(asUser, other.id, asUser.id).channel;
    }
    const byId = this.store.channels.get(spec);
    if (byId) return byId;
    const [teamName, channelName] = spec.split(':');
    const team = teamName ? this.store.teamByName(teamName) : undefined;
    const ch = team && channelName ? this.store.channelByName(team.id, channelName) : undefined;
    if (!ch) throw new Error(`fake server: no channel "${spec}"`);
    return ch;
  }

  /** The DM between `a` and `otherId`, creating it (and emitting `direct_added`) when new. */
  directChannel(a: StoredUser, otherId: string, creatorId: string): { channel: StoredChannel; created: boolean } {
    const existing = this.store.directChannel(a.id, otherId);
    if (existing) return { channel: existing, created: false };
    const now = Date.now();
    const channel = channelRow({ id: newId(), team_id: '', type: 'D', display_name: '', name: [a.id, otherId].sort().join('__'), creator_id: creatorId }, now);
    this.store.channels.set(channel.id, channel);
    for (const uid of new Set([a.id, otherId])) this.store.channelMembers.push(channelMemberRow(channel.id, uid, 'user', now));
    this.hub.emit('direct_added', { creator_id: creatorId, teammate_id: otherId === creatorId ? a.id : otherId }, { channel_id: channel.id });
    return { channel, created: true };
  }

  /**
   * The group message of `userIds` (3 to 8 people), creating it (and emitting `group_added`
   * to each member) when new: 5.37 `app/channel.go` createGroupChannel, its name
   * `model/channel.go` GetGroupNameFromUserIds (sha1 of the sorted ids).
   */
  groupChannel(userIds: string[], creatorId: string): { channel: StoredChannel; created: boolean } {
    const ids = [...new Set(userIds)].sort();
    if (ids.length < 3 || ids.length > 8) throw appError(400, 'api.channel.create_group.bad_size.app_error');
    if (ids.some((id) => !this.store.users.has(id))) throw appError(400, 'api.channel.create_group.bad_user.app_error');
    const name = createHash('sha1').update(ids.join('')).digest('hex');
    const existing = [...this.store.channels.values()].find((c) => c.type === 'G' && c.name === name);
    if (existing) return { channel: existing, created: false };
    const now = Date.now();
    const channel = channelRow(
      { id: newId(), team_id: '', type: 'G', display_name: ids.map((id) => this.store.users.get(id)?.username ?? '').sort().join(', '), name, creator_id: creatorId },
      now,
    );
    this.store.channels.set(channel.id, channel);
    for (const uid of ids) this.store.channelMembers.push(channelMemberRow(channel.id, uid, 'user', now));
    for (const uid of ids) this.hub.emit('group_added', { teammate_ids: JSON.stringify(ids) }, { user_id: uid });
    return { channel, created: true };
  }

  /** Ids of channel members mentioned by `message` (never the author). */
  mentionedUserIds(author: StoredUser, channel: StoredChannel, message: string): string[] {
    const members = this.store.channelMembers.filter((m) => m.channel_id === channel.id).map((m) => m.user_id);
    const memberSet = new Set(members);
    const out = new Set<string>();
    if (channel.type === 'D') for (const id of members) if (id !== author.id) out.add(id);
    // a group message mentions all its members from 9.1 (versions.ts gmMentionsEveryone)
    if (channel.type === 'G' && this.profile.gmMentionsEveryone) for (const id of members) out.add(id);
    for (const m of message.matchAll(MENTION_RE)) {
      const name = (m[1] ?? '').toLowerCase().replace(/[._-]+$/, '');
      if (['channel', 'all', 'here'].includes(name)) {
        if (this.store.hasChannelPermission(author, channel.id, 'use_channel_mentions')) for (const id of members) out.add(id);
        continue;
      }
      const user = this.store.userByUsername(name);
      if (user && memberSet.has(user.id)) out.add(user.id);
    }
    out.delete(author.id);
    return [...out];
  }

  /** Creates a post like POST /posts and emits `posted` to the channel members. */
  createPost(author: StoredUser, channel: StoredChannel, input: CreatePostInput, opts: CreatePostOpts = {}): Post {
    if (channel.delete_at > 0) throw appError(400, 'api.post.create_post.can_not_post_to_deleted.error');
    const rootId = input.rootId ?? '';
    if (rootId) {
      const root = this.store.posts.find((p) => p.id === rootId);
      if (!root || root.channel_id !== channel.id || root.delete_at > 0 || root.root_id) {
        throw appError(400, 'api.post.create_post.root_id.app_error');
      }
    }
    if (input.message.length > 16383) throw invalidBodyParam('post.message');
    const now = Date.now();
    const at = input.createAt && this.store.isAdmin(author) ? input.createAt : now;
    const props: Record<string, unknown> = { ...(input.props ?? {}) };
    delete props.add_channel_member;
    delete props.force_notification;
    delete props.from_bot;
    delete props.from_webhook;
    if (author.is_bot) props.from_bot = 'true';
    if (opts.fromWebhook) props.from_webhook = 'true';
    if (opts.overrideUsername) props.override_username = opts.overrideUsername;
    if (opts.overrideIconUrl) props.override_icon_url = opts.overrideIconUrl;
    generateActionIds(props); // Post.PreCommit → GenerateActionIds (docs/mattermost-notes.md §8.1)
    // FileInfoStore.AttachToPost (server/channels/store/sqlstore/file_info_store.go): a file
    // joins the post only when it is in no post yet and the poster uploaded it; the others
    // are silently left out of file_ids (app/post.go attachFilesToPost)
    const fileIds = [...new Set(input.fileIds ?? [])].filter((id) => {
      const f = this.store.files.get(id);
      return f !== undefined && f.delete_at === 0 && f.post_id === '' && f.user_id === author.id;
    });
    const post: Post = {
      id: newId(),
      create_at: at,
      update_at: at,
      edit_at: 0,
      delete_at: 0,
      is_pinned: false,
      user_id: author.id,
      channel_id: channel.id,
      root_id: rootId,
      original_id: '',
      message: input.message,
      type: input.type ?? '',
      props,
      hashtags: (input.message.match(/(?:^|\s)(#[A-Za-z][\w-]{2,})/g) ?? []).map((h) => h.trim()).join(' '),
      pending_post_id: '',
      reply_count: 0,
      last_reply_at: 0,
      participants: null,
      metadata: {},
    };
    if (fileIds.length) {
      post.file_ids = fileIds;
      post.metadata = {
        files: fileIds.map((id) => {
          const f = this.store.files.get(id);
          if (f) {
            f.post_id = post.id;
            f.channel_id = channel.id;
          }
          return f ? this.store.fileInfoView(f) : undefined;
        }),
      };
    }
    this.store.posts.push(post);
    channel.last_post_at = at;
    channel.total_msg_count += 1;
    if (!rootId) {
      channel.last_root_post_at = at;
      channel.total_msg_count_root += 1;
    } else {
      for (const p of this.store.posts) if (p.id === rootId) {
        p.reply_count += 1;
        p.last_reply_at = at;
      }
    }
    const setOnline = opts.setOnline ?? true;
    if (setOnline && !author.is_bot) {
      const s = this.store.statusOf(author.id);
      if (!s.manual && s.status !== 'online') this.store.statuses.set(author.id, { ...s, status: 'online', last_activity_at: now });
    }
    const mentions = new Set(this.mentionedUserIds(author, channel, input.message));
    const sender = this.store.users.get(author.id);
    const usernameOverride = opts.fromWebhook && opts.overrideUsername && this.store.config.enablePostUsernameOverride && channel.type !== 'D';
    const data: Record<string, unknown> = {
      channel_display_name: channel.type === 'D' ? `@${author.username}` : channel.type === 'G' ? this.gmDisplayName(channel) : channel.display_name,
      channel_name: channel.name,
      channel_type: channel.type,
      post: JSON.stringify(clientPost(post)),
      sender_name: usernameOverride ? opts.overrideUsername : `@${sender?.username ?? ''}`,
      set_online: setOnline,
      team_id: channel.team_id,
    };
    if (fileIds.length) {
      data.otherFile = 'true';
      if (fileIds.some((id) => this.store.files.get(id)?.mime_type.startsWith('image/'))) data.image = 'true';
    }
    // current servers: each recipient sees only its own id (app/web_broadcast_hooks.go
    // addMentionsBroadcastHook); before 9.3 the whole list goes to everyone (versions.ts)
    const everyone = this.profile.mentionsPerRecipient || mentions.size === 0 ? undefined : JSON.stringify([...mentions]);
    this.hub.emit('posted', data, { channel_id: channel.id }, (userId, d, conn) => {
      if (everyone) d.mentions = everyone;
      else if (mentions.has(userId)) d.mentions = JSON.stringify([userId]);
      if (conn.postedAck) d.should_ack = true;
      return d;
    });
    return post;
  }

  private gmDisplayName(channel: StoredChannel): string {
    return this.store.channelMembers
      .filter((m) => m.channel_id === channel.id)
      .map((m) => this.store.users.get(m.user_id)?.username ?? '')
      .sort()
      .join(', ');
  }

  /**
   * Sends an ephemeral post to one user (`ephemeral_message`); not stored. Like
   * app/post.go SendEphemeralPost: type `system_ephemeral`, action ids filled in, each
   * action given an encrypted cookie, `integration` stripped (docs/mattermost-notes.md §8.1-8.3).
   * Returns (and records in `ephemeral`) the post as the user received it.
   */
  sendEphemeral(userId: string, channelId: string, message: string, opts: { rootId?: string; props?: Record<string, unknown>; authorId?: string; id?: string } = {}): Post {
    const now = Date.now();
    const props = structuredClone(opts.props ?? {});
    generateActionIds(props);
    const post = ephemeralPostRecord({
      id: opts.id || newId(),
      createAt: now,
      updateAt: now,
      userId: opts.authorId ?? userId,
      channelId,
      rootId: opts.rootId ?? '',
      message,
      props,
    });
    const seen = clientPost(addActionCookies(post, this.cookieSecret));
    this.ephemeral.push({ userId, post: seen });
    this.hub.emit('ephemeral_message', { post: JSON.stringify(seen) }, { user_id: userId, channel_id: channelId });
    return seen;
  }

  /**
   * app/post.go UpdateEphemeralPost: the replacement reaches only `userId`, as a
   * `post_edited` event (type `system_ephemeral`, fresh cookies). The record in
   * `ephemeral` with the same id is replaced.
   */
  updateEphemeral(userId: string, post: Post): Post {
    const props = structuredClone(post.props);
    generateActionIds(props);
    const updated: Post = { ...post, type: 'system_ephemeral', update_at: Date.now(), props };
    const seen = clientPost(addActionCookies(updated, this.cookieSecret));
    const i = this.ephemeral.findIndex((e) => e.userId === userId && e.post.id === post.id);
    if (i >= 0) this.ephemeral[i] = { userId, post: seen };
    else this.ephemeral.push({ userId, post: seen });
    this.hub.emit('post_edited', { post: JSON.stringify(seen) }, { user_id: userId, channel_id: post.channel_id });
    return seen;
  }

  /**
   * app/post.go UpdatePost with safeUpdate=false, as a post action's `update` uses it:
   * message (edit_at when it or the attachments change), props replaced, file ids from
   * the update; `post_edited` to the channel.
   */
  updatePost(post: Post, update: { message: string; props: Record<string, unknown>; fileIds?: string[]; isPinned: boolean }): Post {
    if (post.delete_at > 0) throw appError(400, 'api.post.update_post.permissions_details.app_error');
    if (post.type.startsWith('system_')) throw appError(400, 'api.post.update_post.system_message.app_error');
    const channel = this.store.channels.get(post.channel_id);
    if (!channel) throw appError(404, 'app.channel.get.existing.app_error');
    if (channel.delete_at > 0) throw appError(400, 'api.post.update_post.can_not_update_post_in_deleted.error');
    const now = Date.now();
    const props = structuredClone(update.props);
    delete props.add_channel_member; // Post.SanitizeProps
    generateActionIds(props);
    const attachmentsChanged = JSON.stringify(post.props.attachments ?? null) !== JSON.stringify(props.attachments ?? null);
    if (post.message !== update.message || attachmentsChanged) post.edit_at = now;
    post.message = update.message;
    post.props = props;
    post.is_pinned = update.isPinned;
    const fileIds = (update.fileIds ?? []).filter((id) => this.store.files.has(id));
    if (fileIds.length) post.file_ids = fileIds;
    else delete post.file_ids;
    post.update_at = now;
    this.hub.emit('post_edited', { post: JSON.stringify(clientPost(post)) }, { channel_id: post.channel_id });
    return post;
  }

  /** The three `user_updated` copies of docs/mattermost-notes.md §3.8 (admin, sanitized, own). */
  emitUserUpdated(user: StoredUser): void {
    const admin = [...this.store.users.values()].find((u) => this.store.isAdmin(u));
    const adminView = this.store.userView(user, admin && admin.id !== user.id ? admin : undefined);
    adminView.email = user.email;
    adminView.first_name = user.first_name;
    adminView.last_name = user.last_name;
    adminView.auth_service = user.auth_service;
    this.hub.emit('user_updated', { user: adminView }, { omit_users: { [user.id]: true }, contains_sensitive_data: true });
    this.hub.emit('user_updated', { user: this.store.userView(user, undefined) }, { omit_users: { [user.id]: true }, contains_sanitized_data: true });
    this.hub.emit('user_updated', { user: this.store.userView(user, user) }, { user_id: user.id });
  }

  /** Adds a user to a team (and its town-square / off-topic) and emits `added_to_team`. */
  addTeamMember(teamId: string, userId: string): void {
    const store = this.store;
    const existing = store.teamMembers.find((m) => m.team_id === teamId && m.user_id === userId);
    const user = store.users.get(userId);
    const guest = user?.roles.split(/\s+/).includes('system_guest') ?? false;
    if (existing) {
      if (existing.delete_at === 0) return;
      existing.delete_at = 0;
    } else {
      store.teamMembers.push({ team_id: teamId, user_id: userId, explicit_roles: '', delete_at: 0, scheme_guest: guest, scheme_user: !guest, scheme_admin: false });
    }
    if (!guest) {
      for (const name of ['town-square', 'off-topic']) {
        const ch = store.channelByName(teamId, name);
        if (ch && !store.isChannelMember(ch.id, userId)) {
          store.channelMembers.push(channelMemberRow(ch.id, userId, 'user', Date.now()));
          this.hub.emit('user_added', { user_id: userId, team_id: teamId }, { channel_id: ch.id, omit_users: { [userId]: true } });
        }
      }
    }
    this.hub.emit('added_to_team', { team_id: teamId, user_id: userId }, { user_id: userId });
  }
}

export { AppError };

/** The record of an ephemeral post as SendEphemeralPost shapes it (type `system_ephemeral`, never stored). */
export function ephemeralPostRecord(p: {
  id: string;
  createAt: number;
  updateAt: number;
  userId: string;
  channelId: string;
  rootId: string;
  message: string;
  props: Record<string, unknown>;
}): Post {
  return {
    id: p.id,
    create_at: p.createAt,
    update_at: p.updateAt,
    edit_at: 0,
    delete_at: 0,
    is_pinned: false,
    user_id: p.userId,
    channel_id: p.channelId,
    root_id: p.rootId,
    original_id: '',
    message: p.message,
    type: 'system_ephemeral',
    props: p.props,
    hashtags: '',
    pending_post_id: '',
    reply_count: 0,
    last_reply_at: 0,
    participants: null,
    metadata: {},
  };
}
