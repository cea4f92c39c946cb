import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { flag, isChannelRef, pageFlag, rawWord, rawWords, word, words } from '../../../commands/lib/args.js';
import { parseArgs, validateArgs } from '../../../src/core/parse.js';

describe('raw readers', () => {
  it('read a named positional, else the leftover words', () => {
    expect(rawWord({ _: [], user: '@ann' }, 'user')).toBe('@ann');
    expect(rawWord({ _: ['@bob'] }, 'user', 0)).toBe('@bob');
    expect(rawWord({ _: [] }, 'user', 0)).toBeUndefined();
    expect(rawWords({ _: [], refs: ['~x', '@a'] }, 'refs')).toEqual(['~x', '@a']);
    expect(rawWords({ _: ['a', 'b'] }, 'refs')).toEqual(['a', 'b']);
    expect(isChannelRef('~town-square')).toBe(true);
    expect(isChannelRef('@ann')).toBe(false);
  });
});

describe('schemas with the core parser', () => {
  const schema = z.object({ refs: words, page: pageFlag, inactive: flag, team: word.optional() });
  const parse = (ws: string[]) => validateArgs(parseArgs(ws, { positional: ['refs...'], schema }), schema, 'usage');

  it('collects rest positionals, numbers pages and keeps words after a boolean flag', () => {
    expect(parse(['--inactive', 'ann', '--page', '3'])).toEqual({ refs: ['ann'], page: 3, inactive: true });
    expect(parse([])).toEqual({ refs: [], page: 1, inactive: false });
    expect(parse(['0123', '--team', 'acme'])).toEqual({ refs: ['0123'], page: 1, inactive: false, team: 'acme' });
  });

  it('rejects bad pages with a readable message', () => {
    expect(() => parse(['--page', '0'])).toThrow(/--page starts at 1/);
    expect(() => parse(['--page', 'two'])).toThrow(/page/);
  });
});
