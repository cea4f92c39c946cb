/**
 * The sandbox console (`npm run demo`) against a real sandbox: the fake server with the
 * demo seed and the real bot started by createBot. Lines go in, rendered replies, verdicts
 * and the bot's API calls come out; `--script` exit codes; the demo as a process.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createConsole, type SandboxConsole } from '../../src/sandbox/console.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/console-sandbox.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const WALKTHROUGH = readFileSync(resolve(ROOT, 'docs/walkthrough.txt'), 'utf8');
const ID = /\b[a-z0-9]{26}\b/;

/** A Writable that keeps what was written. */
function capture(): { stream: Writable; text(): string; clear(): void } {
  let buf = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      buf += chunk.toString();
      cb();
    },
  });
  return { stream, text: () => buf, clear: () => (buf = '') };
}

let sandbox: Sandbox;
let out: ReturnType<typeof capture>;
let con: SandboxConsole;

beforeAll(async () => {
  // slow replies after 300 ms, so one test can make a command slow with server latency
  sandbox = await startSandbox({ botDeps: { slowReplyMs: 300 } });
});
afterAll(async () => {
  await sandbox?.close();
});
beforeEach(() => {
  sandbox.fake.faults.latencyMs = 0;
  out = capture();
  con = createConsole({ sandbox, output: out.stream, width: 100, replyTimeoutMs: 5_000 });
});

describe('console lines', () => {
  it('runs a slash command as the server does and shows the reply readably, with the API calls', async () => {
    const r = await con.run('/whois @bob');
    expect(r).toMatchObject({ kind: 'slash', verdict: 'ok', command: 'whois', outcome: 'ok', failed: false });
    expect(r.replies[0]?.where).toBe('ephemeral');
    const text = out.text();
    expect(text).toContain('only alice sees this');
    expect(text).toContain('Bob Builder');
    // the Markdown escapes and the zero-width spaces are for Mattermost, not for a terminal
    expect(text).toContain('Username: @bob');
    expect(text).toContain('Away (manual)');
    expect(text).not.toContain('\u200b');
    expect(text).not.toContain('\\(');
    expect(text).not.toMatch(/\x1b\[/); // no colours unless asked
    // the API-call line: the bot's own requests, ids collapsed
    expect(r.apiCalls.length).toBeGreaterThan(0);
    for (const c of r.apiCalls) expect(c).toMatch(/^(GET|POST|PUT|DELETE|PATCH) \/[a-z]/);
    const apiLine = text.split('\n').find((l) => l.includes('API:')) ?? '';
    expect(apiLine).toContain('whois: ok');
    expect(apiLine).not.toMatch(ID);
    expect(text).toMatch(/\{id\}/);
  });

  it('sends any other text as a DM to the bot and shows its answer in the DM', async () => {
    const before = sandbox.fake.posts.length;
    const r = await con.run('status @alice');
    expect(r).toMatchObject({ kind: 'dm', verdict: 'ok', command: 'status', failed: false });
    expect(out.text()).toContain('in your DM with @mmops');
    expect(out.text()).toContain('Online');
    // the post really went to the server, and the answer came back as a post by the bot
    const dm = sandbox.fake.posts.slice(before);
    expect(dm.some((p) => p.message === 'status @alice')).toBe(true);
    expect(dm.some((p) => p.user_id === sandbox.bot.user?.id)).toBe(true);
    expect(r.apiCalls).toContain('POST /posts');
  });

  it('posts a mention in the current channel and shows the answer from its thread', async () => {
    const r = await con.run('@mmops whois ann');
    expect(r).toMatchObject({ kind: 'mention', verdict: 'ok', command: 'whois' });
    // whois is for the caller only: an ephemeral post in the thread
    expect(r.replies.map((x) => x.where)).toEqual(['ephemeral']);
    expect(out.text()).toContain('in the thread, only alice sees this');
    expect(out.text()).toContain('Ann Lee');
    expect(r.apiCalls).toContain('POST /posts/ephemeral');
  });

  it('switching user with `as` changes the answer: dave is refused what alice may do', async () => {
    const asAlice = await con.run('/user sessions @bob');
    expect(asAlice).toMatchObject({ verdict: 'ok', command: 'user', outcome: 'ok' });
    expect(out.text()).toContain('Sessions of Bob Builder');

    await con.run('as dave');
    expect(con.user).toBe('dave');
    out.clear();
    const asDave = await con.run('/user sessions @bob');
    expect(asDave).toMatchObject({ verdict: 'refused', command: 'user', outcome: 'refused', failed: true });
    expect(out.text()).toContain('only dave sees this');
    expect(out.text()).toContain('⛔');
    expect(out.text()).not.toContain('Sessions of');
    // marked as expected, the same refusal is fine
    const marked = await con.run('! /user sessions @bob');
    expect(marked).toMatchObject({ verdict: 'refused', expectRefusal: true, failed: false });
  });

  it('`in` moves to another channel; unknown people and channels are explained', async () => {
    await con.run('as bob');
    expect((await con.run('in ops:town-square')).verdict).toBe('none');
    expect(con.channel).toBe('ops:town-square');
    const r = await con.run('/teams members');
    expect(r).toMatchObject({ verdict: 'ok', command: 'teams' });
    expect(out.text()).toContain('Operations');

    const nobody = await con.run('as zed');
    expect(nobody).toMatchObject({ kind: 'console', verdict: 'error', failed: true });
    expect(nobody.problem).toContain('nobody called "zed"');
    expect(con.user).toBe('bob');
    const nowhere = await con.run('in ops:nowhere');
    expect(nowhere.problem).toContain('no channel "nowhere"');
    expect(con.channel).toBe('ops:town-square');
  });

  it('explains an unknown slash trigger with the triggers that exist', async () => {
    const r = await con.run('/status');
    expect(r).toMatchObject({ kind: 'slash', verdict: 'error', failed: true });
    expect(r.problem).toContain('Mattermost answered 404');
    expect(r.problem).toContain('/mmops');
    expect(r.problem).toContain('/whois');
  });

  it('shows a slow command twice: the immediate "working" answer, then the response_url delivery', async () => {
    sandbox.fake.faults.latencyMs = 350;
    const r = await con.run('/mmops status');
    sandbox.fake.faults.latencyMs = 0;
    expect(r).toMatchObject({ verdict: 'ok', command: 'status', failed: false });
    expect(r.replies.length).toBe(2);
    expect(r.replies[0]?.text).toMatch(/^Working on it/);
    expect(r.replies[1]?.text).toContain('Your status');
    expect(out.text()).toMatch(/\d+\.\d s later, by response_url/);
    expect(r.apiCalls.some((c) => c.startsWith('POST /hooks/commands/{id}'))).toBe(true);
  });

  it('attaches a file to a DM: avatar sets the picture of whoever attached it', async () => {
    await con.run('as carol');
    expect((await con.run('attach avatar.png')).verdict).toBe('none');
    const r = await con.run('dm avatar');
    expect(r).toMatchObject({ kind: 'dm', verdict: 'ok', command: 'avatar' });
    expect(r.apiCalls).toEqual(expect.arrayContaining(['GET /files/{id}', 'POST /users/{id}/image']));
    expect(sandbox.fake.store.images.has(sandbox.fake.store.requireUser('carol').id)).toBe(true);
  });

  it('shows what the bot posts on its own (a health watch) as "meanwhile" posts', async () => {
    expect(await con.run('/health watch')).toMatchObject({ verdict: 'ok', command: 'health' });
    const botId = sandbox.bot.user?.id;
    const deadline = Date.now() + 5_000;
    while (!sandbox.fake.posts.some((p) => p.user_id === botId && p.message.includes('Health watch')) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    out.clear();
    await con.run('users');
    expect(out.text()).toContain('meanwhile, mmops posted in acme:town-square');
    expect(out.text()).toContain('Health watch');
    out.clear();
    await con.run('channels');
    expect(out.text()).not.toContain('meanwhile'); // each post is shown once
    expect(await con.run('/health unwatch')).toMatchObject({ verdict: 'ok' });
  });

  it('console words: users, help, quit', async () => {
    await con.run('users');
    expect(out.text()).toMatch(/alice\s+system admin/);
    expect(out.text()).toMatch(/bob\s+team admin of ops/);
    expect(out.text()).toMatch(/frank\s+deactivated/);
    expect(out.text()).toMatch(/erin\s+guest in acme/);
    out.clear();
    await con.run('help');
    expect(out.text()).toContain('as dave');
    expect(out.text()).toContain('/mmops help');
    expect((await con.run('quit')).quit).toBe(true);
  });

  it('colours only when asked', async () => {
    const coloured = capture();
    const c = createConsole({ sandbox, output: coloured.stream, color: true, width: 100 });
    await c.run('/mmops status');
    expect(coloured.text()).toMatch(/\x1b\[/);
  });
});

describe('scripts', () => {
  it('passes the README walkthrough (exit 0)', async () => {
    const report = await con.runScript(WALKTHROUGH, { name: 'walkthrough' });
    expect(report.failures).toEqual([]);
    expect(report.exitCode).toBe(0);
    expect(report.expectedRefusals).toBeGreaterThanOrEqual(2);
    expect(out.text()).toContain('all as expected');
    // every command of the bot is in it
    for (const cmd of ['status', 'whois', 'teams', 'members', 'health', 'help', 'prefs', 'user', 'team', 'avatar']) {
      expect(out.text(), cmd).toMatch(new RegExp(`└ ${cmd}: `));
    }
  });

  it('fails (exit 1) on an unknown command, naming the line', async () => {
    const report = await con.runScript('# comment\n\n/mmops status\n/mmops frobnicate\n');
    expect(report.exitCode).toBe(1);
    expect(report.ran).toBe(2);
    expect(report.failures).toEqual([{ lineNo: 4, line: '/mmops frobnicate', reason: 'the bot does not know this command' }]);
    expect(out.text()).toContain('line 4: /mmops frobnicate');
  });

  it('fails on an unexpected refusal, and on a ! line that was answered normally', async () => {
    const refused = await con.runScript('as dave\n/user deactivate @bob\n');
    expect(refused.exitCode).toBe(1);
    expect(refused.failures[0]?.reason).toContain('mark the line with !');

    const notRefused = await con.runScript('as alice\n! /whois @bob\n');
    expect(notRefused.exitCode).toBe(1);
    expect(notRefused.failures[0]?.reason).toContain('answered normally');
  });

  it('the interactive loop reads lines from a stream until quit', async () => {
    const input = new PassThrough();
    const done = con.interact(input);
    input.write('as grace\n/whois @ann\nquit\n/whois @bob\n');
    await done;
    const text = out.text();
    expect(text).toContain('grace@acme:town-square> /whois @ann');
    expect(text).toContain('only grace sees this');
    // nothing after quit runs
    expect(text).not.toContain('/whois @bob');
    input.end();
  });
});

describe('the demo as a process', () => {
  it('`tsx src/sandbox/demo.ts --script docs/walkthrough.txt` exits 0 and leaves nothing running', async () => {
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolvePromise, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/sandbox/demo.ts', '--script', 'docs/walkthrough.txt'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`demo did not exit in time; stdout: ${stdout.slice(-2000)} stderr: ${stderr.slice(-2000)}`));
      }, 25_000);
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolvePromise({ code, stdout, stderr });
      });
    });
    // no error, and no "something was still running after shutdown"
    expect(r.stderr).not.toMatch(/demo:|Error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('docs/walkthrough.txt: ');
    expect(r.stdout).toContain('all as expected');
  }, 30_000);
});
