/**
 * Finding the people a command is about, with the answers people expect:
 * ambiguous input lists the candidates, several names are resolved in one batch,
 * and a target the dispatcher did not check is checked here before use.
 */
import type { Access, CommandContext } from '../../src/core/command.js';
import { UserError, isUserError } from '../../src/core/errors.js';
import { classifyUserRef } from '../../src/core/users.js';
import { hint, list, md, paragraph, reply, type Block, type Reply } from '../../src/core/reply.js';
import type { User } from '../../src/mattermost/models.js';
import { commandCode } from './command-line.js';
import { isSystemAdmin } from './people.js';

type Ctx = Pick<CommandContext, 'users' | 'caller' | 'target' | 'perms' | 'invocation' | 'services'> & Partial<Pick<CommandContext, 'api' | 'signal' | 'fresh'>>;

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
 * the caller, else the caller. In a privileged invocation (`ctx.fresh`) someone resolved
 * here is read again from the server before the checks, so a system admin promoted a
 * moment ago is protected at once (the server tells the bot nothing of it,
 * docs/mattermost-notes.md §6 item 24).
 */
export async function actingOn(ctx: Ctx, ref: string | undefined, access: Access): Promise<User> {
  if (ctx.target) return ctx.target;
  if (!ref?.trim()) return ctx.caller;
  let user = await ctx.users.resolve(ref);
  if (user.id === ctx.caller.id) return user;
  if (ctx.fresh && ctx.api) user = await ctx.api.getUser(user.id, ctx.signal ? { signal: ctx.signal } : {});
  const other = access.other === undefined ? access.self : access.other;
  if (other) await ctx.perms.require(other);
  if (access.adminTargetNeedsManageSystem && isSystemAdmin(user)) {
    await ctx.perms.require({ permission: 'manage_system', scope: 'system' });
  }
  return user;
}

/** The outcome of resolving a list of references: nobody is dropped silently. */
export interface BatchResolution {
  /** in input order, one entry per distinct user */
  found: Array<{ ref: string; user: User }>;
  notFound: string[];
  ambiguous: Array<{ ref: string; candidates: string[] }>;
}

/**
 * Resolves many references with as few calls as the API allows: every username and
 * id in one batch (`POST /users/usernames` + `POST /users/ids`); emails and free text
 * (which have no batch endpoint) one by one. Unknown and ambiguous references are
 * reported, never fatal, so the rest is still answered.
 */
export async function resolveBatch(ctx: Pick<Ctx, 'users'>, refs: string[]): Promise<BatchResolution> {
  const batch: Array<{ ref: string; key: string; bare: boolean }> = [];
  const single: string[] = [];
  for (const ref of refs) {
    const c = classifyUserRef(ref);
    if (c.kind === 'username') batch.push({ ref, key: `@${c.value}`, bare: !c.explicit });
    else if (c.kind === 'id') batch.push({ ref, key: c.value, bare: false });
    else single.push(ref);
  }
  const hits = new Map<string, User>();
  const notFound = new Set<string>();
  const ambiguous = new Map<string, string[]>();
  if (batch.length) {
    // `@name` keeps the directory from falling back to one search per unknown name.
    const res = await ctx.users.resolveMany(batch.map((b) => b.key));
    for (const f of res.found) hits.set(f.ref, f.user);
  }
  const one = async (ref: string, key: string): Promise<void> => {
    try {
      hits.set(key, await ctx.users.resolve(ref));
    } catch (e) {
      if (isUserError(e) && e.code === 'ambiguous') ambiguous.set(ref, (e.details.items ?? []).map((i) => i.replace(/^@/, '')));
      else if (isUserError(e) && (e.code === 'not_found' || e.code === 'invalid_input' || e.code === 'forbidden')) notFound.add(ref);
      else throw e;
    }
  };
  // A bare word that is no username may still be a name ("ann" for "Ann Lee");
  // emails and free text have no batch endpoint. Try them together first (one more
  // username batch, then one lookup each); if one of them is ambiguous the directory
  // throws for the whole list, so then go one by one to report each precisely.
  const leftovers = [...batch.filter((b) => b.bare && !hits.has(b.key)).map((b) => ({ ref: b.ref, key: b.key })), ...single.map((ref) => ({ ref, key: ref }))];
  if (leftovers.length) {
    try {
      const res = await ctx.users.resolveMany(leftovers.map((l) => l.ref));
      for (const f of res.found) {
        const l = leftovers.find((x) => x.ref === f.ref);
        if (l) hits.set(l.key, f.user);
      }
    } catch (e) {
      if (!(isUserError(e) && (e.code === 'ambiguous' || e.code === 'forbidden' || e.code === 'invalid_input'))) throw e;
      for (const l of leftovers) await one(l.ref, l.key);
    }
  }

  const found: BatchResolution['found'] = [];
  const seen = new Set<string>();
  for (const ref of refs) {
    const b = batch.find((x) => x.ref === ref);
    const user = hits.get(b ? b.key : ref);
    if (user) {
      if (!seen.has(user.id)) {
        seen.add(user.id);
        found.push({ ref, user });
      }
    } else if (!ambiguous.has(ref)) notFound.add(ref);
  }
  return {
    found,
    notFound: refs.filter((r) => notFound.has(r)),
    ambiguous: refs.filter((r) => ambiguous.has(r)).map((ref) => ({ ref, candidates: ambiguous.get(ref) ?? [] })),
  };
}

/** Blocks naming what was not found or ambiguous in a batch (empty when all resolved). */
export function unresolvedBlocks(res: Pick<BatchResolution, 'notFound' | 'ambiguous'>): Block[] {
  const blocks: Block[] = [];
  if (res.notFound.length) blocks.push(paragraph(md`Not found: ${res.notFound.join(', ')}`));
  for (const a of res.ambiguous) {
    blocks.push(paragraph(md`${a.ref} matches several people: ${a.candidates.map((c) => `@${c}`).join(', ')}`));
  }
  return blocks;
}
