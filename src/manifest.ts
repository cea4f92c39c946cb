/**
 * The manifest: what the bot offers and what it needs, built from the command registry (the
 * same definitions the bot registers and checks). `mmops manifest` prints it; `npm run
 * manifest` (scripts/manifest.ts) writes it to `manifest.json`, and `-- --check` fails when
 * that file is stale.
 *
 * Fields: bot id, name, version, description; every command with its slash trigger,
 * autocomplete hint, summary and subcommands (usage, the permission and scope for
 * acting on oneself and on others, what the bot account itself needs); and the union
 * of what the bot account needs (`botNeeds`), so an admin knows which role to give it.
 */
import { resolve } from 'node:path';
import { allCommands } from '../commands/index.js';
import type { CommandDefinition, Requirement } from './core/command.js';
import { createRegistry } from './core/registry.js';
import { packageInfo, packageRoot } from './package-info.js';

/** The manifest file of the package (written by `npm run manifest`). */
export const MANIFEST_PATH = resolve(packageRoot(), 'manifest.json');

/** The default root trigger (MMOPS_ROOT_TRIGGER) the manifest documents. */
const ROOT_TRIGGER = 'mmops';

export interface ManifestRequirement {
  permission: string;
  scope: Requirement['scope'];
}

export interface ManifestSubcommand {
  name: string;
  usage: string;
  summary: string;
  examples: string[];
  /** acting on oneself (or with no target); null = any active user */
  self: ManifestRequirement | null;
  /** acting on someone else; null = any active user */
  other: ManifestRequirement | null;
  /** acting on a system admin also needs manage_system */
  adminTargetNeedsManageSystem: boolean;
  botNeeds: ManifestRequirement[];
  destructive: boolean;
  sensitive: boolean;
  /** decided on the caller's and target's current roles read from the server, never the cache */
  fresh: boolean;
}

export interface ManifestCommand {
  name: string;
  /** its own slash trigger, or null when it is reached through the root trigger only */
  trigger: string | null;
  /** how it is always reachable */
  rootTrigger: string;
  hint: string;
  summary: string;
  subcommands: ManifestSubcommand[];
}

export interface Manifest {
  id: string;
  name: string;
  version: string;
  description: string;
  rootTrigger: string;
  commands: ManifestCommand[];
  /** every permission the bot account itself needs for every command to work */
  botNeeds: ManifestRequirement[];
  /** what the runtime itself uses, and what happens without it */
  runtimeNeeds: Array<ManifestRequirement & { purpose: string }>;
}

/** Rights the runtime (not a command) uses; both are optional, with a fallback. */
const RUNTIME_NEEDS: Manifest['runtimeNeeds'] = [
  {
    permission: 'manage_slash_commands',
    scope: 'team',
    purpose: 'register the slash commands in each team (without it: DMs and mentions only)',
  },
  {
    permission: 'create_post_ephemeral',
    scope: 'system',
    purpose: 'answer a mention privately in the channel (without it: by direct message)',
  },
];

const req = (r: Requirement | null | undefined): ManifestRequirement | null => (r ? { permission: r.permission, scope: r.scope } : null);

const reqKey = (r: ManifestRequirement): string => `${r.permission}@${r.scope}`;

/** Builds the manifest from command definitions and package metadata (pure). */
export function buildManifest(commands: readonly CommandDefinition[], pkg: { name: string; version: string; description: string }): Manifest {
  const registry = createRegistry(commands);
  const union = new Map<string, ManifestRequirement>();
  const out: ManifestCommand[] = registry.all().map((c) => ({
    name: c.name,
    trigger: c.ownTrigger ? `/${c.name}` : null,
    rootTrigger: `/${ROOT_TRIGGER} ${c.name}`,
    hint: c.hint,
    summary: c.summary,
    subcommands: c.subcommands.map((s) => {
      const botNeeds = (s.botNeeds ?? []).map((r) => ({ permission: r.permission, scope: r.scope }));
      for (const r of botNeeds) union.set(reqKey(r), r);
      const self = req(s.access.self);
      return {
        name: s.name,
        usage: s.usage,
        summary: s.summary,
        examples: [...s.examples],
        self,
        // `other` defaults to `self` (Access contract)
        other: s.access.other === undefined ? self : req(s.access.other),
        adminTargetNeedsManageSystem: s.access.adminTargetNeedsManageSystem ?? false,
        botNeeds,
        destructive: s.destructive ?? false,
        sensitive: s.sensitive ?? false,
        fresh: s.fresh === true || s.destructive === true || s.sensitive === true,
      };
    }),
  }));
  return {
    id: pkg.name,
    name: pkg.name,
    version: pkg.version,
    description: pkg.description,
    rootTrigger: `/${ROOT_TRIGGER}`,
    commands: out,
    botNeeds: [...union.values()].sort((a, b) => reqKey(a).localeCompare(reqKey(b))),
    runtimeNeeds: RUNTIME_NEEDS.map((r) => ({ ...r })),
  };
}

/** The manifest text for this package's commands and package.json. */
export function manifestText(): string {
  return `${JSON.stringify(buildManifest(allCommands, packageInfo()), null, 2)}\n`;
}
