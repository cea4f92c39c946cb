/**
 * The `mmops` command's own parts (src/cli.ts, src/package-info.ts, the demo's
 * --walkthrough); test/package/pack.test.ts runs them from an installed package.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cliHelp, runCli } from '../src/cli.js';
import { packageInfo, packageRoot } from '../src/package-info.js';
import { parseDemoArgs } from '../src/sandbox/demo.js';

const ROOT = resolve(import.meta.dirname, '..');

function captureStd() {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (err.push(String(chunk)), true));
  return { out: () => out.join(''), err: () => err.join('') };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('package-info', () => {
  it('finds the package root and reads package.json', () => {
    expect(packageRoot()).toBe(ROOT);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; name: string };
    expect(packageInfo()).toMatchObject({ name: 'mmops', version: pkg.version });
  });
});

describe('runCli', () => {
  it('--version, -v and version print the version', async () => {
    for (const arg of ['--version', '-v', 'version']) {
      const std = captureStd();
      expect(await runCli([arg])).toBe(0);
      expect(std.out()).toBe(`${packageInfo().version}\n`);
      vi.restoreAllMocks();
    }
  });

  it('--help names the version, each subcommand and the settings', async () => {
    const std = captureStd();
    expect(await runCli(['--help'])).toBe(0);
    expect(std.out()).toBe(cliHelp());
    expect(std.out().split('\n')[0]).toBe(`mmops ${packageInfo().version}: a Mattermost operations bot`);
    for (const word of ['mmops demo', 'mmops contract', 'mmops manifest', 'mmops healthcheck', 'MM_URL']) expect(std.out()).toContain(word);
  });

  it('refuses an unknown subcommand and arguments to manifest and healthcheck, exit 2', async () => {
    const std = captureStd();
    expect(await runCli(['frobnicate'])).toBe(2);
    expect(await runCli(['manifest', '--pretty'])).toBe(2);
    expect(await runCli(['healthcheck', 'now'])).toBe(2);
    expect(std.err()).toContain('unknown command "frobnicate"; the commands are demo, contract, manifest, healthcheck');
    expect(std.err()).toContain('mmops manifest: takes no arguments');
    expect(std.err()).toContain('mmops healthcheck: takes no arguments');
    expect(std.out()).toBe('');
  });

  it('hands options that are not a subcommand to the bot, which explains what it needs', async () => {
    const std = captureStd();
    expect(await runCli(['--frob'])).toBe(2);
    expect(std.err()).toContain('unknown argument "--frob"');
  });

  it('contract passes usage problems back as exit 2 with the usage', async () => {
    const std = captureStd();
    expect(await runCli(['contract', '--admin-token', 'secret-admin-token-123'])).toBe(2);
    expect(std.err()).toContain('--admin-token, --user-token and --scratch-team need --url');
    expect(std.err()).toContain('usage: mmops contract');
    expect(std.err() + std.out()).not.toContain('secret-admin-token-123');
  });
});

describe('mmops demo --walkthrough', () => {
  it('runs the walkthrough the package carries', () => {
    const args = parseDemoArgs(['--walkthrough']);
    expect(args).toEqual({ walkthrough: true, script: join(ROOT, 'docs/walkthrough.txt') });
    expect(existsSync(join(ROOT, 'docs/walkthrough.txt'))).toBe(true);
  });

  it('is one or the other with --script', () => {
    expect(parseDemoArgs(['--walkthrough', '--script', 'x.txt'])).toBe('--walkthrough and --script are one or the other');
  });
});
