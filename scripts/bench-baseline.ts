/**
 * `npm run bench`, child process: the baseline. A bare `node:http` handler with no
 * framework that does what the bot does for `/mmops status @user` on a warm cache:
 * read the form body, check the command token, look the user up (cached after the
 * first time, as the bot caches), make the same API call (`GET /users/{id}/status`)
 * with plain fetch and the bot token, and answer a JSON CommandResponse.
 * No validation beyond that, no permissions, no logging, no metrics.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { notifyParent, serveParent } from './bench-lib.js';

const env = z.object({ MM_URL: z.string().url(), MM_BOT_TOKEN: z.string().min(1), BENCH_TOKENS: z.string() }).parse(process.env);
const tokens = new Set(env.BENCH_TOKENS.split(','));
const auth = { Authorization: `Bearer ${env.MM_BOT_TOKEN}` };
const idByName = new Map<string, string>();

async function userId(username: string): Promise<string | undefined> {
  const cached = idByName.get(username);
  if (cached) return cached;
  const res = await fetch(`${env.MM_URL}/api/v4/users/usernames`, {
    method: 'POST',
    headers: { ...auth, 'Content-Type': 'application/json' },
    body: JSON.stringify([username]),
  });
  const id = field(first(await res.json()), 'id');
  if (id) idByName.set(username, id);
  return id;
}

// Hand-rolled checks instead of a schema library: the baseline is meant to be bare.
const first = (v: unknown): unknown => (Array.isArray(v) ? v[0] : undefined);
function field(v: unknown, key: string): string | undefined {
  if (typeof v !== 'object' || v === null || !(key in v)) return undefined;
  const value: unknown = Reflect.get(v, key);
  return typeof value === 'string' ? value : undefined;
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    void (async () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const send = (status: number, body: unknown): void => {
        const text = JSON.stringify(body);
        res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
        res.end(text);
      };
      if (!tokens.has(form.get('token') ?? '')) return send(401, { error: 'bad token' });
      const name = /@([a-z0-9._-]+)/i.exec(form.get('text') ?? '')?.[1];
      const id = name ? await userId(name) : form.get('user_id');
      if (!id) return send(200, { response_type: 'ephemeral', text: 'not found' });
      const r = await fetch(`${env.MM_URL}/api/v4/users/${id}/status`, { headers: auth });
      const status = field(await r.json(), 'status') ?? 'unknown';
      send(200, { response_type: 'ephemeral', text: `#### @${name ?? id}\n\n**Status:** ${status}` });
    })().catch((err: unknown) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
});
server.keepAliveTimeout = 5_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo; // a TCP listener reports AddressInfo
const url = `http://127.0.0.1:${port}`;

let cpuMark = process.cpuUsage();
serveParent({
  info: () => ({ url }),
  resetSamples: () => {
    cpuMark = process.cpuUsage();
  },
  cpu: () => {
    const c = process.cpuUsage(cpuMark);
    return { micros: c.user + c.system };
  },
  memory: () => process.memoryUsage(),
  stop: () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  },
});
notifyParent('ready', { url });
