/**
 * The layer rule of docs/architecture.md, as data, and the check that reads every import of
 * `src/` and `commands/` from the source (TypeScript's own `preProcessFile`, so imports in
 * comments and strings do not count, and `import type`, `export … from` and `import()` do).
 *
 * A file may import its own layer and any layer of a lower rank; layers of the same rank
 * are siblings and do not import each other. A file in no layer is a violation too, so a
 * new folder has to be placed in the order before it can land.
 *
 * @example
 *   const problems = checkLayers(readSources(['src', 'commands']));
 *   // [] or ['src/mattermost/rest-api.ts imports src/core/command.ts: mattermost (1) may not import core (2)']
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export interface Layer {
  name: string;
  /** folders (ending in `/`) or single files, relative to the repository root */
  paths: string[];
  /** lower ranks are further down; imports point to a lower rank only */
  rank: number;
  /** what the layer does, for the failure message and docs/architecture.md */
  job: string;
}

/** The layers, bottom first (docs/architecture.md draws the same order). */
export const LAYERS: readonly Layer[] = [
  { name: 'log', paths: ['src/log/'], rank: 0, job: 'the Logger type, pino set-up, secret scrubbing' },
  { name: 'config', paths: ['src/config.ts'], rank: 0, job: 'the environment, parsed by zod' },
  { name: 'state', paths: ['src/state/'], rank: 0, job: 'shared state: the file and Redis StateStore' },
  { name: 'package', paths: ['src/package-info.ts'], rank: 0, job: "the package's root and package.json, in a clone or installed" },
  { name: 'mattermost', paths: ['src/mattermost/'], rank: 1, job: 'the one module that talks to Mattermost (REST, WebSocket, response_url)' },
  { name: 'core', paths: ['src/core/'], rank: 2, job: 'command types, registry, parsing, permissions, the dispatcher' },
  { name: 'render', paths: ['src/render/'], rank: 3, job: 'replies to Markdown, attachments and private answers' },
  { name: 'services', paths: ['src/services/'], rank: 4, job: 'long-lived parts: ledger, confirmations, dialogs, health, metrics' },
  { name: 'transports', paths: ['src/transports/'], rank: 5, job: 'ways in: slash HTTP, WebSocket posts, callbacks, ops endpoints' },
  { name: 'commands', paths: ['commands/'], rank: 5, job: 'one file per command, pure functions of a CommandContext' },
  { name: 'bot', paths: ['src/bot/', 'src/bot.ts'], rank: 6, job: 'the composition: start-up, wiring, shut-down' },
  { name: 'manifest', paths: ['src/manifest.ts'], rank: 6, job: 'manifest.json from the command definitions' },
  { name: 'main', paths: ['src/main.ts'], rank: 7, job: 'the process entry point' },
  { name: 'sandbox', paths: ['src/sandbox/'], rank: 7, job: 'the simulated server, console and demo (the test oracle)' },
  { name: 'healthcheck', paths: ['src/healthcheck.ts'], rank: 7, job: "GET /healthz of this host's bot (the image's HEALTHCHECK)" },
  { name: 'contract', paths: ['src/contract/'], rank: 8, job: 'the server contract checks, against the sandbox or a real server' },
  { name: 'cli', paths: ['src/cli.ts'], rank: 9, job: 'the mmops command: the bot, demo, contract, manifest, healthcheck' },
];

/** Packages only some layers may import: the layer that owns the concern. */
export const OWNED_PACKAGES: ReadonlyArray<{ prefix: string; layers: string[] }> = [
  { prefix: '@mattermost/', layers: ['mattermost'] },
  { prefix: 'ws', layers: ['mattermost', 'sandbox', 'contract'] },
  { prefix: '@redis/', layers: ['state'] },
];

export interface SourceFile {
  /** repository-relative, `/`-separated */
  path: string;
  text: string;
}

/** The layer a repository path belongs to, or undefined. */
export function layerOf(path: string, layers: readonly Layer[] = LAYERS): Layer | undefined {
  return layers.find((l) => l.paths.some((p) => (p.endsWith('/') ? path.startsWith(p) : path === p)));
}

/** Every module specifier a file imports or re-exports (static, type-only and dynamic). */
export function importsOf(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

/** `../core/command.js` seen from `src/mattermost/api.ts` → `src/core/command.ts`. */
export function resolveRelative(from: string, specifier: string): string {
  return posix.normalize(posix.join(posix.dirname(from), specifier)).replace(/\.js$/, '.ts');
}

const packageMatches = (specifier: string, prefix: string): boolean =>
  prefix.endsWith('/') ? specifier.startsWith(prefix) : specifier === prefix || specifier.startsWith(`${prefix}/`);

/** Every import that breaks the rule, one sentence each (empty: the tree is layered). */
export function checkLayers(files: readonly SourceFile[], layers: readonly Layer[] = LAYERS): string[] {
  const problems: string[] = [];
  for (const file of files) {
    const from = layerOf(file.path, layers);
    if (!from) {
      problems.push(`${file.path} belongs to no layer (add it to LAYERS in test/architecture/layers.ts and docs/architecture.md)`);
      continue;
    }
    for (const specifier of importsOf(file.text)) {
      if (!specifier.startsWith('.')) {
        const owned = OWNED_PACKAGES.find((o) => packageMatches(specifier, o.prefix));
        if (owned && !owned.layers.includes(from.name)) problems.push(`${file.path} imports ${specifier}: only ${owned.layers.join(', ')} may`);
        continue;
      }
      const target = resolveRelative(file.path, specifier);
      const to = layerOf(target, layers);
      if (!to) problems.push(`${file.path} imports ${target}, which belongs to no layer`);
      else if (to !== from && to.rank >= from.rank) problems.push(`${file.path} imports ${target}: ${from.name} (${from.rank}) may not import ${to.name} (${to.rank})`);
    }
  }
  return problems;
}

/** The repository root (this file is test/architecture/layers.ts). */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The `.ts` files under the given repository folders, read from disk. */
export function readSources(roots: readonly string[], repo = REPO_ROOT): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(repo, rel)).sort()) {
      const child = `${rel}/${name}`;
      if (statSync(join(repo, child)).isDirectory()) walk(child);
      else if (name.endsWith('.ts')) out.push({ path: child, text: readFileSync(join(repo, child), 'utf8') });
    }
  };
  for (const root of roots) walk(root);
  return out;
}
