import { describe, expect, it } from 'vitest';
import type { Invocation } from '../../src/core/command.js';
import type { DispatchResult, Dispatcher } from '../../src/core/dispatcher.js';
import { reply } from '../../src/core/reply.js';
import { createScheduler, withScheduler } from '../../src/core/scheduler.js';
import { renderReply } from '../../src/render/markdown.js';
import { createMemoryLogger } from '../helpers/logger.js';

/** A task that finishes when told to; `started` says whether the scheduler started it. */
function task(label: string, log: string[]) {
  let finish: () => void = () => {};
  let fail: (e: Error) => void = () => {};
  const t = {
    started: false,
    run: () => {
      t.started = true;
      log.push(label);
      return new Promise<string>((resolve, reject) => {
        finish = () => resolve(label);
        fail = reject;
      });
    },
    finish: () => finish(),
    fail: (e: Error) => fail(e),
  };
  return t;
}

const tick = () => new Promise((r) => setImmediate(r));

describe('createScheduler', () => {
  it('runs 2 per user, queues 5 more, and refuses the rest of that user at once', async () => {
    const order: string[] = [];
    const s = createScheduler({ perUserRunning: 2, perUserQueued: 5 });
    const tasks = Array.from({ length: 8 }, (_, i) => task(`a${i}`, order));
    const admissions = tasks.map((t) => s.submit('alice', t.run));
    expect(admissions.map((a) => a.ok)).toEqual([true, true, true, true, true, true, true, false]);
    expect(admissions[7]).toEqual({ ok: false, reason: 'user' });
    expect(order).toEqual(['a0', 'a1']);
    expect(s.stats()).toMatchObject({ running: 2, queued: 5, refused: { user: 1, global: 0 } });
    tasks[0]?.finish();
    await tick();
    expect(order).toEqual(['a0', 'a1', 'a2']);
  });

  it("starts another user's command at once while one user is at its limits", () => {
    const order: string[] = [];
    const s = createScheduler({ perUserRunning: 2, perUserQueued: 5 });
    for (let i = 0; i < 10; i++) s.submit('flood', task(`f${i}`, order).run);
    const other = task('other', order);
    expect(s.submit('bob', other.run).ok).toBe(true);
    expect(other.started).toBe(true);
  });

  it('gives a freed global slot to the next user in turn, not to the user who queued most', async () => {
    const order: string[] = [];
    const s = createScheduler({ perUserRunning: 2, perUserQueued: 5, maxRunning: 2 });
    const a = Array.from({ length: 5 }, (_, i) => task(`a${i}`, order));
    for (const t of a) s.submit('alice', t.run);
    const b = task('b0', order);
    s.submit('bob', b.run);
    expect(b.started).toBe(false);
    a[0]?.finish();
    await tick();
    expect(order).toEqual(['a0', 'a1', 'b0']);
    a[1]?.finish();
    await tick();
    expect(order).toEqual(['a0', 'a1', 'b0', 'a2']);
  });

  it('refuses with "global" once the shared queue is full', () => {
    const order: string[] = [];
    const s = createScheduler({ perUserRunning: 1, perUserQueued: 5, maxRunning: 1, maxQueued: 2 });
    expect(s.submit('a', task('a', order).run).ok).toBe(true);
    expect(s.submit('b', task('b', order).run).ok).toBe(true);
    expect(s.submit('c', task('c', order).run).ok).toBe(true);
    expect(s.submit('d', task('d', order).run)).toEqual({ ok: false, reason: 'global' });
    expect(s.stats()).toMatchObject({ running: 1, queued: 2, refused: { global: 1 } });
  });

  it('frees the slot of a task that fails or throws, and passes the failure on', async () => {
    const order: string[] = [];
    const s = createScheduler({ perUserRunning: 1, perUserQueued: 5 });
    const failing = task('x', order);
    const first = s.submit('a', failing.run);
    const thrower = s.submit('a', () => {
      throw new Error('sync boom');
    });
    const last = task('y', order);
    const third = s.submit('a', last.run);
    failing.fail(new Error('boom'));
    if (!first.ok || !thrower.ok || !third.ok) throw new Error('expected all admitted');
    await expect(first.result).rejects.toThrow('boom');
    await expect(thrower.result).rejects.toThrow('sync boom');
    await tick();
    expect(last.started).toBe(true);
    last.finish();
    await expect(third.result).resolves.toBe('y');
    expect(s.stats()).toMatchObject({ running: 0, queued: 0, users: 0 });
  });
});

describe('withScheduler', () => {
  const inv = (userId: string): Invocation => ({ source: 'dm', text: 'whois @ann', userId, channelId: 'c', teamId: '', rootId: '', receivedAt: 0 });

  it('answers "busy" at once beyond the limits, logs it, and never calls the dispatcher for it', async () => {
    let calls = 0;
    const pending: Array<(r: DispatchResult) => void> = [];
    const inner: Dispatcher = {
      dispatch: () => {
        calls += 1;
        return new Promise((resolve) => pending.push(resolve));
      },
      stats: () => ({ served: 0, byOutcome: {}, byCommand: {} }),
    };
    const log = createMemoryLogger();
    const d = withScheduler(inner, { limits: { perUserRunning: 1, perUserQueued: 1 }, logger: log, newRef: () => 'REF001' });
    void d.dispatch(inv('u1'));
    void d.dispatch(inv('u1'));
    const busy = await d.dispatch(inv('u1'));
    expect(calls).toBe(1);
    expect(busy.outcome).toBe('busy');
    expect(busy.ref).toBe('REF001');
    expect(renderReply(busy.reply)).toContain('try again in a moment');
    expect(log.find('command refused: this user has too many commands running and waiting')?.fields).toMatchObject({
      userId: 'u1',
      reason: 'user',
      ref: 'REF001',
    });
    expect(d.load()).toMatchObject({ running: 1, queued: 1, refused: { user: 1 } });
    pending[0]?.({ reply: reply([]), ref: 'R', outcome: 'ok', durationMs: 1 });
    await tick();
    expect(calls).toBe(2);
  });
});
