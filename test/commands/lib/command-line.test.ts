import { describe, expect, it } from 'vitest';
import { commandLine, nextPageHint, quoteArg } from '../../../commands/lib/command-line.js';
import { defineCommand } from '../../../src/core/command.js';
import { createTestContext } from '../../helpers/context.js';

const own = defineCommand({ name: 'teams', summary: 's', hint: '', ownTrigger: true, subcommands: [] });
const builtin = defineCommand({ name: 'status', summary: 's', hint: '', ownTrigger: false, subcommands: [] });

const ctxFor = (source: 'slash' | 'dm' | 'mention', triggers?: { root: string; prefix: string }) =>
  createTestContext({ commands: [own, builtin], invocation: { source }, ...(triggers ? { services: { triggers } } : {}) });

describe('commandLine', () => {
  it('uses the own trigger, the root trigger for built-in names, and bare words in DMs and mentions', () => {
    expect(commandLine(ctxFor('slash'), 'teams', ['members', 'acme'])).toBe('/teams members acme');
    expect(commandLine(ctxFor('slash'), 'status', ['@ann'])).toBe('/mmops status @ann');
    expect(commandLine(ctxFor('slash', { root: 'ops', prefix: 'mm-' }), 'teams', ['members'])).toBe('/mm-teams members');
    expect(commandLine(ctxFor('slash', { root: 'ops', prefix: 'mm-' }), 'status', [])).toBe('/ops status');
    expect(commandLine(ctxFor('dm'), 'teams', ['members', 'acme'])).toBe('teams members acme');
    expect(commandLine(ctxFor('mention'), 'status', [])).toBe('status');
  });

  it('quotes arguments with spaces or quotes so they parse back the same', () => {
    expect(quoteArg('acme')).toBe('acme');
    expect(quoteArg('Ann Lee')).toBe('"Ann Lee"');
    expect(quoteArg('say "hi"')).toBe('"say \\"hi\\""');
    expect(quoteArg('')).toBe('""');
  });

  it('builds a next-page hint naming the exact command, as inline code', () => {
    const hint = nextPageHint(ctxFor('slash'), 'teams', ['members', 'acme'], 2);
    expect(hint.value).toBe('Next page: `/teams members acme --page 2`');
    // hostile text cannot break out of the code span or mention anyone
    const evil = nextPageHint(ctxFor('dm'), 'teams', ['members', '`@channel`'], 3);
    expect(evil.value).toMatch(/^Next page: (`{2,})teams members `@\u200bchannel` --page 3\1$/);
    expect(evil.value).not.toMatch(/@channel/);
  });
});
