/**
 * Dialogs: `team invite <team>` and `user password @x` without their value open
 * a dialog; the submission is checked (signed state, the same person, not expired, valid
 * values) before anything runs. The wire side (the slash endpoint opening it with the
 * request's trigger_id) is covered in test/transports/slash-endpoint.test.ts style below.
 */
import { describe, expect, it } from 'vitest';
import { FORMS, inviteForm, passwordForm, passwordProblems } from '../../commands/lib/forms.js';
import type { Invocation } from '../../src/core/command.js';
import { reply, paragraph, type Reply } from '../../src/core/reply.js';
import { createActionTokens } from '../../src/services/action-token.js';
import { createDialogs, type DialogsDeps } from '../../src/services/dialogs.js';
import { createMemoryStateStore } from '../../src/state/state-store.js';
import { createMemoryLogger } from '../helpers/logger.js';

const ALICE = 'a'.repeat(26);
const BOB = 'b'.repeat(26);
const CHANNEL = 'c'.repeat(26);
const TEAM = 't'.repeat(26);
const SECRET = 's'.repeat(40);

interface Rig {
  deps: DialogsDeps;
  opened: Array<{ trigger_id: string; url: string; dialog: Record<string, unknown> }>;
  dispatched: Invocation[];
  ephemeral: Array<{ userId: string; message: string }>;
  log: ReturnType<typeof createMemoryLogger>;
  clock: { t: number };
}

function rig(opts: { config?: Record<string, unknown>; failOpen?: boolean } = {}): Rig {
  const opened: Rig['opened'] = [];
  const dispatched: Invocation[] = [];
  const ephemeral: Rig['ephemeral'] = [];
  const log = createMemoryLogger();
  const clock = { t: 1_000_000 };
  const deps: DialogsDeps = {
    tokens: createActionTokens({ secret: SECRET }),
    store: createMemoryStateStore(),
    forms: FORMS,
    api: {
      openDialog: async (req) => {
        if (opts.failOpen) throw new Error('trigger expired');
        opened.push(req);
      },
      getClientConfig: async () => ({ PasswordMinimumLength: '10', PasswordRequireUppercase: 'true', PasswordRequireNumber: 'true', ...opts.config }),
      createEphemeralPost: async (userId, post) => {
        ephemeral.push({ userId, message: post.message });
        return { id: 'p'.repeat(26) } as never;
      },
      createPost: async () => ({}) as never,
      createDirectChannel: async () => ({}) as never,
    },
    dispatch: async (inv) => {
      dispatched.push(inv);
      return { reply: reply([paragraph(`ran ${inv.text}`)]), ref: 'REF123', outcome: 'ok' };
    },
    render: (r: Reply) => [r.blocks.map((b) => ('text' in b ? String(b.text) : '')).join('\n')],
    dialogsUrl: 'https://bot.example/dialogs',
    canEphemeral: () => true,
    botUserId: 'm'.repeat(26),
    logger: log,
    now: () => clock.t,
  };
  return { deps, opened, dispatched, ephemeral, log, clock };
}

const inv = (over: Partial<Invocation> = {}): Invocation => ({ source: 'slash', text: 'team invite acme', userId: ALICE, channelId: CHANNEL, teamId: TEAM, rootId: '', receivedAt: 0, ...over });

async function openInvite(r: Rig): Promise<string> {
  const dialogs = createDialogs(r.deps);
  expect(await dialogs.open('trigger-1', inviteForm({ id: TEAM, name: 'acme', display_name: 'Acme' }), inv())).toBe(true);
  const d = r.opened[0]?.dialog as { state: string };
  return d.state;
}

describe('opening a dialog', () => {
  it('sends the trigger, the bot URL and the fields; the state is signed and holds nothing secret', async () => {
    const r = rig();
    const state = await openInvite(r);
    const req = r.opened[0];
    expect(req?.trigger_id).toBe('trigger-1');
    expect(req?.url).toBe('https://bot.example/dialogs');
    expect(req?.dialog).toMatchObject({ callback_id: 'team-invite', title: 'Invite by email', submit_label: 'Invite', elements: [{ name: 'emails', type: 'textarea' }] });
    expect(Buffer.from(state.split('.')[0] ?? '', 'base64url').toString()).toContain('"team":"acme"');
    // titles and labels within the server's byte limits (Dialog.IsValid)
    for (const f of [inviteForm({ id: TEAM, name: 'acme', display_name: 'Acme' }), passwordForm({ id: BOB, username: 'bob' })]) {
      expect(Buffer.byteLength(f.title)).toBeLessThanOrEqual(24);
      for (const field of f.fields) expect(Buffer.byteLength(field.label)).toBeLessThanOrEqual(24);
      expect(JSON.stringify(f.state)).not.toMatch(/password"\s*:/i);
    }
  });

  it('says false (so the caller gets the text) when the server refuses, and logs why', async () => {
    const r = rig({ failOpen: true });
    expect(await createDialogs(r.deps).open('t', passwordForm({ id: BOB, username: 'bob' }), inv())).toBe(false);
    expect(r.log.find('dialog could not be opened; answering with text')).toBeDefined();
  });
});

describe('submitting', () => {
  const submission = (state: string, values: Record<string, unknown>, over: Record<string, unknown> = {}) => ({
    type: 'dialog_submission',
    callback_id: 'team-invite',
    state,
    user_id: ALICE,
    channel_id: CHANNEL,
    team_id: TEAM,
    submission: values,
    cancelled: false,
    ...over,
  });

  it('runs the command with the addresses, as the person, and shows the answer to them only', async () => {
    const r = rig();
    const state = await openInvite(r);
    const answer = await createDialogs(r.deps).submit(submission(state, { emails: 'ann@example.com\n<bob@example.org>, ann@example.com\n' }));
    expect(answer).toEqual({});
    expect(r.dispatched).toHaveLength(1);
    expect(r.dispatched[0]).toMatchObject({ text: 'team invite acme ann@example.com bob@example.org', userId: ALICE, channelId: CHANNEL, teamId: TEAM, confirmed: { by: 'dialog' } });
    expect(r.ephemeral).toEqual([{ userId: ALICE, message: 'ran team invite acme ann@example.com bob@example.org' }]);
  });

  it('refuses bad addresses per line, and an empty form, without running anything', async () => {
    const r = rig();
    const state = await openInvite(r);
    const dialogs = createDialogs(r.deps);
    const bad = await dialogs.submit(submission(state, { emails: 'ann@example.com\nnot-an-email\n@channel' }));
    expect(bad.errors?.['emails']).toContain('line 2: "not-an-email" is not an email address');
    expect(bad.errors?.['emails']).toContain('line 3');
    expect((await dialogs.submit(submission(state, { emails: '  ' }))).errors?.['emails']).toContain('at least one');
    const many = Array.from({ length: 51 }, (_, i) => `u${i}@example.com`).join('\n');
    expect((await dialogs.submit(submission(state, { emails: many }))).errors?.['emails']).toContain('at most 50');
    expect(r.dispatched).toEqual([]);
  });

  it('refuses a forged or tampered state, another person, another form and an expired one', async () => {
    const r = rig();
    const state = await openInvite(r);
    const dialogs = createDialogs(r.deps);
    const forged = createActionTokens({ secret: 'z'.repeat(40) }).sign('dialog', { v: 1 });
    expect((await dialogs.submit(submission(forged, { emails: 'a@example.com' }))).error).toContain("didn't come from me");
    const [body = '', mac = ''] = state.split('.');
    const tampered = `${Buffer.from(Buffer.from(body, 'base64url').toString().replace('acme', 'ops1')).toString('base64url')}.${mac}`;
    expect((await dialogs.submit(submission(tampered, { emails: 'a@example.com' }))).error).toContain("didn't come from me");
    expect((await dialogs.submit(submission(state, { emails: 'a@example.com' }, { user_id: BOB }))).error).toContain('opened for someone else');
    expect((await dialogs.submit(submission(state, { emails: 'a@example.com' }, { callback_id: 'user-password' }))).error).toContain('opened for someone else');
    r.clock.t += 16 * 60_000;
    expect((await dialogs.submit(submission(state, { emails: 'a@example.com' }))).error).toContain('expired');
    expect(r.dispatched).toEqual([]);
    expect(await dialogs.submit(submission(state, {}, { cancelled: true }))).toEqual({});
    r.clock.t -= 16 * 60_000;
    expect((await dialogs.submit(submission(state, { emails: 'a@example.com' }, { type: 'refresh' }))).error).toContain('only accepts a submission');
    expect(r.dispatched).toEqual([]);
  });

  it("checks a typed password against the server's rules; it reaches the command only as a secret and is never logged", async () => {
    const r = rig();
    const dialogs = createDialogs(r.deps);
    expect(await dialogs.open('t', passwordForm({ id: BOB, username: 'bob' }), inv({ text: 'user password @bob' }))).toBe(true);
    const state = (r.opened[0]?.dialog as { state: string }).state;
    const pw = (values: Record<string, unknown>) => dialogs.submit(submission(state, values, { callback_id: 'user-password' }));
    expect((await pw({ password: 'Short1', confirm: 'Short1' })).errors?.['password']).toContain('at least 10 characters');
    expect((await pw({ password: 'longenough1', confirm: 'longenough1' })).errors?.['password']).toContain('an upper-case letter');
    expect((await pw({ password: 'Longenough1', confirm: 'Longenough2' })).errors?.['confirm']).toContain('differ');
    expect(r.dispatched).toEqual([]);
    expect(await pw({ password: 'Longenough1!', confirm: 'Longenough1!' })).toEqual({});
    expect(r.dispatched[0]).toMatchObject({ text: 'user password @bob --yes', secret: 'Longenough1!' });
    expect(r.dispatched[0]?.text).not.toContain('Longenough1!');
    expect(r.log.dump()).not.toContain('Longenough');
  });
});

describe('password rules', () => {
  it('follow the client config flags (server/config/client.go) with the server minimum of 5', () => {
    expect(passwordProblems('abc', {})).toEqual(['at least 5 characters']);
    expect(passwordProblems('abcdef', { PasswordRequireSymbol: 'true', PasswordRequireLowercase: 'true' })).toEqual(['a symbol']);
    expect(passwordProblems('x'.repeat(73), {})).toEqual(['at most 72 characters']);
  });
});
