/**
 * Finding the people a command is about, with the answers people expect:
 * ambiguous input lists the candidates, several names are resolved in one batch,
 * and a target the dispatcher did not check is checked here before use.
 */
import type { Access, CommandContext } from '../../src/core/command.js';
import { UserError, isUserError } from '../../src/core/errors.js';
import { hint, list, md, paragraph, reply, type Reply } from '../../src/core/reply.js';
import type { User } from '../../src/mattermost/models.js';
import { commandCode } from './command-line.js';
import { isSystemAdmin } from './people.js';

type Ctx = Pick<CommandContext, 'users' | 'caller' | 'target' | 'perms' | 'invocation' | 'services'>;

/** Drops repeats (case-insensitive), keeping the first spelling and the order. */
export function uniqueRefs(refs: string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const r of refs.map((x) => x.trim()).filter(Boolean)) {
    const key = r.toLowerCase().replace(/^@/, '');
    if (!seen.has(key)) {
      seen.add(key);
      out.push(r);
    }
  }
  return out;
}

/**
 * A reply for an `ambiguous` UserError: the candidates, and how to pick one
 * (`command` run again with the first candidate's username).
 */
export function ambiguityReply(ctx: Pick<Ctx, 'invocation' | 'services'>, err: UserError, ref: string, command: string, argsBefore: string[] = []): Reply {
  const candidates = (err.details.items ?? []).map((c) => c.replace(/^@/, ''));
  const blocks = [
    paragraph(md`${ref} matches more than one person. Which one did you mean?`),
    list(candidates.map((c) => `@${c}`)),
  ];
  if (candidates[0]) blocks.push(hint(md`For example: ${commandCode(ctx, command, [...argsBefore, `@${candidates[0]}`])}`));
  return reply(blocks, { tone: 'warning' });
}

/** Runs `fn`; an `ambiguous` UserError becomes {@link ambiguityReply}, others pass through. */
export async function orAmbiguity(
  ctx: Pick<Ctx, 'invocation' | 'services'>,
  ref: string,
  command: string,
  argsBefore: string[],
  fn: () => Promise<Reply>,
): Promise<Reply> {
  try {
    return await fn();
  } catch (e) {
    if (isUserError(e) && e.code === 'ambiguous') return ambiguityReply(ctx, e, ref, command, argsBefore);
    throw e;
  }
}

/**
 * The user a subcommand acts on: `ctx.target` when the dispatcher resolved (and
 * checked) it, else `ref` resolved here with `access.other` checked for anyone but
 * the caller, else the caller.
 */
export async function actingOn(ctx: Ctx, ref: string | undefined, access: Access): Promise<User> {
  if (ctx.target) return ctx.target;
  if (!ref?.trim()) return ctx.caller;
  const user = await ctx.users.resolve(ref);
  if (user.id === ctx.caller.id) return user;
  const other = access.other === undefined ? access.self : access.other;
  if (other) await ctx.perms.require(other);
  if (access.adminTargetNeedsManageSystem && isSystemAdmin(user)) {
    await ctx.perms.require({ permission: 'manage_system', scope: 'system' });
  }
  return user;
}
