/**
 * Interactive message buttons in the sandbox, as the server does them
 * (docs/mattermost-notes.md §8.1-8.5).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeMattermost, type FakeMattermost } from '../../src/sandbox/fake-server.js';
import { SANDBOX_BOT_TOKEN, channelIdFor, teamIdFor, tokenFor, userIdFor } from '../../src/sandbox/seed.js';
import { WsProbe, apiAs } from './helpers.js';

interface Seen {
  headers: IncomingMessage['headers'];
  body: any;
}
let integration: Server;
let hookUrl = '';
const seen: Seen[] = [];
let reply: (res: ServerResponse) => void = (res) => res.end();
let mm: FakeMattermost;
const bot = () => apiAs(mm, SANDBOX_BOT_TOKEN);
const townSquare = () => channelIdFor('acme', 'town-square');

beforeAll(async () => {
  integration = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      seen.push({ headers: req.headers, body: text ? JSON.parse(text) : undefined });
      reply(res);
    });
  });
  await new Promise<void>((r) => integration.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(integration.address() as AddressInfo).port}/actions`;
  mm = await startFakeMattermost();
});
afterAll(async () => {
  await mm.close();
  await new Promise<void>((r) => integration.close(() => r()));
});
beforeEach(() => {
  seen.length = 0;
  reply = (res) => res.end();
  mm.store.config.actionsCompat = 'current';
});

const json = (body: unknown, status = 200) => (res: ServerResponse) => {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
};

/** props with one attachment holding these actions (integration url = the test receiver) */
const withActions = (...actions: Array<Record<string, unknown>>) => ({
  attachments: [{ text: 'Deploy v1.2?', actions: actions.map((a) => ({ type: 'button', name: a.id ?? 'Go', integration: { url: hookUrl, context: { op: 'approve', sig: 's3cret' } }, ...a })) }],
});

async function botPost(props: Record<string, unknown>, channelId = townSquare(), message = 'Deploy?') {
  const r = await bot()('POST', '/posts', { channel_id: channelId, message, props });
  expect(r.status).toBe(201);
  return r.json;
}

function verifyTrigger(triggerId: string): { clientId: string; userId: string; at: number } {
  const decoded = Buffer.from(triggerId, 'base64').toString('utf8');
  const [clientId = '', userId = '', at = '', sig = ''] = decoded.split(':');
  const key = createPublicKey({ key: Buffer.from(mm.signer.publicKey, 'base64'), format: 'der', type: 'spki' });
  expect(cryptoVerify('sha256', Buffer.from(`${clientId}:${userId}:${at}:`), { key, dsaEncoding: 'der' }, Buffer.from(sig, 'base64'))).toBe(true);
  return { clientId, userId, at: Number(at) };
}

describe('posts with actions', () => {
  it('fills missing action ids, keeps integration in the store and strips it from REST and WebSocket', async () => {
    const ann = new WsProbe(mm, { token: tokenFor('ann') });
    await ann.event('hello');
    const created = await botPost(withActions({ id: 'approve' }, { name: 'No id' }));
    const actions = created.props.attachments[0].actions;
    expect(actions[0].id).toBe('approve');
    expect(actions[1].id).toMatch(/^[a-z0-9]{26}$/);
    expect(actions.some((a: any) => 'integration' in a)).toBe(false);

    const stored = mm.posts.find((p) => p.id === created.id);
    expect(JSON.stringify(stored?.props)).toContain('s3cret');

    const got = await apiAs(mm, tokenFor('ann'))('GET', `/posts/${created.id}`);
    expect(got.text).not.toContain('s3cret');
    const list = await apiAs(mm, tokenFor('ann'))('GET', `/channels/${townSquare()}/posts`);
    expect(list.json.posts[created.id]).toBeDefined();
    expect(list.text).not.toContain('s3cret');
    const posted = await ann.next((f) => f.event === 'posted' && JSON.parse(f.data.post).id === created.id);
    expect(posted.data.post).not.toContain('s3cret');
    expect(JSON.parse(posted.data.post).props.attachments[0].actions[1].id).toBe(actions[1].id);
    ann.close();
  });
});

describe('clicking a stored post', () => {
  it('sends the integration the exact request with a trigger id signed for the clicker', async () => {
    reply = json({});
    const post = await botPost(withActions({ id: 'approve' }));
    const r = await mm.clickAction('ann', post.id, 'approve');
    expect(r.status).toBe(200);
    expect(seen).toHaveLength(1);
    const req = seen[0];
    expect(req?.headers['content-type']).toBe('application/json');
    expect(req?.headers.accept).toBe('application/json');
    expect(req?.headers.authorization).toBeUndefined();
    expect(Object.keys(req?.body)).toEqual(['user_id', 'user_name', 'channel_id', 'channel_name', 'team_id', 'team_domain', 'post_id', 'trigger_id', 'type', 'data_source', 'context']);
    expect(req?.body).toMatchObject({
      user_id: userIdFor('ann'),
      user_name: 'ann',
      channel_id: townSquare(),
      channel_name: 'town-square',
      team_id: teamIdFor('acme'),
      team_domain: 'acme',
      post_id: post.id,
      type: 'button',
      data_source: '',
      context: { op: 'approve', sig: 's3cret' },
    });
    const t = verifyTrigger(req?.body.trigger_id);
    expect(t.userId).toBe(userIdFor('ann'));
    expect(Math.abs(Date.now() - t.at)).toBeLessThan(5000);
    expect(r.body).toEqual({ status: 'OK', trigger_id: t.clientId });
  });

  it('leaves team_id and team_domain empty in a DM and adds selected_option for a menu', async () => {
    reply = json({});
    const dm = await bot()('POST', '/channels/direct', [userIdFor('mmops'), userIdFor('bob')]);
    const post = await botPost(withActions({ id: 'pick', type: 'select', options: [{ text: 'A', value: 'a' }] }), dm.json.id);
    const r = await mm.clickAction('bob', post.id, 'pick', { selectedOption: 'a' });
    expect(r.status).toBe(200);
    expect(seen[0]?.body).toMatchObject({ team_id: '', team_domain: '', type: 'select', context: { op: 'approve', sig: 's3cret', selected_option: 'a' } });
  });

  it('refuses a caller who cannot read the channel, and never calls the integration', async () => {
    const incidents = channelIdFor('ops', 'incidents');
    const post = await botPost(withActions({ id: 'approve' }), incidents);
    mm.clearRequests();
    const r = await mm.clickAction('dave', post.id, 'approve');
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ id: 'api.context.permissions.app_error' });
    expect(seen).toHaveLength(0);
    expect(mm.requests.map((q) => [q.path, q.status])).toEqual([[`/api/v4/posts/${post.id}/actions/approve`, 403]]);
  });

  it('404s an action id outside [A-Za-z0-9] (the route never matches) and an unknown id', async () => {
    const post = await botPost(withActions({ id: 'btn_ok' }, { id: 'other' }));
    expect((await mm.clickAction('ann', post.id, 'btn_ok')).status).toBe(404);
    const unknown = await mm.clickAction('ann', post.id, 'nope');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ id: 'api.post.do_action.action_id.app_error' });
    expect(seen).toHaveLength(0);
  });

  it('answers 400 action_integration for a non-200 or non-JSON answer', async () => {
    const post = await botPost(withActions({ id: 'approve' }));
    reply = json({ ephemeral_text: 'ignored' }, 500);
    const r500 = await mm.clickAction('ann', post.id, 'approve');
    expect(r500.status).toBe(400);
    expect(r500.body).toMatchObject({ id: 'api.post.do_action.action_integration.app_error' });
    reply = (res) => res.end('ok, done');
    const bad = await mm.clickAction('ann', post.id, 'approve');
    expect(bad.status).toBe(400);
    expect(mm.integrationCalls.slice(-2).map((c) => c.status)).toEqual([500, 200]);
  });

  it('applies update (props replaced, from_webhook kept) and sends ephemeral_text into the thread', async () => {
    const ann = new WsProbe(mm, { token: tokenFor('ann') });
    const bob = new WsProbe(mm, { token: tokenFor('bob') });
    await Promise.all([ann.event('hello'), bob.event('hello')]);
    const post = await botPost(withActions({ id: 'approve' }));
    reply = json({ update: { message: 'Approved by @ann', props: { note: 'done' } }, ephemeral_text: 'See <https://x.example|the log>' });
    const r = await mm.clickAction('ann', post.id, 'approve');
    expect(r.status).toBe(200);
    const stored = mm.posts.find((p) => p.id === post.id);
    expect(stored?.message).toBe('Approved by @ann');
    expect(stored?.props).toEqual({ note: 'done' }); // from_bot is not a retained prop
    expect(stored?.edit_at).toBeGreaterThan(0);
    const edited = await bob.next((f) => f.event === 'post_edited' && JSON.parse(f.data.post).id === post.id);
    expect(JSON.parse(edited.data.post).message).toBe('Approved by @ann');
    const eph = await ann.event('ephemeral_message');
    expect(JSON.parse(eph.data.post)).toMatchObject({ message: 'See [the log](https://x.example)', root_id: post.id, user_id: userIdFor('ann'), channel_id: townSquare() });
    expect(eph.broadcast.user_id).toBe(userIdFor('ann'));
    await new Promise((res) => setTimeout(res, 50));
    expect(bob.frames.some((f) => f.event === 'ephemeral_message')).toBe(false);

    reply = json({ update: { message: 'only text' } });
    await mm.clickAction('ann', post.id, 'nothere'); // 404, no change
    expect(mm.posts.find((p) => p.id === post.id)?.props).toEqual({ note: 'done' });
    ann.close();
    bob.close();
  });
});

describe('ephemeral posts with actions', () => {
  async function ephemeralFor(username: string, props = withActions({ id: 'approve' })) {
    const r = await bot()('POST', '/posts/ephemeral', { user_id: userIdFor(username), post: { channel_id: townSquare(), message: 'Confirm?', props } });
    expect(r.status).toBe(201);
    return r.json;
  }

  it('gives each action an encrypted cookie and no integration; a click with the cookie reaches the integration', async () => {
    const ann = new WsProbe(mm, { token: tokenFor('ann') });
    await ann.event('hello');
    const post = await ephemeralFor('ann');
    const action = post.props.attachments[0].actions[0];
    expect(action.integration).toBeUndefined();
    expect(action.cookie).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(action.cookie, 'base64').toString('latin1')).not.toContain('s3cret');
    const got = await ann.event('ephemeral_message');
    expect(got.data.post).not.toContain('s3cret');
    expect(mm.posts.some((p) => p.id === post.id)).toBe(false);

    reply = json({});
    // the REST answer's cookie carries no integration (SendEphemeralPost stripped the shared
    // attachments before createEphemeralPost sealed it; real 5.37 and 9.10): 400, never called
    const rest = await mm.clickAction('ann', post.id, 'approve', { cookie: action.cookie });
    expect(rest.status).toBe(400);
    expect(rest.body).toMatchObject({ id: 'api.post.do_action.action_integration.app_error' });
    expect(seen).toHaveLength(0);
    // the ephemeral_message event's cookie works (the webapp clicks with it)
    const eventCookie = JSON.parse(got.data.post).props.attachments[0].actions[0].cookie;
    expect(eventCookie).not.toBe(action.cookie);
    const r = await mm.clickAction('ann', post.id, 'approve', { cookie: eventCookie });
    expect(r.status).toBe(200);
    expect(seen[0]?.body).toMatchObject({ post_id: post.id, user_id: userIdFor('ann'), channel_id: townSquare(), team_domain: 'acme', context: { op: 'approve', sig: 's3cret' } });
    ann.close();
  });

  it('refuses a click without cookie (403: no post to check access by), a tampered cookie or one for another post (400), before calling the integration', async () => {
    const post = await ephemeralFor('ann');
    const other = await ephemeralFor('ann');
    const cookie: string = post.props.attachments[0].actions[0].cookie;
    const noCookie = await mm.clickAction('ann', post.id, 'approve', { cookie: '' });
    // api4 doPostAction: SessionHasPermissionToChannelByPost finds no channel → system permission → 403
    expect(noCookie.status).toBe(403);
    const raw = Buffer.from(cookie, 'base64');
    raw[20] = (raw[20] ?? 0) ^ 1;
    const tampered = await mm.clickAction('ann', post.id, 'approve', { cookie: raw.toString('base64') });
    expect(tampered.status).toBe(400);
    const swapped = await mm.clickAction('ann', other.id, 'approve', { cookie });
    expect(swapped.status).toBe(400);
    expect(swapped.body).toMatchObject({ id: 'api.post.do_action.action_integration.app_error' });
    expect(seen).toHaveLength(0);
  });

  it('checks read access to the cookie channel', async () => {
    const r = await bot()('POST', '/posts/ephemeral', { user_id: userIdFor('dave'), post: { channel_id: channelIdFor('ops', 'incidents'), message: 'x', props: withActions({ id: 'approve' }) } });
    const sent = mm.ephemeral.find((e) => e.post.id === r.json.id)?.post as { props: { attachments: Array<{ actions: Array<{ cookie: string }> }> } } | undefined;
    const cookie = sent?.props.attachments[0]?.actions[0]?.cookie;
    if (!cookie) throw new Error('the ephemeral_message post has no cookie');
    const res = await mm.clickAction('dave', r.json.id, 'approve', { cookie });
    expect(res.status).toBe(403);
    expect(seen).toHaveLength(0);
  });

  it('current servers update the ephemeral post for the clicker only (post_edited), old ones fail after the call', async () => {
    const ann = new WsProbe(mm, { token: tokenFor('ann') });
    await ann.event('hello');
    const post = await ephemeralFor('ann');
    reply = json({ update: { message: 'Done.' } });
    const r = await mm.clickAction('ann', post.id, 'approve');
    expect(r.status).toBe(200);
    const edited = await ann.event('post_edited');
    expect(edited.broadcast.user_id).toBe(userIdFor('ann'));
    expect(JSON.parse(edited.data.post)).toMatchObject({ id: post.id, message: 'Done.', type: 'system_ephemeral', user_id: userIdFor('ann') });
    expect(mm.ephemeral.find((e) => e.post.id === post.id)?.post.message).toBe('Done.');

    mm.store.config.actionsCompat = 'old';
    const again = await ephemeralFor('ann');
    seen.length = 0;
    const old = await mm.clickAction('ann', again.id, 'approve');
    expect(seen).toHaveLength(1); // the integration already ran…
    expect(old.status).toBe(404); // …and the clicker still gets an error
    expect(old.body).toMatchObject({ id: 'app.post.get.app_error' });
    ann.close();
  });

  it('slash replies: top-level attachments give cookies; attachments only in props with no text give no post', async () => {
    const slashHook = createServer((_req, res) => slashReply(res));
    let slashReply: (res: ServerResponse) => void = (res) => res.end();
    await new Promise<void>((r) => slashHook.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(slashHook.address() as AddressInfo).port}/slash`;
    const cmd = await bot()('POST', '/commands', { team_id: teamIdFor('acme'), trigger: 'acttest', method: 'P', url });
    expect(cmd.status).toBe(201);
    try {
      slashReply = json({ response_type: 'ephemeral', attachments: withActions({ id: 'approve' }).attachments });
      const r = await mm.executeSlash('ann', 'acme:town-square', '/acttest go');
      expect(r.ephemeral).toHaveLength(1);
      expect(r.ephemeral[0]?.type).toBe('system_ephemeral');
      expect(r.ephemeral[0]?.props.attachments).toMatchObject([{ actions: [{ id: 'approve', cookie: expect.any(String) }] }]);
      reply = json({});
      expect((await mm.clickAction('ann', r.ephemeral[0]?.id ?? '', 'approve')).status).toBe(200);

      slashReply = json({ response_type: 'ephemeral', text: '', props: withActions({ id: 'approve' }) });
      const dropped = await mm.executeSlash('ann', 'acme:town-square', '/acttest go');
      expect(dropped.error).toBeUndefined();
      expect(dropped.ephemeral).toHaveLength(0);

      slashReply = json({ response_type: 'in_channel', text: 'vote', attachments: withActions({ id: 'approve' }).attachments });
      const inChannel = await mm.executeSlash('ann', 'acme:town-square', '/acttest go');
      expect(inChannel.posts[0]).toMatchObject({ type: 'slack_attachment', user_id: userIdFor('ann'), props: { from_webhook: 'true' } });
    } finally {
      await new Promise<void>((r) => slashHook.close(() => r()));
    }
  });
});
