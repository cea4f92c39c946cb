import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHookUrlCheck, createResponseUrlClient, isCommandHookUrl, originForLog, ResponseUrlError } from '../../src/mattermost/response-url.js';
import { createMemoryLogger } from '../helpers/logger.js';

const ID = 'abcdefghijklmnopqrstuvwxyz'.slice(0, 26);
const HOOK = `${'h'.repeat(13)}${'1'.repeat(13)}`;

describe('isCommandHookUrl', () => {
  const bases = ['https://chat.example.com', 'http://10.0.0.5:8065/mm/'];
  it.each([
    `https://chat.example.com/hooks/commands/${HOOK}`,
    `http://10.0.0.5:8065/mm/hooks/commands/${HOOK}`,
  ])('accepts %s', (url) => expect(isCommandHookUrl(url, bases)).toBe(true));

  it.each([
    ['another host', `https://evil.example.com/hooks/commands/${HOOK}`],
    ['a look-alike host', `https://chat.example.com.evil.example/hooks/commands/${HOOK}`],
    ['another scheme', `http://chat.example.com/hooks/commands/${HOOK}`],
    ['another port', `https://chat.example.com:8443/hooks/commands/${HOOK}`],
    ['credentials', `https://user:pw@chat.example.com/hooks/commands/${HOOK}`],
    ['a query', `https://chat.example.com/hooks/commands/${HOOK}?x=1`],
    ['a fragment', `https://chat.example.com/hooks/commands/${HOOK}#x`],
    ['a short id', `https://chat.example.com/hooks/commands/abc`],
    ['an upper-case id', `https://chat.example.com/hooks/commands/${ID.toUpperCase()}`],
    ['an extra segment', `https://chat.example.com/hooks/commands/${HOOK}/x`],
    ['a trailing slash', `https://chat.example.com/hooks/commands/${HOOK}/`],
    ['another hook kind', `https://chat.example.com/hooks/${HOOK}`],
    ['an API path', `https://chat.example.com/api/v4/users/${HOOK}`],
    ['an upper-case host', `https://CHAT.example.com/hooks/commands/${HOOK}`],
    ['dot segments', `https://chat.example.com/x/../hooks/commands/${HOOK}`],
    ['encoded dots', `https://chat.example.com/mm/%2e%2e/hooks/commands/${HOOK}`],
    ['a missing sub-path', `http://10.0.0.5:8065/hooks/commands/${HOOK}`],
    ['a non-http scheme', `file:///hooks/commands/${HOOK}`],
    ['not a URL', 'hooks/commands/x'],
    ['an empty string', ''],
  ])('refuses %s', (_what, url) => expect(isCommandHookUrl(url, bases)).toBe(false));

  it('logs only the origin of a URL', () => {
    expect(originForLog(`https://chat.example.com/hooks/commands/${HOOK}`)).toBe('https://chat.example.com');
    expect(originForLog('::nonsense')).toBe('(not a URL)');
  });
});

describe('createHookUrlCheck', () => {
  it('accepts MM_URL without asking, reads SiteURL once, and retries a failed read at most once a minute', async () => {
    let t = 0;
    let reads = 0;
    let answer: () => Promise<string> = async () => {
      throw new Error('503');
    };
    const check = createHookUrlCheck({
      mmUrl: 'http://mm.internal:8065',
      siteUrl: () => {
        reads += 1;
        return answer();
      },
      logger: createMemoryLogger(),
      now: () => t,
    });
    expect(await check.allows(`http://mm.internal:8065/hooks/commands/${HOOK}`)).toBe(true);
    expect(reads).toBe(0);
    const site = `https://chat.example.com/hooks/commands/${HOOK}`;
    expect(await check.allows(site)).toBe(false);
    expect(await check.allows(site)).toBe(false);
    expect(reads).toBe(1);
    answer = async () => 'https://chat.example.com';
    t += 61_000;
    expect(await check.allows(site)).toBe(true);
    expect(await check.allows(site)).toBe(true);
    expect(reads).toBe(2);
  });
});

describe('createResponseUrlClient', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
  });

  async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
    server = createServer(handler);
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('POSTs JSON without any Authorization header', async () => {
    const seen: Array<{ auth?: string; type?: string; body: string }> = [];
    const url = await listen((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ auth: req.headers.authorization, type: req.headers['content-type'], body });
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
      });
    });
    await createResponseUrlClient().post(`${url}/hooks/commands/${HOOK}`, { response_type: 'ephemeral', text: 'done' });
    expect(seen).toEqual([{ auth: undefined, type: 'application/json', body: '{"response_type":"ephemeral","text":"done"}' }]);
  });

  it('never follows a redirect, fails on a non-200, and times out on its own', async () => {
    let redirectedTo = 0;
    const url = await listen((req, res) => {
      if (req.url === '/elsewhere') {
        redirectedTo += 1;
        res.writeHead(200).end('ok');
      } else if (req.url?.endsWith('/redirect')) res.writeHead(307, { Location: '/elsewhere' }).end();
      else if (req.url?.endsWith('/slow')) setTimeout(() => res.writeHead(200).end('ok'), 4_000);
      else res.writeHead(404).end('{}');
    });
    const client = createResponseUrlClient({ timeoutMs: 1_500 });
    await expect(client.post(`${url}/redirect`, {})).rejects.toMatchObject({ code: 'status', status: 307 });
    expect(redirectedTo).toBe(0);
    await expect(client.post(`${url}/gone`, {})).rejects.toMatchObject({ code: 'status', status: 404 });
    const slow = await client.post(`${url}/slow`, {}).catch((e: unknown) => e);
    expect(slow).toBeInstanceOf(ResponseUrlError);
    expect(slow).toMatchObject({ code: 'timeout' });
    expect(client.inFlight()).toBe(0);
  });

  it('refuses beyond its own in-flight cap instead of queueing', async () => {
    const url = await listen((_req, res) => setTimeout(() => res.writeHead(200).end('ok'), 200));
    const client = createResponseUrlClient({ maxInFlight: 2 });
    const a = client.post(`${url}/a`, {});
    const b = client.post(`${url}/b`, {});
    await expect(client.post(`${url}/c`, {})).rejects.toMatchObject({ code: 'busy' });
    await Promise.all([a, b]);
  });
});
