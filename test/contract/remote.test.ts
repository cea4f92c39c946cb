/**
 * The real-server mode of `npm run contract`, exercised over the network: the sandbox runs as a
 * separate process and the CLI is pointed at it with --url and tokens, as an operator would
 * point it at chat.example.com. Scratch writes must be undone, also when the run is
 * interrupted with SIGINT while a scratch command exists, and tokens must never be printed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { channelIdFor, SANDBOX_BOT_TOKEN, teamIdFor, tokenFor, userIdFor } from '../../src/sandbox/seed.js';
import { CONTRACT_CALLER, CONTRACT_SCRATCH_TEAM } from '../../src/contract/sandbox-target.js';
import { SCRATCH_POST_MESSAGE } from '../../src/contract/runner.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

async function startSandboxProcess(env: Record<string, string> = {}): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/contract/serve-sandbox.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`sandbox process did not start: ${out}`)), 30_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += String(d);
      const m = /READY (\S+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`sandbox process exited (${code}): ${out}`)));
  });
}

interface CliRun {
  child: ChildProcess;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  stderrSoFar: () => string;
}

function runCli(args: string[]): CliRun {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'contract', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += String(d)));
  child.stderr?.on('data', (d: Buffer) => (stderr += String(d)));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, done, stderrSoFar: () => stderr };
}

const ADMIN = SANDBOX_BOT_TOKEN;
const USER = tokenFor(CONTRACT_CALLER);
const TEAM = teamIdFor(CONTRACT_SCRATCH_TEAM);

async function api(url: string, path: string): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${url}/api/v4${path}`, { headers: { Authorization: `Bearer ${ADMIN}` } });
  return { status: res.status, json: await res.json() };
}

/** What a contract run could leave behind in the scratch team; empty when all was undone. */
async function leftovers(url: string): Promise<string[]> {
  const out: string[] = [];
  const cmds = (await api(url, `/commands?team_id=${TEAM}&custom_only=true`)).json as Array<{ trigger: string }>;
  for (const c of cmds) if (c.trigger.startsWith('mmops-contract-') || c.trigger === 'echo') out.push(`command ${c.trigger}`);
  const member = await api(url, `/teams/${TEAM}/members/${userIdFor(CONTRACT_CALLER)}`);
  if (member.status === 200 && (member.json as { delete_at: number }).delete_at === 0) out.push('user still in the scratch team');
  const prefs = await api(url, `/users/${userIdFor('mmops')}/preferences/mmops_contract`);
  if (prefs.status === 200 && (prefs.json as unknown[]).length > 0) out.push('preference left');
  const posts = (await api(url, `/channels/${channelIdFor(CONTRACT_SCRATCH_TEAM, 'town-square')}/posts`)).json as { posts: Record<string, { user_id: string; message: string }> };
  if (Object.values(posts.posts).some((p) => p.user_id === userIdFor(CONTRACT_CALLER))) out.push('test post not deleted');
  if (Object.values(posts.posts).some((p) => p.user_id === userIdFor('mmops') && p.message === SCRATCH_POST_MESSAGE)) out.push('post with buttons not deleted');
  return out;
}

describe('npm run contract -- --url (real-server mode against the sandbox as a separate process)', () => {
  it('prints both columns, finds no difference, undoes every scratch write and never prints a token', async () => {
    const url = await startSandboxProcess();
    const run = runCli(['--url', url, '--admin-token', ADMIN, '--user-token', USER, '--scratch-team', CONTRACT_SCRATCH_TEAM]);
    const { code, stdout, stderr } = await run.done;
    expect(stderr).not.toMatch(/Error|contract:/);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^check\s+sandbox\s+real server/m);
    expect(stdout).toMatch(/^slash\.trigger-id\s+pass: .+pass: /m);
    expect(stdout).toMatch(/^ws\.posted\s+pass: .+pass: /m);
    expect(stdout).toMatch(/^actions\.request\s+pass: .+pass: /m);
    expect(stdout).toMatch(/^dialogs\.submit\s+pass: .+pass: /m);
    expect(stdout).toMatch(new RegExp(`${url.replace(/[.:/]/g, '\\$&')} \\(X-Version-Id 10\\.5\\.0[^)]*\\): \\d+ passed, 0 failed, 0 skipped`));
    expect(stdout).toContain('No differences between the sandbox and the real server.');
    for (const text of [stdout, stderr]) {
      expect(text).not.toContain(ADMIN);
      expect(text).not.toContain(USER);
    }
    expect(await leftovers(url)).toEqual([]);
  }, 120_000);

  it('without --scratch-team it writes nothing: scratch checks are skipped', async () => {
    const url = await startSandboxProcess();
    const run = runCli(['--url', url, '--admin-token', ADMIN, '--user-token', USER, '--only', 'rest.me,slash.create,scratch.preference']);
    const { code, stdout } = await run.done;
    expect(code).toBe(0);
    expect(stdout).toMatch(/^slash\.create\s+pass: .+skip: writes: needs --scratch-team/m);
    expect(stdout).toMatch(/^scratch\.preference\s+pass: .+skip: writes: needs --scratch-team/m);
    expect(await leftovers(url)).toEqual([]);
  }, 60_000);

  it('SIGINT while a scratch command exists: exits 130 after undoing it', async () => {
    const url = await startSandboxProcess({ CONTRACT_SANDBOX_LATENCY_MS: '40' });
    const run = runCli([
      '--url', url, '--admin-token', ADMIN, '--user-token', USER, '--scratch-team', CONTRACT_SCRATCH_TEAM,
      '--only', 'rest.me,slash.update,slash.list-tokens,scratch.team-member',
    ]);
    // wait until the real-server run has created its command, then interrupt
    const deadline = Date.now() + 60_000;
    let seen = false;
    while (!seen && Date.now() < deadline && run.child.exitCode === null) {
      const cmds = (await api(url, `/commands?team_id=${TEAM}&custom_only=true`)).json as Array<{ trigger: string }>;
      seen = cmds.some((c) => c.trigger.startsWith('mmops-contract-'));
      if (!seen) await new Promise((r) => setTimeout(r, 20));
    }
    expect(seen).toBe(true);
    run.child.kill('SIGINT');
    const { code, stderr } = await run.done;
    expect(stderr).toContain('SIGINT: stopping after undoing');
    expect(code).toBe(130);
    expect(await leftovers(url)).toEqual([]);
  }, 120_000);

  it('refuses bad usage with exit 2 and no token in the message', async () => {
    const run = runCli(['--url', 'ftp://x', '--admin-token', ADMIN, '--user-token', USER]);
    const { code, stderr } = await run.done;
    expect(code).toBe(2);
    expect(stderr).toContain('--url must be an http(s) URL');
    expect(stderr).not.toContain(ADMIN);
  }, 30_000);

  it('--e2e against a server needs --scratch-team; --bot-url needs --e2e (exit 2, no token printed)', async () => {
    const noTeam = await runCli(['--url', 'http://127.0.0.1:9', '--admin-token', ADMIN, '--user-token', USER, '--e2e']).done;
    expect(noTeam.code).toBe(2);
    expect(noTeam.stderr).toContain('--e2e needs --scratch-team');
    expect(noTeam.stderr).not.toContain(ADMIN);
    const noE2e = await runCli(['--bot-url', 'http://127.0.0.1:9']).done;
    expect(noE2e.code).toBe(2);
    expect(noE2e.stderr).toContain('--bot-url and --bot-listen go with --e2e');
  }, 30_000);
});
