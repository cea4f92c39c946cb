/**
 * Ops endpoints say nothing internal: /readyz and /healthz answer a
 * status and a reason code only, and MMOPS_OPS_LISTEN moves them (and /metrics) off the
 * listener that Mattermost must reach, so /slash can be exposed alone.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startE2E, waitFor, type E2E } from '../e2e/support.js';

let e2e: E2E | undefined;
afterEach(async () => {
  await e2e?.close();
  e2e = undefined;
});

/** Requests that change something on the server (anything but reads). */
const writes = (e: E2E): string[] => e.fake.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`);

describe('/readyz and /healthz', () => {
  it('answer a reason code, never the server address or an error text, while Mattermost is unreachable', async () => {
    e2e = await startE2E();
    const { fake, bot, log } = e2e;
    const ok = await fetch(`${bot.url}/readyz`);
    expect(await ok.json()).toEqual({ status: 'ready' });
    const { host, port } = new URL(fake.url);
    fake.clearRequests();

    fake.faults.down = true;
    fake.dropSockets();
    await waitFor(() => bot.socket()?.state().connected === false, 'the socket to drop');
    const down = await fetch(`${bot.url}/readyz`);
    const text = await down.text();
    expect(down.status).toBe(503);
    expect(JSON.parse(text)).toEqual({ status: 'unready', reason: 'websocket_down' });
    expect(text).not.toContain(host);
    expect(text).not.toContain(port);
    const health = await fetch(`${bot.url}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok' });
    // the details are in the log, for the operator
    expect(log.entries.some((e) => e.msg === 'not ready: websocket_down' && e.level === 'warn')).toBe(true);
    // asking for readiness never changes anything on the server
    expect(writes(e2e)).toEqual([]);
  });

  it('reports api_unreachable without the error text when only the REST API fails', async () => {
    e2e = await startE2E();
    const { fake, bot } = e2e;
    fake.clearRequests();
    // no /readyz was asked yet, so this one probes the API
    fake.faults.failNext('GET', /\/system\/ping$/, 503, 100);
    const r = await fetch(`${bot.url}/readyz`);
    const text = await r.text();
    expect(r.status).toBe(503);
    expect(JSON.parse(text)).toEqual({ status: 'unready', reason: 'api_unreachable' });
    expect(text).not.toContain(new URL(fake.url).port);
    expect(text).not.toMatch(/api\/v4|503|server_busy/);
    expect(writes(e2e)).toEqual([]);
  });
});

describe('MMOPS_OPS_LISTEN', () => {
  it('serves /healthz, /readyz and /metrics on their own address; the main listener serves /slash alone', async () => {
    e2e = await startE2E({ env: { MMOPS_OPS_LISTEN: '127.0.0.1:0' } });
    const { fake, bot } = e2e;
    expect(bot.opsUrl).not.toBe(bot.url);
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      expect((await fetch(`${bot.url}${path}`)).status, `main ${path}`).toBe(404);
      expect((await fetch(`${bot.opsUrl}${path}`)).status, `ops ${path}`).toBe(200);
    }
    // /slash is not on the ops listener, and still works on the main one
    const onOps = await fetch(`${bot.opsUrl}/slash`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'token=x' });
    expect(onOps.status).toBe(404);
    const r = await fake.executeSlash('alice', 'acme:town-square', '/mmops status @bob');
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(200);
  });

  it('defaults to the same listener', async () => {
    e2e = await startE2E();
    expect(e2e.bot.opsUrl).toBe(e2e.bot.url);
    expect((await fetch(`${e2e.bot.url}/healthz`)).status).toBe(200);
  });
});
