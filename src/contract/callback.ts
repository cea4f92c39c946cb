/**
 * A small HTTP listener that plays the integration: the server calls it when a scratch slash
 * command runs (form body) or an action is clicked (JSON body). Checks read what arrived.
 * Against a remote server it must be reachable from that server (--callback-url), and the
 * server must allow the address (ServiceSettings.AllowedUntrustedInternalConnections).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CallbackRequest {
  path: string;
  method: string;
  headers: Record<string, string | string[] | undefined>;
  contentType: string;
  body: string;
  at: number;
}

export interface CallbackServer {
  /** the URL the server is given (`--callback-url`, or the local listener) */
  readonly url: string;
  readonly requests: CallbackRequest[];
  /** the answer to the next calls on `path` (default: 200 JSON ephemeral text) */
  respond(path: string, answer: { status?: number; contentType?: string; body: string }): void;
  /** waits for a call on `path`, or undefined after `ms` */
  waitFor(path: string, ms: number): Promise<CallbackRequest | undefined>;
  close(): Promise<void>;
}

export async function startCallbackServer(opts: { host?: string; port?: number; publicUrl?: string } = {}): Promise<CallbackServer> {
  const requests: CallbackRequest[] = [];
  const answers = new Map<string, { status?: number; contentType?: string; body: string }>();
  const waiters = new Set<() => void>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      if (chunks.reduce((n, b) => n + b.length, 0) < 1_000_000) chunks.push(c);
    });
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      requests.push({
        path,
        method: req.method ?? '',
        headers: req.headers,
        contentType: req.headers['content-type'] ?? '',
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      });
      const a = answers.get(path) ?? { body: JSON.stringify({ response_type: 'ephemeral', text: 'mmops contract check' }) };
      res.writeHead(a.status ?? 200, { 'Content-Type': a.contentType ?? 'application/json' });
      res.end(a.body);
      for (const w of [...waiters]) w();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.address.includes(':') ? `[${addr.address}]` : addr.address;
  const url = (opts.publicUrl ?? `http://${host}:${addr.port}`).replace(/\/+$/, '');
  return {
    url,
    requests,
    respond(path, answer) {
      answers.set(path, answer);
    },
    waitFor(path, ms) {
      const found = requests.find((r) => r.path === path);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => {
        const check = () => {
          const r = requests.find((x) => x.path === path);
          if (r) finish(r);
        };
        const finish = (r: CallbackRequest | undefined) => {
          clearTimeout(timer);
          waiters.delete(check);
          resolve(r);
        };
        const timer = setTimeout(() => finish(undefined), ms);
        waiters.add(check);
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
