/**
 * The operator's policy file (`MMOPS_POLICY`): extra permission requirements per command.
 *
 * A policy can only **tighten**: its requirements are added to the ones the command
 * declares (which mirror the server's rule for the same API call); nothing in it can
 * remove or weaken those.
 *
 * Format (JSON):
 *
 * ```json
 * {
 *   "description": "optional free text, ignored",
 *   "commands": {
 *     "whois":         { "require": [{ "permission": "manage_team", "scope": "team" }] },
 *     "user sessions": { "require": [{ "permission": "manage_system", "scope": "system" }] }
 *   }
 * }
 * ```
 *
 * - A key is either a command (`"whois"`, `"user"`): the requirements apply to **every**
 *   subcommand of it; or a command and a subcommand (`"user sessions"`): they apply to that
 *   subcommand only. Both kinds of key may be used together; their requirements add up.
 * - `permission` is a Mattermost permission id (`manage_team`, `edit_other_users`, …).
 * - `scope` is `system`, `team` (the team the command is about, else where it was typed)
 *   or `channel` (the channel it was typed in). All listed requirements must hold.
 * - Every entry may carry a `"description"` string (ignored).
 *
 * Two-person rule (optional): subcommands that need a second person's approval, where the
 * request is posted, and who may approve (a permission, checked in the approvals channel,
 * or a system role). Only subcommands that ask to confirm may be named (src/services/confirmations.ts).
 *
 * ```json
 * {
 *   "approvals": {
 *     "channel": "ops/approvals",
 *     "approvers": { "permission": "manage_system", "scope": "system" },
 *     "commands": ["user deactivate", "user roles", "user password"]
 *   }
 * }
 * ```
 *
 * A missing or unreadable file, malformed JSON, an unknown command or subcommand, an
 * unknown field or a bad scope stops start-up with one line naming the file and the problem.
 *
 * @example
 *   const policy = loadPolicy(process.env.MMOPS_POLICY, allCommands);
 *   policy.extraRequirements('whois', ''); // [{ permission: 'manage_team', scope: 'team' }]
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { CommandDefinition, Policy, Requirement } from '../command.js';

export type PolicyErrorCode = 'unreadable' | 'malformed_json' | 'invalid';

/** The policy file cannot be used; the message is one line naming the file and the problem. */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  constructor(
    readonly code: PolicyErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export const isPolicyError = (e: unknown): e is PolicyError => e instanceof PolicyError;

/** Who may approve: a permission (at the approvals channel's scope) or a system role. */
export type ApproverRule = { permission: string; scope: Requirement['scope'] } | { role: string };

/** The `approvals` part of the policy. */
export interface ApprovalPolicy {
  /** `team-name/channel-name` or a channel id */
  channel: string;
  approvers: ApproverRule;
  /** `user deactivate`, `team role`, … */
  commands: ReadonlySet<string>;
}

/** A loaded policy: the `Policy` the dispatcher uses, plus what it holds (for the start-up log). */
export interface LoadedPolicy extends Policy {
  /** the two-person rule, when the file has one */
  readonly approvals?: ApprovalPolicy;
  /** the file it came from (undefined for the empty policy) */
  readonly source: string | undefined;
  /** the rules as written, keys normalised (`"user sessions"`) */
  readonly rules: ReadonlyArray<{ key: string; require: readonly Requirement[] }>;
}

const requirementSchema = z
  .object({
    permission: z
      .string()
      .regex(/^[a-z0-9_]{1,64}$/, 'must be a Mattermost permission id such as "manage_team"'),
    scope: z.enum(['system', 'team', 'channel']),
  })
  .strict();

const approvalsSchema = z
  .object({
    description: z.string().optional(),
    channel: z.string().trim().regex(/^([a-z0-9]{26}|[A-Za-z0-9_-]+\/~?[A-Za-z0-9_-]+)$/, 'must be "team-name/channel-name" or a channel id'),
    approvers: z.union([
      z.object({ permission: z.string().regex(/^[a-z0-9_]{1,64}$/, 'must be a Mattermost permission id such as "manage_system"'), scope: z.enum(['system', 'team', 'channel']) }).strict(),
      z.object({ role: z.string().regex(/^[a-z0-9_]{1,64}$/, 'must be a role name such as "system_admin"') }).strict(),
    ]),
    commands: z.array(z.string()).min(1, 'must list at least one "command subcommand"'),
  })
  .strict();

const policySchema = z
  .object({
    description: z.string().optional(),
    approvals: approvalsSchema.optional(),
    commands: z.record(
      z.string(),
      z
        .object({
          description: z.string().optional(),
          require: z.array(requirementSchema).min(1, 'must list at least one requirement'),
        })
        .strict(),
    )
    .default({}),
  })
  .strict();

/** The policy that adds nothing. */
export const emptyPolicy: LoadedPolicy = {
  source: undefined,
  rules: [],
  extraRequirements: () => [],
};

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && /^[A-Za-z_$][\w$]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out || '(top level)';
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') return `${where}: unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === 'invalid_type' && /received undefined$/.test(issue.message)) return `${where}: missing (expected ${issue.expected})`;
  if (issue.code === 'invalid_value' && issue.path.at(-1) === 'scope') {
    return `${where}: scope must be "system", "team" or "channel"`;
  }
  return `${where}: ${issue.message}`;
}

/**
 * Parses policy text (already read from `source`) against the known commands.
 * Throws {@link PolicyError} on any problem.
 */
export function parsePolicy(text: string, source: string, commands: readonly CommandDefinition[]): LoadedPolicy {
  const fail = (code: PolicyErrorCode, problem: string): never => {
    throw new PolicyError(code, `invalid policy file ${source}: ${problem}`);
  };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail('malformed_json', `not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const parsed = policySchema.safeParse(json);
  if (!parsed.success) {
    // a misspelt field explains the rest ("requires" → "require" missing), so name it first
    const issues = [...parsed.error.issues].sort(
      (a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'),
    );
    const first = issues[0];
    const more = parsed.error.issues.length > 1 ? ` (and ${parsed.error.issues.length - 1} more problems)` : '';
    fail('invalid', `${first ? describeIssue(first) : 'does not match the policy format'}${more}`);
  }
  const data = parsed.success ? parsed.data : { commands: {}, approvals: undefined };

  const byName = new Map(commands.map((c) => [c.name, c]));
  // key `command` or `command subcommand`; '' stands for "every subcommand"
  const rules = new Map<string, Requirement[]>();
  const shown: Array<{ key: string; require: Requirement[] }> = [];
  for (const [rawKey, entry] of Object.entries(data.commands)) {
    const words = rawKey.trim().split(/\s+/).filter(Boolean);
    const [cmdName, subName, ...rest] = words;
    if (!cmdName || rest.length > 0) {
      fail('invalid', `commands[${JSON.stringify(rawKey)}]: a key is "command" or "command subcommand"`);
    }
    const cmd = byName.get(cmdName ?? '');
    if (!cmd) {
      fail(
        'invalid',
        `commands[${JSON.stringify(rawKey)}]: unknown command "${cmdName}" (known: ${[...byName.keys()].sort().join(', ')})`,
      );
    }
    if (subName !== undefined && cmd && !cmd.subcommands.some((s) => s.name === subName)) {
      const known = cmd.subcommands.map((s) => s.name).filter(Boolean);
      fail(
        'invalid',
        `commands[${JSON.stringify(rawKey)}]: "${cmd.name}" has no subcommand "${subName}"` +
          (known.length ? ` (known: ${known.join(', ')})` : ' (it has no subcommands)'),
      );
    }
    const key = subName === undefined ? `${cmdName}\u0000*` : `${cmdName}\u0000${subName}`;
    const list = rules.get(key) ?? [];
    for (const r of entry.require) {
      if (!list.some((x) => x.permission === r.permission && x.scope === r.scope)) list.push({ ...r });
    }
    rules.set(key, list);
    shown.push({ key: words.join(' '), require: entry.require.map((r) => ({ ...r })) });
  }

  let approvals: ApprovalPolicy | undefined;
  if (data.approvals) {
    const names = new Set<string>();
    data.approvals.commands.forEach((rawKey, i) => {
      const [cmdName = '', subName = '', ...rest] = rawKey.trim().split(/\s+/).filter(Boolean);
      const cmd = byName.get(cmdName);
      const sub = cmd?.subcommands.find((s) => s.name === subName);
      const confirmable = commands.flatMap((c) => c.subcommands.filter((s) => s.confirm).map((s) => (s.name ? `${c.name} ${s.name}` : c.name)));
      if (!cmd || !sub || rest.length > 0 || !sub.confirm) {
        fail('invalid', `approvals.commands[${i}]: ${JSON.stringify(rawKey)} is not a subcommand that asks to confirm (these can need approval: ${confirmable.join(', ')})`);
      }
      names.add(subName ? `${cmdName} ${subName}` : cmdName);
    });
    approvals = { channel: data.approvals.channel, approvers: data.approvals.approvers, commands: names };
  }

  return {
    source,
    rules: shown,
    ...(approvals ? { approvals } : {}),
    extraRequirements(command, subcommand) {
      const out: Requirement[] = [];
      for (const r of [...(rules.get(`${command}\u0000*`) ?? []), ...(rules.get(`${command}\u0000${subcommand}`) ?? [])]) {
        if (!out.some((x) => x.permission === r.permission && x.scope === r.scope)) out.push({ ...r });
      }
      return out;
    },
  };
}

/**
 * Loads the policy file at `path` (`MMOPS_POLICY`); no path (or an empty one) gives
 * {@link emptyPolicy}. Throws {@link PolicyError} with one clear line on any problem.
 */
export function loadPolicy(path: string | undefined, commands: readonly CommandDefinition[]): LoadedPolicy {
  if (path === undefined || path.trim() === '') return emptyPolicy;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : '';
    const why = code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : e instanceof Error ? e.message : String(e);
    throw new PolicyError('unreadable', `invalid policy file ${path}: cannot read it (${why})`);
  }
  return parsePolicy(text, path, commands);
}
