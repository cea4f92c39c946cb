/**
 * `npx tsx scripts/bench-export.ts [--users 100000]`: the memory of a large `users export`
 * under `npm start`'s heap cap. A child process runs with package.json's start NODE_OPTIONS
 * (the 64 MB old-space cap) and streams a CSV of N people through the real pieces — the REST
 * client (createRestApi), the export pages (commands/lib/people-export.ts) and the file
 * responder (src/render/file-answer.ts) — to a loopback stand-in for Mattermost that makes
 * each page of people on the fly and only counts the uploaded bytes. Its peak RSS (VmHWM) is
 * read from /proc. Target: the export finishes and the peak stays under 150 MB (the RSS
 * target of `npm run bench`'s npm-start section).
 */
import { fork } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { peopleFile, userListPages } from '../commands/lib/people-export.js';
import type { CommandContext } from '../src/core/command.js';
import { silentLogger } from '../src/log/logger.js';
import { createRestApi } from '../src/mattermost/rest-api.js';
import { createFileResponder } from '../src/render/file-answer.js';
import { npmStartNodeOptions } from './bench-npm-start.js';
import { ROOT } from './bench-lib.js';
import { MB, procMemory } from './bench-section.js';

const RSS_TARGET_MB = 150;
const ID = (n: number): string => `u${String(n).padStart(25, '0')}`;

/** The stand-in server: GET /users pages, statuses, DM channel, uploads counted, one post. */
function standIn(total: number): Promise<{ url: string; uploaded: () => number; close: () => void }> {
  let uploaded = 0;
  const user = (i: number) => ({
    id: ID(i), create_at: 1_700_000_000_000, update_at: 1, delete_at: 0, username: `person${i}`, auth_service: '', email: `person${i}@example.com`,
    nickname: i % 97 === 0 ? '=HYPERLINK("x")' : '', first_name: 'Person', last_name: `Number ${i}`, position: '', roles: 'system_user', locale: 'en',
  });
  const send = (res: ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };
  const readJson = async (req: IncomingMessage): Promise<unknown> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
  };
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const path = url.pathname.replace(/^\/api\/v4/, '');
      if (req.method === 'GET' && path === '/users') {
        const page = Number(url.searchParams.get('page') ?? '0');
        const per = Number(url.searchParams.get('per_page') ?? '60');
        const from = page * per;
        return send(res, 200, Array.from({ length: Math.max(0, Math.min(per, total - from)) }, (_, k) => user(from + k)));
      }
      if (req.method === 'POST' && path === '/users/status/ids') {
        const ids = z.array(z.string()).parse(await readJson(req));
        return send(res, 200, ids.map((user_id) => ({ user_id, status: 'offline', manual: false, last_activity_at: 1_700_000_100_000 })));
      }
      if (req.method === 'POST' && path === '/channels/direct') {
        await readJson(req);
        return send(res, 201, { id: 'dmchannel0000000000000000a', type: 'D', name: 'a__b', display_name: '', team_id: '', create_at: 1, update_at: 1, delete_at: 0 });
      }
      if (req.method === 'POST' && path === '/files') {
        for await (const c of req) uploaded += (c as Buffer).byteLength;
        return send(res, 201, { file_infos: [{ id: 'file00000000000000000000aa', user_id: 'bot', post_id: '', name: url.searchParams.get('filename'), extension: 'csv', size: uploaded, mime_type: 'text/csv', width: 0, height: 0 }] });
      }
      if (req.method === 'POST' && path === '/posts') {
        const body = z.object({ channel_id: z.string(), message: z.string(), file_ids: z.array(z.string()) }).parse(await readJson(req));
        return send(res, 201, { id: 'post00000000000000000000aa', create_at: 1, update_at: 1, edit_at: 0, delete_at: 0, user_id: 'bot', channel_id: body.channel_id, root_id: '', message: body.message, type: '', props: {}, file_ids: body.file_ids });
      }
      send(res, 404, { id: 'api.context.404.app_error', message: 'not here', status_code: 404 });
    })().catch((err: unknown) => send(res, 500, { message: String(err) }));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      resolve({ url: `http://127.0.0.1:${port}`, uploaded: () => uploaded, close: () => server.close() });
    });
  });
}

/** The child: one export of `total` people, then its figures as one JSON line. */
async function child(total: number): Promise<void> {
  const server = await standIn(total);
  const api = createRestApi({ url: server.url, token: 'bench-token', logger: silentLogger, readRetries: 0 });
  const ctx = {
    api,
    users: { visible: async <T>(items: readonly T[]) => [...items] },
    perms: { can: async () => true },
    caller: { id: ID(0) },
    now: () => Date.now(),
  } as unknown as CommandContext;
  const started = performance.now();
  const file = await peopleFile(ctx, 'users', userListPages(ctx, {}));
  const where = await createFileResponder({ api, botUserId: 'bot', logger: silentLogger }).deliver({ userId: ID(0), files: [file], ref: 'BENCH', label: 'users export' });
  const seconds = (performance.now() - started) / 1000;
  server.close();
  const mem = procMemory(process.pid);
  process.stdout.write(`${JSON.stringify({ total, bytes: server.uploaded(), seconds, rss: mem?.rss ?? 0, peak: mem?.peak ?? 0, post: where.postId })}\n`);
}

async function main(): Promise<void> {
  const arg = process.argv.indexOf('--users');
  const total = arg > 0 ? Number(process.argv[arg + 1]) : 100_000;
  if (process.env.BENCH_EXPORT_CHILD) return child(total);
  const nodeOptions = npmStartNodeOptions(ROOT);
  const proc = fork(fileURLToPath(import.meta.url), ['--users', String(total)], {
    env: { ...process.env, BENCH_EXPORT_CHILD: '1', NODE_OPTIONS: nodeOptions },
    execArgv: import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : [],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number>((resolve) => proc.on('exit', (c) => resolve(c ?? 1)));
  const r = z.object({ total: z.number(), bytes: z.number(), seconds: z.number(), rss: z.number(), peak: z.number() }).safeParse(JSON.parse(out.trim().split('\n').pop() || 'null'));
  if (code !== 0 || !r.success) {
    console.error(`the export child failed (exit ${code})`);
    process.exitCode = 1;
    return;
  }
  const pass = MB(r.data.peak) < RSS_TARGET_MB;
  console.log(`users export of ${r.data.total.toLocaleString('en-US')} people under NODE_OPTIONS="${nodeOptions}": ${MB(r.data.bytes).toFixed(1)} MB of CSV uploaded in ${r.data.seconds.toFixed(1)} s; peak RSS ${MB(r.data.peak).toFixed(0)} MB (target < ${RSS_TARGET_MB} MB): ${pass ? 'PASS' : 'MISS'}`);
  if (!pass) process.exitCode = 1;
}

await main();
