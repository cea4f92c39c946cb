import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Invocation } from '../../src/core/command.js';
import { list, paragraph, reply, type Reply } from '../../src/core/reply.js';
import { renderPosts } from '../../src/render/markdown.js';
import { createHttpServer, type HttpServer } from '../../src/transports/http-server.js';
import { createInFlight, type InFlight } from '../../src/transports/in-flight.js';
import { createSlashEndpoint, type CommandResponse, type DelayedAnswerTarget, type SlashEndpointOptions } from '../../src/transports/slash-endpoint.js';
import { createMemoryLogger } from '../helpers/logger.js';

const ids = {
  team: 'teamteamteamteamteamteam01',
  channel: 'chanchanchanchanchanchan01',
  user: 'useruseruseruseruseruser01',
  ann: 'annannannannannannannann01',
  root: 'rootrootrootrootrootroot01',
};
const TOKENS: Record<string, { command: string | null; trigger: string; teamId: string }> = {
  tokroottokroottokroottok01: { command: null, trigger: 'mmops', teamId: ids.team },
  tokwhoistokwhoistokwhois01: { command: 'whois', trigger: 'whois', teamId: ids.team },
};

function form(fields: Record<string, string | string[]>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) for (const one of Array.isArray(v) ? v : [v]) p.append(k, one);
  return p.toString();
}

let n = 0;
const baseForm = (over: Record<string, string | string[]> = {}): Record<string, string | string[]> => ({
  token: 'tokwhoistokwhoistokwhois01',
  team_id: ids.team,
  team_domain: 'acme',
  channel_id: ids.channel,
  channel_name: 'town-square',
  user_id: ids.user,
  user_name: 'alice',
  command: '/whois',
  text: '@ann',
  trigger_id: `trigger-${++n}`,
  response_url: 'http://mm.example/hooks/commands/abc',
  ...over,
});

interface Setup {
  url: string;
  ran: Invocation[];
  later: Array<{ url: string; body: CommandResponse; to: DelayedAnswerTarget }>;
  work: InFlight;
  log: ReturnType<typeof createMemoryLogger>;
  statuses: number[];
}

let server: HttpServer | undefined;
afterEach(async () => {
  await server?.stop(100);
  server = undefined;
});

async function setup(opts: {
  reply?: (inv: Invocation) => Reply | Promise<Reply>;
  render?: (r: Reply) => string[];
  extra?: Partial<SlashEndpointOptions>;
} = {}): Promise<Setup> {
  const ran: Invocation[] = [];
  const later: Setup['later'] = [];
  const statuses: number[] = [];
  const work = createInFlight();
  const log = createMemoryLogger();
  const handle = createSlashEndpoint({
    authenticate: async (t, teamId) => (TOKENS[t]?.teamId === teamId ? TOKENS[t] : undefined),
    knownToken: (t) => TOKENS[t] !== undefined,
    run: async (inv) => {
      ran.push(inv);
      return { reply: await (opts.reply ?? (() => reply([paragraph('done')])))(inv), ref: 'REF123' };
    },
    render: opts.render ?? ((r) => renderPosts(r)),
    respondLater: async (url, body, to) => {
      later.push({ url, body, to });
    },
    work,
    logger: log,
    onStatus: (s) => statuses.push(s),
    ...opts.extra,
  });
  server = createHttpServer({ listen: { host: '127.0.0.1', port: 0 }, logger: log, routes: [{ method: 'POST', path: '/slash', handle }] });
  const bound = await server.start();
  return { url: `http://127.0.0.1:${bound.port}/slash`, ran, later, work, log, statuses };
}

/** POSTs a form as the server does: `Authorization: Token <the form's token>` unless told otherwise. */
const post = (url: string, body: string, headers: Record<string, string> = {}) => {
  const token = new URLSearchParams(body).get('token');
  const auth: Record<string, string> = token ? { Authorization: `Token ${token}` } : {};
  return fetch(url, { method: 'POST', body, headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...auth, ...headers } });
};

describe('slash endpoint', () => {
  it('runs a verified command and answers CommandResponse JSON', async () => {
    const s = await setup();
    const res = await post(s.url, form(baseForm({ root_id: ids.root, user_mentions: ['ann'], user_mentions_ids: [ids.ann] })));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = (await res.json()) as CommandResponse;
    expect(body).toEqual({ response_type: 'ephemeral', text: 'done', skip_slack_parsing: true });
    expect(s.ran).toHaveLength(1);
    expect(s.ran[0]).toMatchObject({
      source: 'slash',
      text: 'whois @ann', // the trigger's command + the text
      userId: ids.user,
      channelId: ids.channel,
      teamId: ids.team,
      rootId: ids.root,
      userMentions: { ann: ids.ann },
    });
  });

  it('passes the text unchanged for the root trigger', async () => {
    const s = await setup();
    const res = await post(s.url, form(baseForm({ token: 'tokroottokroottokroottok01', command: '/mmops', text: 'status @ann --json' })));
    expect(res.status).toBe(200);
    expect(s.ran[0]?.text).toBe('status @ann --json');
  });

  it.each([
    ['a wrong token', { token: 'wrongwrongwrongwrongwrong1' }, {}],
    ['no token', { token: '' }, {}],
    ['a token of another team', { team_id: 'otherteamotherteamotherte1' }, {}],
    ['a header token that differs from the form token', {}, { Authorization: 'Token tokroottokroottokroottok01' }],
    ['a good form token without the Authorization header', {}, { Authorization: '' }],
    ['a good header and no form token', { token: '' }, { Authorization: 'Token tokwhoistokwhoistokwhois01' }],
  ])('answers 401 and runs nothing for %s', async (_name, over, headers) => {
    const s = await setup();
    const res = await post(s.url, form(baseForm(over)), headers);
    expect(res.status).toBe(401);
    expect(s.ran).toHaveLength(0);
    expect(s.statuses).toEqual([401]);
  });

  it('asks checkCaller about the trigger_id, user and source; a refusal is 401 and nothing runs', async () => {
    const asked: Array<{ triggerId: string; userId: string; source: string }> = [];
    const s = await setup({
      extra: {
        checkCaller: async (req) => {
          asked.push(req);
          return { verdict: 'refused', reason: 'bad_signature' };
        },
      },
    });
    const res = await post(s.url, form(baseForm({ trigger_id: 'signed-or-not' })));
    expect(res.status).toBe(401);
    expect(s.ran).toHaveLength(0);
    expect(asked).toEqual([{ triggerId: 'signed-or-not', userId: ids.user, source: '127.0.0.1' }]);
  });

  it('never asks checkCaller for a request with a wrong token', async () => {
    let asked = 0;
    const s = await setup({ extra: { checkCaller: async () => (asked++, { verdict: 'verified' }) } });
    expect((await post(s.url, form(baseForm({ token: 'wrongwrongwrongwrongwrong1' })))).status).toBe(401);
    expect(asked).toBe(0);
  });

  it.each([
    ['verified', { verdict: 'verified' } as const, undefined],
    ['unsigned, not allowed', { verdict: 'unsigned', allowed: false } as const, true],
    ['unsigned, allowed by MMOPS_ALLOW_UNSIGNED_SLASH', { verdict: 'unsigned', allowed: true } as const, undefined],
  ])('runs a %s request, marking an unproven caller', async (_name, verdict, flag) => {
    const s = await setup({ extra: { checkCaller: async () => verdict } });
    expect((await post(s.url, form(baseForm()))).status).toBe(200);
    expect(s.ran).toHaveLength(1);
    expect(s.ran[0]?.unverifiedCaller).toBe(flag);
  });

  it('answers 413 for an oversize body, running nothing', async () => {
    const s = await setup({ extra: { maxBodyBytes: 1024 } });
    const res = await post(s.url, form(baseForm({ text: 'x'.repeat(5000) })));
    expect(res.status).toBe(413);
    expect(s.ran).toHaveLength(0);
  });

  it('answers 400 for a body that is not a form', async () => {
    const s = await setup();
    const res = await fetch(s.url, {
      method: 'POST',
      body: JSON.stringify(baseForm()),
      headers: { 'Content-Type': 'application/json', Authorization: 'Token tokwhoistokwhoistokwhois01' },
    });
    expect(res.status).toBe(400);
    expect(s.ran).toHaveLength(0);
  });

  it('answers 400 for a form missing required fields (after the token check)', async () => {
    const s = await setup();
    const f = baseForm({ user_id: 'not-an-id' });
    const res = await post(s.url, form(f));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toContain('user_id');
    expect(s.ran).toHaveLength(0);
  });

  it('ignores a replayed trigger_id', async () => {
    const s = await setup();
    const f = form(baseForm({ trigger_id: 'same-trigger' }));
    expect((await post(s.url, f)).status).toBe(200);
    const second = await post(s.url, f);
    expect(second.status).toBe(409);
    expect(s.ran).toHaveLength(1);
  });

  it('posts in the channel only for channel replies that are not sensitive', async () => {
    const s = await setup({
      reply: (inv) =>
        inv.text.includes('secret')
          ? reply([paragraph('s')], { visibility: 'channel', sensitive: true })
          : reply([paragraph('c')], { visibility: 'channel' }),
    });
    const pub = (await (await post(s.url, form(baseForm({ text: 'public' })))).json()) as CommandResponse;
    const sec = (await (await post(s.url, form(baseForm({ text: 'secret' })))).json()) as CommandResponse;
    expect(pub.response_type).toBe('in_channel');
    expect(sec.response_type).toBe('ephemeral');
  });

  it('splits a long reply into extra_responses without losing any of it', async () => {
    const items = Array.from({ length: 60 }, (_, i) => `item-${i}-${'y'.repeat(30)}`);
    const s = await setup({ reply: () => reply([list(items)], { visibility: 'channel' }), render: (r) => renderPosts(r, 400) });
    const body = (await (await post(s.url, form(baseForm()))).json()) as CommandResponse;
    expect(body.extra_responses?.length).toBeGreaterThan(1);
    const all = [body, ...(body.extra_responses ?? [])];
    for (const r of all) {
      expect(r.response_type).toBe('in_channel');
      expect(r.text.length).toBeLessThanOrEqual(400);
    }
    const joined = all.map((r) => r.text).join('\n');
    for (let i = 0; i < items.length; i++) expect(joined).toContain(`item\\-${i}\\-`);
  });

  it('answers "working" for a slow command and delivers the result through response_url', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const s = await setup({
      extra: { slowAfterMs: 50 },
      reply: async () => {
        await gate;
        return reply([paragraph('late answer')], { visibility: 'channel' });
      },
    });
    const res = await post(s.url, form(baseForm({ response_url: 'http://mm.example/hooks/commands/xyz' })));
    const body = (await res.json()) as CommandResponse;
    expect(body.response_type).toBe('ephemeral');
    expect(body.text).toMatch(/working/i);
    expect(s.later).toHaveLength(0);
    release();
    await s.work.drain(2_000);
    expect(s.later).toEqual([
      {
        url: 'http://mm.example/hooks/commands/xyz',
        body: { response_type: 'in_channel', text: 'late answer', skip_slack_parsing: true },
        // whom to answer when the response_url may not be used
        to: { userId: ids.user, channelId: ids.channel, rootId: '' },
      },
    ]);
  });

  it('refuses new work with 503 while shutting down', async () => {
    const s = await setup();
    s.work.close();
    const res = await post(s.url, form(baseForm()));
    expect(res.status).toBe(503);
    expect(s.ran).toHaveLength(0);
  });

  it('never logs the command token', async () => {
    const s = await setup();
    await post(s.url, form(baseForm({ token: 'wrongwrongwrongwrongwrong1' })));
    await post(s.url, form(baseForm()));
    expect(s.log.dump()).not.toContain('wrongwrongwrong');
    expect(s.log.dump()).not.toContain('tokwhois');
  });
});

describe('slash endpoint: bounded resources', () => {
  it('answers 401 to an unknown Authorization token at once, without reading the body', async () => {
    const s = await setup();
    const { port } = new URL(s.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    // headers announce a large body that never comes: only an answer without reading it can arrive
    socket.write(
      'POST /slash HTTP/1.1\r\nHost: x\r\nAuthorization: Token wrongwrongwrongwrongwrong1\r\n' +
        'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 200000\r\n\r\ntoken=wrong',
    );
    const head = await new Promise<string>((resolve) => {
      let got = '';
      socket.on('data', (d: Buffer) => {
        got += d.toString('latin1');
        if (got.includes('\r\n\r\n')) resolve(got);
      });
    });
    socket.destroy();
    expect(head.startsWith('HTTP/1.1 401')).toBe(true);
    expect(head.toLowerCase()).toContain('connection: close');
    expect(s.ran).toHaveLength(0);
    expect(s.statuses).toEqual([401]);
  });

  it('lets a small request with a token no team knows yet reach authenticate (a regenerated token), nothing runs when it stays unknown', async () => {
    const seen: string[] = [];
    const s = await setup({ extra: { authenticate: async (t) => { seen.push(t); return undefined; } } });
    const res = await post(s.url, form(baseForm({ token: 'regeneratedtoken0000000001' })), { Authorization: 'Token regeneratedtoken0000000001' });
    expect(res.status).toBe(401);
    expect(seen).toEqual(['regeneratedtoken0000000001']);
    expect(s.ran).toHaveLength(0);
  });

  it('refuses at once a request without an Authorization header, never asking authenticate', async () => {
    const seen: string[] = [];
    const s = await setup({ extra: { authenticate: async (t) => { seen.push(t); return undefined; } } });
    const res = await fetch(s.url, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form(baseForm()) });
    expect(res.status).toBe(401);
    expect(seen).toEqual([]);
    expect(s.ran).toHaveLength(0);
  });
});
