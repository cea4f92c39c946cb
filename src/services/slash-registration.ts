/**
 * Registers the bot's slash commands as custom commands of each team, idempotently
 * (docs/mattermost-notes.md §4.3): the team's custom commands are listed first, ours (created by the
 * bot account and pointing at our slash path) are reused and updated when they
 * changed, never duplicated; commands we did not create are never touched.
 *
 * One root trigger (`/mmops`) reaches every command; each command that wants one also
 * gets its own trigger (`/whois`, with MMOPS_TRIGGER_PREFIX). A refused or taken
 * trigger is a single warning saying how to reach the command instead. The tokens of
 * the registered commands are kept so the slash endpoint can verify requests.
 *
 * @example
 *   const slash = createSlashRegistration({ api, logger, botUserId: me.id, commands: allCommands,
 *     rootTrigger: 'mmops', triggerPrefix: '', slashUrl: 'https://bot.example.com/slash' });
 *   await slash.registerTeam(team);
 *   slash.verify(form.token); // → { teamId, trigger: 'whois', command: 'whois' } | undefined
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { CommandDefinition, Logger } from '../core/command.js';
import type { MattermostApi } from '../mattermost/api.js';
import { isApiError, isNetworkError } from '../mattermost/errors.js';
import type { Command, CommandInput, Team } from '../mattermost/models.js';
import { BUILT_IN_TRIGGERS } from '../config.js';

/** The HTTP path (under MMOPS_PUBLIC_URL) that Mattermost POSTs slash commands to. */
export const SLASH_PATH = '/slash';

/** What a registered trigger leads to. */
export interface SlashBinding {
  teamId: string;
  /** without the leading slash */
  trigger: string;
  /** the command this trigger runs; null for the root trigger (first word names it) */
  command: string | null;
  commandId: string;
}

/** What happened in one team. */
export interface TeamRegistration {
  teamId: string;
  teamName: string;
  /** triggers that work in this team, with their slash */
  registered: string[];
  /** one line per trigger that could not be registered */
  warnings: string[];
  /** set when nothing could be registered (no permission, commands disabled, …) */
  error?: string;
}

export interface SlashRegistrationOptions {
  api: MattermostApi;
  logger: Logger;
  botUserId: string;
  commands: readonly CommandDefinition[];
  rootTrigger: string;
  triggerPrefix: string;
  /** full URL of the slash endpoint: MMOPS_PUBLIC_URL + SLASH_PATH */
  slashUrl: string;
  now?: () => number;
  /** least time between two token re-reads of one team (default 60 000) */
  tokenRefreshIntervalMs?: number;
}

export interface SlashRegistration {
  /**
   * Registers (or refreshes) every trigger in one team; never throws. `mayWrite` is asked
   * before each create or update (the leader's fencing check, src/bot/leader.ts `confirm`):
   * once it says no, the rest of the team is only learned, as a follower does.
   */
  registerTeam(team: Team, opts?: { mayWrite?: () => Promise<boolean> }): Promise<TeamRegistration>;
  /**
   * Learns the tokens of the commands the bot already registered in one team, without
   * creating or changing anything (a replica that is not the leader; see src/bot/leader.ts).
   * Never throws.
   */
  learnTeam(team: Team): Promise<TeamRegistration>;
  /** The binding whose token equals `token` (constant-time), in any team, else undefined. */
  verify(token: string): SlashBinding | undefined;
  /**
   * The binding of team `teamId` whose token equals `token`; a token of another team
   * never matches. On a miss in a team we registered in, that team's commands are read
   * again (a token may have been regenerated), at most once a minute per team.
   */
  authenticate(token: string, teamId: string): Promise<SlashBinding | undefined>;
  /** Every working binding, all teams. */
  bindings(): SlashBinding[];
  /** The last result per team. */
  reports(): TeamRegistration[];
}

interface WantedCommand {
  trigger: string;
  command: string | null;
  input: Omit<CommandInput, 'team_id'>;
}

// Limits of the Command model (docs/mattermost-notes.md §4.3).
const clip = (s: string, max: number): string => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

function pathOf(url: string): string {
  try {
    return new URL(url).pathname.replace(/\/+$/, '');
  } catch {
    return '';
  }
}

/** Creates the registration service (see the module comment). */
export function createSlashRegistration(opts: SlashRegistrationOptions): SlashRegistration {
  const { api, botUserId, rootTrigger, triggerPrefix, slashUrl } = opts;
  const now = opts.now ?? Date.now;
  const tokenRefreshIntervalMs = opts.tokenRefreshIntervalMs ?? 60_000;
  /** teamId → when its tokens were last re-read, and the re-read in flight */
  const tokenReads = new Map<string, { at: number; running?: Promise<void> }>();
  const log = opts.logger.child({ component: 'slash-registration' });
  const ourPath = pathOf(slashUrl);
  /** teamId → bindings with their token digests */
  const byTeam = new Map<string, Array<{ binding: SlashBinding; digest: Buffer }>>();
  const reportByTeam = new Map<string, TeamRegistration>();
  /** warnings already logged (team + trigger), so a re-run does not repeat them */
  const warned = new Set<string>();

  const wanted: WantedCommand[] = [
    {
      trigger: rootTrigger,
      command: null,
      input: {
        trigger: rootTrigger,
        method: 'P',
        url: slashUrl,
        auto_complete: true,
        auto_complete_desc: 'Mattermost operations: run any mmops command (try "help")',
        auto_complete_hint: '[command] [arguments]',
        display_name: 'mmops',
        description: 'Run any mmops command, e.g. /' + rootTrigger + ' help',
      },
    },
    ...opts.commands
      .filter((c) => c.ownTrigger)
      .map((c) => ({
        trigger: `${triggerPrefix}${c.name}`,
        command: c.name,
        input: {
          trigger: `${triggerPrefix}${c.name}`,
          method: 'P' as const,
          url: slashUrl,
          auto_complete: true,
          auto_complete_desc: clip(c.summary, 128),
          auto_complete_hint: clip(c.hint, 128),
          display_name: clip(`mmops ${c.name}`, 64),
          description: clip(c.summary, 128),
        },
      }))
      // the root trigger wins if a command would shadow it
      .filter((w) => w.trigger !== rootTrigger),
  ];

  const isOurs = (c: Command): boolean => c.creator_id === botUserId && c.delete_at === 0 && pathOf(c.url) === ourPath;

  const differs = (c: Command, w: WantedCommand): boolean =>
    c.url !== w.input.url ||
    c.method !== w.input.method ||
    c.auto_complete !== w.input.auto_complete ||
    c.auto_complete_desc !== w.input.auto_complete_desc ||
    c.auto_complete_hint !== w.input.auto_complete_hint ||
    c.display_name !== w.input.display_name ||
    c.description !== w.input.description;

  /** How to reach a command whose own trigger is unavailable. */
  const instead = (w: WantedCommand): string =>
    w.command === null
      ? `set MMOPS_ROOT_TRIGGER to another name; DMs and mentions still work`
      : `use /${rootTrigger} ${w.command} instead`;

  function warnOnce(team: Team, w: WantedCommand, why: string, report: TeamRegistration): void {
    const line = `/${w.trigger} ${why} in team ${team.name}: ${instead(w)}`;
    report.warnings.push(line);
    const key = `${team.id}:${w.trigger}:${why}`;
    if (warned.has(key)) return;
    warned.add(key);
    log.warn({ team: team.name, trigger: w.trigger, command: w.command }, line);
  }

  /** A refusal the person running the bot can act on, or undefined for other errors. */
  function permissionProblem(err: unknown, team: Team): string | undefined {
    if (!isApiError(err)) return undefined;
    if (err.status === 501) {
      return 'custom slash commands are disabled on the server (System Console → Integrations → Enable Custom Slash Commands); DMs and mentions still work';
    }
    if (err.isTokenRejected) {
      return `the server rejected MM_BOT_TOKEN, so no slash command is registered in team ${team.name}`;
    }
    if (err.status === 403) {
      return `the bot account lacks the manage_slash_commands permission in team ${team.name}, so no slash command is registered there; DMs and mentions still work`;
    }
    if (err.status === 401) {
      return `the server refused to register slash commands in team ${team.name} (${err.serverMessage || 'no reason given'}); DMs and mentions still work`;
    }
    return undefined;
  }

  const describe = (err: unknown): string =>
    isApiError(err) || isNetworkError(err) ? err.message : err instanceof Error ? err.message : String(err);

  async function registerTeam(team: Team, readOnlyAtStart = false, mayWrite?: () => Promise<boolean>): Promise<TeamRegistration> {
    let readOnly = readOnlyAtStart;
    /** asked right before each write: a deposed leader stops writing at once */
    const fenced = async (trigger: string): Promise<boolean> => {
      if (readOnly) return true;
      if (!mayWrite || (await mayWrite())) return false;
      readOnly = true;
      log.warn({ team: team.name, trigger }, `not changing /${trigger} in team ${team.name}: this replica is no longer the leader; the leader registers it`);
      return true;
    };
    const report: TeamRegistration = { teamId: team.id, teamName: team.name, registered: [], warnings: [] };
    const found: Array<{ binding: SlashBinding; digest: Buffer }> = [];
    const keep = (cmd: Command, w: WantedCommand): void => {
      report.registered.push(`/${w.trigger}`);
      if (cmd.token === '') {
        log.warn({ team: team.name, trigger: w.trigger }, `the server did not give the token of /${w.trigger}; requests for it will be refused`);
        return;
      }
      found.push({
        binding: { teamId: team.id, trigger: w.trigger, command: w.command, commandId: cmd.id },
        digest: digest(cmd.token),
      });
    };

    let existing: Command[];
    try {
      existing = await api.listCustomCommands(team.id);
    } catch (err) {
      report.error = permissionProblem(err, team) ?? `could not list the slash commands of team ${team.name}: ${describe(err)}`;
      log.warn({ team: team.name }, report.error);
      return finish(team, report, found);
    }

    for (const w of wanted) {
      const sameTrigger = existing.filter((c) => c.trigger === w.trigger && c.delete_at === 0);
      const ours = sameTrigger.filter(isOurs);
      const mine = ours[0];
      if (readOnly) {
        // the leader creates and updates; here only its tokens are taken in
        if (mine) keep(mine, w);
        continue;
      }
      if (mine) {
        if (differs(mine, w) && (await fenced(w.trigger))) {
          keep(mine, w);
          continue;
        }
        if (ours.length > 1) {
          log.warn(
            { team: team.name, trigger: w.trigger, ids: ours.map((c) => c.id) },
            `team ${team.name} holds ${ours.length} copies of /${w.trigger} made by the bot; using the first (delete the others in Integrations → Slash Commands)`,
          );
        }
        if (!differs(mine, w)) {
          keep(mine, w);
          continue;
        }
        try {
          const updated = await api.updateCommand({ ...mine, ...w.input, team_id: team.id });
          log.info({ team: team.name, trigger: w.trigger }, `updated /${w.trigger} in team ${team.name}`);
          // an update answer may come back sanitized; the token does not change on update
          keep(updated.token ? updated : mine, w);
        } catch (err) {
          // The old registration still works (same token), only its details are stale.
          log.warn({ team: team.name, trigger: w.trigger, err: describe(err) }, `could not update /${w.trigger} in team ${team.name}; keeping the existing one`);
          keep(mine, w);
        }
        continue;
      }
      if (sameTrigger.length > 0) {
        warnOnce(team, w, 'is already used by another integration', report);
        continue;
      }
      if (BUILT_IN_TRIGGERS.has(w.trigger)) {
        warnOnce(team, w, 'is a built-in Mattermost command', report);
        continue;
      }
      if (await fenced(w.trigger)) continue;
      try {
        const created = await api.createCommand({ ...w.input, team_id: team.id });
        log.debug({ team: team.name, trigger: w.trigger }, `registered /${w.trigger} in team ${team.name}`);
        keep(created, w);
      } catch (err) {
        if (isApiError(err) && err.status === 400 && err.serverErrorId === 'api.command.duplicate_trigger.app_error') {
          warnOnce(team, w, 'is refused by the server (built-in or taken by another integration)', report);
          continue;
        }
        const perm = permissionProblem(err, team);
        if (perm) {
          // Every further create would fail the same way.
          report.error = perm;
          log.warn({ team: team.name }, perm);
          break;
        }
        warnOnce(team, w, `could not be registered (${describe(err)})`, report);
      }
    }
    return finish(team, report, found);
  }

  function finish(team: Team, report: TeamRegistration, found: Array<{ binding: SlashBinding; digest: Buffer }>): TeamRegistration {
    byTeam.set(team.id, found);
    reportByTeam.set(team.id, report);
    return report;
  }

  /** Compares against every entry (no early exit) so timing says nothing about which matched. */
  function match(entries: Iterable<{ binding: SlashBinding; digest: Buffer }>, token: string): SlashBinding | undefined {
    if (token === '') return undefined;
    const candidate = digest(token);
    let found: SlashBinding | undefined;
    for (const e of entries) {
      if (timingSafeEqual(candidate, e.digest) && found === undefined) found = e.binding;
    }
    return found;
  }

  function verify(token: string): SlashBinding | undefined {
    return match([...byTeam.values()].flat(), token);
  }

  /** Re-reads the tokens of our commands in one team (after `PUT /commands/{id}/regen_token`). */
  async function rereadTokens(teamId: string): Promise<void> {
    const current = byTeam.get(teamId);
    if (!current) return;
    let listed: Command[];
    try {
      listed = await api.listCustomCommands(teamId);
    } catch (err) {
      log.warn({ teamId, err: describe(err) }, 'could not re-read the slash command tokens of a team; keeping the known ones');
      return;
    }
    const next = current.map((e) => {
      const cmd = listed.find((c) => c.id === e.binding.commandId && isOurs(c) && c.token !== '');
      return cmd ? { binding: e.binding, digest: digest(cmd.token) } : e;
    });
    const changed = next.filter((e, i) => !timingSafeEqual(e.digest, current[i]?.digest ?? Buffer.alloc(32))).map((e) => `/${e.binding.trigger}`);
    byTeam.set(teamId, next);
    log.info({ teamId, changed }, changed.length > 0 ? `slash command tokens changed (regenerated): ${changed.join(' ')}` : 'slash command tokens re-read: unchanged');
  }

  async function authenticate(token: string, teamId: string): Promise<SlashBinding | undefined> {
    const known = byTeam.get(teamId);
    if (!known || token === '') return undefined;
    const hit = match(known, token);
    if (hit) return hit;
    let read = tokenReads.get(teamId);
    if (!read?.running) {
      if (read && now() - read.at < tokenRefreshIntervalMs) return undefined;
      const entry: { at: number; running?: Promise<void> } = { at: now() };
      entry.running = rereadTokens(teamId).finally(() => {
        entry.running = undefined;
      });
      tokenReads.set(teamId, entry);
      read = entry;
    }
    await read.running;
    return match(byTeam.get(teamId) ?? [], token);
  }

  return {
    registerTeam: (team, o = {}) => registerTeam(team, false, o.mayWrite),
    learnTeam: (team) => registerTeam(team, true),
    verify,
    authenticate,
    bindings: () => [...byTeam.values()].flat().map((e) => e.binding),
    reports: () => [...reportByTeam.values()],
  };
}
