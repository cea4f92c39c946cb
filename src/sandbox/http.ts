/**
 * HTTP plumbing of the fake Mattermost server: AppError bodies (docs/mattermost-notes.md §1.1), a tiny router
 * with `{param}` patterns, the per-request context, and reply helpers. No framework:
 * Node's `http` only, so the wire bytes are exactly what we write.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { FakeStore, StoredUser } from './store.js';

/** An error the fake answers with as an AppError JSON body. */
export class AppError extends Error {
  override readonly name = 'AppError';
  constructor(
    readonly status: number,
    readonly id: string,
    message: string,
    readonly detailed = '',
  ) {
    super(message);
  }
}

/** The server's English messages for the ids the fake uses. */
const MESSAGES: Record<string, string> = {
  'api.context.permissions.app_error': 'You do not have the appropriate permissions.',
  'api.context.session_expired.app_error': 'Invalid or expired session, please login again.',
  'api.context.token_provided.app_error': 'Session is not OAuth but token was provided in the query string.',
  'api.context.404.app_error': 'Sorry, we could not find the page.',
  'api.context.server_busy.app_error': 'Server is busy, non-critical services are temporarily unavailable.',
  'api.context.request_body_too_large.app_error': 'Your request is too large to process. Please try again with a smaller request.',
  'app.user.missing_account.const': 'Unable to find the user.',
  'app.team.get_by_name.missing.app_error': 'Unable to find the existing team.',
  'app.team.get.find.app_error': 'Unable to find the existing team.',
  'app.team.get_member.missing.app_error': 'No team member found for that user ID and team ID.',
  'app.channel.get.existing.app_error': 'Unable to find the existing channel.',
  'app.channel.get_by_name.missing.app_error': 'Channel does not exist.',
  'app.channel.get_member.missing.app_error': 'No channel member found for that user ID and channel ID.',
  'api.status.user_not_found.app_error': 'User not found.',
  'app.role.get_by_name.app_error': 'Unable to get role.',
  'app.role.get.app_error': 'Unable to get role.',
  'app.scheme.get.app_error': 'Unable to get the scheme.',
  'api.command.disabled.app_error': 'Commands have been disabled by the system admin.',
  'api.command.duplicate_trigger.app_error': 'This trigger word is already in use. Please choose another word.',
  'api.command.execute_command.start.app_error': 'No command trigger found.',
  'api.command.execute_command.not_found.app_error': 'Command with a trigger of "{{.Trigger}}" not found.',
  'api.command.execute_command.failed.app_error': 'Command with a trigger of "{{.Trigger}}" failed.',
  'api.command.execute_command.failed_resp.app_error': 'Command with a trigger of "{{.Trigger}}" returned response {{.Status}}.',
  'api.command.command_post.forbidden.app_error': 'Specified user is not a member of specified channel.',
  'store.sql_command.save.get.app_error': 'Unable to get the command.',
  'app.preference.get.app_error': 'Unable to find preference.',
  'ent.saml.license_disable.app_error': 'Your license does not support SAML authentication.',
  'api.user.update_user_auth.invalid_request': 'Invalid request: auth_data and auth_service are required.',
  'api.user.update_active.not_enable.app_error': 'You cannot deactivate yourself because this feature is not enabled. Please contact your System Administrator.',
  'api.user.update_active.permissions.app_error': 'You do not have the appropriate permissions.',
  'api.user.update_password.incorrect.app_error': 'The "Current Password" you entered is incorrect. Please check that Caps Lock is off and try again.',
  'api.user.check_user_mfa.bad_code.app_error': 'Invalid MFA token.',
  'api.user.get_user_by_email.permissions.app_error': 'Unable to get user by email.',
  'api.user.autocomplete_users.missing_team_id.app_error': 'Team id parameter is required to autocomplete by channel.',
  'api.post.create_post.root_id.app_error': 'Invalid RootId parameter.',
  'api.post.create_post.can_not_post_to_deleted.error': 'Can not post to deleted channel.',
  'api.team.invite_members.disabled.app_error': 'Email invitations are disabled.',
  'api.team.remove_member.group_constrained.app_error': 'Unable to remove a user from a group-constrained team.',
  'api.team.remove_user_from_team.missing.app_error': 'The user does not appear to be part of this team.',
  'api.channel.add_user_to_channel.type.app_error': 'Can not add user to this channel type.',
  'api.channel.add_members.user_denied': 'Channel membership denied to the following users because of group constraints.',
  'app.channel.add_member.deleted_user.app_error': 'Unable to add the user as a member of the channel.',
  'api.channel.add_user.to.channel.failed.deleted.app_error': 'Failed to add user to channel because they have been removed from the team.',
  'api.channel.remove_channel_member.type.app_error': 'Unable to remove user from a channel.',
  'api.channel.remove_member.group_constrained.app_error': 'Unable to remove a user from a group-constrained channel.',
  'api.channel.remove.default.app_error': 'Unable to remove user from the default channel town-square.',
  'api.file.no_driver.app_error': 'No file driver selected.',
  'api.user.upload_profile_user.no_file.app_error': 'No file under "image" in request.',
  'api.user.upload_profile_user.too_large.app_error': 'Unable to upload profile image. File is too large.',
  'app.file_info.get.app_error': 'Unable to get the file info.',
  'app.command_webhook.get.missing': 'Unable to find the webhook.',
  'web.command_webhook.command.app_error': 'Could not find the command.',
  'web.command_webhook.invalid.app_error': 'Invalid webhook.',
  'app.command_webhook.try_use.invalid': 'Invalid webhook.',
  'api.web_socket_router.bad_seq.app_error': 'Invalid sequence for WebSocket message.',
  'api.web_socket_router.bad_action.app_error': 'Unknown WebSocket action.',
  'api.web_socket_router.not_authenticated.app_error': 'The WebSocket connection is not authenticated. Please log in and try again.',
};

/** AppError with the server's message for `id`. */
export function appError(status: number, id: string, detailed = ''): AppError {
  return new AppError(status, id, MESSAGES[id] ?? id, detailed);
}

export const invalidBodyParam = (name: string): AppError =>
  new AppError(400, 'api.context.invalid_body_param.app_error', `Invalid or missing ${name} in request body.`);
export const invalidUrlParam = (name: string): AppError =>
  new AppError(400, 'api.context.invalid_url_param.app_error', `Invalid or missing ${name} parameter in request URL.`);
export const forbidden = (userId = '', permission = ''): AppError =>
  appError(403, 'api.context.permissions.app_error', userId ? `userId=${userId}, permission=${permission}` : '');
export const sessionExpired = (): AppError => appError(401, 'api.context.session_expired.app_error', 'UserRequired');
export const notFound = (id: string): AppError => appError(404, id);

/** The wire body of an AppError (developer mode decides `detailed_error`). */
export function appErrorBody(err: AppError, requestId: string, developer: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {
    id: err.id,
    message: err.message,
    detailed_error: developer ? err.detailed : '',
    status_code: err.status,
  };
  if (requestId) body.request_id = requestId;
  return body;
}

/** What a handler returns. */
export type Reply =
  | { status?: number; json: unknown; headers?: Record<string, string> }
  | { status?: number; text: string; contentType?: string; headers?: Record<string, string> }
  | { status?: number; bytes: Uint8Array; contentType: string; headers?: Record<string, string> };

export const ok = (json: unknown, status = 200): Reply => ({ status, json });
export const statusOk = (): Reply => ({ status: 200, json: { status: 'OK' } });

/** Everything a handler needs about one request. */
export interface RequestCtx {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  /** path below /api/v4, e.g. `/users/me` */
  path: string;
  query: URLSearchParams;
  params: Record<string, string>;
  rawBody: Buffer;
  /** parsed JSON body, undefined when the body is empty or not JSON */
  body: unknown;
  bodyIsJson: boolean;
  requestId: string;
  /** the authenticated caller; routes with `auth: false` may see undefined */
  user: StoredUser | undefined;
  token: string;
  store: FakeStore;
}

/** The authenticated caller (routes marked `auth: true` always have one). */
export function caller(ctx: RequestCtx): StoredUser {
  if (!ctx.user) throw sessionExpired();
  return ctx.user;
}

/** Parses the JSON body with `schema`, answering 400 invalid_body_param(`name`) on failure. */
export function parseBody<T>(ctx: RequestCtx, schema: z.ZodType<T>, name: string): T {
  if (!ctx.bodyIsJson) throw invalidBodyParam(name);
  const r = schema.safeParse(ctx.body);
  if (!r.success) throw invalidBodyParam(name);
  return r.data;
}

/** Paging params (docs/mattermost-notes.md § conventions): page default 0, per_page default 60, clamped to 200. */
export function paging(ctx: RequestCtx): { page: number; perPage: number } {
  const pageRaw = ctx.query.get('page');
  const perRaw = ctx.query.get('per_page');
  const page = pageRaw === null || pageRaw === '' ? 0 : Number(pageRaw);
  let perPage = perRaw === null || perRaw === '' ? 60 : Number(perRaw);
  if (!Number.isInteger(page) || page < 0) throw invalidUrlParam('page');
  if (!Number.isInteger(perPage) || perPage < 0) throw invalidUrlParam('per_page');
  if (perPage > 200) perPage = 200;
  return { page, perPage };
}

export function pageOf<T>(items: T[], p: { page: number; perPage: number }): T[] {
  return items.slice(p.page * p.perPage, p.page * p.perPage + p.perPage);
}

export type Handler = (ctx: RequestCtx) => Reply | Promise<Reply>;

interface Route {
  method: string;
  pattern: string;
  regex: RegExp;
  names: string[];
  auth: boolean;
  handler: Handler;
}

/** Routes `METHOD /path/{param}` to handlers; `{param}` matches one path segment, `{param:regex}` one matching `regex`. */
export class Router {
  private routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler, opts: { auth?: boolean } = {}): void {
    const names: string[] = [];
    // `{name}` matches one path segment; `{name:[A-Za-z0-9]+}` a segment of that class only,
    // like the gorilla/mux routes of api4 (anything else then falls through to 404)
    const src = pattern
      .split(/(\{\w+(?::[^}]+)?\})/)
      .map((part) => {
        const m = /^\{(\w+)(?::([^}]+))?\}$/.exec(part);
        if (!m) return part.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&');
        names.push(m[1] ?? '');
        return `(${m[2] ?? '[^/]+'})`;
      })
      .join('');
    this.routes.push({ method, pattern, regex: new RegExp(`^${src}/?$`), names, auth: opts.auth ?? true, handler });
  }

  /** Route for a method and path; `methodMismatch` when the path exists for another method. */
  match(method: string, path: string): { route: Route; params: Record<string, string> } | { methodMismatch: boolean } {
    let methodMismatch = false;
    for (const route of this.routes) {
      const m = route.regex.exec(path);
      if (!m) continue;
      if (route.method !== method) {
        methodMismatch = true;
        continue;
      }
      const params: Record<string, string> = {};
      route.names.forEach((n, i) => {
        params[n] = decodeURIComponent(m[i + 1] ?? '');
      });
      return { route, params };
    }
    return { methodMismatch };
  }
}

export const isId = (s: string | undefined): s is string => typeof s === 'string' && /^[a-z0-9]{26}$/.test(s);

/** Reads a path id param, answering 400 invalid_url_param when it is not a 26-char id. */
export function idParam(ctx: RequestCtx, name: string): string {
  const v = ctx.params[name];
  if (!isId(v)) throw invalidUrlParam(name);
  return v;
}
