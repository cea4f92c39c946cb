/**
 * The whole pipeline against the fake Mattermost server: real REST client, real
 * permission service, real dispatcher and renderer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import status from '../../commands/status.js';
import { defineCommand, defineSubcommand } from '../../src/core/command.js';
import { say } from '../../src/core/reply.js';
import { z } from 'zod';
import { createHarness, type Harness } from './harness.js';

const probe = defineCommand({
  name: 'probe',
  summary: 'Reports what the dispatcher resolved',
  hint: '',
  ownTrigger: false,
  subcommands: [
    defineSubcommand({
      name: '',
      summary: 'target and team',
      usage: 'probe @user',
      examples: ['probe @bob'],
      positional: ['target'],
      args: z.object({ target: z.string().optional() }),
      access: { self: null, other: { permission: 'edit_other_users', scope: 'system' }, adminTargetNeedsManageSystem: true },
      target: (raw) => (typeof raw.target === 'string' ? raw.target : undefined),
      execute: async (ctx) => say(`caller=${ctx.caller.username} target=${ctx.target?.username ?? '-'} team=${ctx.team?.name ?? '-'} channel=${ctx.channel?.name ?? '-'}`),
    }),
  ],
});

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ commands: [status, probe] });
});
afterAll(async () => {
  await h?.close();
});

describe('harness', () => {
  it('runs a real command for a seeded user', async () => {
    const { result, text } = await h.run('alice', 'status @bob');
    expect(result.outcome).toBe('ok');
    expect(text).toContain('Bob');
  });

  it('resolves the caller, target, team and channel through the fake server', async () => {
    const { text } = await h.run('alice', 'probe @bob');
    expect(text).toBe('caller=alice target=bob team=acme channel=town\\-square');
  });

  it('enforces the caller\u2019s real permissions: bob cannot act on others, heidi (help desk) can', async () => {
    const bob = await h.run('bob', 'probe @dave');
    expect(bob.result.outcome).toBe('refused');
    expect(bob.text).toBe(':no_entry: You need `edit_other_users` (system-wide) to do that.');
    expect((await h.run('heidi', 'probe @dave')).result.outcome).toBe('ok');
    // acting on a system admin also needs manage_system, which heidi lacks
    const admin = await h.run('heidi', 'probe @alice');
    expect(admin.text).toContain('`manage_system`');
    expect(h.audits.some((a) => a.who.username === 'bob' && a.outcome === 'refused' && a.ref === bob.result.ref)).toBe(true);
  });

  it('hides unknown targets from unprivileged callers only', async () => {
    expect((await h.run('bob', 'probe @nobody-here')).result.outcome).toBe('refused');
    const admin = await h.run('alice', 'probe @nobody-here');
    expect(admin.result.outcome).toBe('user_error');
  });

  it('refuses deactivated users and other bots', async () => {
    expect((await h.run('frank', 'status')).result.outcome).toBe('refused');
    expect((await h.run('otherbot', 'status')).result.outcome).toBe('refused');
  });

  it('suggests a command for a typo', async () => {
    const { result, text } = await h.run('bob', 'statsu');
    expect(result.outcome).toBe('unknown_command');
    expect(text).toContain('`status`');
  });

  it('never shows a live mention from hostile profile fields', async () => {
    const { text } = await h.run('alice', 'status @mallory');
    expect(text).not.toMatch(/(^|[^\w\u200b])@(channel|all|here)/i);
  });
});
