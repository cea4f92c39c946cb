/**
 * How a usage line is shown to a person, depending on how they reached the bot:
 * `/whois @user` (own trigger), `/mmops status` (root trigger), or plain
 * `whois @user` in a DM or mention.
 *
 * @example
 *   usageText(whois, whois.subcommands[0].usage, 'slash', { root: 'mmops', prefix: '' }) // '/whois @user'
 */
import type { CommandDefinition, Invocation } from './command.js';
import { code, type Markdown } from './reply.js';

export interface Triggers {
  /** the root trigger (`mmops`) */
  root: string;
  /** prefix of per-command triggers (`ops-` → `/ops-whois`) */
  prefix: string;
}

export const DEFAULT_TRIGGERS: Triggers = { root: 'mmops', prefix: '' };

/** The usage line as the person should type it. */
export function usageText(
  cmd: Pick<CommandDefinition, 'name' | 'ownTrigger'>,
  usage: string,
  source: Invocation['source'],
  triggers: Triggers = DEFAULT_TRIGGERS,
): string {
  const line = usage.replace(/^\/+/, '');
  if (source !== 'slash') return line;
  if (cmd.ownTrigger && line.startsWith(cmd.name)) return `/${triggers.prefix}${line}`;
  return `/${triggers.root} ${line}`;
}

/** The usage line as inline code. */
export const usageCode = (...args: Parameters<typeof usageText>): Markdown => code(usageText(...args));
