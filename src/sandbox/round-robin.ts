/**
 * A tiny round-robin HTTP proxy, the sandbox's stand-in for the load balancer in front
 * of several bot replicas (`npm run demo -- --replicas 2`, the replica tests). Each
 * request goes to the next live target; a target that refuses the connection is skipped
 * for that request (as nginx's `proxy_next_upstream error` does), so a killed replica
 * costs no slash command.
 *
 * @example
 *   const lb = await startRoundRobinProxy();
 *   lb.setTargets([bot1.url, bot2.url]);   // MMOPS_PUBLIC_URL = lb.url
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RoundRobinProxy {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** replaces the targets (base URLs such as http://127.0.0.1:4001) */
  setTargets(targets: readonly string[]): void;
  /** how many requests each target answered, by base URL */
  readonly served: Map<string, number>;
  close(): Promise<void>;
}

/** Starts the proxy on loopback (port 0 = any free port). */
export async function startRoundRobinProxy(opts: { port?: number; targets?: readonly string[] } = {}): Promise<RoundRobinProxy> {
  let targets: string[] = [...(opts.targets ?? [])];
  let next = 0;
  const served = new Map<string, number>();
  const sockets = new Set<Socket>();

  function forward(req: IncomingMessage, res: ServerResponse, body: Buffer, tries: number): void {
    if (targets.length === 0 || tries >= targets.length) {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('no replica answered\n');
      return;
    }
    const base = targets[next++ % targets.length] ?? '';
    const url = new URL(base);
    const up = request(
      { host: url.hostname, port: url.port, method: req.method, path: req.url, headers: { ...req.headers, host: url.host } },
      (upRes) => {
        served.set(base, (served.get(base) ?? 0) + 1);
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', (err: NodeJS.ErrnoException) => {
      // not connected at all: safe to try the next replica; otherwise the request may have run
      if (!res.headersSent && err.code === 'ECONNREFUSED') forward(req, res, body, tries + 1);
      else if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end('replica failed\n');
      } else res.destroy();
    });
    up.end(body);
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => forward(req, res, Buffer.concat(chunks), 0));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo; // listen() on a TCP port always gives AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    setTargets(t) {
      targets = [...t];
    },
    served,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
