/** Small helpers for the sandbox tests: authenticated fetch and a recording WebSocket client. */
import WebSocket from 'ws';
import type { FakeMattermost } from '../../src/sandbox/fake-server.js';

export interface Api {
  (method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; headers: Headers; json: any; text: string }>;
}

/** fetch against /api/v4 as the holder of `token` ('' for none). */
export function apiAs(mm: FakeMattermost, token: string): Api {
  return async (method, path, body, headers = {}) => {
    const h: Record<string, string> = { ...headers };
    if (token) h.Authorization = `Bearer ${token}`;
    const res = await fetch(`${mm.url}/api/v4${path}`, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, json, text };
  };
}

/** A WebSocket client that records every frame and can wait for one. */
export class WsProbe {
  readonly frames: any[] = [];
  closed = false;
  closeCode = 0;
  readonly ws: WebSocket;
  private waiters: Array<() => void> = [];

  constructor(mm: FakeMattermost, opts: { token?: string; query?: string } = {}) {
    const url = `${mm.url.replace(/^http/, 'ws')}/api/v4/websocket${opts.query ? `?${opts.query}` : ''}`;
    this.ws = new WebSocket(url, { headers: opts.token ? { Authorization: `Bearer ${opts.token}` } : {} });
    this.ws.on('message', (m) => {
      this.frames.push(JSON.parse(m.toString()));
      this.wake();
    });
    this.ws.on('close', (code) => {
      this.closed = true;
      this.closeCode = code;
      this.wake();
    });
    this.ws.on('error', () => undefined);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves with the first recorded frame matching `pred` (waits up to `ms`). */
  async next(pred: (f: any) => boolean, ms = 2000): Promise<any> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.frames.find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`no matching frame; got ${JSON.stringify(this.frames).slice(0, 600)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  event(name: string, ms?: number): Promise<any> {
    return this.next((f) => f.event === name, ms);
  }

  async waitClosed(ms = 2000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('socket did not close');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  send(obj: unknown): void {
    this.ws.send(JSON.stringify(obj));
  }

  close(): void {
    this.ws.terminate();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
