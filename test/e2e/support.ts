/**
 * End-to-end support: the fake Mattermost server on loopback and the real bot entry
 * (`createBot` with a config read by `loadConfig`, exactly as `npm start` does),
 * plus a recording WebSocket proxy for checks on the wire (close codes).
 */
import { mkdtempSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo, Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { createBot, type Bot, type BotDeps } from '../../src/bot.js';
import { loadConfig, type Config } from '../../src/config.js';
import { startFakeMattermost, type FakeMattermost, type Post } from '../../src/sandbox/fake-server.js';
import { SANDBOX_BOT_TOKEN } from '../../src/sandbox/seed.js';
import { createMemoryLogger, type MemoryLogger } from '../helpers/logger.js';

export interface E2E {
  fake: FakeMattermost;
  bot: Bot;
  config: Config;
  log: MemoryLogger;
  /** starts another bot process-equivalent against the same fake (a restart) */
  restart(): Promise<Bot>;
  close(): Promise<void>;
}

/** Fast retry settings so reconnect tests take milliseconds, not seconds. */
export const FAST: BotDeps = {
  websocket: { backoff: { minMs: 20, maxMs: 200 }, pingIntervalMs: 1_000, pingTimeoutMs: 1_000 },
  startupBackoff: { minMs: 20, maxMs: 100 },
  wsReadyTimeoutMs: 5_000,
  shutdownGraceMs: 3_000,
};

/** The environment `npm start` would get for this fake server. */
export function envFor(mmUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  // a fresh state directory per bot, so no test writes into the repository
  const stateDir = mkdtempSync(join(tmpdir(), 'mmops-e2e-'));
  return { MM_URL: mmUrl, MM_BOT_TOKEN: SANDBOX_BOT_TOKEN, MMOPS_LISTEN: '127.0.0.1:0', LOG_LEVEL: 'debug', MMOPS_STATE_DIR: stateDir, ...extra };
}

export function configFor(env: Record<string, string>): Config {
  const r = loadConfig(env);
  if (!r.ok) throw new Error(`test config invalid: ${r.problems.join('; ')}`);
  return r.config;
}

/** Starts the fake server and the bot on it; `start: false` leaves the bot unstarted. */
export async function startE2E(opts: { env?: Record<string, string>; deps?: BotDeps; start?: boolean; version?: string } = {}): Promise<E2E> {
  // `version`: the server release the sandbox plays (src/sandbox/versions.ts), default a current one
  const fake = await startFakeMattermost({ seed: 'demo', ...(opts.version ? { version: opts.version } : {}) });
  const log = createMemoryLogger();
  const config = configFor(envFor(fake.url, opts.env));
  const bots: Bot[] = [];
  const make = (): Bot => {
    const b = createBot(config, { ...FAST, logger: log, ...opts.deps });
    bots.push(b);
    return b;
  };
  const bot = make();
  try {
    if (opts.start !== false) {
      await bot.start();
      await bot.registered();
    }
  } catch (e) {
    await bot.stop();
    await fake.close();
    throw e;
  }
  return {
    fake,
    bot,
    config,
    log,
    async restart() {
      const b = make();
      await b.start();
      await b.registered();
      return b;
    },
    async close() {
      for (const b of bots) await b.stop();
      await fake.close();
    },
  };
}

/** Polls `check` until it returns a value other than undefined/false. */
export async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 8_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Bot answers in a thread: normal posts by the bot, and ephemeral posts to `userId`. */
export function answersInThread(fake: FakeMattermost, rootId: string, botId: string): Post[] {
  return [
    ...fake.posts.filter((p) => p.root_id === rootId && p.user_id === botId),
    ...fake.ephemeral.filter((e) => e.post.root_id === rootId).map((e) => e.post),
  ];
}

/**
 * An HTTP + WebSocket pass-through to `target` that records the close code of every
 * WebSocket the client (the bot) closes. The fake server does not expose close codes.
 */
export async function startRecordingProxy(target: string): Promise<{ url: string; clientCloseCodes: number[]; close(): Promise<void> }> {
  const upstream = new URL(target);
  const clientCloseCodes: number[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const fwd = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    fwd.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(fwd);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (client) => {
      const headers: Record<string, string> = {};
      if (req.headers.authorization) headers.authorization = req.headers.authorization;
      const up = new WebSocket(`ws://${upstream.host}${req.url ?? '/'}`, { headers });
      const pending: Array<{ data: WebSocket.RawData; binary: boolean }> = [];
      client.on('message', (data, binary) => {
        if (up.readyState === WebSocket.OPEN) up.send(data, { binary });
        else pending.push({ data, binary });
      });
      up.on('open', () => {
        for (const p of pending.splice(0)) up.send(p.data, { binary: p.binary });
      });
      up.on('message', (data, binary) => {
        if (client.readyState === WebSocket.OPEN) client.send(data, { binary });
      });
      client.on('close', (code) => {
        clientCloseCodes.push(code);
        up.close();
      });
      up.on('close', () => client.terminate());
      up.on('error', () => client.terminate());
      client.on('error', () => up.terminate());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo; // a TCP listener reports AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    clientCloseCodes,
    async close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
