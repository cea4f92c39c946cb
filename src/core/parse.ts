/**
 * Command text → words → raw arguments.
 *
 * `tokenize` splits what a person typed into words the way a shell would for the
 * simple cases people use in chat (double quotes, straight or curly, group words;
 * `\"` is a literal quote), after removing invisible control characters and capping
 * the size. `parseArgs` turns the words after the command and subcommand into
 * `{ ...named positionals, ...flags, _: extras }` with yargs-parser, using the
 * subcommand's zod schema to learn which flags are booleans (so `--force @bob`
 * keeps `@bob` as a positional) and which values are numbers. `validateArgs` runs
 * the schema and turns its complaints into one clear sentence plus the usage.
 *
 * Nothing here decides who may do what; the dispatcher calls these in order.
 *
 * @example
 *   tokenize('mmops whois "Ann Lee"', { rootTrigger: 'mmops' }) // ['whois', 'Ann Lee']
 *   parseArgs(['@bob', '--force'], { positional: ['target'], schema }) // { _: [], target: '@bob', force: true }
 */
import yargsParser from 'yargs-parser';
import { z } from 'zod';
import type { RawArgs } from './command.js';
import { UserError } from './errors.js';

export interface TokenizeOptions {
  /** the root slash trigger (`mmops`): `mmops whois x` and `/mmops whois x` become `whois x` */
  rootTrigger?: string;
  /** longest accepted text, in characters (default 4000) */
  maxLength?: number;
  /** most accepted words (default 300) */
  maxArgs?: number;
}

export const DEFAULT_MAX_LENGTH = 4000;
export const DEFAULT_MAX_ARGS = 300;

// Control characters that only ever disguise text: C0/C1 controls (not whitespace),
// zero-width characters, bidi overrides and isolates, BOM. Zero-width spaces are
// removed too, so a name copied from a bot reply (`@\u200bann`) works again.
// eslint-disable-next-line no-control-regex
const INVISIBLE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u0084\u0086-\u009f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;
/** Whitespace that separates words (incl. NBSP and line/paragraph separators). */
const SPACE = /[\s\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;
const OPEN_QUOTES = new Set(['"', '\u201c', '\u201d', '\u201e']);
const CLOSE_QUOTES = new Set(['"', '\u201c', '\u201d']);

/** Removes invisible control, zero-width and bidi characters. */
export function stripInvisible(text: string): string {
  return text.replace(INVISIBLE, '');
}

/**
 * Splits command text into words. Throws UserError `invalid_input` for text that is
 * too long, has too many words, or leaves a quote open.
 */
export function tokenize(text: string, opts: TokenizeOptions = {}): string[] {
  const maxLength = opts.maxLength ?? DEFAULT_MAX_LENGTH;
  const maxArgs = opts.maxArgs ?? DEFAULT_MAX_ARGS;
  if (text.length > maxLength) {
    throw new UserError(
      'invalid_input',
      `That command is too long (${text.length} characters; the limit is ${maxLength}).`,
    );
  }
  const clean = stripInvisible(text);
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quoteStart = -1;
  for (let i = 0; i < clean.length; i++) {
    const c = clean[i] ?? '';
    if (c === '\\' && i + 1 < clean.length) {
      const next = clean[i + 1] ?? '';
      if (OPEN_QUOTES.has(next) || CLOSE_QUOTES.has(next) || next === '\\') {
        word += next;
        inWord = true;
        i++;
        continue;
      }
    }
    if (quoteStart >= 0) {
      if (CLOSE_QUOTES.has(c)) quoteStart = -1;
      else word += SPACE.test(c) ? ' ' : c; // newlines inside quotes become spaces
      continue;
    }
    if (OPEN_QUOTES.has(c)) {
      quoteStart = i;
      inWord = true; // `""` is an empty word (e.g. to clear a field)
      continue;
    }
    if (SPACE.test(c)) {
      if (inWord) pushWord();
      continue;
    }
    word += c;
    inWord = true;
  }
  if (quoteStart >= 0) {
    const near = clean.slice(quoteStart, quoteStart + 20);
    throw new UserError(
      'invalid_input',
      `A quote is never closed (near ${near}${clean.length > quoteStart + 20 ? '…' : ''}). Close it with a matching " or escape it as \\".`,
    );
  }
  if (inWord) pushWord();

  // `/mmops whois x`, `mmops whois x`, `/whois x` → `whois x`
  if (words[0] !== undefined && words[0].startsWith('/')) {
    words[0] = words[0].slice(1);
    if (words[0] === '') words.shift();
  }
  const root = opts.rootTrigger?.toLowerCase();
  if (root && words[0]?.toLowerCase() === root) words.shift();
  return words;

  function pushWord(): void {
    if (words.length >= maxArgs) {
      throw new UserError('invalid_input', `That command has too many words (the limit is ${maxArgs}).`);
    }
    words.push(word);
    word = '';
    inWord = false;
  }
}

// ---------------------------------------------------------------------------
// Schema introspection (zod v4): which keys are booleans, numbers, arrays.

export type ArgKind = 'boolean' | 'number' | 'array' | 'string' | 'other';

/** The value kind a schema accepts as input, looking through optional/default/pipe wrappers. */
export function argKind(schema: z.core.$ZodType): ArgKind {
  let s: z.core.$ZodType = schema;
  for (let depth = 0; depth < 20; depth++) {
    if (
      s instanceof z.core.$ZodOptional ||
      s instanceof z.core.$ZodNullable ||
      s instanceof z.core.$ZodDefault ||
      s instanceof z.core.$ZodPrefault ||
      s instanceof z.core.$ZodCatch ||
      s instanceof z.core.$ZodReadonly ||
      s instanceof z.core.$ZodNonOptional
    ) {
      s = s._zod.def.innerType;
    } else if (s instanceof z.core.$ZodPipe) {
      s = s._zod.def.in;
    } else break;
  }
  if (s instanceof z.core.$ZodBoolean) return 'boolean';
  if (s instanceof z.core.$ZodNumber) return 'number';
  if (s instanceof z.core.$ZodArray) return 'array';
  if (s instanceof z.core.$ZodString || s instanceof z.core.$ZodEnum) return 'string';
  return 'other';
}

/** Key → kind for an object schema; undefined when the schema is not an object. */
export function describeArgs(schema: z.core.$ZodType | undefined): Map<string, ArgKind> | undefined {
  let s = schema;
  for (let depth = 0; s && depth < 20; depth++) {
    if (s instanceof z.core.$ZodPipe) s = s._zod.def.in;
    else if (s instanceof z.core.$ZodDefault || s instanceof z.core.$ZodOptional || s instanceof z.core.$ZodPrefault)
      s = s._zod.def.innerType;
    else break;
  }
  if (!(s instanceof z.core.$ZodObject)) return undefined;
  const out = new Map<string, ArgKind>();
  for (const [key, value] of Object.entries(s._zod.def.shape)) out.set(key, argKind(value));
  return out;
}

// ---------------------------------------------------------------------------
// Words → raw arguments

export interface ParseArgsOptions {
  /** positional names in order; a trailing `name...` collects the rest into an array */
  positional?: string[];
  /** the subcommand's schema (to learn boolean/number/array keys) */
  schema?: z.core.$ZodType;
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const NUMERIC = /^[+-]?(\d+(\.\d+)?|\.\d+)$/;

/** `dry-run` → `dryRun` */
const camel = (k: string): string => k.replace(/-+([a-z0-9])/gi, (_m, c: string) => c.toUpperCase());
/** `dryRun` → `dry-run` */
const kebab = (k: string): string => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * Parses the words after the command/subcommand into raw arguments. Never throws:
 * positionals beyond the declared names stay in `_`, unknown flags are kept under
 * their own name; `validateArgs` reports both.
 */
export function parseArgs(words: string[], opts: ParseArgsOptions = {}): RawArgs {
  const kinds = describeArgs(opts.schema) ?? new Map<string, ArgKind>();
  const booleans: string[] = [];
  const arrays: string[] = [];
  for (const [key, kind] of kinds) {
    const names = [key, kebab(key)];
    if (kind === 'boolean') booleans.push(...names);
    if (kind === 'array') arrays.push(...names);
  }
  // Without a word that starts with "-" there is no flag: every word is a positional,
  // which is what yargs-parser would return, at a fraction of its cost (~20 µs a command).
  const parsed = !words.some((w) => w.startsWith('-')) ? { _: [...words] } : yargsParser(words, {
    boolean: booleans,
    configuration: {
      'parse-numbers': false,
      'parse-positional-numbers': false,
      'dot-notation': false,
      'camel-case-expansion': false,
      'duplicate-arguments-array': true,
      'greedy-arrays': false,
      'populate--': false,
      'unknown-options-as-args': false,
    },
  });

  const raw: RawArgs = { _: [] };
  const positionals = (parsed._ ?? []).map(String);
  for (const [flag, value] of Object.entries(parsed)) {
    if (flag === '_' || flag === '--' || FORBIDDEN_KEYS.has(flag)) continue;
    // `--dry-run` fills a schema key `dryRun` (or `dry-run`, whichever exists)
    const key = kinds.has(flag) ? flag : kinds.has(camel(flag)) ? camel(flag) : flag;
    raw[key] = value;
  }

  const names = opts.positional ?? [];
  let next = 0;
  for (let i = 0; i < names.length; i++) {
    const spec = names[i] ?? '';
    const rest = spec.endsWith('...');
    const name = rest ? spec.slice(0, -3) : spec;
    if (FORBIDDEN_KEYS.has(name)) continue;
    if (rest) {
      const collected = positionals.slice(next);
      next = positionals.length;
      const prior = raw[name];
      if (Array.isArray(prior)) raw[name] = [...prior.map(String), ...collected];
      else if (prior !== undefined) raw[name] = [String(prior), ...collected];
      else raw[name] = collected;
      break;
    }
    if (raw[name] !== undefined) continue; // given as a flag (`--team x`)
    if (next < positionals.length) raw[name] = positionals[next++];
  }
  raw._ = positionals.slice(next);

  // Schema-directed normalization: numbers for number keys, arrays for array keys.
  for (const [key, kind] of kinds) {
    const v = raw[key];
    if (v === undefined) continue;
    if (kind === 'number' && typeof v === 'string' && NUMERIC.test(v.trim())) raw[key] = Number(v);
    if (kind === 'array' && !Array.isArray(v)) raw[key] = [v];
    if (kind === 'string' && Array.isArray(v) && v.length > 0) raw[key] = v[v.length - 1]; // `--x a --x b` → last wins
  }
  return raw;
}

// ---------------------------------------------------------------------------
// Validation

/**
 * Checks raw arguments against the subcommand's schema. Throws UserError
 * `invalid_input` (with `usage`) for extra words, unknown flags, or schema issues.
 */
export function validateArgs<S extends z.ZodType>(
  raw: RawArgs,
  schema: S,
  usage: string,
): z.infer<S> {
  const kinds = describeArgs(schema);
  const acceptsRest = kinds?.has('_') ?? true;
  if (!acceptsRest && raw._.length > 0) {
    const extra = raw._.slice(0, 3).map((w) => `"${w}"`).join(', ');
    throw new UserError(
      'invalid_input',
      `Unexpected ${raw._.length === 1 ? 'word' : 'words'}: ${extra}${raw._.length > 3 ? ', …' : ''}. Put a name with spaces in quotes.`,
      { usage },
    );
  }
  if (kinds) {
    const unknown = Object.keys(raw).filter((k) => k !== '_' && !kinds.has(k));
    if (unknown.length > 0) {
      throw new UserError(
        'invalid_input',
        `Unknown ${unknown.length === 1 ? 'option' : 'options'}: ${unknown.map((k) => `--${kebab(k)}`).join(', ')}.`,
        { usage },
      );
    }
  }
  const input: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (k !== '_' || acceptsRest) input[k] = v;
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new UserError('invalid_input', describeIssues(result.error, kinds), { usage });
}

/** One or two friendly sentences from zod issues. */
export function describeIssues(error: z.ZodError, kinds?: Map<string, ArgKind>): string {
  const parts = error.issues.slice(0, 2).map((issue) => {
    const key = issue.path.map(String).join('.');
    const what = key === '' ? 'the arguments' : `"${kinds?.has(key) ? kebab(key) : key}"`;
    if (issue.code === 'invalid_type' && issue.message.includes('received undefined')) return `Missing ${what}.`;
    return `${capitalize(what)}: ${issue.message.replace(/\.$/, '')}.`;
  });
  if (error.issues.length > 2) parts.push(`(${error.issues.length - 2} more.)`);
  return parts.join(' ');
}

const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
