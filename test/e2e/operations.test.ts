/**
 * End to end, operational paths of the real bot against the fake server, with small
 * purpose-made commands so these paths do not depend on any one real command:
 * slow answers through response_url, the audit channel, an unreachable server at
 * start-up, a bot without the right to register commands, and a bad policy file.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createBot, isStartupError } from '../../src/bot.js';
import { defineCommand, defineSubcommand } from '../../src/core/command.js';
import { paragraph, reply } from '../../src/core/reply.js';
import { startFakeMattermost } from '../../src/sandbox/fake-server.js';
import { channelIdFor, userIdFor } from '../../src/sandbox/seed.js';
import { createMemoryLogger } from '../helpers/logger.js';
import { configFor, envFor, FAST, startE2E, waitFor, type E2E } from './support.js';

const BOT_ID = userIdFor('mmops');

const slowpoke = defineCommand({
  name: 'slowpoke',
  summary: 'Answers after a while',
  hint: '',
  ownTrigger: true,
  subcommands: [
    defineSubcommand({
      name: '',
      summary: 'Answers after 400 ms',
      usage: 'slowpoke',
      examples: ['slowpoke'],
      args: z.object({}),
      access: { self: null },
      async execute() {
        await new Promise((r) => setTimeout(r, 400));
        return reply([paragraph('finally done')], { visibility: 'channel' });
      },
    }),
  ],
});

const guarded = defineCommand({
  name: 'guarded',
  summary: 'A privileged action',
  hint: '',
  ownTrigger: true,
  subcommands: [
    defineSubcommand({
      name: '',
      summary: 'Needs manage_system',
      usage: 'guarded',
      examples: ['guarded'],
      args: z.object({}),
      access: { self: { permission: 'manage_system', scope: 'system' } },
      async execute() {
        return reply([paragraph('guarded action done')]);
      },
    }),
  ],
});

const COMMANDS = [slowpoke, guarded];

let e2e: E2E | undefined;
afterEach(async () => {
  await e2e?.close();
  e2e = undefined;
});

describe('slow slash commands', () => {
  it('answers "working" at once and posts the result through response_url', async () => {
    e2e = await startE2E({ deps: { commands: COMMANDS, slowReplyMs: 100 } });
    const result = await e2e.fake.executeSlash('alice', 'acme:town-square', '/slowpoke');
    expect(result.error).toBeUndefined();
    expect(result.response?.response_type).toBe('ephemeral');
    expect(result.response?.text).toMatch(/working/i);
    const later = await waitFor(() => e2e?.fake.posts.find((p) => p.message.includes('finally done')), 'the delayed answer');
    // a response_url post is authored by the invoking user, in the channel (docs/mattermost-notes.md §4.4)
    expect(later.user_id).toBe(userIdFor('alice'));
    expect(later.channel_id).toBe(channelIdFor('acme', 'town-square'));
  });
});

describe('audit channel', () => {
  it('posts a one-line summary of privileged actions, allowed and refused', async () => {
    e2e = await startE2E({ env: { MMOPS_AUDIT_CHANNEL: 'acme:off-topic' }, deps: { commands: COMMANDS } });
    const offTopic = channelIdFor('acme', 'off-topic');
    await e2e.fake.executeSlash('alice', 'acme:town-square', '/guarded');
    await e2e.fake.executeSlash('bob', 'acme:town-square', '/guarded');
    const lines = await waitFor(() => {
      const l = e2e?.fake.posts.filter((p) => p.channel_id === offTopic && p.user_id === BOT_ID) ?? [];
      return l.length >= 2 ? l : undefined;
    }, 'two audit lines');
    const text = lines.map((p) => p.message).join('\n');
    expect(text).toMatch(/alice.*guarded.*done/s);
    expect(text).toMatch(/bob.*guarded.*refused/s);
    expect(e2e.log.entries.filter((e) => e.msg === 'audit')).toHaveLength(2);
  });

  it('warns at start-up when the audit channel cannot be found, and carries on', async () => {
    e2e = await startE2E({ env: { MMOPS_AUDIT_CHANNEL: 'acme:no-such-channel' }, deps: { commands: COMMANDS } });
    expect(e2e.log.entries.some((e) => e.level === 'warn' && e.msg.startsWith('MMOPS_AUDIT_CHANNEL'))).toBe(true);
    const r = await e2e.fake.executeSlash('alice', 'acme:town-square', '/guarded');
    expect(r.error).toBeUndefined();
  });
});

describe('start-up', () => {
  it('retries an unreachable server with backoff, logging it, then starts', async () => {
    e2e = await startE2E({ start: false, deps: { commands: COMMANDS } });
    e2e.fake.faults.down = true;
    const starting = e2e.bot.start();
    await waitFor(() => (e2e?.log.entries.filter((e) => e.msg.includes('is unreachable')).length ?? 0) >= 2, 'two retries');
    e2e.fake.faults.down = false;
    await starting;
    expect(e2e.log.entries.filter((e) => e.msg.startsWith('ready'))).toHaveLength(1);
  });

  it('stops retrying when stopped during start-up', async () => {
    e2e = await startE2E({ start: false, deps: { commands: COMMANDS } });
    e2e.fake.faults.down = true;
    const starting = e2e.bot.start();
    await waitFor(() => e2e?.log.entries.some((e) => e.msg.includes('is unreachable')), 'a retry');
    await e2e.bot.stop();
    await expect(starting).rejects.toMatchObject({ code: 'stopped' });
    e2e.fake.faults.down = false;
  });

  it('carries on without slash commands when the bot may not manage them, naming the permission', async () => {
    e2e = await startE2E({ start: false, deps: { commands: COMMANDS } });
    const bot = e2e.fake.store.users.get(BOT_ID);
    if (!bot) throw new Error('no bot in the seed');
    bot.roles = 'system_user';
    await e2e.bot.start();
    await e2e.bot.registered();
    const reports = e2e.bot.registrations();
    expect(reports.length).toBeGreaterThan(0);
    for (const r of reports) {
      expect(r.registered).toEqual([]);
      expect(r.error).toContain('manage_slash_commands');
    }
    // DMs still work
    const dm = await e2e.fake.postAs('alice', '@mmops', 'slowpoke');
    await waitFor(() => e2e?.fake.posts.find((p) => p.user_id === BOT_ID && p.channel_id === dm.channel_id), 'the DM answer');
  });

  it('stops with exit code 2 and one line for an invalid policy file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmops-policy-'));
    const path = join(dir, 'policy.json');
    writeFileSync(path, '{ "commands": { "nosuchcommand": { "require": [] } } }');
    const fake = await startFakeMattermost({ seed: 'demo' });
    const bot = createBot(configFor(envFor(fake.url, { MMOPS_POLICY: path })), { ...FAST, logger: createMemoryLogger(), commands: COMMANDS });
    try {
      const err = await bot.start().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isStartupError(err)).toBe(true);
      if (!isStartupError(err)) return;
      expect(err.exitCode).toBe(2);
      expect(err.message).toMatch(/^MMOPS_POLICY: /);
      expect(err.message).toContain(path);
      expect(err.message).not.toContain('\n');
      // nothing was called on the server
      expect(fake.requests).toHaveLength(0);
    } finally {
      await bot.stop();
      await fake.close();
    }
  });

  it('reports a taken listen port as MMOPS_LISTEN, exit code 2', async () => {
    e2e = await startE2E({ deps: { commands: COMMANDS } });
    const port = new URL(e2e.bot.url).port;
    const other = createBot(configFor(envFor(e2e.fake.url, { MMOPS_LISTEN: `127.0.0.1:${port}` })), { ...FAST, logger: createMemoryLogger(), commands: COMMANDS });
    const err = await other.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    await other.stop();
    expect(err).toMatchObject({ code: 'config', exitCode: 2 });
    expect(String((err as Error).message)).toMatch(/^MMOPS_LISTEN: 127\.0\.0\.1:\d+ is already in use/);
  });
});
