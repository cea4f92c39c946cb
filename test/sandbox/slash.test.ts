import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { ALL_PERMISSIONS } from '../../src/sandbox/role-catalog.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeMattermost, type FakeMattermost } from '../../src/sandbox/fake-server.js';
import { SANDBOX_BOT_TOKEN, channelIdFor, teamIdFor, tokenFor, userIdFor } from '../../src/sandbox/seed.js';
import { WsProbe, apiAs } from './helpers.js';

/** A tiny integration: records requests and answers with whatever `reply` says. */
interface Seen {
  method: string;
  headers: IncomingMessage['headers'];
  form: URLSearchParams;
}
let integration: Server;
let integrationUrl = '';
const seen: Seen[] = [];
let reply: (res: ServerResponse) => void = (res) => res.end();

let mm: FakeMattermost;
let commandToken = '';

beforeAll(async () => {
  integration = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', headers: req.headers, form: new URLSearchParams(Buffer.concat(chunks).toString()) });
      reply(res);
    });
  });
  await new Promise<void>((r) => integration.listen(0, '127.0.0.1', r));
  integrationUrl = `http://127.0.0.1:${(integration.address() as AddressInfo).port}/mmops`;
  mm = await startFakeMattermost();
  const created = await apiAs(mm, SANDBOX_BOT_TOKEN)('POST', '/commands', {
    team_id: teamIdFor('acme'),
    trigger: 'mmops',
    method: 'P',
    url: integrationUrl,
    auto_complete: true,
    auto_complete_desc: 'ops bot',
    auto_complete_hint: '[command]',
    display_name: 'mmops',
    description: 'ops bot',
  });
  commandToken = created.json.token;
});
afterAll(async () => {
  await mm.close();
  await new Promise<void>((r) => integration.close(() => r()));
});
beforeEach(() => {
  seen.length = 0;
});

const json = (body: unknown) => (res: ServerResponse) => {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
};

describe('executeSlash', () => {
  it('posts the form body with the command token and mentions to the integration', async () => {
    reply = json({ response_type: 'ephemeral', text: 'Ann Lee is @ann' });
    const r = await mm.executeSlash('alice', 'acme:town-square', '/MMOPS whois  @ann ~off-topic @nobody');
    expect(r.error).toBeUndefined();
    expect(seen).toHaveLength(1);
    const req = seen[0];
    expect(req?.method).toBe('POST');
    expect(req?.headers.authorization).toBe(`Token ${commandToken}`);
    expect(req?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(req?.headers.accept).toBe('application/json');
    const f = req?.form;
    expect(Object.fromEntries([...(f ?? new URLSearchParams())].filter(([k]) => !k.includes('mentions')))).toMatchObject({
      token: commandToken,
      team_id: teamIdFor('acme'),
      team_domain: 'acme',
      channel_id: channelIdFor('acme', 'town-square'),
      channel_name: 'town-square',
      user_id: userIdFor('alice'),
      user_name: 'alice',
      command: '/mmops',
      text: 'whois  @ann ~off-topic @nobody',
      root_id: '',
    });
    expect(f?.get('response_url')).toMatch(new RegExp(`^${mm.url}/hooks/commands/[a-z0-9]{26}$`));
    expect(f?.get('trigger_id')).toBeTruthy();
    expect(f?.getAll('user_mentions')).toEqual(['ann']);
    expect(f?.getAll('user_mentions_ids')).toEqual([userIdFor('ann')]);
    expect(f?.getAll('channel_mentions')).toEqual(['off-topic']);
    expect(f?.getAll('channel_mentions_ids')).toEqual([channelIdFor('acme', 'off-topic')]);
    expect(r.status).toBe(200);
    expect(r.ephemeral).toHaveLength(1);
    expect(r.ephemeral[0]).toMatchObject({ user_id: userIdFor('alice'), message: 'Ann Lee is @ann', type: 'system_ephemeral' });
    expect(mm.ephemeral.at(-1)?.userId).toBe(userIdFor('alice'));
  });

  it('turns a non-JSON reply into ephemeral text and in_channel + extra_responses into posts by the invoker', async () => {
    reply = (res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('{"text":"not parsed"}');
    };
    const text = await mm.executeSlash('dave', 'acme:off-topic', '/mmops help');
    expect(text.response).toEqual({ text: '{"text":"not parsed"}' });
    expect(text.ephemeral[0]?.message).toBe('{"text":"not parsed"}');
    expect(text.posts).toEqual([]);

    const ann = new WsProbe(mm, { token: tokenFor('ann') });
    await ann.event('hello');
    reply = json({ response_type: 'in_channel', text: 'main', extra_responses: [{ response_type: 'in_channel', text: 'second' }, { text: 'just for you' }] });
    const r = await mm.executeSlash('dave', 'acme:off-topic', '/mmops teams');
    expect(r.posts.map((p) => p.message)).toEqual(['main', 'second']);
    expect(r.posts.every((p) => p.user_id === userIdFor('dave') && p.props.from_webhook === 'true')).toBe(true);
    expect(r.ephemeral.map((p) => p.message)).toEqual(['just for you']);
    const posted = await ann.event('posted');
    expect(JSON.parse(posted.data.post)).toMatchObject({ message: 'main', props: { from_webhook: 'true' } });
    expect(mm.posts.some((p) => p.message === 'second')).toBe(true);
    ann.close();
  });

  it('reports a non-200 reply and bad JSON as execute errors', async () => {
    reply = (res) => {
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end('boom');
    };
    const failed = await mm.executeSlash('dave', 'acme:off-topic', '/mmops health');
    expect(failed.status).toBe(500);
    expect(failed.error).toMatchObject({ id: 'api.command.execute_command.failed_resp.app_error', status_code: 500 });
    expect(failed.posts).toEqual([]);
    reply = (res) => {
      res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' });
      res.end('{not json');
    };
    expect((await mm.executeSlash('dave', 'acme:off-topic', '/mmops health')).error?.id).toBe('api.command.execute_command.failed.app_error');
  });

  it('reports unknown triggers and missing permissions', async () => {
    expect((await mm.executeSlash('dave', 'acme:off-topic', '/nosuch x')).error?.id).toBe('api.command.execute_command.not_found.app_error');
    expect((await mm.executeSlash('dave', 'ops:incidents', '/mmops x')).error?.status_code).toBe(403);
    expect(seen).toHaveLength(0);
  });

  it('runs from a DM using the team that has the trigger', async () => {
    reply = json({ text: 'pong' });
    const r = await mm.executeSlash('ann', '@mmops', '/mmops ping');
    expect(r.error).toBeUndefined();
    expect(seen[0]?.form.get('team_id')).toBe(teamIdFor('acme'));
    expect(seen[0]?.form.get('channel_name')).toBe([userIdFor('ann'), userIdFor('mmops')].sort().join('__'));
  });

  it('runs through POST /commands/execute too', async () => {
    reply = json({ response_type: 'in_channel', text: 'via REST' });
    const r = await apiAs(mm, tokenFor('ann'))('POST', '/commands/execute', { channel_id: channelIdFor('acme', 'town-square'), command: '/mmops status', trigger_id: 'client-trigger' });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ response_type: 'in_channel', text: 'via REST', trigger_id: 'client-trigger' });
    expect((await apiAs(mm, tokenFor('ann'))('POST', '/commands/execute', { channel_id: channelIdFor('acme', 'town-square'), command: 'mmops' })).json.id).toBe('api.command.execute_command.start.app_error');
  });
});

describe('response_url', () => {
  it('accepts five uses, answers ok as text/plain, then refuses', async () => {
    reply = json({ text: '' });
    const r = await mm.executeSlash('bob', 'acme:town-square', '/mmops members');
    expect(r.ephemeral).toEqual([]);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await fetch(r.responseUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ response_type: 'in_channel', text: `later ${i}` }) });
      statuses.push(res.status);
      if (i === 0) {
        expect(res.headers.get('content-type')).toBe('text/plain');
        expect(await res.text()).toBe('ok');
      } else await res.arrayBuffer();
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 400]);
    const later = mm.posts.filter((p) => p.message.startsWith('later '));
    expect(later).toHaveLength(5);
    expect(later.every((p) => p.user_id === userIdFor('bob') && p.props.from_webhook === 'true')).toBe(true);
    // an unknown hook is 404 (server/channels/app/webhook.go HandleCommandWebhook)
    const unknown = await fetch(`${mm.url}/hooks/commands/${'u'.repeat(26)}`, { method: 'POST', body: 'x' });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { id: string }).id).toBe('app.command_webhook.get.missing');
  });

  it('expires after 30 minutes', async () => {
    reply = json({ text: 'x' });
    const r = await mm.executeSlash('bob', 'acme:town-square', '/mmops members');
    const res1 = await fetch(r.responseUrl, { method: 'POST', body: 'plain text reply' });
    expect(res1.status).toBe(200);
    expect(mm.ephemeral.at(-1)?.post.message).toBe('plain text reply');
    mm.ageResponseUrl(r.responseUrl, 31 * 60_000);
    // expired hooks are not found at all (404), unlike used-up ones (400)
    expect((await fetch(r.responseUrl, { method: 'POST', body: 'too late' })).status).toBe(404);
  });
});

/** Decodes and verifies a trigger id with node:crypto alone (independently of the bot's verifier). */
function openTrigger(triggerId: string, publicKeyB64: string): { parts: string[]; valid: boolean } {
  const decoded = Buffer.from(triggerId, 'base64').toString('utf8');
  const parts = decoded.split(':');
  const data = `${parts.slice(0, 3).join(':')}:`;
  const key = createPublicKey({ key: Buffer.from(publicKeyB64, 'base64'), format: 'der', type: 'spki' });
  const valid = parts.length === 4 && cryptoVerify('sha256', Buffer.from(data), { key, dsaEncoding: 'der' }, Buffer.from(parts[3] ?? '', 'base64'));
  return { parts, valid };
}

describe('signed trigger_id and the client config', () => {
  it('signs every slash trigger_id for the invoking user with the key published in /config/client', async () => {
    reply = json({ text: 'ok' });
    const before = Date.now();
    await mm.executeSlash('bob', 'acme:town-square', '/mmops whois @ann');
    const triggerId = seen[0]?.form.get('trigger_id') ?? '';
    const cfg = await apiAs(mm, tokenFor('bob'))('GET', '/config/client?format=old');
    expect(cfg.status).toBe(200);
    const key: string = cfg.json.AsymmetricSigningPublicKey;
    expect(key).toBe(mm.signer.publicKey);
    const { parts, valid } = openTrigger(triggerId, key);
    expect(valid).toBe(true);
    expect(parts[0]).toMatch(/^[a-z0-9]{26}$/);
    expect(parts[1]).toBe(userIdFor('bob'));
    expect(Number(parts[2])).toBeGreaterThanOrEqual(before);
    expect(Number(parts[2])).toBeLessThanOrEqual(Date.now());
    // a second run gets a different client trigger id
    await mm.executeSlash('bob', 'acme:town-square', '/mmops whois @ann');
    expect(openTrigger(seen[1]?.form.get('trigger_id') ?? '', key).parts[0]).not.toBe(parts[0]);
  });

  it('has its own key per instance, and the forging helpers do not verify', async () => {
    const other = await startFakeMattermost({ seed: 'empty' });
    try {
      expect(other.signer.publicKey).not.toBe(mm.signer.publicKey);
    } finally {
      await other.close();
    }
    const key = mm.signer.publicKey;
    expect(openTrigger(mm.signer.sign(userIdFor('alice')).triggerId, key).valid).toBe(true);
    expect(openTrigger(mm.signer.signWithForeignKey(userIdFor('alice')).triggerId, key).valid).toBe(false);
    const tampered = openTrigger(mm.signer.tamperUser(userIdFor('bob'), userIdFor('alice')).triggerId, key);
    expect(tampered.parts[1]).toBe(userIdFor('alice'));
    expect(tampered.valid).toBe(false);
  });

  it('serves the limited config (with the key) without a session, and wants format=old', async () => {
    const anon = apiAs(mm, '');
    const limited = await anon('GET', '/config/client?format=old');
    expect(limited.status).toBe(200);
    expect(limited.json.AsymmetricSigningPublicKey).toBe(mm.signer.publicKey);
    expect(limited.json.SiteURL).toBe(mm.url);
    expect(limited.json.EnableCommands).toBeUndefined();
    expect((await apiAs(mm, tokenFor('bob'))('GET', '/config/client?format=old')).json.EnableCommands).toBe('true');
    expect((await anon('GET', '/config/client')).status).toBe(501);
    expect((await anon('GET', '/config/client?format=new')).status).toBe(400);
  });

  it('a server without a signing key publishes none and sends an empty trigger_id', async () => {
    mm.store.config.signingKey = false;
    try {
      reply = json({ text: 'ok' });
      await mm.executeSlash('bob', 'acme:town-square', '/mmops help');
      expect(seen[0]?.form.get('trigger_id')).toBe('');
      expect((await apiAs(mm, '')('GET', '/config/client?format=old')).json.AsymmetricSigningPublicKey).toBeUndefined();
    } finally {
      mm.store.config.signingKey = true;
    }
  });
});

describe('command tokens only for those who may manage the command', () => {
  it('custom_only needs manage_slash_commands (no manage_own_slash_commands on either server) and lists every command with its token', async () => {
    const acme = teamIdFor('acme');
    expect(ALL_PERMISSIONS).not.toContain('manage_own_slash_commands');
    // dave (plain member of acme) lacks manage_slash_commands there
    expect((await apiAs(mm, tokenFor('dave'))('GET', `/commands?team_id=${acme}&custom_only=true`)).status).toBe(403);
    // without custom_only he gets a sanitized list: the trigger, never the token
    const plain = await apiAs(mm, tokenFor('dave'))('GET', `/commands?team_id=${acme}`);
    const ours = (plain.json as Array<{ trigger: string; token: string; url: string }>).find((c) => c.trigger === 'mmops');
    expect(ours).toMatchObject({ token: '', url: '' });
    // alice (system admin) may manage others' commands: she sees the token
    const admin = await apiAs(mm, tokenFor('alice'))('GET', `/commands?team_id=${acme}&custom_only=true`);
    expect((admin.json as Array<{ trigger: string; token: string }>).find((c) => c.trigger === 'mmops')?.token).toBe(commandToken);
  });

  it('a member holding manage_slash_commands (team_user on a 5.37 with integrations open to all) lists and reads every command of the team', async () => {
    const acme = teamIdFor('acme');
    const teamUser = mm.store.roles.get('team_user');
    if (!teamUser) throw new Error('no team_user role');
    const before = [...teamUser.permissions];
    teamUser.permissions = [...before, 'manage_slash_commands'];
    try {
      const list = await apiAs(mm, tokenFor('dave'))('GET', `/commands?team_id=${acme}&custom_only=true`);
      expect(list.status).toBe(200);
      const ours = (list.json as Array<{ id: string; trigger: string; token: string }>).find((c) => c.trigger === 'mmops');
      // app ListTeamCommands: as stored, someone else's token included
      expect(ours?.token).toBe(commandToken);
      expect((await apiAs(mm, tokenFor('dave'))('GET', `/commands/${ours?.id}`)).status).toBe(200);
      // changing someone else's command still needs manage_others_slash_commands: 403
      expect((await apiAs(mm, tokenFor('dave'))('PUT', `/commands/${ours?.id}/regen_token`)).status).toBe(403);
    } finally {
      teamUser.permissions = before;
    }
  });

  it('PUT /commands/{id}/regen_token gives a new token; the old one stops reaching the integration', async () => {
    const bot = apiAs(mm, SANDBOX_BOT_TOKEN);
    const acme = teamIdFor('acme');
    const list = await bot('GET', `/commands?team_id=${acme}&custom_only=true`);
    const cmd = (list.json as Array<{ id: string; trigger: string; token: string }>).find((c) => c.trigger === 'mmops');
    expect((await apiAs(mm, tokenFor('dave'))('PUT', `/commands/${cmd?.id}/regen_token`)).status).toBe(404);
    expect((await bot('POST', `/commands/${cmd?.id}/regen_token`)).status).toBe(405);
    const regen = await bot('PUT', `/commands/${cmd?.id}/regen_token`);
    expect(regen.status).toBe(200);
    expect(regen.json.token).toMatch(/^[a-z0-9]{26}$/);
    expect(regen.json.token).not.toBe(commandToken);
    reply = json({ text: 'ok' });
    await mm.executeSlash('alice', 'acme:town-square', '/mmops help');
    expect(seen[0]?.headers.authorization).toBe(`Token ${regen.json.token}`);
    commandToken = regen.json.token;
  });
});
