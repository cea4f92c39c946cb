/**
 * The command registry: every definition by name, checked once at load time.
 * Broken definitions (duplicate names, a rest positional that is not last) throw,
 * because they are programming errors; incomplete ones (no summary, usage or
 * examples) only warn, like the discord.js guide's loader.
 *
 * @example
 *   const registry = createRegistry(allCommands, log);
 *   registry.get('whois');          // the definition
 *   registry.closest('whoami');     // ['whois']
 */
import type { CommandDefinition, Logger, SubcommandDefinition } from './command.js';
import { silentLogger } from '../log/logger.js';

export interface Registry {
  /** every command, in definition order */
  all(): readonly CommandDefinition[];
  /** the command named `name` (case-insensitive) */
  get(name: string): CommandDefinition | undefined;
  /** up to three names close to `name` (typos, prefixes), best first */
  closest(name: string): string[];
}

export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  readonly code = 'invalid_definition';
}

const NAME = /^[a-z][a-z0-9-]*$/;

/** Builds the registry, throwing RegistryError for definitions that cannot work. */
export function createRegistry(commands: readonly CommandDefinition[], logger: Logger = silentLogger): Registry {
  const byName = new Map<string, CommandDefinition>();
  for (const cmd of commands) {
    checkCommand(cmd, logger);
    if (byName.has(cmd.name)) throw new RegistryError(`Duplicate command name "${cmd.name}".`);
    byName.set(cmd.name, cmd);
  }
  const list = [...byName.values()];
  return {
    all: () => list,
    get: (name) => byName.get(name.toLowerCase()),
    closest: (name) => closestNames(name, list.map((c) => c.name)),
  };
}

function checkCommand(cmd: CommandDefinition, log: Logger): void {
  if (!NAME.test(cmd.name)) throw new RegistryError(`Invalid command name "${cmd.name}" (lowercase letters, digits, dashes).`);
  if (!cmd.summary) log.warn({ command: cmd.name }, 'command has no summary');
  if (cmd.subcommands.length === 0) throw new RegistryError(`Command "${cmd.name}" has no subcommands.`);
  const seen = new Set<string>();
  for (const sub of cmd.subcommands) {
    const label = `${cmd.name}${sub.name ? ` ${sub.name}` : ''}`;
    if (sub.name !== '' && !NAME.test(sub.name)) throw new RegistryError(`Invalid subcommand name "${label}".`);
    if (seen.has(sub.name)) throw new RegistryError(`Duplicate subcommand "${label}".`);
    seen.add(sub.name);
    checkPositional(sub, label);
    if (!sub.summary) log.warn({ command: label }, 'subcommand has no summary');
    if (!sub.usage) log.warn({ command: label }, 'subcommand has no usage');
    if (!sub.examples || sub.examples.length === 0) log.warn({ command: label }, 'subcommand has no examples');
    if (typeof sub.execute !== 'function') throw new RegistryError(`Subcommand "${label}" has no execute function.`);
  }
}

function checkPositional(sub: SubcommandDefinition, label: string): void {
  const names = sub.positional ?? [];
  names.forEach((n, i) => {
    if (n.endsWith('...') && i !== names.length - 1) {
      throw new RegistryError(`In "${label}", the rest positional "${n}" must be the last one.`);
    }
  });
}

/** Names within edit distance 2 (or sharing a 3+ letter prefix), nearest first. */
export function closestNames(input: string, names: readonly string[], max = 3): string[] {
  const q = input.toLowerCase();
  if (q === '') return [];
  const scored: Array<{ name: string; score: number }> = [];
  for (const name of names) {
    const d = editDistance(q, name);
    const prefix = q.length >= 3 && (name.startsWith(q) || q.startsWith(name));
    const limit = Math.min(2, Math.max(1, Math.floor(name.length / 3)));
    if (d <= limit || prefix) scored.push({ name, score: prefix ? Math.min(d, 1) : d });
  }
  return scored
    .sort((a, b) => a.score - b.score || a.name.localeCompare(b.name))
    .slice(0, max)
    .map((s) => s.name);
}

/** Damerau-Levenshtein (optimal string alignment) distance; inputs are short words. */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (Math.abs(a.length - b.length) > 3 || a.length > 64 || b.length > 64) return Math.max(a.length, b.length);
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => d[i]?.[j] ?? 0;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      const row = d[i];
      if (row) row[j] = v;
    }
  }
  return at(rows - 1, cols - 1);
}
