/**
 * A subcommand's own deadline (`deadlineMs`): an export may run longer than the default,
 * a plain command may not, and a function of the words decides per invocation (`--csv`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineCommand, defineSubcommand } from '../../src/core/command.js';
import { say } from '../../src/core/reply.js';
import { createHarness, type Harness } from '../helpers/harness.js';

const slow = (name: string, deadlineMs?: number | ((w: readonly string[]) => number | undefined)) =>
  defineSubcommand({
    name,
    summary: 'waits a while',
    usage: `slow ${name}`,
    examples: [],
    args: z.object({ csv: z.boolean().default(false) }),
    access: { self: null },
    ...(deadlineMs !== undefined ? { deadlineMs } : {}),
    async execute(ctx) {
      await sleep(150, undefined, { signal: ctx.signal });
      return say('done');
    },
  });

const command = defineCommand({
  name: 'slow',
  summary: 'slow work',
  hint: '',
  ownTrigger: false,
  subcommands: [slow('plain'), slow('export', 10_000), slow('list', (w) => (w.includes('--csv') ? 10_000 : undefined))],
});

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ commands: [command], deadlineMs: 30 });
});
afterAll(async () => {
  await h?.close();
});

describe('a subcommand deadline', () => {
  it('stops a plain command at the default deadline', async () => {
    const { result, text } = await h.run('alice', 'slow plain');
    expect(result.outcome).toBe('timeout');
    expect(text).toContain('That took too long');
  });

  it('lets an export run past the default', async () => {
    expect((await h.run('alice', 'slow export')).result.outcome).toBe('ok');
  });

  it('decides from the words: --csv gets the longer deadline, the page listing does not', async () => {
    expect((await h.run('alice', 'slow list --csv')).result.outcome).toBe('ok');
    expect((await h.run('alice', 'slow list')).result.outcome).toBe('timeout');
  });
});
