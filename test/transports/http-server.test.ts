import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpServer, readBody, sendJson, type HttpServer } from '../../src/transports/http-server.js';
import { createOpsRoutes, createReadinessCheck } from '../../src/transports/ops-endpoints.js';
import { createMemoryLogger } from '../helpers/logger.js';

let server: HttpServer | undefined;
afterEach(async () => {
  await server?.stop(100);
  server = undefined;
});

async function start(routes: Parameters<typeof createHttpServer>[0]['routes'], requestTimeoutMs?: number): Promise<string> {
  server = createHttpServer({ listen: { host: '127.0.0.1', port: 0 }, logger: createMemoryLogger(), routes, ...(requestTimeoutMs ? { requestTimeoutMs, headersTimeoutMs: requestTimeoutMs } : {}) });
  const bound = await server.start();
  return `http://127.0.0.1:${bound.port}`;
}

describe('HTTP server', () => {
  it('routes by method and path: 404 for unknown paths, 405 with Allow for other methods', async () => {
    const url = await start([{ method: 'POST', path: '/slash', handle: (_q, r) => sendJson(r, 200, { ok: 1 }) }]);
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    const wrong = await fetch(`${url}/slash?x=1`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    expect((await fetch(`${url}/slash?x=1`, { method: 'POST' })).status).toBe(200);
  });

  it('answers 500 without details when a handler throws', async () => {
    const url = await start([{ method: 'GET', path: '/boom', handle: () => { throw new Error('secret detail'); } }]);
    const res = await fetch(`${url}/boom`);
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain('secret detail');
  });

  it('cuts off a client that never finishes its request', async () => {
    const url = new URL(
      await start([{ method: 'POST', path: '/slash', handle: async (q, r) => sendJson(r, 200, { got: (await readBody(q, 1000)).length }) }], 300),
    );
    const started = Date.now();
    const closed = await new Promise<string>((resolve) => {
      const sock = connect(Number(url.port), url.hostname, () => {
        // headers promise a body that never comes
        sock.write('POST /slash HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ntoken=');
      });
      let data = '';
      sock.on('data', (d) => (data += d.toString()));
      sock.on('close', () => resolve(data));
      sock.on('error', () => undefined);
    });
    expect(Date.now() - started).toBeLessThan(5_000);
    // Cut off once the request timeout passes: node answers 408, or an error status, or
    // just closes (which one depends on timing on a loaded machine); never a success.
    expect(closed).not.toMatch(/^HTTP\/1\.1 2/);
    expect(closed === '' || /^HTTP\/1\.1 4\d\d/.test(closed)).toBe(true);
  });

  it('reports an address in use as an error on start', async () => {
    const url = new URL(await start([]));
    const second = createHttpServer({ listen: { host: '127.0.0.1', port: Number(url.port) }, logger: createMemoryLogger(), routes: [] });
    await expect(second.start()).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});

describe('HTTP server: connection cap', () => {
  /** Opens a raw connection and sends `text`; resolves with what the server answered before closing. */
  const raw = (port: number, text: string) => {
    const socket = connect(port, '127.0.0.1');
    const answer = new Promise<string>((resolve) => {
      let got = '';
      socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
      socket.on('close', () => resolve(got));
      socket.on('error', () => resolve(got));
    });
    const opened = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    return { socket, answer, opened: opened.then(() => socket.write(text)) };
  };

  it('answers 503 at once beyond maxConnections, runs nothing for it, and serves again once one closes', async () => {
    let handled = 0;
    const log = createMemoryLogger();
    server = createHttpServer({
      listen: { host: '127.0.0.1', port: 0 },
      logger: log,
      maxConnections: 2,
      routes: [
        {
          method: 'GET',
          path: '/x',
          handle: (_q, r) => {
            handled += 1;
            sendJson(r, 200, { ok: true });
          },
        },
      ],
    });
    const { port } = await server.start();
    // two slow clients hold the two connections (headers never finished)
    const a = raw(port, 'GET /x HTTP/1.1\r\nHost: x\r\n');
    const b = raw(port, 'GET /x HTTP/1.1\r\nHost: x\r\n');
    await Promise.all([a.opened, b.opened]);
    await new Promise((r) => setTimeout(r, 50));
    const third = raw(port, 'GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await third.opened;
    const answer = await third.answer;
    expect(answer.startsWith('HTTP/1.1 503')).toBe(true);
    expect(answer).toContain('Retry-After: 1');
    expect(handled).toBe(0);
    expect(log.find('connection refused with 503: MMOPS_MAX_CONNECTIONS reached')?.fields).toMatchObject({ limit: 2 });
    a.socket.destroy();
    await a.answer;
    await new Promise((r) => setTimeout(r, 50));
    const res = await fetch(`http://127.0.0.1:${port}/x`);
    expect(res.status).toBe(200);
    expect(handled).toBe(1);
    b.socket.destroy();
  });
});

describe('ops endpoints', () => {
  it('serves healthz, readyz (503 with a reason, then 200) and metrics', async () => {
    let connected = false;
    let probes = 0;
    const readiness = createReadinessCheck({
      phase: () => 'running',
      socket: () => ({ connected, lastError: connected ? null : 'connection refused', authRejected: false }),
      probe: async () => {
        probes += 1;
      },
      cacheMs: 60_000,
    });
    const log = createMemoryLogger();
    const url = await start(createOpsRoutes({ readiness, metrics: () => '# HELP x y\n# TYPE x counter\nx 1\n', logger: log }));
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
    for (let i = 0; i < 3; i++) {
      const down = await fetch(`${url}/readyz`);
      expect(down.status).toBe(503);
      // a reason code only: the detail (which may name internal addresses) goes to the log
      expect(await down.json()).toEqual({ status: 'unready', reason: 'websocket_down' });
    }
    // logged once per change, not once per scrape
    expect(log.entries.filter((e) => e.msg === 'not ready: websocket_down')).toHaveLength(1);
    expect(log.find('not ready: websocket_down')?.fields.detail).toBe('connection refused');
    connected = true;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect(probes).toBe(1); // a good probe is trusted for cacheMs
    const m = await fetch(`${url}/metrics`);
    expect(m.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await m.text()).toContain('x 1');
  });

  it('is not ready while starting, stopping, or when the API does not answer', async () => {
    let phase: 'starting' | 'running' | 'stopping' = 'starting';
    const check = createReadinessCheck({
      phase: () => phase,
      socket: () => ({ connected: true, lastError: null, authRejected: false }),
      probe: async () => {
        throw new Error('GET /api/v4/system/ping: connect ECONNREFUSED');
      },
    });
    expect(await check()).toEqual({ ready: false, reason: 'starting' });
    phase = 'running';
    expect(await check()).toEqual({ ready: false, reason: 'api_unreachable', detail: 'GET /api/v4/system/ping: connect ECONNREFUSED' });
    phase = 'stopping';
    expect(await check()).toEqual({ ready: false, reason: 'stopping' });
  });
});
