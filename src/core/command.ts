/**
 * The command definition type and the context a command runs in.
 *
 * A command is one file in `commands/` exporting `defineCommand({...})`. It has one
 * or more subcommands (the default one is named ''). Each subcommand declares the
 * permission it needs (and at which scope), for acting on oneself and on others;
 * the dispatcher checks it *before* validating arguments and before `execute` runs,
 * and `manifest.json` and `help` are generated from the same declarations.
 *
 * @example
 *   export default defineCommand({
 *     name: 'whois', summary: 'Show who someone is', hint: '@user | email | id',
 *     subcommands: [defineSubcommand({
 *       name: '', usage: 'whois @user', summary: 'Profile card', examples: ['whois @ann'],
 *       positional: ['target'], args: z.object({ target: z.string() }),
 *       access: { self: null },
 *       async execute(ctx) { ... return reply([...]); },
 *     })],
 *   });
 */
import type { z } from 'zod';
import type { Logger } from '../log/logger.js';
import type { MattermostApi } from '../mattermost/api.js';
import type { Channel, Team, User } from '../mattermost/models.js';
import type { Reply } from './reply.js';

/** The logger type lives in src/log/logger.ts (below every layer); commands take it from here. */
export type { Logger };

/** A Mattermost permission id, e.g. `manage_system`, `edit_other_users`, `view_team`. */
export type PermissionId = string;

export type Scope = 'system' | 'team' | 'channel';

/** "needs `permission` at `scope`" */
export interface Requirement {
  permission: PermissionId;
  scope: Scope;
}

/**
 * Who may run a subcommand. `self` applies when there is no target or the target
 * is the caller; `other` when the target is someone else (defaults to `self`).
 * `null` means any active human user.
 */
export interface Access {
  self: Requirement | null;
  other?: Requirement | null;
  /**
   * Mirrors the server's SessionHasPermissionToUser: acting on a system admin
   * additionally needs `manage_system`.
   */
  adminTargetNeedsManageSystem?: boolean;
}

/** Where the invocation came from, in transport-neutral form. */
export interface Invocation {
  source: 'slash' | 'dm' | 'mention';
  /**
   * whether the transport can show an answer to the caller alone without storing it
   * (slash: the ephemeral response; DM and mention: only with `create_post_ephemeral`).
   * `false` makes the dispatcher refuse sensitive subcommands before they run.
   * Default: true.
   */
  privateReplies?: boolean;
  /** the command text: `whois @ann` (no trigger, no bot mention) */
  text: string;
  userId: string;
  /** the channel the command was typed in */
  channelId: string;
  /** '' for DMs and GMs */
  teamId: string;
  /** thread to answer in ('' = not in a thread) */
  rootId: string;
  /** the post that carried the command (DM and mention only) */
  postId?: string;
  /** file ids attached to that post (DM `avatar` upload) */
  fileIds?: string[];
  /** usernames → ids the server resolved for a slash command (`user_mentions`) */
  userMentions?: Record<string, string>;
  /** channel names → ids the server resolved for a slash command (`channel_mentions`) */
  channelMentions?: Record<string, string>;
  /**
   * true when nothing proves that `userId` sent this (a slash request from a server that
   * signs no trigger_id): privileged subcommands are refused (dispatcher)
   */
  unverifiedCaller?: boolean;
  /**
   * Set only by the bot itself after it verified a signed click or dialog
   * (src/services/confirmations.ts): the person confirmed this, or someone else approved it.
   * `targetId` = the user the confirmation was shown for (the run stops if the name now
   * means someone else).
   */
  confirmed?: {
    by: 'click' | 'approval' | 'dialog';
    approver?: { id: string; username: string };
    targetId?: string;
    /**
     * digests of every value the preview showed or derived, by what it is
     * (commands/lib/admin-users.ts `askFirst`): the run stops if the world no longer matches
     */
    pins?: Record<string, string>;
  };
  /** the request carries a `trigger_id`, so a dialog can be opened for the caller (slash, clicks) */
  canOpenDialog?: boolean;
  /** a value typed into a dialog's password field: never from chat text, never logged */
  secret?: string;
  /** ms since epoch */
  receivedAt: number;
}

/** Positional and flag arguments after the command and subcommand words. */
export type RawArgs = Record<string, unknown> & { _: string[] };

/** Resolves user references typed by people: `@name`, `name`, email, id, "Full Name". */
export interface UserDirectory {
  /** One user; throws UserError `not_found` or `ambiguous` (with candidates). */
  resolve(ref: string): Promise<User>;
  /** Many users in batch calls; unknown refs are returned in `notFound`. */
  resolveMany(refs: string[]): Promise<{ found: Array<{ ref: string; user: User }>; notFound: string[] }>;
  /** Users by id, cached, in one batch call for the misses. */
  byIds(ids: string[]): Promise<Map<string, User>>;
  /**
   * The items about people the caller may see (the server's rule, docs/mattermost-notes.md
   * §2.3): for lists the bot reads with its own token (search, autocomplete, members).
   * Everything else the directory returns is already cut to them.
   */
  visible<T>(items: readonly T[], idOf: (item: T) => string): Promise<T[]>;
}

/** Permission checks bound to the caller (see core/permissions). */
export interface CallerPermissions {
  /** true when the caller holds `req` at the given scope */
  can(req: Requirement, where?: { teamId?: string; channelId?: string }): Promise<boolean>;
  /** throws UserError `forbidden` naming the permission and scope */
  require(req: Requirement, where?: { teamId?: string; channelId?: string }): Promise<void>;
}

/**
 * Long-lived services a few commands use; absent ones are `undefined`. A feature's own
 * service adds its member where the feature lives, by declaration merging (as Sapphire's
 * plugins add to its `Container`), so this layer names no feature above it:
 * `botStatus` (src/services/bot-status.ts), `watches` (src/services/health-watch.ts).
 */
export interface Services {
  /** an audit line for a privileged action (src/core/audit.ts) */
  audit(entry: AuditEntry): void;
  /** Every command definition (for `help`). */
  commands(): readonly CommandDefinition[];
  /** Extra requirements the operator's policy adds (see MMOPS_POLICY). */
  policy: Policy;
  /** The Mattermost server's base URL (`MM_URL`), for links such as profile images. */
  siteUrl?: string;
  /** How slash commands reach the bot (`MMOPS_ROOT_TRIGGER`, `MMOPS_TRIGGER_PREFIX`), for hints. */
  triggers?: { root: string; prefix: string };
  /**
   * Whether the bot account itself holds `req` (at `where`). A subcommand whose
   * `botNeeds` the bot lacks cannot be carried out for anyone; `help` marks it.
   */
  botCan?(req: Requirement, where?: { teamId?: string; channelId?: string }): Promise<boolean>;
}

/** The operator's policy file: it can only add requirements, never remove the server's. */
export interface Policy {
  /** requirements added on top of the subcommand's own (`''` = default subcommand) */
  extraRequirements(command: string, subcommand: string): Requirement[];
}

export interface AuditEntry {
  who: { id: string; username: string };
  command: string;
  target?: string;
  scope: string;
  outcome: 'allowed' | 'refused' | 'succeeded' | 'failed' | 'requested' | 'cancelled';
  ref: string;
  detail?: string;
  /** how it was confirmed: `click`, or `approval by @bob` */
  confirmedBy?: string;
}

export interface CommandContext<A = unknown> {
  /** arguments, validated by the subcommand's zod schema */
  args: A;
  invocation: Invocation;
  /** the person who typed the command (fresh or cached, active, human) */
  caller: User;
  /**
   * `caller` and `target` were read from the server for this invocation (a privileged
   * subcommand acting with a permission or on someone else); otherwise they may be cached.
   */
  fresh?: boolean;
  /** resolved when the subcommand declares `target` and one was given */
  target?: User;
  /** resolved when the subcommand declares `scope` (else the invocation's team/channel, if any) */
  team?: Team;
  channel?: Channel;
  /**
   * The Mattermost API, bound to this invocation's deadline (`bindSignal`,
   * src/mattermost/bound-signal.ts): calls need no `{ signal }`; one passed still wins.
   */
  api: MattermostApi;
  users: UserDirectory;
  perms: CallerPermissions;
  services: Services;
  log: Logger;
  /** reference id of this invocation (in logs and in apologies) */
  ref: string;
  /**
   * A second person must approve this subcommand (MMOPS_POLICY approvals): a `confirm`
   * subcommand must preview every change, even one it would otherwise make without asking
   * (e.g. `team add` for a few people).
   */
  mustConfirm?: boolean;
  /** aborts when the invocation's deadline passes */
  signal: AbortSignal;
  now(): number;
}

export interface SubcommandDefinition<S extends z.ZodType = z.ZodType> {
  /** '' for the default subcommand (`whois @ann`), else the first word (`whois search x`) */
  name: string;
  summary: string;
  /** `teams members <team> [--page N]` (no leading slash; the renderer adds it) */
  usage: string;
  examples: string[];
  /** names for positional arguments, in order; a trailing `...` collects the rest into an array */
  positional?: string[];
  /** zod schema over `{ ...named positionals, ...flags }` */
  args: S;
  access: Access;
  /** the raw argument naming the user acted on (for self-versus-other); undefined = self */
  target?: (raw: Record<string, unknown>) => string | undefined;
  /** team / channel the requirement is checked in, from raw args (default: where the command was typed) */
  scope?: (raw: Record<string, unknown>) => { team?: string; channel?: string };
  /**
   * What the bot account itself must hold to carry this out (it calls the API with
   * its own token, so acting on the caller is "other" from the server's view).
   * Checked against the bot's own rights; when missing the caller is told
   * "not available: the bot account lacks X". Default: none.
   */
  botNeeds?: Requirement[];
  /** changes something on the server; implies {@link fresh} */
  destructive?: boolean;
  /**
   * A privileged action: decide on the caller's and the target's current roles, read from
   * the server for this invocation (once each, however many checks), never on the cache.
   * Implied by `destructive` and `sensitive`; declare it on other privileged actions
   * (setting someone else's status or picture, system administration). Cheap reads
   * (help, own status, whois) leave it off and keep the cache.
   */
  fresh?: boolean;
  /** output must only reach the caller (never a channel) */
  sensitive?: boolean;
  /**
   * Asks before changing anything: without `--yes` (args key `yes`) execute changes nothing
   * and throws UserError `needs_confirmation` whose message previews the change. The
   * dispatcher then offers Confirm/Cancel buttons, or sends the request for approval when
   * the policy says so (src/services/confirmations.ts).
   */
  confirm?: boolean;
  /**
   * A longer deadline than the dispatcher's default (25 s) for work that pages through the
   * whole workspace (an export): ms, or a function of the words after the subcommand
   * (`--csv` makes a list an export); undefined keeps the default. Never shorter.
   */
  deadlineMs?: number | ((words: readonly string[]) => number | undefined);
  execute(ctx: CommandContext<z.infer<S>>): Promise<Reply>;
}

export interface CommandDefinition {
  name: string;
  summary: string;
  /** autocomplete hint shown by the Mattermost client */
  hint: string;
  /** whether the command gets its own trigger (`/whois`); built-ins like status/help do not */
  ownTrigger: boolean;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  subcommands: Array<SubcommandDefinition<any>>;
}

/** Identity helper that keeps the subcommand's arg types. */
export function defineSubcommand<S extends z.ZodType>(def: SubcommandDefinition<S>): SubcommandDefinition<S> {
  return def;
}

/** Identity helper for a command file's default export. */
export function defineCommand(def: CommandDefinition): CommandDefinition {
  return def;
}
