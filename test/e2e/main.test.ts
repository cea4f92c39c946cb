/**
 * The real entry point as a process: `node --import tsx src/main.ts`, the same file
 * `npm start` runs once built.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeMattermost, type FakeMattermost } from '../../src/sandbox/fake-server.js';
import { SANDBOX_BOT_TOKEN } from '../../src/sandbox/seed.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Spawns the entry with exactly `env` (plus PATH); `onStdout` may send signals. */
function runMain(env: Record<string, string>, opts: { args?: string[]; onStdout?: (text: string, kill: (s: NodeJS.Signals) => void) => void; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...(opts.args ?? [])], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`main did not exit in time; stdout: ${stdout.slice(-2000)} stderr: ${stderr.slice(-2000)}`));
    }, opts.timeoutMs ?? 15_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      opts.onStdout?.(stdout, (s) => child.kill(s));
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

let fake: FakeMattermost | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe('src/main.ts as a process', () => {
  it('exits 2 with one clear line per misconfiguration, never printing the token', async () => {
    const token = 'q8ywkz3hjbfmdp4xrt6ceu1n9a';
    const r = await runMain({ MM_URL: 'chat.example.com', MM_BOT_TOKEN: `Bearer ${token}`, MMOPS_LISTEN: 'nowhere' });
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toContain(`MM_URL: "chat.example.com" is not a URL; give the server's address with http:// or https:// (e.g. MM_URL=https://chat.example.com)`);
    expect(lines).toContain('MM_BOT_TOKEN: give the token alone, without "Bearer" (e.g. MM_BOT_TOKEN=9xuqwrwgstrb3mzrxb83nb357a)');
    expect(lines).toContain('MMOPS_LISTEN: "nowhere" is not host:port (port 0-65535) (e.g. MMOPS_LISTEN=0.0.0.0:3978)');
    expect(r.stdout + r.stderr).not.toContain(token);
  });

  it('explains that a server is needed and points to npm run demo when MM_URL is missing', async () => {
    const r = await runMain({});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('mmops needs a Mattermost server');
    expect(r.stderr).toContain('npm run demo');
  });

  it('prints the configuration table for --help', async () => {
    const r = await runMain({}, { args: ['--help'] });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('MMOPS_PUBLIC_URL');
    expect(r.stdout).toContain('127.0.0.1:3978');
  });

  it('exits 1 saying the server rejected MM_BOT_TOKEN on a 401', async () => {
    fake = await startFakeMattermost({ seed: 'demo' });
    const r = await runMain({ MM_URL: fake.url, MM_BOT_TOKEN: 'revokedrevokedrevokedrevo1', MMOPS_LISTEN: '127.0.0.1:0', LOG_LEVEL: 'silent' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the server rejected MM_BOT_TOKEN');
    expect(r.stdout + r.stderr).not.toContain('revokedrevoked');
  });

  it('starts against a server, logs ready, and exits 0 on SIGTERM', async () => {
    fake = await startFakeMattermost({ seed: 'demo' });
    let signalled = false;
    const r = await runMain(
      { MM_URL: fake.url, MM_BOT_TOKEN: SANDBOX_BOT_TOKEN, MMOPS_LISTEN: '127.0.0.1:0', LOG_LEVEL: 'info', MMOPS_STATE_DIR: mkdtempSync(join(tmpdir(), 'mmops-main-')) },
      {
        onStdout: (text, kill) => {
          if (!signalled && text.includes('"msg":"ready')) {
            signalled = true;
            kill('SIGTERM');
          }
        },
        timeoutMs: 20_000,
      },
    );
    expect(signalled).toBe(true);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { msg: string });
    expect(lines.some((l) => l.msg.startsWith('ready'))).toBe(true);
    expect(lines.at(-1)?.msg).toBe('stopped');
    expect(r.stdout + r.stderr).not.toContain(SANDBOX_BOT_TOKEN);
  });
});
