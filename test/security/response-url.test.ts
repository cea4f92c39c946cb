/**
 * response_url on a leash: the bot POSTs delayed answers only to a
 * command hook URL of its own Mattermost server, through a client of its own. A forged
 * response_url is never contacted (the answer comes as an ephemeral post instead), and a
 * hook answering `X-RateLimit-Remaining: 0, X-RateLimit-Reset: 60` does not pace, delay or
 * fail anyone else's commands. Against the real bot and the sandbox.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { userIdFor } from '../../src/sandbox/seed.js';
import { startE2E, waitFor, type E2E } from '../e2e/support.js';

let e2e: E2E | undefined;
let listener: Server | undefined;
afterEach(async () => {
  await e2e?.close();
  e2e = undefined;
  await new Promise<void>((r) => (listener ? listener.close(() => r()) : r()));
  listener = undefined;
});

const BOT_ID = userIdFor('mmops');

/** A local HTTP listener that counts the requests it gets. */
async function startListener(handle: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<{ url: string; hits: string[] }> {
  const hits: string[] = [];
  listener = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      hits.push(`${req.method} ${req.url} ${body}`);
      handle(req, res, body);
    });
  });
  await new Promise<void>((r) => listener?.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(listener.address() as AddressInfo).port}`, hits };
}

const rateLimitWaits = async (e: E2E): Promise<number> => {
  const text = await (await fetch(`${e.bot.opsUrl}/metrics`)).text();
  return Number(/^mmops_api_rate_limit_waits_total (\d+)/m.exec(text)?.[1] ?? 'NaN');
};

describe('a forged response_url', () => {
  it('is never contacted; the delayed answer arrives as an ephemeral post', async () => {
    const foreign = await startListener((_req, res) => res.writeHead(200).end('ok'));
    // every command is "slow", so its answer goes the delayed way
    e2e = await startE2E({ deps: { slowReplyMs: 0 } });
    const { fake, log } = e2e;
    fake.clearRequests();
    for (const forged of [
      `${foreign.url}/hooks/commands/${'a'.repeat(26)}`, // the right shape on a foreign host
      `${fake.url}/api/v4/users/${userIdFor('bob')}/roles`, // the right host, another path
      `${fake.url}/hooks/commands/${'a'.repeat(26)}?x=1`,
    ]) {
      const r = await fake.executeSlash('alice', 'acme:town-square', '/mmops status @bob', { forgedResponseUrl: forged });
      expect(r.error).toBeUndefined();
      expect(r.ephemeral[0]?.message).toMatch(/working/i);
    }
    const answers = await waitFor(() => {
      const a = fake.ephemeral.filter((e) => e.userId === userIdFor('alice') && e.post.user_id === BOT_ID);
      return a.length >= 3 && a;
    }, 'three ephemeral answers');
    for (const a of answers) expect(a.post.message).toMatch(/bob/i);
    expect(foreign.hits).toEqual([]);
    // no privileged call: nothing went to a hook or a forged API path; the only writes are the ephemeral posts
    const writes = fake.requests.filter((r) => r.userId === BOT_ID && r.method !== 'GET' && !['/api/v4/users/ids', '/api/v4/users/usernames', '/api/v4/roles/names', '/api/v4/users/status/ids'].includes(r.path));
    expect(writes.map((r) => `${r.method} ${r.path}`)).toEqual(Array(3).fill('POST /api/v4/posts/ephemeral'));
    expect(fake.requests.filter((r) => r.path.startsWith('/hooks/') || r.path.endsWith('/roles'))).toEqual([]);
    expect(log.entries.filter((e) => e.msg.startsWith('response_url ignored'))).toHaveLength(3);
    expect(log.dump()).not.toContain('a'.repeat(26));
  });
});

describe('a response_url answering X-RateLimit-Remaining: 0', () => {
  it('does not pace, delay or fail other users\u2019 commands', async () => {
    // The server's own hook URL (SiteURL) is answered by this listener, with an exhausted
    // rate-limit budget and a reset a minute away: a shared client would stop every API call.
    const hook = await startListener((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'X-RateLimit-Limit': '10', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '60' }).end('ok');
    });
    e2e = await startE2E({ start: false, deps: { slowReplyMs: 0, deadlineMs: 5_000 } });
    const { fake, bot } = e2e;
    fake.store.config.siteUrl = hook.url;
    await bot.start();
    await bot.registered();

    const first = await fake.executeSlash('alice', 'acme:town-square', '/mmops status @bob');
    expect(first.error).toBeUndefined();
    expect(first.responseUrl.startsWith(`${hook.url}/hooks/commands/`)).toBe(true);
    await waitFor(() => hook.hits.length === 1, 'the delayed answer at the hook');
    expect(hook.hits[0]).toContain('bob');

    // another user's commands right after: answered, not paced
    const waitsBefore = await rateLimitWaits(e2e);
    const r = await bot.dispatch({ source: 'dm', text: 'whois @alice', userId: userIdFor('bob'), channelId: 'x'.repeat(26), teamId: '', rootId: '', receivedAt: Date.now() });
    expect(r.outcome).toBe('ok');
    const second = await fake.executeSlash('bob', 'acme:town-square', '/mmops status @alice');
    expect(second.error).toBeUndefined();
    await waitFor(() => hook.hits.length === 2, 'the second delayed answer');
    expect(await rateLimitWaits(e2e)).toBe(waitsBefore);
    expect(waitsBefore).toBe(0);
  });
});
