import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { UserError } from '../../src/core/errors.js';
import { argKind, parseArgs, stripInvisible, tokenize, validateArgs } from '../../src/core/parse.js';

const userErrorOf = (fn: () => unknown): UserError => {
  try {
    fn();
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  throw new Error('expected a UserError');
};

describe('tokenize', () => {
  it('splits on whitespace and groups double-quoted words', () => {
    expect(tokenize('whois  "Ann Lee"\tnow')).toEqual(['whois', 'Ann Lee', 'now']);
  });

  it('accepts curly quotes (mobile keyboards) and joins quotes inside a word', () => {
    expect(tokenize('team add “Ann Lee” --nick="the boss"')).toEqual(['team', 'add', 'Ann Lee', '--nick=the boss']);
  });

  it('keeps an empty quoted word and escaped quotes', () => {
    expect(tokenize('user set --nickname ""')).toEqual(['user', 'set', '--nickname', '']);
    expect(tokenize('say \\"hi\\" "a \\"b\\""')).toEqual(['say', '"hi"', 'a "b"']);
  });

  it('keeps apostrophes inside names', () => {
    expect(tokenize("whois O'Brien")).toEqual(['whois', "O'Brien"]);
  });

  it('strips a leading slash and the root trigger (case-insensitive)', () => {
    expect(tokenize('/mmops whois x', { rootTrigger: 'mmops' })).toEqual(['whois', 'x']);
    expect(tokenize('MMOPS whois x', { rootTrigger: 'mmops' })).toEqual(['whois', 'x']);
    expect(tokenize('/whois x', { rootTrigger: 'mmops' })).toEqual(['whois', 'x']);
    expect(tokenize('ops whois x', { rootTrigger: 'ops' })).toEqual(['whois', 'x']);
    // without a configured root trigger, the word is kept
    expect(tokenize('mmops whois x')).toEqual(['mmops', 'whois', 'x']);
  });

  it('refuses an unbalanced quote with a clear message', () => {
    const e = userErrorOf(() => tokenize('whois "Ann Lee'));
    expect(e.code).toBe('invalid_input');
    expect(e.message).toMatch(/quote is never closed/);
    expect(e.message).toContain('"Ann Lee');
  });

  it('removes control, zero-width and bidi characters', () => {
    expect(tokenize('who\u0000is @\u200bann\u202e x\u0007')).toEqual(['whois', '@ann', 'x']);
    expect(stripInvisible('a\u2066b\ufeffc')).toBe('abc');
  });

  it('treats newlines and no-break spaces as separators, and as spaces inside quotes', () => {
    expect(tokenize('a\nb\u00a0c "d\ne"')).toEqual(['a', 'b', 'c', 'd e']);
  });

  it('caps the text length', () => {
    const e = userErrorOf(() => tokenize('x'.repeat(4001)));
    expect(e.code).toBe('invalid_input');
    expect(e.message).toMatch(/too long \(4001 characters; the limit is 4000\)/);
    expect(tokenize('x'.repeat(4000))).toHaveLength(1);
  });

  it('caps the number of words, even for thousands of them', () => {
    const many = Array.from({ length: 3000 }, (_, i) => `u${i}`).join(' ');
    const e = userErrorOf(() => tokenize(many, { maxLength: 100_000 }));
    expect(e.message).toMatch(/too many words \(the limit is 300\)/);
    expect(tokenize(Array.from({ length: 300 }, () => 'a').join(' '))).toHaveLength(300);
  });

  it('returns no words for blank text', () => {
    expect(tokenize('   ')).toEqual([]);
    expect(tokenize('/', { rootTrigger: 'mmops' })).toEqual([]);
  });
});

describe('parseArgs', () => {
  const schema = z.object({
    target: z.string(),
    force: z.boolean().default(false),
    page: z.number().int().optional(),
    tag: z.array(z.string()).optional(),
    dryRun: z.boolean().optional(),
  });

  it('maps positionals to names and keeps @user, ~channel, emails and ids as strings', () => {
    const id = '0123456789abcdefghijklmnop';
    expect(parseArgs(['@ann'], { positional: ['target'], schema })).toEqual({ _: [], target: '@ann' });
    expect(parseArgs(['ann@example.com', '~town-square', id, '007'], { positional: ['a', 'b', 'c', 'd'] })).toEqual({
      _: [],
      a: 'ann@example.com',
      b: '~town-square',
      c: id,
      d: '007',
    });
  });

  it('does not let a boolean flag swallow the next word', () => {
    expect(parseArgs(['--force', '@bob'], { positional: ['target'], schema })).toEqual({ _: [], target: '@bob', force: true });
  });

  it('turns numeric flag values into numbers only where the schema wants a number', () => {
    const raw = parseArgs(['x', '--page', '2'], { positional: ['target'], schema });
    expect(raw.page).toBe(2);
    expect(parseArgs(['--nick', '42'], {}).nick).toBe('42');
  });

  it('collects a trailing rest positional into an array', () => {
    const raw = parseArgs(['acme', '@a', '@b', 'c'], { positional: ['team', 'users...'] });
    expect(raw).toEqual({ _: [], team: 'acme', users: ['@a', '@b', 'c'] });
    expect(parseArgs(['acme'], { positional: ['team', 'users...'] }).users).toEqual([]);
  });

  it('leaves extra positionals in _ and fills kebab flags into camelCase keys', () => {
    const raw = parseArgs(['a', 'b', '--dry-run'], { positional: ['target'], schema });
    expect(raw).toEqual({ _: ['b'], target: 'a', dryRun: true });
  });

  it('repeats array flags and wraps a single value', () => {
    expect(parseArgs(['x', '--tag', 'a', '--tag', 'b'], { positional: ['target'], schema }).tag).toEqual(['a', 'b']);
    expect(parseArgs(['x', '--tag', 'a'], { positional: ['target'], schema }).tag).toEqual(['a']);
  });

  it('ignores prototype-polluting keys', () => {
    const raw = parseArgs(['--__proto__', 'x', '--constructor', 'y'], {});
    expect(Object.keys(raw)).not.toContain('__proto__');
    expect(Object.keys(raw)).not.toContain('constructor');
    expect(Object.getPrototypeOf(raw)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('never throws, even on odd words', () => {
    expect(() => parseArgs(['-', '--', '---', '--=', '-5', '--a=', '"'], { positional: ['x...'] })).not.toThrow();
  });
});

describe('validateArgs', () => {
  const schema = z.object({ target: z.string().min(1), page: z.number().int().min(1).optional() });

  it('returns the typed args', () => {
    expect(validateArgs({ _: [], target: 'ann', page: 2 }, schema, 'whois @user')).toEqual({ target: 'ann', page: 2 });
  });

  it('names a missing argument and carries the usage', () => {
    const e = userErrorOf(() => validateArgs({ _: [] }, schema, 'whois @user'));
    expect(e.message).toBe('Missing "target".');
    expect(e.details.usage).toBe('whois @user');
  });

  it('reports extra words with a hint about quotes', () => {
    const e = userErrorOf(() => validateArgs({ _: ['Lee'], target: 'Ann' }, schema, 'whois @user'));
    expect(e.message).toMatch(/Unexpected word: "Lee"\. Put a name with spaces in quotes\./);
  });

  it('reports unknown flags by their dashed name', () => {
    const e = userErrorOf(() => validateArgs({ _: [], target: 'x', dryRun: true }, schema, 'u'));
    expect(e.message).toBe('Unknown option: --dry-run.');
  });

  it('explains a wrong type', () => {
    const e = userErrorOf(() => validateArgs({ _: [], target: 'x', page: 'two' }, schema, 'u'));
    expect(e.message).toMatch(/^"page": /);
  });
});

describe('argKind', () => {
  it('looks through optional, default and pipes', () => {
    expect(argKind(z.boolean().default(false))).toBe('boolean');
    expect(argKind(z.coerce.number().optional())).toBe('number');
    expect(argKind(z.array(z.string()).optional())).toBe('array');
    expect(argKind(z.string().transform((s) => s.length))).toBe('string');
    expect(argKind(z.union([z.string(), z.number()]))).toBe('other');
  });
});
