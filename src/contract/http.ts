/**
 * Raw HTTP and WebSocket access for contract checks: status codes, headers and bodies exactly
 * as the server sent them (the bot's own client hides those behind typed errors). The token
 * lives in the closure and is never part of an error message.
 */
import WebSocket from 'ws';
import { z } from 'zod';

export interface RawAnswer {
  status: number;
  headers: Headers;
  contentType: string;
  text: string;
  /** the parsed body when it is JSON, else undefined */
  json: unknown;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** form-encoded or other raw body, with its content type */
  raw?: { body: string; contentType: string };
  /** absolute URL instead of `/api/v4` + path (response_url) */
  absolute?: boolean;
  /** send no Authorization header even on a client that has a token */
  noAuth?: boolean;
  /** overrides the token (e.g. a deliberately wrong one) */
  token?: string;
}

export interface HttpClient {
  readonly label: string;
  request(method: string, path: string, opts?: RequestOptions): Promise<RawAnswer>;
  get(path: string, query?: RequestOptions['query']): Promise<RawAnswer>;
  post(path: string, body?: unknown, query?: RequestOptions['query']): Promise<RawAnswer>;
  put(path: string, body?: unknown): Promise<RawAnswer>;
  del(path: string): Promise<RawAnswer>;
  /** Opens a WebSocket; `withToken` puts the token on the upgrade (Authorization header). */
  socket(opts?: { withToken?: boolean; query?: Record<string, string> }): Promise<Socket>;
  /** Sends the token in an `authentication_challenge` on an open socket. */
  challenge(sock: Socket, seq: number, tokenOverride?: string): void;
}

const REQUEST_TIMEOUT_MS = 15_000;

/** `signalOf` is asked per request: the runner swaps in a fresh signal while it undoes writes after an interrupt. */
export function createHttpClient(baseUrl: string, token: string, label: string, signalOf: () => AbortSignal): HttpClient {
  const root = baseUrl.replace(/\/+$/, '');
  const scrub = (s: string): string => (token.length >= 4 ? s.split(token).join('[token]') : s);

  async function request(method: string, path: string, opts: RequestOptions = {}): Promise<RawAnswer> {
    const url = new URL(opts.absolute ? path : `${root}/api/v4${path}`);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'mmops-contract' };
    const useToken = opts.token ?? token;
    if (useToken && !opts.noAuth) headers.Authorization = `Bearer ${useToken}`;
    let body: string | undefined;
    if (opts.raw) {
      body = opts.raw.body;
      headers['Content-Type'] = opts.raw.contentType;
    } else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['Content-Type'] = 'application/json';
    }
    const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body, signal: AbortSignal.any([signalOf(), timeout]), redirect: 'manual' });
    } catch (err) {
      throw new Error(scrub(`${method} ${url.pathname}: ${err instanceof Error ? err.message : String(err)}`));
    }
    const text = await res.text();
    const contentType = res.headers.get('content-type') ?? '';
    let json: unknown;
    if (contentType.split(';')[0]?.trim().toLowerCase() === 'application/json') {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    return { status: res.status, headers: res.headers, contentType, text, json };
  }

  function socketUrl(query: Record<string, string> = {}): string {
    const u = new URL(`${root}/api/v4/websocket`);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
    return u.toString();
  }

  return {
    label,
    request,
    get: (path, query) => request('GET', path, { query }),
    post: (path, body, query) => request('POST', path, { body, query }),
    put: (path, body) => request('PUT', path, { body }),
    del: (path) => request('DELETE', path),
    async socket(opts = {}) {
      const headers: Record<string, string> = {};
      if (opts.withToken && token) headers.Authorization = `Bearer ${token}`;
      return openSocket(socketUrl(opts.query), headers, signalOf());
    },
    challenge(sock, seq, tokenOverride) {
      sock.send({ seq, action: 'authentication_challenge', data: { token: tokenOverride ?? token } });
    },
  };
}

/** A frame from the server: an event (`event`, `seq`) or a reply (`seq_reply`). */
export const frameSchema = z.object({
  event: z.string().optional(),
  seq: z.number().optional(),
  seq_reply: z.number().optional(),
  status: z.string().optional(),
  data: z.record(z.string(), z.unknown()).nullish(),
  broadcast: z.record(z.string(), z.unknown()).nullish(),
  error: z.record(z.string(), z.unknown()).nullish(),
});
export type Frame = z.infer<typeof frameSchema>;

export interface Socket {
  /** every frame received so far, oldest first */
  readonly frames: Frame[];
  readonly closed: boolean;
  send(msg: unknown): void;
  /** resolves with the first frame (already received or future) matching, or undefined after `ms` */
  waitFor(pred: (f: Frame) => boolean, ms: number): Promise<Frame | undefined>;
  /** resolves true once the socket is closed, false after `ms` */
  waitClosed(ms: number): Promise<boolean>;
  close(): Promise<void>;
}

function openSocket(url: string, headers: Record<string, string>, signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, handshakeTimeout: 10_000 });
    const frames: Frame[] = [];
    const waiters = new Set<() => void>();
    let closed = false;
    const wake = () => {
      for (const w of [...waiters]) w();
    };
    const onAbort = () => ws.terminate();
    signal.addEventListener('abort', onAbort, { once: true });
    ws.on('message', (data) => {
      try {
        const parsed = frameSchema.safeParse(JSON.parse(String(data)));
        if (parsed.success) frames.push(parsed.data);
      } catch {
        // a non-JSON frame is ignored; checks only look for well-formed ones
      }
      wake();
    });
    ws.on('close', () => {
      closed = true;
      signal.removeEventListener('abort', onAbort);
      wake();
    });
    ws.on('error', (err) => {
      if (ws.readyState === WebSocket.CONNECTING) reject(new Error(`WebSocket upgrade failed: ${err.message}`));
    });
    ws.on('unexpected-response', (_req, res) => {
      reject(new Error(`WebSocket upgrade refused: HTTP ${res.statusCode}`));
      ws.terminate();
    });
    const sock: Socket = {
      frames,
      get closed() {
        return closed;
      },
      send(msg) {
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
      },
      waitFor(pred, ms) {
        const found = frames.find(pred);
        if (found) return Promise.resolve(found);
        return new Promise((res) => {
          const check = () => {
            const f = frames.find(pred);
            if (f || closed) finish(f);
          };
          const finish = (f: Frame | undefined) => {
            clearTimeout(timer);
            waiters.delete(check);
            res(f);
          };
          const timer = setTimeout(() => finish(undefined), ms);
          waiters.add(check);
        });
      },
      waitClosed(ms) {
        if (closed) return Promise.resolve(true);
        return new Promise((res) => {
          const check = () => {
            if (closed) finish();
          };
          const finish = () => {
            clearTimeout(timer);
            waiters.delete(check);
            res(closed);
          };
          const timer = setTimeout(finish, ms);
          waiters.add(check);
        });
      },
      async close() {
        if (closed) return;
        const done = sock.waitClosed(2000);
        ws.close(1000);
        if (!(await done)) ws.terminate();
      },
    };
    ws.once('open', () => resolve(sock));
  });
}

/** Pulls `id` out of an AppError body, '' when there is none. */
export function errorId(a: RawAnswer): string {
  // read whatever the label: 5.37's router 404 (web/web.go Handle404) is AppError JSON
  // labelled `text/plain; charset=utf-8`
  let body = a.json;
  if (body === undefined) {
    try {
      body = JSON.parse(a.text);
    } catch {
      body = undefined;
    }
  }
  const parsed = z.object({ id: z.string() }).safeParse(body);
  return parsed.success ? parsed.data.id : '';
}

/** "404 app.user.missing_account.const" style summary of an answer. */
export function statusLine(a: RawAnswer): string {
  const id = errorId(a);
  return id ? `${a.status} ${id}` : String(a.status);
}

/** For undo steps: throws (so the runner reports a possible leftover) unless the answer is 2xx. */
export function mustSucceed(a: RawAnswer, what: string): void {
  if (a.status < 200 || a.status >= 300) throw new Error(`${what}: ${statusLine(a)}`);
}
