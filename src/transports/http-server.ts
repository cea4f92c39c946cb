/**
 * The bot's HTTP endpoint: a node `http` server that only moves bytes. It routes
 * by method and path to handlers (slash commands, health, readiness, metrics),
 * bounds how long a slow client may take, and closes cleanly on shutdown.
 *
 * @example
 *   const http = createHttpServer({ listen: { host: '127.0.0.1', port: 0 }, logger, routes: [
 *     { method: 'GET', path: '/healthz', handle: (req, res) => sendJson(res, 200, { ok: true }) },
 *   ] });
 *   const bound = await http.start(); // { host, port }
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { ListenAddress } from '../config.js';
import type { Logger } from '../core/command.js';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface Route {
  method: 'GET' | 'POST';
  /** exact path, query string ignored */
  path: string;
  handle: Handler;
}

export interface HttpServerOptions {
  listen: ListenAddress;
  routes: Route[];
  logger: Logger;
  /** whole request (headers and body) must arrive within this, default 10 s */
  requestTimeoutMs?: number;
  /** headers must arrive within this, default 5 s */
  headersTimeoutMs?: number;
  /**
   * open connections at most (MMOPS_MAX_CONNECTIONS); one more is answered 503 at once and
   * closed, without reading its request. Default: unbounded.
   */
  maxConnections?: number;
  now?: () => number;
}

export interface HttpServer {
  /** Listens; resolves with the bound address (port 0 → the port chosen). */
  start(): Promise<ListenAddress>;
  /** Stops accepting connections, waits up to `graceMs` for open requests, then closes all sockets. */
  stop(graceMs?: number): Promise<void>;
  address(): ListenAddress | undefined;
}

/** Writes a JSON response. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(text);
}

/** Writes a plain-text response. */
export function sendText(res: ServerResponse, status: number, text: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(text);
}

export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
  readonly code = 'body_too_large';
}

/** Reads the request body, refusing more than `maxBytes` (as soon as it is known). */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      reject(new BodyTooLargeError(`body of ${declared} bytes exceeds ${maxBytes}`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > maxBytes) {
        done = true;
        reject(new BodyTooLargeError(`body exceeds ${maxBytes} bytes`));
        // stop reading; the response is sent by the caller, then the socket is closed
        req.pause();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      if (done) return;
      done = true;
      reject(err);
    });
  });
}

/** Creates the server (see the module comment). */
export function createHttpServer(opts: HttpServerOptions): HttpServer {
  const log = opts.logger.child({ component: 'http' });
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let bound: ListenAddress | undefined;

  /** Connections turned away (over maxConnections): answered 503, their requests never handled. */
  const refused = new WeakSet<Socket>();
  let refusedCount = 0;
  let lastRefusalLog = -Infinity;
  const now = opts.now ?? Date.now;

  function refuseConnection(socket: Socket): void {
    refused.add(socket);
    refusedCount += 1;
    if (now() - lastRefusalLog >= 60_000) {
      lastRefusalLog = now();
      log.warn({ open: sockets.size, limit: opts.maxConnections, refusedSoFar: refusedCount }, 'connection refused with 503: MMOPS_MAX_CONNECTIONS reached');
    }
    const body = '{"error":"too many connections, try again in a moment"}';
    socket.on('error', () => socket.destroy());
    socket.end(
      `HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    // never wait for the client: the socket goes once the answer is out
    socket.setTimeout(1_000, () => socket.destroy());
  }

  async function dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (refused.has(req.socket)) return; // already answered 503
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const sameMethod = opts.routes.filter((r) => r.path === path);
    const route = sameMethod.find((r) => r.method === req.method);
    if (!route) {
      if (sameMethod.length > 0) {
        res.setHeader('Allow', sameMethod.map((r) => r.method).join(', '));
        sendJson(res, 405, { error: 'method not allowed' });
      } else {
        sendJson(res, 404, { error: 'not found' });
      }
      req.resume();
      return;
    }
    try {
      await route.handle(req, res);
    } catch (err) {
      log.error({ err, path }, 'HTTP handler failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    }
  }

  return {
    start() {
      return new Promise((resolve, reject) => {
        const requestTimeout = opts.requestTimeoutMs ?? 10_000;
        const s = createServer(
          {
            requestTimeout,
            headersTimeout: Math.min(opts.headersTimeoutMs ?? 5_000, requestTimeout),
            // how often node enforces the two timeouts above (default 30 s would let a slow client linger)
            connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(requestTimeout / 4))),
          },
          (req, res) => void dispatch(req, res),
        );
        s.keepAliveTimeout = 5_000;
        // idle sockets (a client that connects and sends nothing) are cut too
        s.setTimeout(requestTimeout, (socket) => socket.destroy());
        s.on('connection', (socket) => {
          if (opts.maxConnections !== undefined && sockets.size >= opts.maxConnections) {
            refuseConnection(socket);
            return;
          }
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
        });
        s.on('clientError', (err, socket) => {
          log.debug({ err: err.message }, 'bad HTTP request');
          if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
          else socket.destroy();
        });
        s.once('error', reject);
        s.listen(opts.listen.port, opts.listen.host, () => {
          s.off('error', reject);
          s.on('error', (err) => log.error({ err }, 'HTTP server error'));
          const a = s.address() as AddressInfo; // node: a TCP listener always reports AddressInfo
          bound = { host: a.address, port: a.port };
          server = s;
          resolve(bound);
        });
      });
    },
    async stop(graceMs = 5_000) {
      const s = server;
      if (!s) return;
      server = undefined;
      const closed = new Promise<void>((resolve) => s.close(() => resolve()));
      s.closeIdleConnections();
      const timer = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, graceMs);
      timer.unref();
      await closed;
      clearTimeout(timer);
    },
    address: () => bound,
  };
}
