/**
 * Interactive message clicks (docs/mattermost-notes.md §8.3-8.5): POST
 * /posts/{post_id}/actions/{action_id}, the request the server then sends to the
 * action's integration URL, and what it does with the answer. Server source:
 * `server/channels/api4/integration_action.go` doPostAction, `server/channels/app/integration_action.go`
 * DoPostActionWithCookie / DoActionRequest / applyPostActionUpdate.
 */
import { z } from 'zod';
import { AppError, appError, caller, forbidden, idParam, notFound, ok, type Router } from './http.js';
import { ephemeralPostRecord, type SandboxCore } from './core.js';
import { clientPost, findAction, openCookie, RETAIN_PROP_KEYS, slackLinksToMarkdown, type PostActionCookie } from './post-actions.js';
import type { Post, StoredChannel, StoredUser } from './store.js';
import type { SubmitDialogBody } from './routes-dialogs.js';

/** One request the sandbox sent to an integration for a click or a dialog submission. */
export interface IntegrationCall {
  kind: 'action' | 'dialog_submit';
  url: string;
  /** the JSON body sent */
  body: ActionIntegrationRequest | SubmitDialogBody;
  headers: Record<string, string>;
  /** HTTP status of the answer, 0 when none arrived */
  status: number;
  /** the answer's body (first 64 KiB) */
  response: string;
  at: number;
}

/** model.PostActionIntegrationRequest: what an integration receives on a click, in the server's field order. */
export interface ActionIntegrationRequest {
  user_id: string;
  user_name: string;
  channel_id: string;
  channel_name: string;
  team_id: string;
  team_domain: string;
  post_id: string;
  trigger_id: string;
  type: string;
  data_source: string;
  /** omitted when empty (Go `omitempty`) */
  context?: Record<string, unknown>;
}

/** model.PostActionAPIResponse: the clicker's answer (`goto_location` on current servers). */
export interface ActionApiResponse {
  status: 'OK';
  trigger_id: string;
  goto_location?: string;
}

/** model.PostActionIntegrationResponse (`goto_location` on current servers). */
const actionResponseSchema = z
  .object({
    update: z
      .object({
        message: z.string().optional(),
        props: z.record(z.string(), z.unknown()).nullish(),
        file_ids: z.array(z.string()).nullish(),
        root_id: z.string().optional(),
        user_id: z.string().optional(),
        create_at: z.number().optional(),
      })
      .nullish(),
    ephemeral_text: z.string().optional(),
    skip_slack_parsing: z.boolean().optional(),
    goto_location: z.string().optional(),
  })
  .nullable();

const actionError = (detail: string, status = 400): AppError =>
  new AppError(status, 'api.post.do_action.action_integration.app_error', 'Action integration error.', detail);

/** MaxIntegrationResponseSize (app/integration_action.go): the rest of a larger answer is not read. */
const MAX_RESPONSE = 1024 * 1024;

/** SessionHasPermissionToReadChannel: read_channel_content, or read_public_channel on the team for an open channel. */
export function canReadChannel(core: SandboxCore, user: StoredUser, channel: StoredChannel): boolean {
  const store = core.store;
  if (store.hasChannelPermission(user, channel.id, 'read_channel_content')) return true;
  return channel.type === 'O' && store.hasTeamPermission(user, channel.team_id, 'read_public_channel');
}

/**
 * POSTs `body` as JSON to an integration the way DoActionRequest does: Content-Type and
 * Accept JSON, no signature header, OutgoingIntegrationRequestsTimeout; anything but
 * HTTP 200 (or no answer) is 400 api.post.do_action.action_integration.app_error.
 */
export async function callIntegration(core: SandboxCore, kind: IntegrationCall['kind'], url: string, body: ActionIntegrationRequest | SubmitDialogBody): Promise<string> {
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
  const call: IntegrationCall = { kind, url, body, headers, status: 0, response: '', at: Date.now() };
  core.integrationCalls.push(call);
  // plugin URLs (/plugins/...) are served inside the server; the sandbox has no plugins
  if (!/^https?:\/\//i.test(url)) throw actionError(`url=${url}`);
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(core.store.config.outgoingIntegrationTimeoutSec * 1000) });
  } catch (e) {
    throw actionError(`err=${String(e)}`);
  }
  call.status = res.status;
  const text = (await res.text()).slice(0, MAX_RESPONSE);
  call.response = text.slice(0, 64 * 1024);
  if (res.status !== 200) throw actionError(`status=${res.status}`);
  return text;
}

interface ClickSetup {
  url: string;
  channel: StoredChannel;
  type: string;
  dataSource: string;
  context: Record<string, unknown> | undefined;
  retain: Record<string, unknown>;
  remove: string[];
  rootPostId: string;
  /** the stored post, undefined for an ephemeral post (cookie) */
  post: Post | undefined;
  cookieRootPostId: string;
}

export function registerActionRoutes(r: Router, core: SandboxCore): void {
  const store = core.store;

  r.add('POST', '/posts/{post_id}/actions/{action_id:[A-Za-z0-9]+}', async (ctx) => {
    const me = caller(ctx);
    const postId = idParam(ctx, 'post_id');
    const actionId = ctx.params.action_id ?? '';
    // DoPostActionRequest; the server only logs a body it cannot decode
    const body = ctx.bodyIsJson && typeof ctx.body === 'object' && ctx.body !== null ? ctx.body : {};
    const selectedOption = 'selected_option' in body && typeof body.selected_option === 'string' ? body.selected_option : '';
    const cookieText = 'cookie' in body && typeof body.cookie === 'string' ? body.cookie : '';

    // api4 doPostAction: with a cookie, read access to the cookie's channel; without, to the post's
    let cookie: PostActionCookie | undefined;
    if (cookieText) {
      cookie = openCookie(core.cookieSecret, cookieText);
      if (!cookie) throw actionError('cookie did not decrypt');
      const ch = store.channels.get(cookie.channel_id ?? '');
      if (!ch) throw notFound('app.channel.get.existing.app_error');
      if (!canReadChannel(core, me, ch)) throw forbidden(me.id, 'read_channel_content');
    } else {
      const anyPost = store.posts.find((p) => p.id === postId);
      if (!store.hasChannelPermission(me, anyPost?.channel_id ?? '', 'read_channel_content')) throw forbidden(me.id, 'read_channel_content');
    }

    const setup = resolve(postId, actionId, cookie);
    const compat = store.config.actionsCompat;
    const team = setup.channel.team_id ? store.teams.get(setup.channel.team_id) : undefined;
    if (setup.channel.team_id && !team) throw notFound('app.team.get.find.app_error');
    let context = setup.context ? structuredClone(setup.context) : undefined;
    let dataSource = '';
    // current servers add selected_option for any type; older ones for `select` only
    if (selectedOption && (compat === 'current' || setup.type === 'select')) {
      context = { ...(context ?? {}), selected_option: selectedOption };
      dataSource = setup.dataSource;
    }
    // PostActionIntegrationRequest.GenerateTriggerId, for the clicker; a client in a DM would
    // submit a dialog with its current team, here the clicker's first team
    const firstTeam = store.teamMembers.find((m) => m.user_id === me.id && m.delete_at === 0)?.team_id ?? '';
    const trigger = core.issueTrigger(me.id, setup.channel.id, setup.channel.team_id || firstTeam);
    const request: ActionIntegrationRequest = {
      user_id: me.id,
      user_name: me.username,
      channel_id: setup.channel.id,
      channel_name: setup.channel.name,
      team_id: setup.channel.team_id,
      team_domain: team?.name ?? '',
      post_id: postId,
      trigger_id: trigger.triggerId,
      type: setup.type,
      data_source: dataSource,
    };
    if (context && Object.keys(context).length > 0) request.context = context;

    const text = await callIntegration(core, 'action', setup.url, request);
    let parsed: z.infer<typeof actionResponseSchema> = null;
    // before 5.38 the answer is decoded with json.NewDecoder(...).Decode: an empty body is EOF (versions.ts)
    if (text.length === 0 && !core.profile.emptyActionAnswerOk) throw actionError('err=EOF');
    if (text.length > 0) {
      try {
        const r = actionResponseSchema.safeParse(JSON.parse(text));
        if (!r.success) throw actionError('response does not decode');
        parsed = r.data;
      } catch (e) {
        if (e instanceof AppError) throw e;
        throw actionError('response is not JSON');
      }
    }

    if (parsed?.update) {
      const u = parsed.update;
      let props: Record<string, unknown>;
      if (u.props == null) {
        if (setup.post) props = setup.post.props;
        else props = compat === 'current' && Object.keys(setup.retain).length > 0 ? { ...setup.retain } : {};
      } else {
        props = { ...u.props, ...setup.retain };
        for (const key of setup.remove) delete props[key];
      }
      if (setup.post) {
        core.updatePost(setup.post, { message: u.message ?? '', props, ...(u.file_ids ? { fileIds: u.file_ids } : {}), isPinned: setup.post.is_pinned });
      } else if (compat === 'old') {
        // UpdatePost finds no row for an ephemeral post: the click fails after the integration ran
        throw notFound('app.post.get.app_error');
      } else {
        const root = u.root_id || (setup.cookieRootPostId && setup.cookieRootPostId !== postId ? setup.cookieRootPostId : '');
        const now = Date.now();
        core.updateEphemeral(
          me.id,
          ephemeralPostRecord({ id: postId, createAt: u.create_at ?? 0, updateAt: now, userId: u.user_id || me.id, channelId: setup.channel.id, rootId: root, message: u.message ?? '', props }),
        );
      }
    }
    if (parsed?.ephemeral_text) {
      const message = parsed.skip_slack_parsing ? parsed.ephemeral_text : slackLinksToMarkdown(parsed.ephemeral_text);
      core.sendEphemeral(me.id, setup.channel.id, message, { rootId: setup.rootPostId, props: { ...setup.retain }, authorId: me.id });
    }
    const reply: ActionApiResponse = { status: 'OK', trigger_id: trigger.clientTriggerId };
    if (compat === 'current' && parsed?.goto_location) reply.goto_location = parsed.goto_location;
    return ok(reply);
  });

  /** DoPostActionWithCookie's lookup: the stored post wins; otherwise the cookie must match. */
  function resolve(postId: string, actionId: string, cookie: PostActionCookie | undefined): ClickSetup {
    const post = store.posts.find((p) => p.id === postId && p.delete_at === 0);
    if (post) {
      const channel = store.channels.get(post.channel_id);
      if (!channel) throw appError(500, 'app.channel.get_for_post.app_error');
      const action = findAction(post.props, actionId);
      if (!action?.integration) throw new AppError(404, 'api.post.do_action.action_id.app_error', 'Unable to find action.', `action_id=${actionId}`);
      const retain: Record<string, unknown> = {};
      const remove: string[] = [];
      for (const key of RETAIN_PROP_KEYS) {
        if (key in post.props) retain[key] = post.props[key];
        else remove.push(key);
      }
      return {
        url: action.integration.url ?? '',
        channel,
        type: action.type,
        dataSource: action.dataSource,
        context: action.integration.context ?? undefined,
        retain,
        remove,
        rootPostId: post.root_id || post.id,
        post,
        cookieRootPostId: '',
      };
    }
    if (!cookie) throw notFound('app.post.get.app_error');
    if (!cookie.integration) throw actionError('no Integration in action cookie');
    if (cookie.post_id !== postId) throw actionError("postId doesn't match");
    const channel = store.channels.get(cookie.channel_id ?? '');
    if (!channel) throw notFound('app.channel.get.existing.app_error');
    return {
      url: cookie.integration.url ?? '',
      channel,
      type: cookie.type ?? '',
      dataSource: cookie.data_source ?? '',
      context: cookie.integration.context ?? undefined,
      retain: cookie.retain_props ?? {},
      remove: cookie.remove_props ?? [],
      rootPostId: cookie.root_post_id ?? '',
      post: undefined,
      cookieRootPostId: cookie.root_post_id ?? '',
    };
  }
}

