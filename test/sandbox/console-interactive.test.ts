/**
 * Buttons and dialogs in the sandbox console (`npm run demo`): confirmations render as numbered
 * choices, `click N` clicks as the current console user through the server's click route, and
 * an `open_dialog` becomes one prompt per field (passwords never echoed), then a submission.
 */
import { PassThrough, Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createConsole, type SandboxConsole } from '../../src/sandbox/console.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/console-sandbox.js';
import { buttonsOf, DialogForm, renderButtons } from '../../src/sandbox/console-interactive.js';
import type { OpenedDialog, Post } from '../../src/sandbox/fake-server.js';
import { userIdFor } from '../../src/sandbox/seed.js';

function capture(): { stream: Writable; text(): string } {
  let buf = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      buf += chunk.toString();
      cb();
    },
  });
  return { stream, text: () => buf };
}

const PASSWORD = 'Str0ng-Passw0rd!x-2026';

let sandbox: Sandbox;
let out: ReturnType<typeof capture>;
let con: SandboxConsole;

beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(async () => {
  await sandbox?.close();
});
beforeEach(() => {
  out = capture();
  con = createConsole({ sandbox, output: out.stream, width: 100, replyTimeoutMs: 5_000 });
});

const clicks = () => sandbox.fake.requests.filter((r) => /^\/api\/v4\/posts\/[a-z0-9]{26}\/actions\//.test(r.path));
const active = (username: string) => sandbox.fake.store.requireUser(username).delete_at === 0;

describe('buttons', () => {
  it('a slash confirmation shows numbered buttons; click 2 cancels through the click route and changes nothing', async () => {
    const preview = await con.run('/user deactivate @grace');
    expect(preview.failed).toBe(false);
    expect(out.text()).toMatch(/\[1\] Confirm {2}\[2\] Cancel {3}\(click 1…2\)/);
    const before = clicks().length;
    const r = await con.run('click 2');
    expect(r).toMatchObject({ kind: 'click', failed: false });
    expect(clicks().length).toBe(before + 1);
    expect(clicks().at(-1)).toMatchObject({ userId: userIdFor('alice'), status: 200 });
    expect(out.text()).toContain('alice clicks “Cancel”');
    expect(r.replies[0]?.text).toMatch(/Cancelled/);
    expect(active('grace')).toBe(true);
  });

  it('click N is the current console user: dave is refused, alice confirms and it happens', async () => {
    await con.run('/user deactivate @grace');
    await con.run('as dave');
    const refused = await con.run('click 1');
    expect(refused.replies[0]?.text).toMatch(/Only @\u200b?alice can confirm/);
    expect(clicks().at(-1)).toMatchObject({ userId: userIdFor('dave'), status: 200 });
    expect(active('grace')).toBe(true);
    await con.run('as alice');
    const done = await con.run('click 1');
    expect(done).toMatchObject({ verdict: 'ok', command: 'user', outcome: 'ok', failed: false });
    expect(active('grace')).toBe(false);
    await con.run('/user activate @grace --yes');
    expect(active('grace')).toBe(true);
  });

  it('a confirmation in the DM is a stored post: the click updates it in place', async () => {
    await con.run('dm user deactivate @heidi');
    const r = await con.run('click 2');
    expect(out.text()).toContain('mmops updated the message');
    expect(r.replies[0]).toMatchObject({ where: 'updated' });
    expect(active('heidi')).toBe(true);
  });

  it('explains a click with nothing to click and a number out of range', async () => {
    const fresh = createConsole({ sandbox, output: out.stream, width: 100 });
    const none = await fresh.run('click 1');
    expect(none).toMatchObject({ kind: 'click', verdict: 'error' });
    expect(none.problem).toMatch(/no buttons to click yet/);
    await con.run('/user deactivate @grace');
    const far = await con.run('click 9');
    expect(far.problem).toMatch(/click which\? 1…2 \(1=Confirm, 2=Cancel\)/);
  });
});

describe('dialogs', () => {
  it('/user password opens a dialog: one prompt per field, the password never echoed, submitted as the user', async () => {
    const before = sandbox.fake.integrationCalls.length;
    const report = await con.runScript(['/user password @carol', PASSWORD, PASSWORD].join('\n'));
    expect(report.exitCode).toBe(0);
    const text = out.text();
    expect(text).toContain('dialog: ');
    expect(text).toMatch(/▸ New password \(hidden\): ••••/);
    expect(text).not.toContain(PASSWORD);
    const submit = sandbox.fake.integrationCalls.slice(before).find((c) => c.kind === 'dialog_submit');
    expect(submit?.body).toMatchObject({ type: 'dialog_submission', user_id: userIdFor('alice'), cancelled: false });
    expect(sandbox.fake.requests.some((q) => q.method === 'PUT' && q.path === `/api/v4/users/${userIdFor('carol')}/password` && q.status === 200)).toBe(true);
  });

  it("the bot's field errors re-ask just that field; cancel closes the dialog", async () => {
    await con.run('/user password @carol');
    await con.run(PASSWORD);
    const differs = await con.run('something-else-entirely-9');
    expect(differs).toMatchObject({ kind: 'dialog', verdict: 'refused' });
    expect(out.text()).toContain('mmops refused');
    const cancelled = await con.run('cancel');
    expect(cancelled.verdict).toBe('none');
    const after = await con.run('/whois @bob');
    expect(after).toMatchObject({ kind: 'slash', command: 'whois' });
  });

  it('the interactive loop (no terminal) masks the password in its echo', async () => {
    const input = new PassThrough();
    const done = con.interact(input);
    // written, not ended: the loop leaves at quit (at EOF it would stop reading buffered lines)
    input.write(['/user password @carol', PASSWORD, PASSWORD, 'quit', ''].join('\n'));
    await done;
    input.end();
    expect(out.text()).toContain('••••');
    expect(out.text()).not.toContain(PASSWORD);
  });
});

describe('rendering helpers', () => {
  const post = (props: Record<string, unknown>, type = ''): Post => ({
    id: 'p'.repeat(26), create_at: 0, update_at: 0, edit_at: 0, delete_at: 0, is_pinned: false, user_id: 'u', channel_id: 'c', root_id: '', original_id: '',
    message: 'm', type, props, hashtags: '', pending_post_id: '', reply_count: 0, last_reply_at: 0, participants: null, metadata: {},
  });

  it('buttonsOf reads actions (cookies of ephemeral posts kept); renderButtons numbers them and wraps', () => {
    const set = buttonsOf(post({ attachments: [{ actions: [{ id: 'a', name: 'Approve', style: 'primary', cookie: 'c1' }, { id: 'b', name: 'Deny' }] }] }, 'system_ephemeral'));
    expect(set).toMatchObject({ ephemeral: true, actions: [{ id: 'a', name: 'Approve', cookie: 'c1' }, { id: 'b', name: 'Deny' }] });
    expect(buttonsOf(post({}))).toBeUndefined();
    expect(renderButtons(set!, false, 100)).toEqual(['[1] Approve  [2] Deny   (click 1…2)']);
    expect(renderButtons(set!, false, 12)).toEqual(['[1] Approve', '[2] Deny   (click 1…2)']);
  });

  it('DialogForm checks answers like a client before it submits', () => {
    const opened: OpenedDialog = {
      userId: 'u', clientTriggerId: 't', url: 'http://x', warnings: [], channelId: 'c', teamId: 't', at: 0,
      dialog: {
        callback_id: 'cb', title: 'T', introduction_text: '', icon_url: '', submit_label: '', notify_on_cancel: false, state: '',
        elements: [
          { display_name: 'Env', name: 'env', type: 'select', subtype: '', default: '', placeholder: '', help_text: '', optional: false, min_length: 0, max_length: 0, data_source: '', options: [{ text: 'Prod', value: 'prod' }, { text: 'Dev', value: 'dev' }], multiselect: false },
          { display_name: 'Sure', name: 'sure', type: 'bool', subtype: '', default: '', placeholder: '', help_text: '', optional: false, min_length: 0, max_length: 0, data_source: '', options: null, multiselect: false },
          { display_name: 'Note', name: 'note', type: 'text', subtype: '', default: '', placeholder: '', help_text: '', optional: true, min_length: 3, max_length: 10, data_source: '', options: null, multiselect: false },
        ],
      },
    };
    const f = new DialogForm(opened);
    expect(f.prompt()).toBe('Env (1=prod 2=dev):');
    expect(f.answer('')).toBe('Env is required');
    expect(f.answer('staging')).toMatch(/pick one of/);
    expect(f.answer('2')).toBeUndefined();
    expect(f.answer('maybe')).toBe('answer yes or no');
    expect(f.answer('yes')).toBeUndefined();
    expect(f.answer('ab')).toBe('at least 3 characters');
    expect(f.answer('')).toBeUndefined();
    expect(f.done).toBe(true);
    expect(f.values).toEqual({ env: 'dev', sure: true, note: null });
    f.reopen({ env: 'not now' });
    expect(f.prompt()).toBe('Env (1=prod 2=dev) [not now]:');
  });
});
