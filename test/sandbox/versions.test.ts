/**
 * The sandbox's server version modes (src/sandbox/versions.ts): each difference a real
 * 5.37 showed, or its source reads, against the same request on a current server.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeMattermost, type FakeMattermost } from '../../src/sandbox/fake-server.js';
import { SANDBOX_BOT_TOKEN, channelIdFor, teamIdFor, tokenFor, userIdFor } from '../../src/sandbox/seed.js';
import { serverProfile } from '../../src/sandbox/versions.js';
import { WsProbe, apiAs } from './helpers.js';

const BOT = userIdFor('mmops');
const servers: FakeMattermost[] = [];
const start = async (version?: string): Promise<FakeMattermost> => {
  const mm = await startFakeMattermost(version ? { version } : {});
  servers.push(mm);
  return mm;
};
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

describe('server profiles', () => {
  it('switch each behaviour at the release the source changed it', () => {
    expect(serverProfile('5.37')).toEqual({ version: '5.37.0', userChannelsRoute: false, emptyActionAnswerOk: false, actionsCompat: 'old', mentionsPerRecipient: false, gmMentionsEveryone: false, timedDnd: false, router404Json: false, emptyAuditsNull: false });
    expect(serverProfile('6.1.0')).toMatchObject({ userChannelsRoute: true, emptyActionAnswerOk: true, mentionsPerRecipient: false });
    expect(serverProfile('9.10.1')).toEqual({ version: '9.10.1', userChannelsRoute: true, emptyActionAnswerOk: true, actionsCompat: 'old', mentionsPerRecipient: true, gmMentionsEveryone: true, timedDnd: true, router404Json: true, emptyAuditsNull: true });
    expect(serverProfile('9.0.0')).toMatchObject({ gmMentionsEveryone: false });
    expect(serverProfile('6.0.0')).toMatchObject({ timedDnd: false });
    expect(serverProfile('6.1.0')).toMatchObject({ timedDnd: true });
    expect(serverProfile('10.5.0')).toMatchObject({ actionsCompat: 'current', gmMentionsEveryone: true });
    expect(() => serverProfile('latest')).toThrow(/not a server version/);
  });
});

describe('version mode on the wire', () => {
  it('X-Version-Id and the hello carry the version played', async () => {
    const old = await start('5.37');
    const r = await apiAs(old, SANDBOX_BOT_TOKEN)('GET', '/users/me');
    expect(r.headers.get('x-version-id')).toMatch(/^5\.37\.0\.\d+\.[0-9a-f]+\.(true|false)$/);
    const ws = new WsProbe(old, { token: SANDBOX_BOT_TOKEN });
    const hello = await ws.next((f) => f.event === 'hello');
    ws.ws.close();
    expect(hello.data.server_version).toMatch(/^5\.37\.0\./);
    const current = await start();
    expect((await apiAs(current, SANDBOX_BOT_TOKEN)('GET', '/users/me')).headers.get('x-version-id')).toMatch(/^10\.5\.0\./);
  });

  it('GET /users/{id}/channels: the router 404 on 5.37, the list on 9.10', async () => {
    const old = await start('5.37');
    const r = await apiAs(old, SANDBOX_BOT_TOKEN)('GET', `/users/${BOT}/channels`);
    expect(r.status).toBe(404);
    expect(r.json).toEqual({
      id: 'api.context.404.app_error',
      message: 'Sorry, we could not find the page.',
      detailed_error: `There doesn't appear to be an api call for the url='/api/v4/users/${BOT}/channels'.  Typo? are you missing a team_id or user_id as part of the url?`,
      status_code: 404,
    });
    const newer = await start('9.10');
    const n = await apiAs(newer, SANDBOX_BOT_TOKEN)('GET', `/users/${BOT}/channels`);
    expect(n.status).toBe(200);
    expect(Array.isArray(n.json)).toBe(true);
  });

  it('the router 404 (web/web.go Handle404): AppError JSON labelled text/plain on 5.37, application/json on 9.10; no X-Request-Id or X-Version-Id on either', async () => {
    const old = await start('5.37');
    const r = await apiAs(old, SANDBOX_BOT_TOKEN)('GET', '/nosuchroute/x');
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(r.headers.get('x-request-id')).toBeNull();
    expect(r.headers.get('x-version-id')).toBeNull();
    expect(JSON.parse(r.text)).toMatchObject({ id: 'api.context.404.app_error', status_code: 404 });
    // an AppError of an API handler keeps its JSON label and both headers
    const handled = await apiAs(old, SANDBOX_BOT_TOKEN)('GET', `/users/${'x'.repeat(26)}`);
    expect(handled.status).toBe(404);
    expect(handled.headers.get('content-type')).toBe('application/json');
    expect(handled.headers.get('x-request-id')).toBeTruthy();
    expect(handled.headers.get('x-version-id')).toMatch(/^5\.37\.0\./);
    const newer = await start('9.10');
    const n = await apiAs(newer, SANDBOX_BOT_TOKEN)('GET', '/nosuchroute/x');
    expect(n.status).toBe(404);
    expect(n.headers.get('content-type')).toBe('application/json');
    expect(n.headers.get('x-request-id')).toBeNull();
    expect(n.headers.get('x-version-id')).toBeNull();
    expect(n.json).toMatchObject({ id: 'api.context.404.app_error' });
  });

  it('GET /users/{id}/teams/{team_id}/channels lists the team channels plus every DM (team_id ""), and 404s with no row', async () => {
    const old = await start('5.37');
    await old.postAs('alice', '@mmops', 'hello');
    const bot = apiAs(old, SANDBOX_BOT_TOKEN);
    const acme = await bot('GET', `/users/${BOT}/teams/${teamIdFor('acme')}/channels`);
    expect(acme.status).toBe(200);
    const dm = old.store.directChannel(userIdFor('alice'), BOT)?.id;
    const ids = (acme.json as Array<{ id: string; team_id: string }>).map((c) => c.id);
    expect(ids).toContain(dm);
    expect(ids).toContain(channelIdFor('acme', 'town-square'));
    for (const c of acme.json as Array<{ team_id: string }>) expect(['', teamIdFor('acme')]).toContain(c.team_id);
    // the same DM comes with the other team too
    const ops = await bot('GET', `/users/${BOT}/teams/${teamIdFor('ops')}/channels`);
    expect((ops.json as Array<{ id: string }>).map((c) => c.id)).toContain(dm);
    // a user with no channel in a team and no DM: sqlstore GetChannels' not-found
    const dave = userIdFor('dave');
    for (const m of old.store.channelMembers.filter((x) => x.user_id === dave && old.store.channels.get(x.channel_id)?.team_id === teamIdFor('acme'))) {
      old.store.channelMembers.splice(old.store.channelMembers.indexOf(m), 1);
    }
    old.store.channelMembers = old.store.channelMembers.filter((m) => !(m.user_id === dave && old.store.channels.get(m.channel_id)?.team_id === ''));
    const none = await apiAs(old, tokenFor('dave'))('GET', `/users/${dave}/teams/${teamIdFor('acme')}/channels`);
    expect(none.status).toBe(404);
    expect(none.json).toMatchObject({ id: 'app.channel.get_channels.not_found.app_error' });
  });

  it('posted: 5.37 sends every recipient the whole mention list, 9.10 only their own id', async () => {
    for (const [version, botSees, carolSees] of [
      ['5.37', [userIdFor('bob'), BOT], [userIdFor('bob'), BOT]],
      ['9.10', [BOT], undefined],
    ] as const) {
      const mm = await start(version);
      const botWs = new WsProbe(mm, { token: SANDBOX_BOT_TOKEN });
      const carolWs = new WsProbe(mm, { token: tokenFor('carol') });
      await botWs.next((f) => f.event === 'hello');
      await carolWs.next((f) => f.event === 'hello');
      const p = await mm.postAs('alice', 'acme:town-square', '@bob @mmops look');
      const seen = await botWs.next((f) => f.event === 'posted' && String(f.data.post).includes(p.id));
      const carol = await carolWs.next((f) => f.event === 'posted' && String(f.data.post).includes(p.id));
      botWs.ws.close();
      carolWs.ws.close();
      expect(JSON.parse(seen.data.mentions).sort()).toEqual([...botSees].sort());
      expect(carol.data.mentions === undefined ? undefined : JSON.parse(carol.data.mentions).sort()).toEqual(carolSees ? [...carolSees].sort() : undefined);
    }
  });

  it('posted in a group message: 9.10 mentions every member on every post, 5.37 only those named', async () => {
    for (const [version, mentioned] of [
      ['5.37', false],
      ['9.10', true],
    ] as const) {
      const mm = await start(version);
      const made = await apiAs(mm, tokenFor('alice'))('POST', '/channels/group', [userIdFor('bob'), BOT]);
      expect(made.status).toBe(201);
      const gm = made.json as { id: string; type: string; display_name: string };
      expect(gm).toMatchObject({ type: 'G', display_name: 'alice, bob, mmops' });
      const botWs = new WsProbe(mm, { token: SANDBOX_BOT_TOKEN });
      await botWs.next((f) => f.event === 'hello');
      const p = await mm.postAs('alice', gm.id, 'hello everyone, lunch at noon');
      const seen = await botWs.next((f) => f.event === 'posted' && String(f.data.post).includes(p.id));
      botWs.ws.close();
      expect(seen.data.channel_type).toBe('G');
      if (mentioned) expect(JSON.parse(seen.data.mentions)).toContain(BOT);
      else expect(seen.data.mentions).toBeUndefined();
    }
  });

  it('PUT /users/{id}/status: 5.37 drops the dnd end time (TimedDND off), 9.10 keeps it (to the minute)', async () => {
    const end = Math.floor(Date.now() / 1000) + 7200;
    for (const [version, kept] of [
      ['5.37', 0],
      ['9.10', Math.floor(end / 60) * 60],
    ] as const) {
      const mm = await start(version);
      const dave = userIdFor('dave');
      const r = await apiAs(mm, SANDBOX_BOT_TOKEN)('PUT', `/users/${dave}/status`, { user_id: dave, status: 'dnd', dnd_end_time: end });
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({ status: 'dnd', dnd_end_time: kept });
      expect(mm.store.statuses.get(dave)?.dnd_end_time).toBe(kept);
    }
  });

  it('GET /users/{id}/audits answers null when the user has no audit row', async () => {
    const mm = await start('9.10');
    mm.store.audits = mm.store.audits.filter((a) => a.user_id !== userIdFor('carol'));
    const r = await apiAs(mm, tokenFor('alice'))('GET', `/users/${userIdFor('carol')}/audits`);
    expect(r.status).toBe(200);
    expect(r.text).toBe('null');
  });

  it('GET /users/{id}/audits answers [] on 5.37 when the user has no audit row (gorp Select)', async () => {
    const mm = await start('5.37');
    mm.store.audits = mm.store.audits.filter((a) => a.user_id !== userIdFor('carol'));
    const r = await apiAs(mm, tokenFor('alice'))('GET', `/users/${userIdFor('carol')}/audits`);
    expect(r.status).toBe(200);
    expect(r.text).toBe('[]');
  });
});

describe('an empty answer to a click', () => {
  let integration: Server;
  let url = '';
  beforeAll(async () => {
    integration = createServer((req, res: ServerResponse) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end();
      });
    });
    await new Promise<void>((r) => integration.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(integration.address() as AddressInfo).port}/act`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => integration.close(() => r()));
  });

  it('is 400 api.post.do_action.action_integration.app_error on 5.37 and 200 on 9.10', async () => {
    for (const [version, status] of [
      ['5.37', 400],
      ['9.10', 200],
    ] as const) {
      const mm = await start(version);
      const props = { attachments: [{ text: 'Go?', actions: [{ id: 'go', type: 'button', name: 'Go', integration: { url } }] }] };
      const post = await apiAs(mm, SANDBOX_BOT_TOKEN)('POST', '/posts', { channel_id: channelIdFor('acme', 'town-square'), message: 'Go?', props });
      expect(post.status).toBe(201);
      const click = await mm.clickAction('alice', post.json.id, 'go');
      expect(click.status).toBe(status);
      if (status === 400) expect(click.body).toMatchObject({ id: 'api.post.do_action.action_integration.app_error' });
      expect(mm.integrationCalls.at(-1)?.status).toBe(200);
    }
  });
});
