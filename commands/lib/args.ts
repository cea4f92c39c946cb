/**
 * zod pieces for command arguments as `yargs-parser` hands them over: numeric
 * looking words may arrive as numbers, a rest-positional may be a single string or
 * missing, a boolean flag may swallow the next word (`--inactive foo`).
 * Also small readers for the *raw* arguments `target()` / `scope()` see.
 */
import { z } from 'zod';

/** A word: string, or a number yargs made of it, as a string. */
export const word = z.union([z.string(), z.number()]).transform((v) => String(v));

/** A rest-positional: zero or more words. */
export const words = z
  .preprocess((v) => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]), z.array(word))
  .default([]);

/** `--page N`: a positive integer, 1 by default. */
export const pageFlag = z.coerce
  .number({ error: '--page takes a number, e.g. --page 2' })
  .int('--page takes a whole number')
  .min(1, '--page starts at 1')
  .max(100_000, '--page is too large')
  .default(1);

/**
 * A boolean flag that may have swallowed the next word (`--inactive ann`): the
 * flag is true and the word is handed back in `extra`.
 */
export const looseFlag = z
  .union([z.boolean(), z.string(), z.number()])
  .optional()
  .transform((v) => {
    if (v === undefined || v === false || v === 'false') return { on: false, extra: undefined };
    if (v === true || v === 'true') return { on: true, extra: undefined };
    return { on: true, extra: String(v) };
  });

/** The raw argument `name` if it is a word, else positional `index` of `raw._`. */
export function rawWord(raw: Record<string, unknown>, name: string, index?: number): string | undefined {
  const v = raw[name];
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  if (Array.isArray(v)) {
    const first: unknown = v[0];
    if (typeof first === 'string' || typeof first === 'number') return String(first);
  }
  if (index === undefined) return undefined;
  const rest = raw['_'];
  if (Array.isArray(rest)) {
    const at: unknown = rest[index];
    if (typeof at === 'string' || typeof at === 'number') return String(at);
  }
  return undefined;
}

/** All positional words in raw args: the named rest-positional `name` if present, else `raw._`. */
export function rawWords(raw: Record<string, unknown>, name: string): string[] {
  const pick = (v: unknown): string[] =>
    Array.isArray(v)
      ? v.filter((x): x is string | number => typeof x === 'string' || typeof x === 'number').map(String)
      : typeof v === 'string' || typeof v === 'number'
        ? [String(v)]
        : [];
  const named = pick(raw[name]);
  return named.length ? named : pick(raw['_']);
}

/** A channel reference: `~town-square` (or `~acme:town-square`). */
export const isChannelRef = (w: string): boolean => w.startsWith('~');
