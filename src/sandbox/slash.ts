/**
 * Custom slash commands the way the server runs them (docs/mattermost-notes.md §4): find the team's
 * command by trigger, POST the form body to the integration with
 * `Authorization: Token <command token>`, parse the reply (JSON only for
 * `application/json`), and turn it into posts or ephemeral posts authored by the
 * invoking user. Also the `response_url` hooks (docs/mattermost-notes.md §4.4).
 */
import { z } from 'zod';
import { newId } from './ids.js';
import { AppError, appError } from './http.js';
import type { CommandHook, SandboxCore } from './core.js';
import type { Post, StoredChannel, StoredCommand, StoredUser } from './store.js';
import { slackLinksToMarkdown } from './post-actions.js';

/** Built-in triggers a custom command cannot take (docs/mattermost-notes.md §4.3a). */
export const BUILT_IN_TRIGGERS: readonly string[] = [
  'away', 'header', 'purpose', 'rename', 'code', 'status', 'dnd', 'echo', 'expand', 'collapse', 'exportlink',
  'groupmsg', 'help', 'invite', 'invite_people', 'join', 'leave', 'test', 'logout', 'marketplace', 'me',
  'mobile-logs', 'msg', 'mute', 'offline', 'online', 'open', 'secure-connection', 'remove', 'kick', 'search',
  'settings', 'shortcuts', 'share-channel', 'shrug',
];

const responseBase = z.object({
  response_type: z.string().optional(),
  text: z.string().optional(),
  username: z.string().optional(),
  icon_url: z.string().optional(),
  channel_id: z.string().optional(),
  type: z.string().optional(),
  props: z.record(z.string(), z.unknown()).nullish(),
  goto_location: z.string().optional(),
  trigger_id: z.string().optional(),
  skip_slack_parsing: z.boolean().optional(),
  attachments: z.array(z.unknown()).nullish(),
});
/** CommandResponse (docs/mattermost-notes.md §4.2). */
export const commandResponseSchema = responseBase.extend({ extra_responses: z.array(responseBase).nullish() });
export type CommandResponse = z.infer<typeof commandResponseSchema>;

/** What running a slash command produced. */
export interface SlashResult {
  /** HTTP status the integration answered with (0 if it was never reached) */
  status: number;
  /** the parsed reply (a text reply becomes `{ text }`); undefined on failure */
  response?: CommandResponse;
  /** the AppError the server would answer POST /commands/execute with, if it failed */
  error?: { id: string; message: string; detailed_error: string; status_code: number };
  /** normal posts created from the reply */
  posts: Post[];
  /** ephemeral posts sent to the invoker */
  ephemeral: Post[];
  /** what was sent to the integration */
  request?: { url: string; method: 'POST' | 'GET'; headers: Record<string, string>; form: URLSearchParams };
  /** `<SiteURL>/hooks/commands/<id>` given to the integration */
  responseUrl: string;
  triggerId: string;
}

export interface RunArgs {
  user: StoredUser;
  channel: StoredChannel;
  /** the team whose commands to search; DM/GM channels need it */
  teamId: string;
  /** the full command line, e.g. `/whois @ann` */
  command: string;
  rootId?: string;
  /**
   * Attack simulation: the `response_url` a forged request would carry instead of the
   * hook URL the server makes (the real server always sends its own; a forger replaying
   * a captured form can put anything there). The hook is still created.
   */
  forgedResponseUrl?: string;
}

const toErr = (e: AppError): NonNullable<SlashResult['error']> => ({ id: e.id, message: e.message, detailed_error: e.detailed, status_code: e.status });

/** Splits `/trigger text` → [trigger lowercased, text trimmed]. */
export function splitCommand(command: string): { trigger: string; text: string } {
  const body = command.slice(1);
  const m = /^(\S+)(?:\s+([\s\S]*))?$/.exec(body);
  return { trigger: (m?.[1] ?? '').toLowerCase(), text: (m?.[2] ?? '').trim() };
}

export class SlashRunner {
  constructor(private readonly core: SandboxCore) {}

  findCommand(teamId: string, trigger: string): StoredCommand | undefined {
    for (const c of this.core.store.commands.values()) if (c.team_id === teamId && c.delete_at === 0 && c.trigger === trigger) return c;
    return undefined;
  }

  /** Runs a command line as `args.user`; failures come back in `error` (never thrown). */
  async run(args: RunArgs): Promise<SlashResult> {
    const result: SlashResult = { status: 0, posts: [], ephemeral: [], responseUrl: '', triggerId: '' };
    try {
      await this.runInner(args, result);
    } catch (e) {
      if (e instanceof AppError) result.error = toErr(e);
      else throw e;
    }
    return result;
  }

  private async runInner(args: RunArgs, result: SlashResult): Promise<void> {
    const { core } = this;
    const store = core.store;
    if (!store.config.enableCommands) throw appError(501, 'api.command.disabled.app_error');
    if (!args.command.startsWith('/') || args.command.length <= 1) throw appError(400, 'api.command.execute_command.start.app_error');
    const { trigger, text } = splitCommand(args.command);
    const cmd = this.findCommand(args.teamId, trigger);
    if (!cmd) throw new AppError(404, 'api.command.execute_command.not_found.app_error', `Command with a trigger of "${trigger}" not found.`);
    if (!store.config.siteUrl) throw new AppError(400, 'api.command.execute_command.site_url_required.app_error', 'SiteURL is required to run custom slash commands.');
    const team = store.teams.get(args.teamId);
    const hook: CommandHook = {
      id: newId(),
      commandId: cmd.id,
      userId: args.user.id,
      channelId: args.channel.id,
      teamId: args.teamId,
      rootId: args.rootId ?? '',
      createAt: Date.now(),
      useCount: 0,
    };
    core.hooks.set(hook.id, hook);
    result.responseUrl = args.forgedResponseUrl ?? `${store.config.siteUrl}/hooks/commands/${hook.id}`;
    // signed for the invoking user (server/channels/app/command.go ExecuteCommand →
    // model.GenerateTriggerId); a server without a signing key sends an empty one
    result.triggerId = store.config.signingKey ? core.issueTrigger(args.user.id, args.channel.id, args.teamId).triggerId : '';

    const form = new URLSearchParams();
    form.append('channel_id', args.channel.id);
    form.append('channel_name', args.channel.name);
    form.append('command', `/${trigger}`);
    form.append('response_url', result.responseUrl);
    form.append('root_id', args.rootId ?? '');
    form.append('team_domain', team?.name ?? '');
    form.append('team_id', args.teamId);
    form.append('text', text);
    form.append('token', cmd.token);
    form.append('trigger_id', result.triggerId);
    form.append('user_id', args.user.id);
    form.append('user_name', args.user.username);
    for (const m of text.matchAll(/(?:^|\s)@([a-z0-9][a-z0-9._-]*)/gi)) {
      const u = store.userByUsername((m[1] ?? '').replace(/[._-]+$/, ''));
      if (u && store.isTeamMember(args.teamId, u.id)) {
        form.append('user_mentions', u.username);
        form.append('user_mentions_ids', u.id);
      }
    }
    for (const m of text.matchAll(/(?:^|\s)~([a-z0-9][a-z0-9_-]*)/gi)) {
      const ch = store.channelByName(args.teamId, (m[1] ?? '').toLowerCase());
      if (ch && ch.type === 'O') {
        form.append('channel_mentions', ch.name);
        form.append('channel_mentions_ids', ch.id);
      }
    }
    form.sort();

    const method = cmd.method === 'G' ? 'GET' : 'POST';
    const headers: Record<string, string> = { Accept: 'application/json', Authorization: `Token ${cmd.token}` };
    let url = cmd.url;
    if (method === 'POST') headers['Content-Type'] = 'application/x-www-form-urlencoded';
    else {
      const u = new URL(cmd.url);
      for (const [k, v] of form) u.searchParams.append(k, v);
      url = u.toString();
    }
    result.request = { url, method, headers, form };
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        body: method === 'POST' ? form.toString() : undefined,
        signal: AbortSignal.timeout(store.config.outgoingIntegrationTimeoutSec * 1000),
      });
    } catch (e) {
      throw new AppError(500, 'api.command.execute_command.failed.app_error', `Command with a trigger of "${trigger}" failed.`, String(e));
    }
    result.status = res.status;
    const bodyText = await res.text();
    if (res.status !== 200) {
      throw new AppError(500, 'api.command.execute_command.failed_resp.app_error', `Command with a trigger of "${trigger}" returned response ${res.status}.`, `body=${bodyText.slice(0, 1000)}`);
    }
    const response = parseReply(res.headers.get('content-type'), bodyText, trigger);
    result.response = response;
    await this.handleResponse(cmd, hook, response, result);
  }

  /** Turns a CommandResponse (and its extra_responses) into posts (docs/mattermost-notes.md §4.2). */
  async handleResponse(cmd: StoredCommand, hook: CommandHook, response: CommandResponse, result: Pick<SlashResult, 'posts' | 'ephemeral'>): Promise<void> {
    const { core } = this;
    const store = core.store;
    const user = store.users.get(hook.userId);
    if (!user) throw appError(404, 'app.user.missing_account.const');
    const all = [response, ...(response.extra_responses ?? [])];
    for (const r of all) {
      if (r.type?.startsWith('system_')) {
        throw new AppError(400, 'api.command.execute_command.create_post_failed.app_error', 'Command response post type is not allowed.');
      }
      const channelId = r.channel_id || hook.channelId;
      if (channelId !== hook.channelId && !store.isChannelMember(channelId, user.id)) throw appError(403, 'api.command.command_post.forbidden.app_error');
      const channel = store.channels.get(channelId);
      if (!channel) throw appError(404, 'app.channel.get.existing.app_error');
      const props: Record<string, unknown> = { ...(r.props ?? {}) };
      // model/slack_attachment.go ParseSlackAttachment: top-level attachments (even an empty
      // list, a non-nil Go slice) become props.attachments and the type slack_attachment
      let type = r.type ?? '';
      if (r.attachments != null) {
        props.attachments = parseSlackAttachments(r.attachments);
        if (!type) type = 'slack_attachment';
      }
      const overrideUsername = store.config.enablePostUsernameOverride ? cmd.username || r.username || '' : '';
      const overrideIconUrl = store.config.enablePostIconOverride ? cmd.icon_url || r.icon_url || '' : '';
      const text = r.skip_slack_parsing ? (r.text ?? '') : slackLinksToMarkdown(r.text ?? '');
      if (r.response_type === 'in_channel') {
        result.posts.push(core.createPost(user, channel, { message: text, rootId: hook.rootId, props, type }, { fromWebhook: true, overrideUsername, overrideIconUrl }));
      } else {
        // app/command.go CreateCommandPost: an ephemeral reply needs text or top-level
        // attachments; attachments only inside props, with no text, are dropped (§8.1d).
        // SendEphemeralPost then sets the type to system_ephemeral.
        if (!text && r.attachments == null) continue;
        result.ephemeral.push(core.sendEphemeral(user.id, channel.id, text, { rootId: hook.rootId, props: { ...props, from_webhook: 'true' }, authorId: user.id }));
      }
    }
  }

  /** POST /hooks/commands/{id}: 5 uses within 30 minutes (docs/mattermost-notes.md §4.4). */
  async useHook(hookId: string, contentType: string | undefined, body: string): Promise<Pick<SlashResult, 'posts' | 'ephemeral'>> {
    const hook = this.core.hooks.get(hookId);
    // server/channels/app/webhook.go HandleCommandWebhook: an unknown or expired hook
    // (the store's Get only finds hooks younger than CommandWebhookLifetime) is 404;
    // a sixth use fails TryUse with 400
    if (!hook || Date.now() - hook.createAt > 30 * 60_000) throw appError(404, 'app.command_webhook.get.missing');
    if (hook.useCount >= 5) throw appError(400, 'app.command_webhook.try_use.invalid');
    hook.useCount += 1;
    const cmd = this.core.store.commands.get(hook.commandId);
    if (!cmd) throw appError(400, 'web.command_webhook.invalid.app_error');
    const response = parseReply(contentType ?? null, body, cmd.trigger);
    const out = { posts: [] as Post[], ephemeral: [] as Post[] };
    await this.handleResponse(cmd, hook, response, out);
    return out;
  }
}

/** JSON only when the media type is exactly application/json; otherwise the body is the text. */
function parseReply(contentType: string | null, body: string, trigger: string): CommandResponse {
  const media = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (media !== 'application/json') return { text: body };
  try {
    const r = commandResponseSchema.safeParse(JSON.parse(body));
    if (r.success) return r.data;
  } catch {
    /* fall through */
  }
  throw new AppError(500, 'api.command.execute_command.failed.app_error', `Command with a trigger of "${trigger}" failed.`, 'invalid JSON reply');
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** ParseSlackAttachment: null entries dropped; text, pretext and string field values get Slack links → Markdown. */
function parseSlackAttachments(attachments: unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const a of attachments) {
    if (a === null || a === undefined) continue;
    if (!isRecord(a)) {
      out.push(a);
      continue;
    }
    const copy: Record<string, unknown> = structuredClone(a);
    if (typeof copy.text === 'string') copy.text = slackLinksToMarkdown(copy.text);
    if (typeof copy.pretext === 'string') copy.pretext = slackLinksToMarkdown(copy.pretext);
    if (Array.isArray(copy.fields)) for (const f of copy.fields) if (isRecord(f) && typeof f.value === 'string') f.value = slackLinksToMarkdown(f.value);
    out.push(copy);
  }
  return out;
}
