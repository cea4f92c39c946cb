/**
 * parseArgs skips yargs-parser when no word starts with "-" (a speed-up, see
 * docs/benchmark.md). These tests pin that the result is what yargs-parser gives:
 * the same words plus a trailing flag (which cannot take a positional) force the
 * yargs-parser path, and the two results must agree once that flag is removed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allCommands } from '../../commands/index.js';
import { parseArgs, type ParseArgsOptions } from '../../src/core/parse.js';

const PROBE = '--zz-probe';

/** Every (positional, schema) pair the registered subcommands use. */
const shapes: ParseArgsOptions[] = allCommands.flatMap((c) => c.subcommands.map((s) => ({ positional: s.positional ?? [], schema: s.args })));

const word = fc.oneof(
  fc.constantFrom('@bob', 'alice', 'bob@acme.example', '~town-square', 'acme', '30', '2h', 'tomorrow 9:00', '"quoted"', "'single'", 'a=b', 'x--y', '0', '1e3', '__proto__', 'constructor', 'true', 'false', ''),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
);
const positionalWords = fc.array(word, { maxLength: 8 }).filter((ws) => ws.every((w) => !w.startsWith('-')));

describe('parseArgs without flags', () => {
  it('gives what yargs-parser gives, for every subcommand shape', () => {
    fc.assert(
      fc.property(positionalWords, fc.constantFrom(...shapes), (words, shape) => {
        const fast = parseArgs(words, shape);
        const { ['zz-probe']: probe, ...viaYargs } = parseArgs([...words, PROBE], shape);
        expect(probe).toBe(true);
        expect(fast).toEqual(viaYargs);
      }),
      { numRuns: 3_000 },
    );
  });

  it('still parses flags when a word starts with "-"', () => {
    const shape = shapes.find((s) => s.positional?.includes('words...')) ?? { positional: ['words...'] };
    expect(parseArgs(['set', 'dnd', '--until', '2h'], shape)).toMatchObject({ until: '2h', words: ['set', 'dnd'] });
    expect(parseArgs(['-x'], {})).toMatchObject({ x: true, _: [] });
  });
});
