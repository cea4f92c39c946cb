/**
 * `/mmops help [command [subcommand]]`, generated from the command definitions
 * (`ctx.services.commands()`): summary, usage, examples and the permission each
 * subcommand needs. The overview lists only what the caller may run; asking for a
 * command by name also shows what is hidden and which permission it needs. What the
 * bot account itself cannot carry out (its `botNeeds`, via `services.botCan`) is
 * marked "not available", not presented as usable.
 * (`/help` is a Mattermost built-in, so there is no own trigger.)
 */
import { z } from 'zod';
import {
  defineCommand,
  defineSubcommand,
  type Access,
  type CommandContext,
  type CommandDefinition,
  type Requirement,
  type SubcommandDefinition,
} from '../src/core/command.js';
import { UserError } from '../src/core/errors.js';
import { closestNames } from '../src/core/registry.js';
import { code, fields, hint, md, paragraph, raw, reply, table, title, type Block, type Markdown, type Text } from '../src/core/reply.js';
import { usageText } from '../src/core/usage.js';
import { isApiError } from '../src/mattermost/errors.js';
import { words } from './lib/args.js';
import { commandCode } from './lib/command-line.js';

const USAGE = 'help [command] [subcommand]';
/** How many of the caller's teams are tried for a team-scoped requirement outside a team. */
const MAX_TEAMS_TRIED = 20;

const scopeText = (req: Requirement): string =>
  req.scope === 'system' ? 'system-wide' : req.scope === 'team' ? 'in the team' : 'in the channel';

/** "`view_team` in the team" */
export const describeRequirement = (req: Requirement): Markdown => md`${code(req.permission)} ${scopeText(req)}`;

const joinMd = (parts: Markdown[], sep = ', '): Markdown => raw(parts.map((p) => p.value).join(sep));

/** Who may run a subcommand, in words (including the operator policy's extras). */
export function describeAccess(access: Access, extras: Requirement[] = []): Markdown {
  const other = access.other === undefined ? access.self : access.other;
  const admin = access.adminTargetNeedsManageSystem ? raw(` (and ${code('manage_system').value} when that person is a system admin)`) : raw('');
  let base: Markdown;
  if (!access.self && !other) base = raw('anyone');
  else if (!access.self && other) base = md`anyone for themselves; ${describeRequirement(other)} for someone else${admin}`;
  else if (access.self && other && (other.permission !== access.self.permission || other.scope !== access.self.scope)) {
    base = md`${describeRequirement(access.self)}; ${describeRequirement(other)} for someone else${admin}`;
  } else base = access.self ? describeRequirement(access.self) : raw('anyone');
  return extras.length ? md`${base}, plus ${joinMd(extras.map(describeRequirement))} (local policy)` : base;
}

type Can = (req: Requirement, where?: { teamId?: string; channelId?: string }) => Promise<boolean>;

/**
 * Decides, with as few calls as possible, which subcommands the caller may run
 * (`missing`) and which the bot account itself cannot carry out (`botLacks`).
 */
function createGate(ctx: CommandContext) {
  let myTeams: Promise<string[] | undefined> | undefined;
  const teamsOfCaller = (): Promise<string[] | undefined> =>
    (myTeams ??= ctx.api.getTeamsForUser(ctx.caller.id).then(
      (ts) => ts.filter((t) => t.delete_at === 0).map((t) => t.id),
      (e: unknown) => {
        if (isApiError(e)) return undefined;
        throw e;
      },
    ));

  /** Whether `can` grants `req` here (outside a team: in any of the caller's teams). */
  async function holds(can: Can, req: Requirement): Promise<boolean> {
    if (req.scope === 'system') return can(req);
    if (req.scope === 'channel') return ctx.channel ? can(req, { channelId: ctx.channel.id }) : can(req);
    if (ctx.team) return can(req, { teamId: ctx.team.id });
    // Outside a team (a DM): may it be done in any of the caller's teams?
    const ids = await teamsOfCaller();
    if (!ids) return can(req);
    for (const teamId of ids.slice(0, MAX_TEAMS_TRIED)) if (await can(req, { teamId })) return true;
    return false;
  }
  const callerCan: Can = (req, where) => ctx.perms.can(req, where);

  return {
    /** The first requirement the caller lacks for running `sub` on themselves, or null. */
    async missing(cmd: CommandDefinition, sub: SubcommandDefinition): Promise<Requirement | null> {
      const reqs = [...(sub.access.self ? [sub.access.self] : []), ...ctx.services.policy.extraRequirements(cmd.name, sub.name)];
      for (const req of reqs) if (!(await holds(callerCan, req))) return req;
      return null;
    },
    /**
     * The first of `sub.botNeeds` the bot account lacks, or null. Channel needs depend
     * on the channel a command is used in, so they are not judged here; a check that
     * fails counts as held (the command itself will say if it is not).
     */
    async botLacks(sub: SubcommandDefinition): Promise<Requirement | null> {
      const botCan = ctx.services.botCan;
      if (!botCan) return null;
      for (const need of sub.botNeeds ?? []) {
        if (need.scope === 'channel') continue;
        try {
          if (!(await holds(botCan, need))) return need;
        } catch (e) {
          if (ctx.signal.aborted) throw e;
          ctx.log.warn({ err: e, permission: need.permission }, 'could not check the bot account\'s own permission for help');
        }
      }
      return null;
    },
  };
}

type Gate = ReturnType<typeof createGate>;

/** "(not available: the bot account lacks `edit_other_users`)" */
const notAvailable = (need: Requirement): Markdown => md`(not available: the bot account lacks ${code(need.permission)})`;

const usageOf = (ctx: CommandContext, cmd: CommandDefinition, sub: SubcommandDefinition): string =>
  usageText(cmd, sub.usage, ctx.invocation.source, ctx.services.triggers);

/** How a command is reached by slash command, DM and mention. */
function reachLine(ctx: CommandContext, cmd: CommandDefinition): Markdown {
  const root = ctx.services.triggers?.root ?? 'mmops';
  const prefix = ctx.services.triggers?.prefix ?? '';
  const slash = cmd.ownTrigger
    ? md`${code(`/${prefix}${cmd.name}`)} or ${code(`/${root} ${cmd.name}`)}`
    : md`${code(`/${root} ${cmd.name}`)} (${code(`/${cmd.name}`)} is a Mattermost built-in)`;
  return md`Slash command ${slash}; or write ${code(cmd.name)} in a direct message to me, or mention me with it in a channel.`;
}

async function overview(ctx: CommandContext, gate: Gate): Promise<Block[]> {
  const rows: Text[][] = [];
  let hidden = 0;
  for (const cmd of ctx.services.commands()) {
    for (const sub of cmd.subcommands) {
      if (await gate.missing(cmd, sub)) {
        hidden++;
        continue;
      }
      const botLacks = await gate.botLacks(sub);
      rows.push([code(usageOf(ctx, cmd, sub)), botLacks ? md`${sub.summary} ${notAvailable(botLacks)}` : sub.summary]);
    }
  }
  const blocks: Block[] = [title('What I can do for you'), table(['Command', 'What it does'], rows)];
  if (hidden) {
    blocks.push(paragraph(`${hidden} more ${hidden === 1 ? 'needs permissions' : 'need permissions'} you don't have here; asking for a command by name shows which.`));
  }
  blocks.push(hint(md`Details and examples: ${commandCode(ctx, 'help', ['<command>'])}, e.g. ${commandCode(ctx, 'help', ['whois'])}`));
  return blocks;
}

async function subcommandBlocks(
  ctx: CommandContext,
  cmd: CommandDefinition,
  sub: SubcommandDefinition,
  gate: Gate,
): Promise<Block[]> {
  const lacking = await gate.missing(cmd, sub);
  const botLacks = await gate.botLacks(sub);
  const extras = ctx.services.policy.extraRequirements(cmd.name, sub.name);
  const examples = sub.examples.map((e) => code(usageText(cmd, e, ctx.invocation.source, ctx.services.triggers)));
  const you = lacking ? md`can't run this: it needs ${describeRequirement(lacking)}` : botLacks ? raw("could run this, but I can't carry it out") : 'can run this';
  return [
    paragraph(botLacks ? md`${code(usageOf(ctx, cmd, sub))} — ${sub.summary} ${notAvailable(botLacks)}` : md`${code(usageOf(ctx, cmd, sub))} — ${sub.summary}`),
    fields([
      ['Examples', examples.length ? joinMd(examples) : undefined],
      ['Who may', describeAccess(sub.access, extras)],
      ['You', you],
    ]),
  ];
}

async function commandHelp(ctx: CommandContext, cmd: CommandDefinition, subName: string | undefined, gate: Gate): Promise<Block[]> {
  const subs = subName === undefined ? cmd.subcommands : cmd.subcommands.filter((s) => s.name === subName.toLowerCase());
  if (!subs.length) {
    const names = cmd.subcommands.filter((s) => s.name).map((s) => s.name);
    throw new UserError('not_found', `${cmd.name} has no subcommand "${subName ?? ''}".`, { items: names.map((n) => `${cmd.name} ${n}`) });
  }
  const blocks: Block[] = [title(md`${cmd.name} — ${cmd.summary}`), paragraph(reachLine(ctx, cmd))];
  for (const sub of subs) blocks.push(...(await subcommandBlocks(ctx, cmd, sub, gate)));
  return blocks;
}

const help = defineSubcommand({
  name: '',
  summary: 'What you can run here, or the details of one command',
  usage: USAGE,
  examples: ['help', 'help whois', 'help teams members'],
  positional: ['topic...'],
  args: z.object({ topic: words }),
  access: { self: null, other: null },
  async execute(ctx) {
    const gate = createGate(ctx);
    const root = (ctx.services.triggers?.root ?? 'mmops').toLowerCase();
    const topic = ctx.args.topic.map((w) => w.replace(/^\//, '')).filter((w, i) => !(i === 0 && w.toLowerCase() === root));
    const [name, subName] = topic;
    if (name === undefined) return reply(await overview(ctx, gate), { tone: 'info' });
    const commands = ctx.services.commands();
    const prefix = ctx.services.triggers?.prefix ?? '';
    const lower = name.toLowerCase();
    const cmd = commands.find((c) => c.name === lower || (prefix && `${prefix}${c.name}` === lower));
    if (!cmd) {
      const close = closestNames(lower, commands.map((c) => c.name));
      throw new UserError('not_found', `There is no command "${name}".${close.length ? ' Did you mean one of these?' : ''}`, {
        items: close.length ? close : commands.map((c) => c.name),
      });
    }
    return reply(await commandHelp(ctx, cmd, subName, gate), { tone: 'info' });
  },
});

export default defineCommand({
  name: 'help',
  summary: 'Show what the bot can do for you',
  hint: '[command]',
  ownTrigger: false,
  subcommands: [help],
});
