/**
 * Files, analytics, the licence, user statistics and the user report, with the server's
 * permission checks:
 *
 * - `POST /files?channel_id=&filename=` (raw body): server/channels/api4/file.go
 *   uploadFileStream → uploadFileSimple: attachments on, a non-empty body, `upload_file` in
 *   the channel, FileSettings.MaxFileSize (413). The file belongs to the uploader and to no
 *   post until a post names it (core.createPost attaches it as FileInfoStore.AttachToPost).
 * - `GET /analytics/old?name=`: api4/system.go getAnalytics, `get_analytics`;
 *   app/analytics.go for the row names (`standard`, `post_counts_day`,
 *   `user_counts_with_posts_day`, days named `YYYY-MM-DD`, newest first).
 * - `GET /license/client?format=old`: api4/license.go getClientLicense (no session needed;
 *   without `read_license_information` the map is sanitized: no id, customer or dates).
 * - `GET /users/stats`: api4/user.go getTotalUsersStats (active users the caller may see).
 * - `GET /reports/users`: api4/report.go getUsersForReporting (system admins only, page
 *   size 1–100, keyset paging by username).
 */
import { appError, AppError, caller, forbidden, invalidUrlParam, isId, ok, type Router } from './http.js';
import type { SandboxCore } from './core.js';
import { newId } from './ids.js';
import type { StoredFile } from './store.js';
import { visibleTo } from './visibility.js';

const DAY_MS = 86_400_000;
/** The read permissions of the job types (app/job.go SessionHasPermissionToReadJob). */
const JOB_READ_PERMISSIONS = new Set(['read_data_retention_job', 'read_compliance_export_job', 'read_elasticsearch_post_indexing_job', 'read_elasticsearch_post_aggregation_job', 'read_ldap_sync_job']);
const dayName = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export function registerReportRoutes(r: Router, core: SandboxCore): void {
  const store = core.store;

  r.add('POST', '/files', (ctx) => {
    const me = caller(ctx);
    if (!store.config.enableFileAttachments) throw new AppError(403, 'api.file.attachments.disabled.app_error', 'File attachments have been disabled on this server.');
    if ((ctx.req.headers['content-type'] ?? '').toLowerCase().startsWith('multipart/')) {
      throw new AppError(400, 'api.file.upload_file.read_request.app_error', 'Unable to read request', 'the sandbox takes the simple upload only (raw body with channel_id and filename)');
    }
    if (ctx.rawBody.length === 0) throw new AppError(400, 'api.file.upload_file.read_request.app_error', 'Unable to read request', 'Content-Length should not be 0');
    const channelId = ctx.query.get('channel_id') ?? '';
    const filename = ctx.query.get('filename') ?? '';
    if (!isId(channelId)) throw invalidUrlParam('channel_id');
    if (!filename) throw invalidUrlParam('filename');
    if (!store.hasChannelPermission(me, channelId, 'upload_file')) throw forbidden(me.id, 'upload_file');
    if (ctx.rawBody.length > store.config.maxFileSize) {
      throw new AppError(413, 'api.file.upload_file.too_large_detailed.app_error', `Unable to upload file ${filename}. ${ctx.rawBody.length} bytes exceeds the maximum allowed ${store.config.maxFileSize} bytes.`);
    }
    const now = Date.now();
    const name = filename.replace(/[/\\]/g, '_');
    const ext = name.includes('.') ? (name.split('.').pop() ?? '').toLowerCase() : '';
    const mime = (ctx.req.headers['content-type'] ?? '').split(';')[0]?.trim() || 'application/octet-stream';
    const data = new Uint8Array(ctx.rawBody);
    const png = ext === 'png' && data.byteLength > 24 ? { width: readU32(data, 16), height: readU32(data, 20) } : { width: 0, height: 0 };
    const file: StoredFile = {
      id: newId(),
      user_id: me.id,
      post_id: '',
      channel_id: channelId,
      create_at: now,
      update_at: now,
      delete_at: 0,
      name,
      extension: ext,
      size: data.byteLength,
      mime_type: mime,
      ...png,
      has_preview_image: mime.startsWith('image/'),
      data,
    };
    store.files.set(file.id, file);
    const clientId = ctx.query.get('client_id');
    return ok({ file_infos: [store.fileInfoView(file)], ...(clientId ? { client_ids: [clientId] } : {}) }, 201);
  });

  r.add('GET', '/analytics/old', (ctx) => {
    const me = caller(ctx);
    if (!store.hasPermission(me, 'get_analytics')) throw forbidden(me.id, 'get_analytics');
    const name = ctx.query.get('name') || 'standard';
    const teamId = ctx.query.get('team_id') ?? '';
    const now = Date.now();
    const inTeam = (channelId: string): boolean => !teamId || store.channels.get(channelId)?.team_id === teamId;
    if (name === 'standard') {
      const channels = [...store.channels.values()].filter((c) => c.delete_at === 0 && (!teamId || c.team_id === teamId));
      const people = [...store.users.values()].filter((u) => !teamId || store.isTeamMember(teamId, u.id));
      const activeSince = (ms: number): number => [...store.statuses.values()].filter((s) => s.last_activity_at >= now - ms && store.users.get(s.user_id)?.delete_at === 0).length;
      const history = store.config.postHistory.reduce((n, d) => n + d.posts, 0);
      return ok([
        { name: 'channel_open_count', value: channels.filter((c) => c.type === 'O').length },
        { name: 'channel_private_count', value: channels.filter((c) => c.type === 'P').length },
        { name: 'post_count', value: history + store.posts.filter((p) => p.delete_at === 0 && inTeam(p.channel_id)).length },
        // store.User().Count(UserCountOptions{}): active, bots left out
        { name: 'unique_user_count', value: people.filter((u) => u.delete_at === 0 && !u.is_bot).length },
        { name: 'team_count', value: [...store.teams.values()].filter((t) => t.delete_at === 0).length },
        { name: 'total_websocket_connections', value: core.hub.activeConnectionIds().length },
        { name: 'total_master_db_connections', value: 12 },
        { name: 'total_read_db_connections', value: 0 },
        { name: 'daily_active_users', value: activeSince(DAY_MS) },
        { name: 'monthly_active_users', value: activeSince(30 * DAY_MS) },
        { name: 'inactive_user_count', value: people.filter((u) => u.delete_at > 0).length },
      ]);
    }
    if (name === 'post_counts_day' || name === 'user_counts_with_posts_day') {
      // app/analytics.go: the last 30 days that have posts, newest first
      const days = new Map<string, { posts: number; people: Set<string>; extra: number }>();
      const bucket = (day: string) => {
        let b = days.get(day);
        if (!b) days.set(day, (b = { posts: 0, people: new Set(), extra: 0 }));
        return b;
      };
      for (const h of store.config.postHistory) {
        if (h.daysAgo < 0 || h.daysAgo > 30) continue;
        const b = bucket(dayName(now - h.daysAgo * DAY_MS));
        b.posts += h.posts;
        b.extra += h.people;
      }
      for (const p of store.posts) {
        if (p.delete_at > 0 || p.create_at < now - 31 * DAY_MS || !inTeam(p.channel_id)) continue;
        const b = bucket(dayName(p.create_at));
        b.posts += 1;
        b.people.add(p.user_id);
      }
      const rows = [...days.entries()]
        .filter(([, b]) => b.posts > 0)
        .sort(([a], [b]) => b.localeCompare(a))
        .slice(0, 30)
        .map(([day, b]) => ({ name: day, value: name === 'post_counts_day' ? b.posts : b.people.size + b.extra }));
      return ok(rows);
    }
    throw invalidUrlParam('name');
  });

  r.add(
    'GET',
    '/license/client',
    (ctx) => {
      const format = ctx.query.get('format') ?? '';
      if (!format) throw appError(400, 'api.license.client.old_format.app_error');
      if (format !== 'old') throw invalidUrlParam('format');
      const c = store.config;
      if (!c.licensed) return ok({ IsLicensed: 'false' });
      const l = c.license;
      const full: Record<string, string> = {
        IsLicensed: 'true',
        Id: l.id,
        SkuName: `Mattermost ${l.skuShortName[0]?.toUpperCase() ?? ''}${l.skuShortName.slice(1)}`,
        SkuShortName: l.skuShortName,
        Users: String(l.users),
        IssuedAt: String(l.issuedAt),
        StartsAt: String(l.startsAt),
        ExpiresAt: String(l.expiresAt),
        Name: 'Sandbox Admin',
        Email: 'licensing@sandbox.example',
        Company: l.company,
        IsTrial: 'false',
      };
      const me = ctx.user;
      if (me && store.hasPermission(me, 'read_license_information')) return ok(full);
      for (const k of ['Id', 'Name', 'Email', 'IssuedAt', 'StartsAt', 'ExpiresAt', 'SkuName']) delete full[k];
      return ok(full);
    },
    { auth: false },
  );

  // api4/job.go getJobs: the job types the caller may read (SessionHasPermissionToReadJob,
  // one read_*_job permission per type; a system admin holds them all); none → 403
  r.add('GET', '/jobs', (ctx) => {
    const me = caller(ctx);
    const readable = store.config.jobs.filter((j) => store.isAdmin(me) || store.hasPermission(me, `read_${j.type}_job`));
    if (!readable.length && !store.isAdmin(me) && ![...JOB_READ_PERMISSIONS].some((p) => store.hasPermission(me, p))) throw forbidden(me.id, '');
    const page = Number(ctx.query.get('page') ?? '0');
    const per = Math.min(200, Number(ctx.query.get('per_page') ?? '60'));
    return ok([...readable].sort((a, b) => b.create_at - a.create_at).slice(page * per, page * per + per));
  });

  // api4/plugin.go getPluginStatuses: plugins on (else 501), sysconsole_read_plugins
  r.add('GET', '/plugins/statuses', (ctx) => {
    const me = caller(ctx);
    if (!store.config.enablePlugins) throw new AppError(501, 'app.plugin.disabled.app_error', 'Plugins have been disabled. Please check your logs for details.');
    if (!store.hasPermission(me, 'sysconsole_read_plugins')) throw forbidden(me.id, 'sysconsole_read_plugins');
    return ok(store.config.plugins);
  });

  r.add('GET', '/users/stats', (ctx) => {
    const me = caller(ctx);
    const active = [...store.users.values()].filter((u) => u.delete_at === 0 && !u.is_bot);
    return ok({ total_users_count: visibleTo(store, me, active).length });
  });

  // api4/user.go getFilteredUsersStats: sysconsole_read_user_management_users; roles
  // comma-separated, bots and deactivated accounts left out unless asked for
  r.add('GET', '/users/stats/filtered', (ctx) => {
    const me = caller(ctx);
    const q = ctx.query;
    const roles = (q.get('roles') ?? '').split(',').filter(Boolean);
    if (roles.some((r) => !/^[a-z0-9_]+$/.test(r))) throw invalidUrlParam('roles');
    if (!store.hasPermission(me, 'sysconsole_read_user_management_users')) throw forbidden(me.id, 'sysconsole_read_user_management_users');
    const team = q.get('in_team') ?? '';
    const n = [...store.users.values()].filter(
      (u) =>
        (q.get('include_deleted') === 'true' || u.delete_at === 0) &&
        (q.get('include_bots') === 'true' || !u.is_bot) &&
        (!team || store.isTeamMember(team, u.id)) &&
        (!roles.length || roles.some((r) => u.roles.split(/\s+/).includes(r))),
    ).length;
    return ok({ total_users_count: n });
  });

  r.add('GET', '/reports/users', (ctx) => {
    const me = caller(ctx);
    if (!store.isAdmin(me)) throw forbidden(me.id, 'sysconsole_read_user_management_users');
    const q = ctx.query;
    const size = Number(q.get('page_size') ?? '50');
    if (!Number.isInteger(size) || size <= 0 || size > 100) throw new AppError(400, 'api.getUsersForReporting.invalid_page_size', 'Invalid page size.');
    const team = q.get('team_filter') ?? '';
    if (team && !isId(team)) throw new AppError(400, 'api.getUsersForReporting.invalid_team_filter', 'Invalid team filter.');
    const hideActive = q.get('hide_active') === 'true';
    const hideInactive = q.get('hide_inactive') === 'true';
    if (hideActive && hideInactive) throw new AppError(400, 'api.getUsersForReporting.invalid_active_filter', 'Invalid active filter.');
    const from = q.get('from_column_value') ?? '';
    const fromId = q.get('from_id') ?? '';
    const rows = [...store.users.values()]
      .filter((u) => (!team || store.isTeamMember(team, u.id)) && !(hideActive && u.delete_at === 0) && !(hideInactive && u.delete_at > 0))
      .sort((a, b) => a.username.localeCompare(b.username) || a.id.localeCompare(b.id))
      .filter((u) => !from || u.username > from || (u.username === from && u.id > fromId))
      .slice(0, size)
      .map((u) => {
        const posts = store.posts.filter((p) => p.user_id === u.id && p.delete_at === 0);
        const status = store.statuses.get(u.id);
        const lastPost = posts.reduce((m, p) => Math.max(m, p.create_at), 0);
        return {
          ...store.userView(u, me),
          last_login: status?.last_activity_at ?? 0,
          ...(status?.last_activity_at ? { last_status_at: status.last_activity_at } : {}),
          ...(lastPost ? { last_post_date: lastPost } : {}),
          days_active: new Set(posts.map((p) => dayName(p.create_at))).size,
          total_posts: posts.length,
        };
      });
    return ok(rows);
  });
}

function readU32(b: Uint8Array, at: number): number {
  return ((b[at] ?? 0) << 24) + ((b[at + 1] ?? 0) << 16) + ((b[at + 2] ?? 0) << 8) + (b[at + 3] ?? 0);
}
