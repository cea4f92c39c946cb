import { describe, expect, it } from 'vitest';
import { concurrency } from '../../../src/mattermost/transport/concurrency.js';

/** A `next` whose calls finish only when the test says so. */
function gated() {
  const open: Array<() => void> = [];
  let inside = 0;
  let maxInside = 0;
  const next = async (req: string): Promise<string> => {
    inside += 1;
    maxInside = Math.max(maxInside, inside);
    await new Promise<void>((resolve) => open.push(resolve));
    inside -= 1;
    return req;
  };
  return { next, finishOne: () => open.shift()?.(), max: () => maxInside };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('concurrency layer', () => {
  it('keeps at most `limit` requests below it and serves the queue in order', async () => {
    const g = gated();
    const slots = concurrency<string, string>({ limit: 2 });
    const send = slots(g.next);
    const done: string[] = [];
    const all = ['a', 'b', 'c', 'd'].map((r) => send(r, undefined).then((v) => done.push(v)));
    await tick();
    expect(slots.inFlight()).toBe(2);
    for (let i = 0; i < 4; i++) {
      g.finishOne();
      await tick();
    }
    await Promise.all(all);
    expect(done).toEqual(['a', 'b', 'c', 'd']);
    expect(g.max()).toBe(2);
    expect(slots.inFlight()).toBe(0);
  });

  it('lets a queued caller stop waiting, and gives the slot to the next one', async () => {
    const g = gated();
    const slots = concurrency<string, string>({ limit: 1, cancelled: (req) => new Error(`gave up ${req}`) });
    const send = slots(g.next);
    const a = send('a', undefined);
    const controller = new AbortController();
    const b = send('b', controller.signal);
    const c = send('c', undefined);
    controller.abort();
    await expect(b).rejects.toThrow('gave up b');
    g.finishOne();
    await tick();
    g.finishOne();
    expect(await a).toBe('a');
    expect(await c).toBe('c');
    expect(slots.inFlight()).toBe(0);
  });

  it('refuses a caller whose signal has already aborted, when watching signals', async () => {
    const slots = concurrency<string, string>({ limit: 1, cancelled: () => new Error('too late') });
    await expect(slots(async (r) => r)('a', AbortSignal.abort())).rejects.toThrow('too late');
    expect(slots.inFlight()).toBe(0);
  });

  it('with `whenFull` refuses at once instead of queueing, and frees the slot after a failure', async () => {
    const g = gated();
    const slots = concurrency<string, string>({ limit: 1, whenFull: (req) => new Error(`busy ${req}`) });
    const send = slots(g.next);
    const a = send('a', undefined);
    await expect(send('b', undefined)).rejects.toThrow('busy b');
    g.finishOne();
    await a;
    await expect(slots(async () => Promise.reject(new Error('x')))('c', undefined)).rejects.toThrow('x');
    expect(slots.inFlight()).toBe(0);
  });
});
