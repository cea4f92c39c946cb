import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { allCommands } from '../commands/index.js';
import { defineCommand, defineSubcommand } from '../src/core/command.js';
import { buildManifest, MANIFEST_PATH, manifestText } from '../src/manifest.js';

const pkg = { name: 'mmops', version: '9.9.9', description: 'test bot' };

const sub = (name: string, extra: Partial<Parameters<typeof defineSubcommand>[0]> = {}) =>
  defineSubcommand({
    name,
    summary: `${name || 'default'} summary`,
    usage: `x ${name}`.trim(),
    examples: [`x ${name}`.trim()],
    args: z.object({}),
    access: { self: null },
    execute: async () => ({ blocks: [], visibility: 'caller', tone: 'ok' }),
    ...extra,
  });

describe('manifest', () => {
  it('manifest.json is current (run `npm run manifest` after changing a command)', () => {
    let onDisk = '';
    try {
      onDisk = readFileSync(MANIFEST_PATH, 'utf8');
    } catch {
      /* missing = stale */
    }
    expect(onDisk, 'manifest.json is stale: run `npm run manifest`').toBe(manifestText());
  });

  it('lists every command of the registry with its trigger', () => {
    const m = JSON.parse(manifestText()) as ReturnType<typeof buildManifest>;
    expect(m.commands.map((c) => c.name)).toEqual(allCommands.map((c) => c.name));
    for (const c of allCommands) {
      const entry = m.commands.find((e) => e.name === c.name);
      expect(entry?.trigger).toBe(c.ownTrigger ? `/${c.name}` : null);
      expect(entry?.rootTrigger).toBe(`/mmops ${c.name}`);
      expect(entry?.subcommands.map((s) => s.name)).toEqual(c.subcommands.map((s) => s.name));
    }
  });

  it('records self/other requirements, what the bot needs, and their union', () => {
    const user = defineCommand({
      name: 'user',
      summary: 'Manage users',
      hint: 'deactivate @user',
      ownTrigger: true,
      subcommands: [
        sub('deactivate', {
          access: { self: { permission: 'edit_other_users', scope: 'system' }, other: { permission: 'manage_system', scope: 'system' } },
          botNeeds: [{ permission: 'manage_system', scope: 'system' }],
          destructive: true,
        }),
        sub('sessions', {
          access: { self: { permission: 'edit_other_users', scope: 'system' }, adminTargetNeedsManageSystem: true },
          botNeeds: [{ permission: 'edit_other_users', scope: 'system' }, { permission: 'manage_system', scope: 'system' }],
          sensitive: true,
        }),
      ],
    });
    const status = defineCommand({ name: 'status', summary: 'Presence', hint: '[@user]', ownTrigger: false, subcommands: [sub('')] });
    const m = buildManifest([user, status], pkg);
    expect(m).toMatchObject({ id: 'mmops', name: 'mmops', version: '9.9.9', description: 'test bot', rootTrigger: '/mmops' });
    expect(m.commands[0]).toMatchObject({ name: 'user', trigger: '/user', hint: 'deactivate @user', summary: 'Manage users' });
    expect(m.commands[1]).toMatchObject({ name: 'status', trigger: null, rootTrigger: '/mmops status' });
    expect(m.commands[0]?.subcommands[0]).toMatchObject({
      name: 'deactivate',
      self: { permission: 'edit_other_users', scope: 'system' },
      other: { permission: 'manage_system', scope: 'system' },
      destructive: true,
      sensitive: false,
    });
    // `other` defaults to `self`
    expect(m.commands[0]?.subcommands[1]).toMatchObject({ other: { permission: 'edit_other_users', scope: 'system' }, adminTargetNeedsManageSystem: true, sensitive: true });
    expect(m.commands[1]?.subcommands[0]).toMatchObject({ self: null, other: null, botNeeds: [] });
    expect(m.botNeeds).toEqual([
      { permission: 'edit_other_users', scope: 'system' },
      { permission: 'manage_system', scope: 'system' },
    ]);
    expect(m.runtimeNeeds.map((r) => r.permission)).toEqual(['manage_slash_commands', 'create_post_ephemeral']);
  });
});
