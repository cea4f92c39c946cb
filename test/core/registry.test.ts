import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineCommand, defineSubcommand, type CommandDefinition } from '../../src/core/command.js';
import { say } from '../../src/core/reply.js';
import { closestNames, createRegistry, editDistance, RegistryError } from '../../src/core/registry.js';
import { createMemoryLogger } from '../helpers/logger.js';

const cmd = (name: string, over: Partial<CommandDefinition> = {}): CommandDefinition =>
  defineCommand({
    name,
    summary: `${name} things`,
    hint: '',
    ownTrigger: true,
    subcommands: [
      defineSubcommand({
        name: '',
        summary: 'default',
        usage: name,
        examples: [name],
        args: z.object({}),
        access: { self: null },
        execute: async () => say('ok'),
      }),
    ],
    ...over,
  });

const names = ['status', 'whois', 'teams', 'members', 'prefs', 'help', 'health', 'user', 'team', 'avatar'];

describe('createRegistry', () => {
  it('finds commands by name, case-insensitively, in definition order', () => {
    const r = createRegistry(names.map((n) => cmd(n)));
    expect(r.get('WHOIS')?.name).toBe('whois');
    expect(r.get('nope')).toBeUndefined();
    expect(r.all().map((c) => c.name)).toEqual(names);
  });

  it('throws on duplicate command or subcommand names', () => {
    expect(() => createRegistry([cmd('a'), cmd('a')])).toThrow(RegistryError);
    const twice = cmd('b');
    const sub = twice.subcommands[0];
    if (!sub) throw new Error('fixture');
    expect(() => createRegistry([{ ...twice, subcommands: [sub, sub] }])).toThrow(/Duplicate subcommand "b"/);
  });

  it('throws when a rest positional is not last', () => {
    const c = cmd('c');
    const sub = c.subcommands[0];
    if (!sub) throw new Error('fixture');
    expect(() => createRegistry([{ ...c, subcommands: [{ ...sub, positional: ['users...', 'team'] }] }])).toThrow(/must be the last/);
  });

  it('warns about a subcommand without summary, usage or examples', () => {
    const log = createMemoryLogger();
    const c = cmd('d');
    const sub = c.subcommands[0];
    if (!sub) throw new Error('fixture');
    createRegistry([{ ...c, subcommands: [{ ...sub, summary: '', usage: '', examples: [] }] }], log);
    expect(log.entries.filter((e) => e.level === 'warn').map((e) => e.msg)).toEqual([
      'subcommand has no summary',
      'subcommand has no usage',
      'subcommand has no examples',
    ]);
  });

  it('suggests close names for typos and prefixes', () => {
    const r = createRegistry(names.map((n) => cmd(n)));
    expect(r.closest('whoiz')).toEqual(['whois']);
    expect(r.closest('staus')).toEqual(['status']);
    expect(r.closest('tem')).toContain('team');
    expect(r.closest('mem')).toEqual(['members']);
    expect(r.closest('xyzzy')).toEqual([]);
    expect(r.closest('')).toEqual([]);
  });
});

describe('editDistance', () => {
  it('counts insertions, deletions, substitutions and transpositions', () => {
    expect(editDistance('whois', 'whois')).toBe(0);
    expect(editDistance('whios', 'whois')).toBe(1);
    expect(editDistance('who', 'whois')).toBe(2);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('ranks nearer names first', () => {
    expect(closestNames('helt', ['health', 'hello', 'help'])).toEqual(['help', 'health']);
  });
});
