/**
 * The exact text a person types to run a command, the way they reached the bot:
 * `/teams members acme --page 2` (slash, own trigger), `/mmops status @ann` (slash,
 * built-in names), `teams members acme --page 2` (DM, and mention: people add the
 * mention themselves, and a mention inside inline code would not work anyway).
 * Used by pagination hints and `help`.
 */
import type { CommandContext, CommandDefinition } from '../../src/core/command.js';
import { code, md, type Markdown } from '../../src/core/reply.js';
import { usageText } from '../../src/core/usage.js';

type Ctx = Pick<CommandContext, 'invocation' | 'services'>;

/** Quotes an argument that contains spaces or quotes so it survives re-parsing. */
export function quoteArg(arg: string): string {
  if (arg !== '' && !/[\s"']/.test(arg)) return arg;
  return `"${arg.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** `command` with `args` (quoted as needed), as the person would type it (see core/usage). */
export function commandLine(ctx: Ctx, command: string, args: Array<string | number> = [], definition?: Pick<CommandDefinition, 'ownTrigger'>): string {
  const def = definition ?? ctx.services.commands().find((c) => c.name === command);
  const line = [command, ...args.map((a) => quoteArg(String(a)))].join(' ');
  return usageText({ name: command, ownTrigger: def?.ownTrigger ?? false }, line, ctx.invocation.source, ctx.services.triggers);
}

/** The same as inline code (safe for any argument text). */
export const commandCode = (ctx: Ctx, command: string, args: Array<string | number> = []): Markdown =>
  code(commandLine(ctx, command, args));

/** "Next page: `/teams members acme --page 2`" */
export const nextPageHint = (ctx: Ctx, command: string, args: Array<string | number>, page: number): Markdown =>
  md`Next page: ${commandCode(ctx, command, [...args, '--page', page])}`;

/** A subcommand's usage as this person types it (`/mmops status set …`, `teams members …` in a DM). */
export function usageLine(ctx: Ctx, command: string, usage: string): string {
  const def = ctx.services.commands().find((c) => c.name === command);
  return usageText({ name: command, ownTrigger: def?.ownTrigger ?? false }, usage, ctx.invocation.source, ctx.services.triggers);
}
