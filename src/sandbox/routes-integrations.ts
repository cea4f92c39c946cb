/**
 * Slash-command REST (docs/mattermost-notes.md §4.3), POST /commands/execute, posts and ephemeral posts (§5.10),
 * and file info / download.
 */
import { z } from 'zod';
import { newId } from './ids.js';
import {
  AppError,
  appError,
  caller,
  forbidden,
  idParam,
  invalidBodyParam,
  invalidUrlParam,
  isId,
  notFound,
  ok,
  parseBody,
  statusOk,
  type Router,
} from './http.js';
import type { SandboxCore } from './core.js';
import { addActionCookies, clientPost } from './post-actions.js';
import { BUILT_IN_TRIGGERS, type SlashRunner } from './slash.js';
import type { StoredCommand, StoredUser } from './store.js';

const commandBody = z.object({
  id: z.string().optional(),
  team_id: z.string(),
  trigger: z.string(),
  method: z.string().optional(),
  url: z.string(),
  creator_id: z.string().optional(),
  username: z.string().optional(),
  icon_url: z.string().optional(),
  auto_complete: z.boolean().optional(),
  auto_complete_desc: z.string().optional(),
  auto_complete_hint: z.string().optional(),
  display_name: z.string().optional(),
  description: z.string().optional(),
});

function validateCommand(c: z.infer<typeof commandBody>): void {
  const bad = (field: string): AppError => new AppError(400, `model.command.is_valid.${field}.app_error`, `Invalid ${field}.`);
  if (!isId(c.team_id)) throw bad('team_id');
  if (c.trigger.length < 1 || c.trigger.length > 128 || c.trigger.startsWith('/') || /\s/.test(c.trigger)) throw bad('trigger');
  if (!c.url || c.url.length > 1024 || !/^https?:\/\/[^\s]+$/.test(c.url)) throw bad('url');
  if (c.method && c.method !== 'P' && c.method !== 'G') throw bad('method');
  if ((c.display_name ?? '').length > 64) throw bad('display_name');
  if ((c.description ?? '').length > 128) throw bad('description');
}

export function registerIntegrationRoutes(r: Router, core: SandboxCore, slash: SlashRunner): void {
  const store = core.store;
  /** pending_post_id → the post it created (server: seenPendingPostIdsCache) */
  const seenPending = new Map<string, { postId: string; expiresAt: number }>();
  const enabled = (): void => {
    if (!store.config.enableCommands) throw appError(501, 'api.command.disabled.app_error');
  };
  const sanitized = (c: StoredCommand): Record<string, unknown> => ({ ...c, token: '', creator_id: '', method: '', url: '', username: '', icon_url: '' });
  const isDuplicate = (teamId: string, trigger: string, exceptId = ''): boolean =>
    BUILT_IN_TRIGGERS.includes(trigger) || [...store.commands.values()].some((c) => c.team_id === teamId && c.delete_at === 0 && c.trigger === trigger && c.id !== exceptId);

  /** The command if the caller may manage it; 404 to hide it otherwise (docs/mattermost-notes.md §6.15). */
  const viewable = (me: StoredUser, id: string): StoredCommand => {
    const cmd = store.commands.get(id);
    if (!cmd || cmd.delete_at > 0 || !store.hasTeamPermission(me, cmd.team_id, 'manage_slash_commands')) throw notFound('store.sql_command.save.get.app_error');
    return cmd;
  };
  /** update, delete, regen_token: also manage_others_slash_commands for someone else's (api4/command.go). */
  const manageable = (me: StoredUser, id: string): StoredCommand => {
    const cmd = viewable(me, id);
    if (cmd.creator_id !== me.id && !store.hasTeamPermission(me, cmd.team_id, 'manage_others_slash_commands')) throw forbidden(me.id, 'manage_others_slash_commands');
    return cmd;
  };

  r.add('POST', '/commands/execute', async (ctx) => {
    enabled();
    const me = caller(ctx);
    const args = parseBody(ctx, z.object({ channel_id: z.string(), team_id: z.string().optional(), root_id: z.string().optional(), parent_id: z.string().optional(), command: z.string(), trigger_id: z.string().optional() }), 'command_args');
    if (!args.command.startsWith('/') || args.command.length <= 1) throw appError(400, 'api.command.execute_command.start.app_error');
    if (!isId(args.channel_id)) throw invalidBodyParam('channel_id');
    if (!store.hasChannelPermission(me, args.channel_id, 'create_post')) throw forbidden(me.id, 'create_post');
    const channel = store.channels.get(args.channel_id);
    if (!channel) throw notFound('app.channel.get.existing.app_error');
    const teamId = channel.team_id || args.team_id || '';
    const result = await slash.run({ user: me, channel, teamId, command: args.command, rootId: args.root_id || args.parent_id || '' });
    if (result.error) throw new AppError(result.error.status_code, result.error.id, result.error.message, result.error.detailed_error);
    return ok({ ...result.response, trigger_id: args.trigger_id ?? result.triggerId });
  });

  r.add('GET', '/commands', (ctx) => {
    enabled();
    const me = caller(ctx);
    const teamId = ctx.query.get('team_id') ?? '';
    if (!isId(teamId)) throw invalidUrlParam('team_id');
    if (!store.hasTeamPermission(me, teamId, 'view_team')) throw forbidden(me.id, 'view_team');
    const customOnly = ctx.query.get('custom_only') === 'true';
    // api4/command.go listCommands (5.37; 9.10 server/channels/api4/command.go the same):
    // custom_only needs manage_slash_commands and gives every command of the team as stored
    // (app ListTeamCommands, tokens included); otherwise the built-ins plus the team's
    // commands, sanitized: all of them with manage_slash_commands (ListAllCommands), only the
    // autocomplete ones without (ListAutocompleteCommands). There is no manage_own_slash_commands.
    const canManage = store.hasTeamPermission(me, teamId, 'manage_slash_commands');
    const team = [...store.commands.values()].filter((c) => c.team_id === teamId && c.delete_at === 0);
    if (customOnly) {
      if (!canManage) throw forbidden(me.id, 'manage_slash_commands');
      return ok(team.map((c) => ({ ...c })));
    }
    const builtIns = ['away', 'dnd', 'echo', 'help', 'join', 'leave', 'msg', 'online', 'offline', 'shrug'].map((t) => ({
      id: '', token: '', create_at: 0, update_at: 0, delete_at: 0, creator_id: '', team_id: '', trigger: t, method: '', username: '', icon_url: '',
      auto_complete: true, auto_complete_desc: '', auto_complete_hint: '', display_name: t, description: '', url: '',
    }));
    const custom = team.filter((c) => canManage || c.auto_complete).map(sanitized);
    return ok([...builtIns, ...custom]);
  });

  r.add('GET', '/teams/{team_id}/commands/autocomplete', (ctx) => {
    enabled();
    const me = caller(ctx);
    const teamId = idParam(ctx, 'team_id');
    if (!store.hasTeamPermission(me, teamId, 'view_team')) throw forbidden(me.id, 'view_team');
    return ok([...store.commands.values()].filter((c) => c.team_id === teamId && c.delete_at === 0 && c.auto_complete).map(sanitized));
  });

  r.add('POST', '/commands', (ctx) => {
    enabled();
    const me = caller(ctx);
    const body = parseBody(ctx, commandBody, 'command');
    validateCommand(body);
    if (!store.hasTeamPermission(me, body.team_id, 'manage_slash_commands')) throw forbidden(me.id, 'manage_slash_commands');
    const creator = body.creator_id || me.id;
    if (creator !== me.id && !store.hasTeamPermission(me, body.team_id, 'manage_others_slash_commands')) throw forbidden(me.id, 'manage_others_slash_commands');
    const trigger = body.trigger.toLowerCase();
    if (isDuplicate(body.team_id, trigger)) throw appError(400, 'api.command.duplicate_trigger.app_error');
    const now = Date.now();
    const cmd: StoredCommand = {
      id: newId(),
      token: newId(),
      create_at: now,
      update_at: now,
      delete_at: 0,
      creator_id: creator,
      team_id: body.team_id,
      trigger,
      method: body.method || 'P',
      username: body.username ?? '',
      icon_url: body.icon_url ?? '',
      auto_complete: body.auto_complete ?? false,
      auto_complete_desc: body.auto_complete_desc ?? '',
      auto_complete_hint: body.auto_complete_hint ?? '',
      display_name: body.display_name ?? '',
      description: body.description ?? '',
      url: body.url,
      plugin_id: '',
    };
    store.commands.set(cmd.id, cmd);
    return ok({ ...cmd }, 201);
  });

  r.add('GET', '/commands/{command_id}', (ctx) => {
    enabled();
    // api4/command.go getCommand: view_team and manage_slash_commands, no check of the creator
    return ok({ ...viewable(caller(ctx), idParam(ctx, 'command_id')) });
  });

  r.add('PUT', '/commands/{command_id}', (ctx) => {
    enabled();
    const me = caller(ctx);
    const id = idParam(ctx, 'command_id');
    const body = parseBody(ctx, commandBody, 'command');
    if (body.id !== id) throw invalidBodyParam('command_id');
    const cmd = manageable(me, id);
    validateCommand(body);
    if (body.team_id !== cmd.team_id) throw invalidBodyParam('team_id');
    const trigger = body.trigger.toLowerCase();
    if (trigger !== cmd.trigger && isDuplicate(cmd.team_id, trigger, cmd.id)) throw appError(400, 'api.command.duplicate_trigger.app_error');
    Object.assign(cmd, {
      trigger,
      method: body.method || cmd.method,
      url: body.url,
      username: body.username ?? cmd.username,
      icon_url: body.icon_url ?? cmd.icon_url,
      auto_complete: body.auto_complete ?? cmd.auto_complete,
      auto_complete_desc: body.auto_complete_desc ?? cmd.auto_complete_desc,
      auto_complete_hint: body.auto_complete_hint ?? cmd.auto_complete_hint,
      display_name: body.display_name ?? cmd.display_name,
      description: body.description ?? cmd.description,
      update_at: Date.now(),
    });
    return ok({ ...cmd });
  });

  r.add('DELETE', '/commands/{command_id}', (ctx) => {
    enabled();
    const cmd = manageable(caller(ctx), idParam(ctx, 'command_id'));
    cmd.delete_at = Date.now();
    return statusOk();
  });

  r.add('PUT', '/commands/{command_id}/regen_token', (ctx) => {
    enabled();
    const cmd = manageable(caller(ctx), idParam(ctx, 'command_id'));
    cmd.token = newId();
    cmd.update_at = Date.now();
    return ok({ token: cmd.token });
  });

  // ---- posts ----------------------------------------------------------------
  r.add('POST', '/posts', (ctx) => {
    const me = caller(ctx);
    const body = parseBody(
      ctx,
      z.object({
        channel_id: z.string(),
        message: z.string().optional(),
        root_id: z.string().optional(),
        file_ids: z.array(z.string()).nullish(),
        props: z.record(z.string(), z.unknown()).nullish(),
        pending_post_id: z.string().optional(),
        create_at: z.number().optional(),
        type: z.string().optional(),
      }),
      'post',
    );
    if (!isId(body.channel_id)) throw invalidBodyParam('post.channel_id');
    requirePostPermission(core, me, body.channel_id);
    if (body.file_ids?.length && !store.hasChannelPermission(me, body.channel_id, 'upload_file')) throw forbidden(me.id, 'upload_file');
    const channel = store.channels.get(body.channel_id);
    if (!channel) throw forbidden(me.id, 'create_post');
    // Post.IsValid: user posts may carry no type, a custom_ one, or slack_attachment
    if (body.type && !body.type.startsWith('custom_') && body.type !== 'slack_attachment') throw invalidBodyParam('post.type');
    // Idempotent within 30 s by pending_post_id, as the server's deduplicateCreatePost
    // (server/channels/app/post.go; pendingPostIDsCacheTTL): a repeat gets the first post.
    const pending = body.pending_post_id ?? '';
    if (pending) {
      for (const [k, v] of seenPending) if (v.expiresAt <= Date.now()) seenPending.delete(k);
      const seen = seenPending.get(pending);
      const first = seen ? store.posts.find((p) => p.id === seen.postId) : undefined;
      if (first) return ok({ ...clientPost(first), pending_post_id: pending }, 201);
    }
    const setOnline = ctx.query.get('set_online') !== 'false';
    const post = core.createPost(
      me,
      channel,
      { message: body.message ?? '', rootId: body.root_id ?? '', fileIds: body.file_ids ?? [], props: body.props ?? {}, type: body.type ?? '', createAt: body.create_at },
      { setOnline },
    );
    if (pending) seenPending.set(pending, { postId: post.id, expiresAt: Date.now() + 30_000 });
    return ok({ ...clientPost(post), pending_post_id: pending }, 201);
  });

  r.add('POST', '/posts/ephemeral', (ctx) => {
    const me = caller(ctx);
    if (!ctx.bodyIsJson || typeof ctx.body !== 'object' || ctx.body === null) throw invalidBodyParam('body');
    const raw = z.object({ user_id: z.string().optional(), post: z.unknown().optional() }).safeParse(ctx.body);
    if (!raw.success || !raw.data.user_id) throw invalidBodyParam('user_id');
    if (raw.data.post === undefined || raw.data.post === null) throw invalidBodyParam('post');
    const post = z
      .object({ id: z.string().optional(), channel_id: z.string(), message: z.string().optional(), root_id: z.string().optional(), props: z.record(z.string(), z.unknown()).nullish() })
      .safeParse(raw.data.post);
    if (!post.success) throw invalidBodyParam('post');
    if (!store.hasPermission(me, 'create_post_ephemeral')) throw forbidden(me.id, 'create_post_ephemeral');
    // api4/post.go createEphemeralPost → SendEphemeralPost (keeps a given post id): the
    // ephemeral_message event carries working cookies. SendEphemeralPost's ToJson strips the
    // integrations on a shallow clone that shares the attachments (model/post.go Clone,
    // StripActionIntegrations), so the handler's own AddPostActionCookies for its answer seals
    // cookies without an integration: a click with those is 400 "no Integration in action
    // cookie" (app/integration_action.go DoPostActionWithCookie). Measured on 5.37 and 9.10.
    const p = core.sendEphemeral(raw.data.user_id, post.data.channel_id, post.data.message ?? '', {
      rootId: post.data.root_id ?? '',
      props: post.data.props ?? {},
      authorId: me.id,
      ...(post.data.id ? { id: post.data.id } : {}),
    });
    return ok(clientPost(addActionCookies(p, core.cookieSecret)), 201);
  });

  r.add('GET', '/posts/{post_id}', (ctx) => {
    const me = caller(ctx);
    const id = idParam(ctx, 'post_id');
    const post = store.posts.find((p) => p.id === id && p.delete_at === 0);
    if (!post) throw notFound('app.post.get.app_error');
    if (!store.hasChannelPermission(me, post.channel_id, 'read_channel_content')) throw forbidden(me.id, 'read_channel_content');
    return ok(clientPost(post));
  });

  // Soft delete like server/channels/api4/post.go deletePost: your own post needs
  // delete_post, someone else's delete_others_posts (both in the post's channel); the post
  // keeps its row with delete_at set, and post_deleted (post as a JSON string) goes to the
  // channel (app/post.go DeletePost).
  r.add('DELETE', '/posts/{post_id}', (ctx) => {
    const me = caller(ctx);
    const id = idParam(ctx, 'post_id');
    const post = store.posts.find((p) => p.id === id && p.delete_at === 0);
    if (!post) throw notFound('app.post.get.app_error');
    const perm = post.user_id === me.id ? 'delete_post' : 'delete_others_posts';
    if (!store.hasChannelPermission(me, post.channel_id, perm)) throw forbidden(me.id, perm);
    const now = Date.now();
    post.delete_at = now;
    post.update_at = now;
    core.hub.emit('post_deleted', { post: JSON.stringify(clientPost(post)), delete_by: me.id }, { channel_id: post.channel_id });
    return statusOk();
  });

  // ---- files ----------------------------------------------------------------
  const fileFor = (me: StoredUser, id: string) => {
    const f = store.files.get(id);
    if (!f || f.delete_at > 0) throw notFound('app.file_info.get.app_error');
    if (f.user_id !== me.id && !store.hasChannelPermission(me, f.channel_id, 'read_channel_content')) throw forbidden(me.id, 'read_channel_content');
    return f;
  };
  r.add('GET', '/files/{file_id}/info', (ctx) => ok(store.fileInfoView(fileFor(caller(ctx), idParam(ctx, 'file_id')))));
  r.add('GET', '/files/{file_id}', (ctx) => {
    const f = fileFor(caller(ctx), idParam(ctx, 'file_id'));
    return {
      status: 200,
      bytes: f.data,
      contentType: f.mime_type || 'application/octet-stream',
      headers: { 'Content-Disposition': `attachment;filename="${f.name.replace(/"/g, '')}"` },
    };
  });
}

/** create_post on the channel, or create_post_public on the team for public channels (docs/mattermost-notes.md §5.10). */
export function requirePostPermission(core: SandboxCore, me: StoredUser, channelId: string): void {
  const store = core.store;
  if (store.hasChannelPermission(me, channelId, 'create_post')) return;
  const ch = store.channels.get(channelId);
  if (ch && ch.type === 'O' && store.hasTeamPermission(me, ch.team_id, 'create_post_public')) return;
  throw forbidden(me.id, 'create_post');
}
