import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeMattermost, type FakeMattermost } from '../../src/sandbox/fake-server.js';
import { SANDBOX_BOT_TOKEN, channelIdFor, teamIdFor, tokenFor, userIdFor } from '../../src/sandbox/seed.js';
import { WsProbe, sleep } from './helpers.js';

let mm: FakeMattermost;
const probes: WsProbe[] = [];
const probe = (opts: ConstructorParameters<typeof WsProbe>[1]): WsProbe => {
  const p = new WsProbe(mm, opts);
  probes.push(p);
  return p;
};

beforeAll(async () => {
  mm = await startFakeMattermost({ wsAuthTimeoutMs: 300 });
});
afterEach(() => {
  for (const p of probes.splice(0)) p.close();
});
afterAll(async () => {
  await mm.close();
});

describe('connecting', () => {
  it('sends hello with seq 0, the version id and a connection id when the upgrade carries a token', async () => {
    const p = probe({ token: SANDBOX_BOT_TOKEN });
    const hello = await p.event('hello');
    expect(hello.seq).toBe(0);
    expect(hello.data.server_version).toBe('10.5.0.12345.1a2b3c4d5e6f.true');
    expect(hello.data.connection_id).toMatch(/^[a-z0-9]{26}$/);
    expect(hello.broadcast).toEqual({ omit_users: null, user_id: userIdFor('mmops'), channel_id: '', team_id: '', connection_id: '', omit_connection_id: '' });
  });

  it('authenticates by challenge: hello comes before the OK reply', async () => {
    const p = probe({});
    await new Promise((r) => p.ws.once('open', r));
    p.send({ seq: 1, action: 'ping' });
    const refused = await p.next((f) => f.seq_reply === 1);
    expect(refused).toMatchObject({ status: 'FAIL', error: { id: 'api.web_socket_router.not_authenticated.app_error' } });
    p.send({ seq: 2, action: 'authentication_challenge', data: { token: SANDBOX_BOT_TOKEN } });
    const okReply = await p.next((f) => f.seq_reply === 2);
    expect(okReply).toEqual({ status: 'OK', seq_reply: 2 });
    const helloIndex = p.frames.findIndex((f) => f.event === 'hello');
    expect(helloIndex).toBeGreaterThanOrEqual(0);
    expect(helloIndex).toBeLessThan(p.frames.indexOf(okReply));
    p.send({ seq: 3, action: 'authentication_challenge', data: { token: SANDBOX_BOT_TOKEN } });
    p.send({ seq: 4, action: 'ping' });
    const pong = await p.next((f) => f.seq_reply === 4);
    expect(pong.data).toMatchObject({ text: 'pong', version: '10.5.0', node_id: '' });
    expect(p.frames.some((f) => f.seq_reply === 3)).toBe(false);
  });

  it('closes silently on a bad token and after the auth timeout', async () => {
    const bad = probe({});
    await new Promise((r) => bad.ws.once('open', r));
    bad.send({ seq: 1, action: 'authentication_challenge', data: { token: 'x'.repeat(26) } });
    await bad.waitClosed();
    expect(bad.frames).toEqual([]);
    const idle = probe({});
    await idle.waitClosed(2000);
    expect(idle.frames).toEqual([]);
  });

  it('answers unknown actions and bad seq with FAIL replies', async () => {
    const p = probe({ token: SANDBOX_BOT_TOKEN });
    await p.event('hello');
    p.send({ seq: 7, action: 'do_magic' });
    expect((await p.next((f) => f.seq_reply === 7)).error).toMatchObject({ id: 'api.web_socket_router.bad_action.app_error', status_code: 500 });
    p.send({ seq: 0, action: 'ping' });
    expect((await p.next((f) => f.seq_reply === 0)).error.id).toBe('api.web_socket_router.bad_seq.app_error');
  });

  it('refuses upgrades while not accepting and closes sockets of a revoked token', async () => {
    mm.setWebSocketAccepting(false);
    const refused = probe({ token: SANDBOX_BOT_TOKEN });
    await refused.waitClosed();
    mm.setWebSocketAccepting(true);
    const victim = probe({ token: tokenFor('mallory') });
    await victim.event('hello');
    mm.revokeToken(tokenFor('mallory'));
    await victim.waitClosed();
    const again = probe({ token: tokenFor('mallory') });
    await new Promise((r) => again.ws.once('open', r));
    again.send({ seq: 1, action: 'authentication_challenge', data: { token: tokenFor('mallory') } });
    await again.waitClosed();
    expect(again.frames).toEqual([]);
  });
});

describe('delivery', () => {
  it('counts seq per connection and filters by channel membership', async () => {
    const botWs = probe({ token: SANDBOX_BOT_TOKEN });
    const erin = probe({ token: tokenFor('erin') });
    await botWs.event('hello');
    await erin.event('hello');
    mm.emit('custom_one', { n: 1 }, { channel_id: channelIdFor('ops', 'incidents') });
    mm.emit('custom_two', { n: 2 }, {});
    const one = await botWs.event('custom_one');
    const two = await botWs.event('custom_two');
    expect([one.seq, two.seq]).toEqual([1, 2]);
    const erinTwo = await erin.event('custom_two');
    expect(erinTwo.seq).toBe(1);
    expect(erin.frames.some((f) => f.event === 'custom_one')).toBe(false);
    mm.emit('custom_team', {}, { team_id: teamIdFor('ops') });
    mm.emit('custom_omit', {}, { omit_users: { [userIdFor('mmops')]: true } });
    await erin.event('custom_omit');
    await botWs.event('custom_team');
    expect(erin.frames.some((f) => f.event === 'custom_team')).toBe(false);
    expect(botWs.frames.some((f) => f.event === 'custom_omit')).toBe(false);
  });

  it('sends posted with the post as a JSON string and mentions only to the mentioned recipient', async () => {
    const botWs = probe({ token: SANDBOX_BOT_TOKEN });
    const ann = probe({ token: tokenFor('ann') });
    const alice = probe({ token: tokenFor('alice') });
    await Promise.all([botWs.event('hello'), ann.event('hello'), alice.event('hello')]);
    const post = await mm.postAs('alice', 'acme:town-square', 'hey @mmops, can you check?');
    const forBot = await botWs.event('posted');
    const forAnn = await ann.event('posted');
    const forAlice = await alice.event('posted');
    expect(JSON.parse(forBot.data.mentions)).toEqual([userIdFor('mmops')]);
    expect(forAnn.data).not.toHaveProperty('mentions');
    expect(forAlice.data).not.toHaveProperty('mentions');
    expect(typeof forBot.data.post).toBe('string');
    expect(JSON.parse(forBot.data.post)).toMatchObject({ id: post.id, user_id: userIdFor('alice'), message: 'hey @mmops, can you check?' });
    expect(forBot.data).toMatchObject({ channel_type: 'O', channel_name: 'town-square', sender_name: '@alice', team_id: teamIdFor('acme') });
    expect(forBot.broadcast.channel_id).toBe(channelIdFor('acme', 'town-square'));
  });

  it('treats a DM as a mention of the other member and reports the sender as channel display name', async () => {
    const botWs = probe({ token: SANDBOX_BOT_TOKEN });
    await botWs.event('hello');
    await mm.postAs('dave', '@mmops', 'status');
    const ev = await botWs.event('posted');
    expect(ev.data).toMatchObject({ channel_type: 'D', channel_display_name: '@dave', team_id: '' });
    expect(JSON.parse(ev.data.mentions)).toEqual([userIdFor('mmops')]);
  });

  it('sends user_updated as an admin copy, a sanitized copy and an own copy', async () => {
    const admin = probe({ token: tokenFor('alice') });
    const plain = probe({ token: tokenFor('dave') });
    const self = probe({ token: tokenFor('carol') });
    await Promise.all([admin.event('hello'), plain.event('hello'), self.event('hello')]);
    await fetch(`${mm.url}/api/v4/users/${userIdFor('carol')}/mfa`, { method: 'PUT', headers: { Authorization: `Bearer ${SANDBOX_BOT_TOKEN}` }, body: JSON.stringify({ activate: false }) });
    const a = await admin.event('user_updated');
    const p = await plain.event('user_updated');
    const s = await self.event('user_updated');
    expect(a.broadcast.contains_sensitive_data).toBe(true);
    expect(a.data.user.auth_service).toBe('ldap');
    expect(p.broadcast.contains_sanitized_data).toBe(true);
    expect(p.data.user.auth_service).toBe('');
    expect(s.broadcast.user_id).toBe(userIdFor('carol'));
    expect(s.data.user.notify_props).toBeDefined();
    expect(admin.frames.filter((f) => f.event === 'user_updated')).toHaveLength(1);
  });
});

describe('resumption', () => {
  it('replays missed events with their seq and no hello when the connection is resumed', async () => {
    const first = probe({ token: SANDBOX_BOT_TOKEN });
    const hello = await first.event('hello');
    mm.emit('before_drop', {}, {});
    const before = await first.event('before_drop');
    mm.dropSockets();
    await first.waitClosed();
    mm.emit('while_down_1', {}, { user_id: userIdFor('mmops') });
    mm.emit('while_down_2', {}, { user_id: userIdFor('mmops') });
    // sequence_number is the next seq the client expects (last seen + 1), as the official client sends it
    const second = probe({ token: SANDBOX_BOT_TOKEN, query: `connection_id=${hello.data.connection_id}&sequence_number=${before.seq + 1}` });
    const d1 = await second.event('while_down_1');
    const d2 = await second.event('while_down_2');
    expect([d1.seq, d2.seq]).toEqual([before.seq + 1, before.seq + 2]);
    expect(second.frames.some((f) => f.event === 'hello')).toBe(false);
    mm.emit('after_resume', {}, {});
    expect((await second.event('after_resume')).seq).toBe(before.seq + 3);
  });

  it('delivers events queued while away after the replay, and gives a new id and hello when the send queue overflowed', async () => {
    const first = probe({ token: tokenFor('grace') });
    const hello = await first.event('hello');
    mm.dropSockets(1001);
    await first.waitClosed();
    // up to 256 events wait in the send queue of the inactive connection (web_conn.go sendQueueSize)
    for (let i = 0; i < 200; i++) mm.emit('flood', { i }, { user_id: userIdFor('grace') });
    const second = probe({ token: tokenFor('grace'), query: `connection_id=${hello.data.connection_id}&sequence_number=1` });
    const last = await second.next((f) => f.event === 'flood' && f.data.i === 199);
    expect(last.seq).toBe(200);
    expect(second.frames.some((f) => f.event === 'hello')).toBe(false);

    mm.dropSockets(1001);
    await second.waitClosed();
    for (let i = 0; i < 300; i++) mm.emit('flood2', { i }, { user_id: userIdFor('grace') });
    const third = probe({ token: tokenFor('grace'), query: `connection_id=${hello.data.connection_id}&sequence_number=201` });
    const fresh = await third.event('hello');
    expect(fresh.seq).toBe(0);
    expect(fresh.data.connection_id).not.toBe(hello.data.connection_id);
    await sleep(50);
    expect(third.frames.some((f) => f.event === 'flood2')).toBe(false);
  });

  it('answers a sequence number the dead queue cannot satisfy with a new id and hello, then the queued events', async () => {
    const first = probe({ token: tokenFor('grace') });
    const hello = await first.event('hello');
    mm.dropSockets();
    await first.waitClosed();
    mm.emit('queued', {}, { user_id: userIdFor('grace') });
    const second = probe({ token: tokenFor('grace'), query: `connection_id=${hello.data.connection_id}&sequence_number=7` });
    const fresh = await second.event('hello');
    expect(fresh.seq).toBe(0);
    expect(fresh.data.connection_id).not.toBe(hello.data.connection_id);
    expect((await second.event('queued')).seq).toBe(1);
  });

  it('never resumes a challenge-authenticated socket', async () => {
    const first = probe({ token: tokenFor('grace') });
    const hello = await first.event('hello');
    mm.dropSockets();
    await first.waitClosed();
    mm.emit('missed', {}, { user_id: userIdFor('grace') });
    const second = probe({ query: `connection_id=${hello.data.connection_id}&sequence_number=1` });
    await new Promise((r) => second.ws.once('open', r));
    second.send({ seq: 1, action: 'authentication_challenge', data: { token: tokenFor('grace') } });
    const fresh = await second.event('hello');
    expect(fresh.data.connection_id).not.toBe(hello.data.connection_id);
    await sleep(50);
    expect(second.frames.some((f) => f.event === 'missed')).toBe(false);
  });

  it('opens a fresh connection while the old socket is still open', async () => {
    const first = probe({ token: tokenFor('grace') });
    const hello = await first.event('hello');
    const second = probe({ token: tokenFor('grace'), query: `connection_id=${hello.data.connection_id}&sequence_number=1` });
    const fresh = await second.event('hello');
    expect(fresh.data.connection_id).not.toBe(hello.data.connection_id);
    expect(first.closed).toBe(false);
    mm.emit('both', {}, { user_id: userIdFor('grace') });
    await first.event('both');
    await second.event('both');
  });

  it('loses every dead queue when the hub restarts', async () => {
    const first = probe({ token: tokenFor('grace') });
    const hello = await first.event('hello');
    mm.restartWebSocketHub();
    await first.waitClosed();
    mm.emit('gone', {}, { user_id: userIdFor('grace') });
    const second = probe({ token: tokenFor('grace'), query: `connection_id=${hello.data.connection_id}&sequence_number=1` });
    const fresh = await second.event('hello');
    expect(fresh.data.connection_id).not.toBe(hello.data.connection_id);
    await sleep(50);
    expect(second.frames.some((f) => f.event === 'gone')).toBe(false);
  });

  it('treats an unknown connection id as a fresh connection and closes the socket on a malformed id or sequence number', async () => {
    const unknown = probe({ token: SANDBOX_BOT_TOKEN, query: `connection_id=${'k'.repeat(26)}&sequence_number=5` });
    expect((await unknown.event('hello')).seq).toBe(0);
    const noSeq = probe({ token: SANDBOX_BOT_TOKEN, query: `connection_id=${'k'.repeat(26)}` });
    await noSeq.waitClosed();
    expect(noSeq.frames).toEqual([]);
    const badId = probe({ token: SANDBOX_BOT_TOKEN, query: 'connection_id=short&sequence_number=1' });
    await badId.waitClosed();
    expect(badId.frames).toEqual([]);
    // a sequence number alone is a fresh connection
    const seqOnly = probe({ token: SANDBOX_BOT_TOKEN, query: 'sequence_number=4' });
    expect((await seqOnly.event('hello')).seq).toBe(0);
  });
});
