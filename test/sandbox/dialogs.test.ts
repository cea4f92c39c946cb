/**
 * Interactive dialogs in the sandbox, as the server does them (docs/mattermost-notes.md §8.7).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeMattermost, type FakeMattermost } from '../../src/sandbox/fake-server.js';
import { SANDBOX_BOT_TOKEN, channelIdFor, teamIdFor, tokenFor, userIdFor } from '../../src/sandbox/seed.js';
import { WsProbe, apiAs } from './helpers.js';

let receiver: Server;
let base = '';
const seen: Array<{ path: string; headers: IncomingMessage['headers']; body: any }> = [];
let reply: (res: ServerResponse) => void = (res) => res.end();
let mm: FakeMattermost;
const anon = () => apiAs(mm, '');

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      seen.push({ path: req.url ?? '', headers: req.headers, body: text && req.headers['content-type'] === 'application/json' ? JSON.parse(text) : text });
      reply(res);
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  mm = await startFakeMattermost();
});
afterAll(async () => {
  await mm.close();
  await new Promise<void>((r) => receiver.close(() => r()));
});
beforeEach(() => {
  seen.length = 0;
  reply = (res) => res.end();
});

const json = (body: unknown, status = 200) => (res: ServerResponse) => {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
};

const dialog = {
  callback_id: 'cb1',
  title: 'Reset password',
  introduction_text: 'For @bob',
  submit_label: 'Set',
  notify_on_cancel: true,
  state: 'op-42',
  elements: [
    { display_name: 'New password', name: 'password', type: 'text', subtype: 'password' },
    { display_name: 'Emails', name: 'emails', type: 'textarea', optional: true },
  ],
};

/** a trigger id signed for that user, as the server issues it */
const slashTrigger = (username: string) => mm.signer.sign(userIdFor(username));

describe('POST /actions/dialogs/open', () => {
  it('needs no session: a fresh trigger id opens the dialog on every socket of its user only', async () => {
    const ann = new WsProbe(mm, { token: tokenFor('ann') });
    const bob = new WsProbe(mm, { token: tokenFor('bob') });
    await Promise.all([ann.event('hello'), bob.event('hello')]);
    const t = slashTrigger('ann');
    const r = await anon()('POST', '/actions/dialogs/open', { trigger_id: t.triggerId, url: `${base}/dialog`, dialog });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ status: 'OK' });
    const ev = await ann.event('open_dialog');
    expect(ev.broadcast.user_id).toBe(userIdFor('ann'));
    expect(typeof ev.data.dialog).toBe('string');
    const payload = JSON.parse(ev.data.dialog);
    expect(payload).toMatchObject({ trigger_id: t.clientTriggerId, url: `${base}/dialog`, dialog: { callback_id: 'cb1', state: 'op-42', title: 'Reset password' } });
    expect(payload.dialog.elements[0]).toMatchObject({ name: 'password', subtype: 'password', optional: false, default: '', max_length: 0 });
    expect(mm.dialogs.at(-1)).toMatchObject({ userId: userIdFor('ann'), warnings: [] });
    await new Promise((res) => setTimeout(res, 50));
    expect(bob.frames.some((f) => f.event === 'open_dialog')).toBe(false);
    ann.close();
    bob.close();
  });

  it('refuses a stale, forged, tampered or garbled trigger id with the server error ids and opens nothing', async () => {
    const before = mm.dialogs.length;
    const cases: Array<[string, string]> = [
      [mm.signer.sign(userIdFor('ann'), { at: Date.now() - 31_000 }).triggerId, 'interactive_message.decode_trigger_id.expired'],
      [mm.signer.signWithForeignKey(userIdFor('ann')).triggerId, 'interactive_message.decode_trigger_id.verify_signature_failed'],
      [mm.signer.tamperUser(userIdFor('ann'), userIdFor('alice')).triggerId, 'interactive_message.decode_trigger_id.verify_signature_failed'],
      ['not base64!', 'interactive_message.decode_trigger_id.base64_decode_failed'],
      [Buffer.from('a:b:c').toString('base64'), 'interactive_message.decode_trigger_id.missing_data'],
    ];
    for (const [trigger, id] of cases) {
      const r = await anon()('POST', '/actions/dialogs/open', { trigger_id: trigger, url: `${base}/dialog`, dialog });
      expect([r.status, r.json.id]).toEqual([400, id]);
    }
    const noUrl = await anon()('POST', '/actions/dialogs/open', { trigger_id: slashTrigger('ann').triggerId, dialog });
    expect(noUrl.status).toBe(400);
    expect(mm.dialogs.length).toBe(before);
  });

  it('opens an invalid dialog anyway and records the IsValid warnings', async () => {
    const r = await anon()('POST', '/actions/dialogs/open', {
      trigger_id: slashTrigger('ann').triggerId,
      url: `${base}/dialog`,
      dialog: { title: 'A title far longer than twenty-four bytes', elements: [{ name: 'x', display_name: 'X', type: 'text', min_length: 3 }, { name: 'x', display_name: 'Y', type: 'weird' }] },
    });
    expect(r.status).toBe(200);
    const w = mm.dialogs.at(-1)?.warnings ?? [];
    expect(w.some((m) => m.includes('invalid dialog title'))).toBe(true);
    expect(w.some((m) => m.includes('duplicate dialog element "x"'))).toBe(true);
    expect(w.some((m) => m.includes('min length should be less then max length'))).toBe(true);
    expect(w.some((m) => m.includes('invalid element type: "weird"'))).toBe(true);
  });
});

describe('POST /actions/dialogs/submit', () => {
  async function openFromSlash(username: string) {
    const cmd = await apiAs(mm, SANDBOX_BOT_TOKEN)('POST', '/commands', { team_id: teamIdFor('acme'), trigger: `dlg${Math.random().toString(36).slice(2, 8)}`, method: 'P', url: `${base}/slash` });
    reply = (res) => res.end();
    const run = await mm.executeSlash(username, 'acme:town-square', `/${cmd.json.trigger}`);
    expect(run.triggerId).toBeTruthy();
    const r = await anon()('POST', '/actions/dialogs/open', { trigger_id: run.triggerId, url: `${base}/dialog`, dialog });
    expect(r.status).toBe(200);
    seen.length = 0;
    return mm.dialogs.at(-1);
  }

  it('posts the SubmitDialogRequest with the session user, never the one the client sent', async () => {
    await openFromSlash('ann');
    reply = json({});
    const r = await mm.submitDialog('ann', { password: 'hunter2', emails: null }, { override: { user_id: userIdFor('alice') } });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({});
    expect(seen).toHaveLength(1);
    expect(seen[0]?.path).toBe('/dialog');
    expect(seen[0]?.headers['content-type']).toBe('application/json');
    expect(Object.keys(seen[0]?.body)).toEqual(['type', 'callback_id', 'state', 'user_id', 'channel_id', 'team_id', 'submission', 'cancelled']);
    expect(seen[0]?.body).toEqual({
      type: 'dialog_submission',
      callback_id: 'cb1',
      state: 'op-42',
      user_id: userIdFor('ann'),
      channel_id: channelIdFor('acme', 'town-square'),
      team_id: teamIdFor('acme'),
      submission: { password: 'hunter2', emails: null },
      cancelled: false,
    });
    expect(mm.integrationCalls.at(-1)).toMatchObject({ kind: 'dialog_submit', status: 200 });
  });

  it('passes field errors and a general error back; non-200 → 400; bad JSON → 500', async () => {
    await openFromSlash('ann');
    reply = json({ errors: { password: 'too short' } });
    expect(await mm.submitDialog('ann', { password: 'x' })).toEqual({ status: 200, body: { errors: { password: 'too short' } } });
    reply = json({ error: 'try later' });
    expect((await mm.submitDialog('ann', { password: 'x' })).body).toEqual({ error: 'try later' });
    reply = json({}, 403);
    const r403 = await mm.submitDialog('ann', { password: 'x' });
    expect(r403.status).toBe(400);
    expect(r403.body).toMatchObject({ id: 'api.post.do_action.action_integration.app_error' });
    reply = (res) => res.end('<html>');
    expect((await mm.submitDialog('ann', { password: 'x' })).status).toBe(500);
  });

  it('refuses without read access or view_team (an empty team id too), before calling the URL', async () => {
    const d = await openFromSlash('ann');
    expect(d).toBeDefined();
    const incidents = await mm.submitDialog('ann', {}, { override: { channel_id: channelIdFor('ops', 'incidents') } });
    expect(incidents.status).toBe(403);
    const noTeam = await mm.submitDialog('ann', {}, { override: { team_id: '' } });
    expect(noTeam.status).toBe(403);
    const r = await apiAs(mm, '')('POST', '/actions/dialogs/submit', { url: `${base}/dialog`, channel_id: channelIdFor('acme', 'town-square'), team_id: teamIdFor('acme') });
    expect(r.status).toBe(401);
    expect(seen).toHaveLength(0);
  });
});

describe('a click that opens a dialog', () => {
  it("uses the click's trigger id within 30 s; the submission defaults to the click's channel", async () => {
    const post = await apiAs(mm, SANDBOX_BOT_TOKEN)('POST', '/posts', {
      channel_id: channelIdFor('acme', 'off-topic'),
      message: 'Reset?',
      props: { attachments: [{ actions: [{ id: 'ask', type: 'button', name: 'Ask', integration: { url: `${base}/act`, context: { k: 1 } } }] }] },
    });
    reply = json({});
    const click = await mm.clickAction('bob', post.json.id, 'ask');
    expect(click.status).toBe(200);
    const trigger: string = seen[0]?.body.trigger_id;
    const open = await anon()('POST', '/actions/dialogs/open', { trigger_id: trigger, url: `${base}/dialog`, dialog });
    expect(open.status).toBe(200);
    expect(mm.dialogs.at(-1)).toMatchObject({ userId: userIdFor('bob'), channelId: channelIdFor('acme', 'off-topic'), teamId: teamIdFor('acme') });
    seen.length = 0;
    expect((await mm.submitDialog('bob', { password: 'p' })).status).toBe(200);
    expect(seen[0]?.body).toMatchObject({ user_id: userIdFor('bob'), channel_id: channelIdFor('acme', 'off-topic') });
  });
});

