/**
 * zod pieces for command arguments, shaped so `src/core/parse.ts` can read them
 * (it learns boolean, number and array keys from the schema), plus small readers
 * for the *raw* arguments `target()` / `scope()` see before validation.
 */
import { z } from 'zod';

/** A single word argument or flag value. */
export const word = z.string();

/** A rest-positional (`'users...'`): zero or more words. */
export const words = z.array(z.string()).default([]);

/** `--page N`: a positive integer, 1 by default. */
export const pageFlag = z.coerce
  .number({ error: '--page takes a number, e.g. --page 2' })
  .int('--page takes a whole number')
  .min(1, '--page starts at 1')
  .max(100_000, '--page is too large')
  .default(1);

/** A boolean switch (`--inactive`); the parser keeps the next word as a positional. */
export const flag = z.boolean().default(false);

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
