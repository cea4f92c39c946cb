/**
 * The package as an operator gets it: `npm pack`, the tarball installed into an empty folder
 * with production dependencies only, and there the `mmops` command (through the bin link, so
 * the shebang and the executable bit are what start it): --version, --help, manifest, a
 * scripted demo session, the contract checks against the sandbox, and the bot itself against
 * a sandbox server (health, SIGTERM, log lines). One pack and one install serve every check.
 *
 * Packs the built code as it is (`--ignore-scripts`: CI has just run `npm run build`, and
 * `prepack` would build again); a dist/ older than the sources fails here, not quietly.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ALL_CHECKS } from '../../src/contract/checks/index.js';
import { startFakeMattermost, type FakeMattermost } from '../../src/sandbox/fake-server.js';
import { SANDBOX_BOT_TOKEN } from '../../src/sandbox/seed.js';

const ROOT = resolve(import.meta.dirname, '../..');
const pkg = z.object({ name: z.string(), version: z.string() }).parse(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')));

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program without a shell; never rejects (the exit code is part of the answer). */
function run(file: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Ran> {
  return new Promise((done) => {
    execFile(file, args, { cwd: opts.cwd, env: opts.env ?? cleanEnv(), timeout: opts.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      done({ code, stdout, stderr });
    });
  });
}

/** The environment of an operator's shell: no npm_* variables of the test run, no MM_* settings. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('npm_') || k.startsWith('MM_') || k.startsWith('MMOPS_') || k === 'NODE_OPTIONS' || k === 'LOG_LEVEL') continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

/** The newest modification time of any file under `dir` whose name matches `re`. */
function newest(dir: string, re: RegExp): number {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && re.test(entry.name)) t = Math.max(t, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return t;
}

const packFileSchema = z.array(z.object({ filename: z.string(), files: z.array(z.object({ path: z.string() })) })).length(1);

describe('the npm package', () => {
  let work: string;
  let app: string;
  let files: string[];
  let mmops: string;

  beforeAll(async () => {
    const entry = join(ROOT, 'dist/src/cli.js');
    if (!existsSync(entry)) throw new Error('dist/src/cli.js is missing: run `npm run build` first');
    const sources = Math.max(newest(join(ROOT, 'src'), /\.ts$/), newest(join(ROOT, 'commands'), /\.ts$/));
    if (statSync(entry).mtimeMs < sources) throw new Error('dist/ is older than src/ or commands/: run `npm run build` first');

    work = mkdtempSync(join(tmpdir(), 'mmops-pack-'));
    const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: ROOT, env: cleanEnv() });
    expect(packed.code, packed.stderr).toBe(0);
    const [info] = packFileSchema.parse(JSON.parse(packed.stdout));
    files = info?.files.map((f) => f.path) ?? [];

    app = join(work, 'app');
    rmSync(app, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(app));
    writeFileSync(join(app, 'package.json'), '{ "name": "an-operators-folder", "private": true }\n');
    const installed = await run(
      'npm',
      ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', join(work, info?.filename ?? '')],
      { cwd: app, timeoutMs: 180_000 },
    );
    expect(installed.code, installed.stderr).toBe(0);
    mmops = join(app, 'node_modules/.bin/mmops');
  }, 240_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('holds the built code, the manifest and the docs, and no tests or sources', () => {
    for (const f of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'SECURITY.md', 'manifest.json', 'docs/walkthrough.txt', 'dist/src/cli.js', 'dist/src/contract/cli.js', 'dist/commands/index.js']) {
      expect(files, f).toContain(f);
    }
    const unwanted = files.filter((f) => /(^|\/)test\/|\.test\.|(^|\/)vitest\.config|\.ts$|\.map$|^src\/|^commands\/|^scripts\/|^dist\/scripts\/|^dist\/test\//.test(f));
    expect(unwanted).toEqual([]);
  });

  it('installs without development dependencies, its bin a link to the executable entry with a shebang', () => {
    for (const dev of ['tsx', 'typescript', 'vitest', 'nock', 'fast-check']) expect(existsSync(join(app, 'node_modules', dev)), dev).toBe(false);
    const entry = join(app, 'node_modules/mmops/dist/src/cli.js');
    expect(readFileSync(entry, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    expect(statSync(entry).mode & 0o111).not.toBe(0);
  });

  it('mmops --version prints the version of package.json', async () => {
    const r = await run(mmops, ['--version'], { cwd: app });
    expect(r).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
  });

  it('mmops --help names the subcommands and every setting', async () => {
    const r = await run(mmops, ['--help'], { cwd: app });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`mmops ${pkg.version}`);
    for (const word of ['mmops demo', 'mmops contract', 'mmops manifest', 'MM_URL', 'MM_BOT_TOKEN', 'MMOPS_LOG_FORMAT']) expect(r.stdout, word).toContain(word);
  });

  it('mmops with an unknown command says so and exits 2', async () => {
    const r = await run(mmops, ['frobnicate'], { cwd: app });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "frobnicate"');
  });

  it('mmops manifest prints the manifest the repository carries', async () => {
    const r = await run(mmops, ['manifest'], { cwd: app });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(ROOT, 'manifest.json'), 'utf8'));
  });

  it('mmops demo runs a scripted console session, answers checked', async () => {
    const script = join(work, 'session.txt');
    writeFileSync(
      script,
      ['# a few lines through the console', 'as alice', '/whois @bob', 'status @carol', 'as dave', '! /user deactivate @bob', ''].join('\n'),
    );
    const r = await run(mmops, ['demo', '--script', script, '--no-color'], { cwd: app });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Email: bob@acme.example'); // alice (an admin) sees bob's card
    expect(r.stdout).toMatch(/└ whois: ok/);
    expect(r.stdout).toMatch(/└ status: /);
    expect(r.stdout).toContain('refused, as expected');
    expect(r.stdout).toContain('session.txt: 5 lines, all as expected');

    // and a line that does not go as expected fails the session
    writeFileSync(script, '/mmops frobnicate\n');
    const bad = await run(mmops, ['demo', '--script', script, '--no-color'], { cwd: app });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('line 1: /mmops frobnicate');
  }, 60_000);

  it('mmops demo --walkthrough runs the walkthrough the package carries', async () => {
    const r = await run(mmops, ['demo', '--walkthrough', '--no-color'], { cwd: app });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${join(app, 'node_modules/mmops/docs/walkthrough.txt')}: `);
    expect(r.stdout).toMatch(/lines, all as expected/);
  }, 60_000);

  it('every mmops command of the README install section is one this test runs from the package', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = /\n## Install\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? '';
    const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
    const commands = block
      .split('\n')
      .map((l) => l.replace(/#.*$/, '').trim())
      .filter((l) => /(^|\s)mmops(\s|$)/.test(l) && !l.startsWith('npm '))
      .map((l) => l.replace(/^(\w+=\S+\s+)*/, '')); // the environment of the bot's line
    // what the tests above run: --version, demo (a script, --walkthrough), contract, and the bot itself
    expect(commands).toEqual(['mmops --version', 'mmops demo', 'mmops demo --walkthrough', 'mmops contract', 'mmops']);
    expect(block).toMatch(/^npm install -g mmops$/m);
  });

  it('mmops contract runs every check against the sandbox and they pass', async () => {
    const r = await run(mmops, ['contract'], { cwd: app, timeoutMs: 120_000 });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.stdout).toContain(`${ALL_CHECKS.length} passed, 0 failed, 0 skipped`);
  }, 120_000);

  describe('mmops, the bot, against a sandbox server', () => {
    let fake: FakeMattermost;
    beforeAll(async () => {
      fake = await startFakeMattermost();
    });
    afterAll(async () => {
      await fake.close();
    });

    /** Starts the installed bot; resolves once it says where it listens. */
    function startBot(extra: Record<string, string>) {
      const state = mkdtempSync(join(work, 'state-'));
      const env = cleanEnv({ MM_URL: fake.url, MM_BOT_TOKEN: SANDBOX_BOT_TOKEN, MMOPS_LISTEN: '127.0.0.1:0', MMOPS_STATE_DIR: state, ...extra });
      const child = spawn(mmops, [], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      const listening = new Promise<string>((ok, fail) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString('utf8');
          const m = /(?:"url":"|url=)(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (m?.[1]) ok(m[1]);
        });
        void exited.then((code) => fail(new Error(`the bot exited (${code}) before listening: ${err}${out}`)));
      });
      return { child, listening, exited, output: () => out };
    }

    it('serves /healthz (mmops healthcheck says so), stops cleanly on SIGTERM, and logs JSON lines to a pipe without the token', async () => {
      const bot = startBot({});
      const url = await bot.listening;
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      // the image's HEALTHCHECK, from the package: healthy while the bot runs, unhealthy once it stopped
      const listen = { MMOPS_LISTEN: url.replace(/^http:\/\//, '') };
      const up = await run(mmops, ['healthcheck'], { cwd: app, env: cleanEnv(listen) });
      expect(up, up.stderr).toMatchObject({ code: 0, stdout: `healthy: ${url}/healthz answered 200\n` });
      bot.child.kill('SIGTERM');
      expect(await bot.exited).toBe(0);
      const down = await run(mmops, ['healthcheck'], { cwd: app, env: cleanEnv(listen) });
      expect(down.code).toBe(1);
      expect(down.stderr).toContain(`unhealthy: ${url}/healthz`);
      const lines = bot.output().split('\n').filter(Boolean);
      const entries = lines.map((l) => z.object({ level: z.number(), msg: z.string() }).passthrough().parse(JSON.parse(l)));
      expect(entries.map((e) => e.msg)).toContain('signal received, shutting down');
      expect(entries.at(-1)?.msg).toBe('stopped');
      expect(bot.output()).not.toContain(SANDBOX_BOT_TOKEN);
    }, 60_000);

    it('MMOPS_LOG_FORMAT=pretty writes lines for a person, still without the token', async () => {
      const bot = startBot({ MMOPS_LOG_FORMAT: 'pretty' });
      await bot.listening;
      bot.child.kill('SIGTERM');
      expect(await bot.exited).toBe(0);
      const lines = bot.output().split('\n').filter(Boolean);
      expect(lines.length).toBeGreaterThan(2);
      expect(lines.some((l) => l.startsWith('{'))).toBe(false);
      expect(lines).toContainEqual(expect.stringMatching(/^\d\d:\d\d:\d\d\.\d{3} INFO  HTTP endpoint listening {2}url=http:\/\/127\.0\.0\.1:\d+/));
      expect(lines.at(-1)).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  stopped$/);
      expect(bot.output()).not.toContain(SANDBOX_BOT_TOKEN);
    }, 60_000);
  });
});
