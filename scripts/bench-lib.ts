/**
 * Shared parts of `npm run bench`: child processes with a small request/answer protocol
 * over the IPC channel, the slash-command load generator, and statistics.
 *
 * The benchmark runs the fake Mattermost server, the bot (or the bare baseline) and the
 * load generator as three processes, so that none of them measures its own event loop;
 * all three still share the machine's cores.
 */
import { execFile, fork, type ChildProcess } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signTriggerId } from '../src/sandbox/signing.js';
import { z } from 'zod';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The repository (also when this file runs compiled from {@link BUILD_DIR}). */
export const ROOT = ((): string => {
  for (let dir = resolve(HERE, '..'); ; dir = dirname(dir)) {
    if (existsSync(resolve(dir, 'tsconfig.build.json'))) return dir;
    if (dirname(dir) === dir) return resolve(HERE, '..');
  }
})();

/**
 * Where {@link buildForBench} puts the compiled project: under dist/ (ignored by git, kept
 * between runs), not under node_modules, which `npm ci` deletes whole.
 */
export const BUILD_DIR = resolve(ROOT, 'dist/bench-build');

/**
 * Compiles the project with tsc (as `npm run build` does, incrementally) into
 * {@link BUILD_DIR}, so the children run the JavaScript `npm start` runs rather than
 * tsx's on-the-fly transform (which, among other things, wraps every function in a
 * naming helper). Type errors elsewhere in the tree do not stop the emit; a missing
 * output file does.
 */
export async function buildForBench(): Promise<string> {
  const tsc = resolve(ROOT, 'node_modules/typescript/bin/tsc');
  await new Promise<void>((res) => {
    execFile(
      process.execPath,
      [tsc, '-p', resolve(ROOT, 'tsconfig.build.json'), '--outDir', BUILD_DIR, '--incremental', '--tsBuildInfoFile', resolve(BUILD_DIR, '../bench-build.tsbuildinfo'), '--sourceMap', 'false'],
      { cwd: ROOT, maxBuffer: 16 * 2 ** 20 },
      () => res(),
    );
  });
  for (const f of ['src/bot.js', 'scripts/bench-bot.js', 'scripts/bench-fake.js', 'scripts/bench-baseline.js']) {
    if (!existsSync(resolve(BUILD_DIR, f))) throw new Error(`the build did not produce ${f}; run npx tsc -p tsconfig.build.json to see why`);
  }
  return BUILD_DIR;
}

/** Extra members of team `acme` in the benchmark's fake server (for `/status` with 100 users). */
export const BENCH_USER_COUNT = 100;
export const benchUsername = (i: number): string => `bench${String(i).padStart(3, '0')}`;

// ---------------------------------------------------------------------------
// IPC: parent → child `{ id, type, args }`, child → parent `{ id, ok, result | error }`
// or `{ event, data }`.

const replySchema = z.union([
  z.object({ id: z.number(), ok: z.literal(true), result: z.unknown() }),
  z.object({ id: z.number(), ok: z.literal(false), error: z.string() }),
]);
const eventSchema = z.object({ event: z.string(), data: z.unknown() });
const requestSchema = z.object({ id: z.number(), type: z.string(), args: z.unknown() });

export type Handler = (args: unknown) => unknown;

/**
 * In a child: answers the parent's requests with `handlers[type](args)`.
 * Unknown types and thrown errors become `{ ok: false, error }`.
 */
export function serveParent(handlers: Record<string, Handler>): void {
  process.on('message', (raw: unknown) => {
    const msg = requestSchema.safeParse(raw);
    if (!msg.success) return;
    const { id, type, args } = msg.data;
    const handler = handlers[type];
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown request ${type}`);
        return handler(args);
      })
      .then(
        (result) => process.send?.({ id, ok: true, result: result ?? null }),
        (err: unknown) => process.send?.({ id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
      );
  });
  // the parent going away ends the child (no orphans after Ctrl-C)
  process.on('disconnect', () => process.exit(0));
}

/** In a child: tells the parent something happened. */
export function notifyParent(event: string, data: unknown): void {
  process.send?.({ event, data });
}

export interface Child {
  readonly proc: ChildProcess;
  /** when fork() was called (Date.now) */
  readonly spawnedAt: number;
  call<T>(type: string, args: unknown, schema: z.ZodType<T>): Promise<T>;
  /** events from the child, e.g. `socketState` */
  onEvent(handler: (event: string, data: unknown) => void): void;
  /** asks nicely (`stop`), then kills */
  stop(): Promise<void>;
}

/**
 * Starts `scripts/<script>` with `env`; its stdout/stderr go to `logFile`. With
 * `compiled` (from {@link buildForBench}) it runs the compiled JavaScript with plain
 * node, else the TypeScript under tsx. `execArgv` adds node flags (e.g. `--cpu-prof`).
 */
export function startChild(script: string, env: Record<string, string>, logFile: string, execArgv: string[] = [], compiled?: string): Child {
  const out = openSync(logFile, 'a');
  const path = compiled ? resolve(compiled, 'scripts', script.replace(/\.ts$/, '.js')) : resolve(HERE, script);
  const proc = fork(path, [], {
    env: { ...process.env, ...env },
    execArgv: compiled ? execArgv : ['--import', 'tsx', ...execArgv],
    stdio: ['ignore', out, out, 'ipc'],
  });
  const spawnedAt = Date.now();
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const eventHandlers: Array<(event: string, data: unknown) => void> = [];
  let exited = false;
  const exit = new Promise<void>((res) => {
    proc.once('exit', (code, signal) => {
      exited = true;
      for (const p of pending.values()) p.reject(new Error(`${script} exited (code ${code}, signal ${signal}); see ${logFile}`));
      pending.clear();
      res();
    });
  });
  proc.on('message', (raw: unknown) => {
    const reply = replySchema.safeParse(raw);
    if (reply.success) {
      const p = pending.get(reply.data.id);
      if (!p) return;
      pending.delete(reply.data.id);
      if (reply.data.ok) p.resolve(reply.data.result);
      else p.reject(new Error(`${script}: ${reply.data.error}`));
      return;
    }
    const ev = eventSchema.safeParse(raw);
    if (ev.success) for (const h of eventHandlers) h(ev.data.event, ev.data.data);
  });
  return {
    proc,
    spawnedAt,
    call(type, args, schema) {
      if (exited) return Promise.reject(new Error(`${script} is not running; see ${logFile}`));
      const id = nextId++;
      return new Promise((res, rej) => {
        pending.set(id, {
          resolve: (v) => {
            const parsed = schema.safeParse(v);
            if (parsed.success) res(parsed.data);
            else rej(new Error(`${script}: unexpected answer to ${type}: ${parsed.error.message}`));
          },
          reject: rej,
        });
        proc.send({ id, type, args });
      });
    },
    onEvent(handler) {
      eventHandlers.push(handler);
    },
    async stop() {
      if (exited) return;
      const killer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      try {
        const id = nextId++;
        proc.send({ id, type: 'stop', args: null });
      } catch {
        proc.kill('SIGTERM');
      }
      await exit;
      clearTimeout(killer);
    },
  };
}

/** Resolves once `child` sends `event` (the first data that `schema` accepts), or rejects after `timeoutMs`. */
export function waitForEvent<T>(child: Child, event: string, schema: z.ZodType<T>, timeoutMs: number): Promise<T> {
  return new Promise((res, rej) => {
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      rej(new Error(`no ${event} from the child within ${timeoutMs} ms`));
    }, timeoutMs);
    child.onEvent((name, data) => {
      if (done || name !== event) return;
      const parsed = schema.safeParse(data);
      if (!parsed.success) return;
      done = true;
      clearTimeout(timer);
      res(parsed.data);
    });
    child.proc.once('exit', () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      rej(new Error(`the child exited before ${event}`));
    });
  });
}

// ---------------------------------------------------------------------------
// The slash request, as the server sends it (docs/mattermost-notes.md §4.1; like src/sandbox/slash.ts)

export interface SlashTarget {
  /** bot base URL, e.g. http://127.0.0.1:4000 */
  url: string;
  token: string;
  trigger: string;
  teamId: string;
  teamName: string;
  channelId: string;
  channelName: string;
  userId: string;
  userName: string;
  /** base of response_url (the fake's SiteURL) */
  siteUrl: string;
  /** the fake's ids of mentioned users, by username (the server adds user_mentions) */
  mentionIds?: Record<string, string>;
  /** the fake server's signing key (PKCS#8 PEM): trigger ids are signed like the server's */
  signingKeyPem?: string;
}

let triggerCounter = 0;

/** The form body Mattermost POSTs for `/<trigger> <text>` (sorted fields, fresh trigger_id and response_url). */
export function slashForm(t: SlashTarget, text: string): string {
  triggerCounter += 1;
  const n = triggerCounter.toString(36).padStart(10, '0');
  const hookId = `bench${n}`.padEnd(26, 'x').slice(0, 26);
  const form = new URLSearchParams();
  form.append('channel_id', t.channelId);
  form.append('channel_name', t.channelName);
  form.append('command', `/${t.trigger}`);
  form.append('response_url', `${t.siteUrl}/hooks/commands/${hookId}`);
  form.append('root_id', '');
  form.append('team_domain', t.teamName);
  form.append('team_id', t.teamId);
  form.append('text', text);
  form.append('token', t.token);
  // signed like the server's (src/sandbox/signing.ts); the baseline ignores it
  form.append('trigger_id', t.signingKeyPem ? signTriggerId(t.signingKeyPem, t.userId).triggerId : Buffer.from(`${hookId}:${t.userId}:${Date.now()}:${n}`).toString('base64'));
  form.append('user_id', t.userId);
  form.append('user_name', t.userName);
  for (const m of text.matchAll(/(?:^|\s)@([a-z0-9][a-z0-9._-]*)/gi)) {
    const name = m[1] ?? '';
    const id = t.mentionIds?.[name];
    if (id) {
      form.append('user_mentions', name);
      form.append('user_mentions_ids', id);
    }
  }
  form.sort();
  return form.toString();
}

const commandResponseSchema = z.object({ response_type: z.string(), text: z.string() });

export interface LoadResult {
  concurrency: number;
  /** completed requests in the measured window */
  count: number;
  /** requests that failed (non-200, unreadable, network) */
  errors: number;
  /** answers that were the "working…" placeholder (the command took over the slow threshold) */
  slow: number;
  elapsedMs: number;
  perSecond: number;
  /** latency percentiles in ms */
  p50: number;
  p95: number;
  p99: number;
  max: number;
  firstError?: string;
  /** every latency in ms, in order (with `keepLatencies`) */
  latencies?: number[];
}

export interface LoadOptions {
  target: SlashTarget;
  /** command texts, used round-robin */
  texts: string[];
  concurrency: number;
  /** run until this many requests completed … */
  count?: number;
  /** … or for this long (after the warm-up) */
  durationMs?: number;
  /** … stopping early once this returns true (checked before each request) */
  stop?: () => boolean;
  /** return every latency (LoadResult.latencies) */
  keepLatencies?: boolean;
  /** requests before measuring starts (connections opened, JIT warm) */
  warmup?: number;
  /** called with each answer's text (checks) */
  onAnswer?: (text: string) => void;
  /** progress callback every ~10 000 requests */
  onProgress?: (done: number) => void;
}

const WORKING_PREFIX = 'Working on it';

/** POSTs one slash request with keep-alive; resolves with [status, body]. */
function post(agent: Agent, url: URL, token: string, body: string): Promise<[number, string]> {
  return new Promise((res, rej) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: '/slash',
        method: 'POST',
        headers: {
          Accept: 'application/json',
          Authorization: `Token ${token}`,
          'Content-Type': 'application/x-www-form-urlencoded',
          'Content-Length': Buffer.byteLength(body),
        },
      },
      (resp) => {
        const chunks: Buffer[] = [];
        resp.on('data', (c: Buffer) => chunks.push(c));
        resp.on('end', () => res([resp.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')]));
        resp.on('error', rej);
      },
    );
    req.on('error', rej);
    req.end(body);
  });
}

/**
 * Closed-loop load: `concurrency` callers, each sending its next request as soon as
 * the previous answer arrived, over keep-alive connections (one per caller).
 * A warm-up (`warmup` requests, not measured) opens the connections first.
 */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: o.concurrency, maxFreeSockets: o.concurrency });
  const url = new URL(o.target.url);
  try {
    if (o.warmup) await phase(o, agent, url, { count: o.warmup });
    return await phase(o, agent, url, o.count !== undefined ? { count: o.count } : { durationMs: o.durationMs ?? 5_000 }, o.onAnswer, o.onProgress);
  } finally {
    agent.destroy();
  }
}

async function phase(
  o: LoadOptions,
  agent: Agent,
  url: URL,
  until: { count: number } | { durationMs: number },
  onAnswer?: (text: string) => void,
  onProgress?: (done: number) => void,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let issued = 0;
  let done = 0;
  let errors = 0;
  let slow = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const within = 'count' in until ? (): boolean => issued < until.count : (): boolean => performance.now() - started < until.durationMs;
  const more = (): boolean => within() && !o.stop?.();

  async function caller(): Promise<void> {
    while (more()) {
      const text = o.texts[issued % o.texts.length] ?? '';
      issued += 1;
      const body = slashForm(o.target, text);
      const t0 = performance.now();
      let failed: string | undefined;
      let answer = '';
      try {
        const [status, raw] = await post(agent, url, o.target.token, body);
        if (status !== 200) failed = `HTTP ${status}: ${raw.slice(0, 200)}`;
        else {
          const parsed = commandResponseSchema.safeParse(JSON.parse(raw));
          if (!parsed.success) failed = `unexpected answer: ${raw.slice(0, 200)}`;
          else answer = parsed.data.text;
        }
      } catch (err) {
        failed = err instanceof Error ? err.message : String(err);
      }
      const ms = performance.now() - t0;
      done += 1;
      if (onProgress && done % 10_000 === 0) onProgress(done);
      if (failed) {
        errors += 1;
        firstError ??= failed;
        continue;
      }
      if (answer.startsWith(WORKING_PREFIX)) slow += 1;
      onAnswer?.(answer);
      latencies.push(ms);
    }
  }

  await Promise.all(Array.from({ length: o.concurrency }, () => caller()));
  const elapsedMs = performance.now() - started;
  const sorted = Float64Array.from(latencies).sort();
  return {
    concurrency: o.concurrency,
    count: done,
    errors,
    slow,
    elapsedMs,
    perSecond: (latencies.length / elapsedMs) * 1000,
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    p99: percentile(sorted, 0.99),
    max: sorted.length ? (sorted[sorted.length - 1] ?? 0) : 0,
    ...(firstError ? { firstError } : {}),
    ...(o.keepLatencies ? { latencies } : {}),
  };
}

// ---------------------------------------------------------------------------
// statistics and formatting

/** Nearest-rank percentile of an ascending array (0 when empty). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[rank] ?? 0;
}

export const median = (values: number[]): number => percentile(Float64Array.from(values).sort(), 0.5);

/** Rounds for display: 3 significant digits below 100, integers above. */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  return Number(n.toPrecision(3)).toString();
}

/** A plain-text table with aligned columns (the first row is the header). */
export function textTable(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  const [head, ...body] = rows;
  if (!head) return '';
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** A Markdown table (the first row is the header). */
export function markdownTable(rows: string[][]): string {
  const [head, ...body] = rows;
  if (!head) return '';
  const esc = (c: string): string => c.replace(/\|/g, '\\|');
  return [`| ${head.map(esc).join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...body.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}
