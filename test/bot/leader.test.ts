import { describe, expect, it } from 'vitest';
import { createLeader } from '../../src/bot/leader.js';
import { createMemoryStateStore, type StateStore } from '../../src/state/state-store.js';
import { createMemoryLogger } from '../helpers/logger.js';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('leader lease', () => {
  it('one replica leads; another takes over once the lease runs out, with a greater fencing token', async () => {
    const c = clock();
    const store = createMemoryStateStore({ now: c.now });
    const events: string[] = [];
    const mk = (owner: string) =>
      createLeader({ store, owner, logger: createMemoryLogger(), ttlMs: 1_000, now: c.now, onElected: (t) => void events.push(`${owner}+${t}`), onDeposed: () => void events.push(`${owner}-`) });
    const a = mk('a');
    const b = mk('b');
    await a.tick();
    await b.tick();
    expect(a.isLeader()).toBe(true);
    expect(b.isLeader()).toBe(false);
    expect(await a.confirm()).toBe(true);
    // a stops renewing (killed): b takes it after the ttl
    c.advance(999);
    await b.tick();
    expect(b.isLeader()).toBe(false);
    c.advance(2);
    await b.tick();
    expect(b.isLeader()).toBe(true);
    expect(b.token()).toBeGreaterThan(a.token()!);
    // a comes back from a pause: its own clock says its lease is over, and confirm() says no
    expect(a.isLeader()).toBe(false);
    expect(await a.confirm()).toBe(false);
    expect(events).toEqual(['a+1', 'b+2', 'a-']);
  });

  it('confirm() answers "no" without waiting for the hand-over work, which may wait for its caller (chaos test, issue 13)', async () => {
    // before: a health check asked confirm(); confirm awaited onDeposed; onDeposed paused the
    // watches, which waited for that check: the watches of that replica never ran again
    const c = clock();
    const store = createMemoryStateStore({ now: c.now });
    let checkDone = false;
    const a = createLeader({
      store,
      owner: 'a',
      logger: createMemoryLogger(),
      ttlMs: 1_000,
      now: c.now,
      onDeposed: async () => {
        while (!checkDone) await new Promise((r) => setTimeout(r, 5));
      },
    });
    const b = createLeader({ store, owner: 'b', logger: createMemoryLogger(), ttlMs: 1_000, now: c.now });
    await a.tick();
    c.advance(1_001);
    await b.tick(); // b leads now; a does not know yet
    const answer = await Promise.race([a.confirm(), new Promise((r) => setTimeout(() => r('still waiting'), 500))]);
    checkDone = true;
    expect(answer).toBe(false);
    expect(a.isLeader()).toBe(false);
  });

  it('stops counting itself leader when the store cannot be reached past its lease', async () => {
    const c = clock();
    const inner = createMemoryStateStore({ now: c.now });
    let down = false;
    const store: Pick<StateStore, 'acquireLease' | 'releaseLease'> = {
      acquireLease: async (...args) => {
        if (down) throw new Error('unreachable');
        return inner.acquireLease(...args);
      },
      releaseLease: (...args) => inner.releaseLease(...args),
    };
    const log = createMemoryLogger();
    const a = createLeader({ store, owner: 'a', logger: log, ttlMs: 1_000, now: c.now });
    await a.tick();
    expect(a.isLeader()).toBe(true);
    down = true;
    c.advance(500);
    await a.tick();
    expect(a.token()).toBeDefined(); // still within the lease it surely holds
    expect(await a.confirm()).toBe(false); // but it does not act without the store
    c.advance(600);
    await a.tick();
    expect(a.isLeader()).toBe(false);
    expect(a.token()).toBeUndefined();
    expect(log.entries.filter((e) => e.level === 'warn' && /cannot renew/.test(e.msg))).toHaveLength(1);
  });

  it('stop() gives the lease up so another replica takes over at once', async () => {
    const store = createMemoryStateStore();
    const a = createLeader({ store, owner: 'a', logger: createMemoryLogger(), ttlMs: 60_000 });
    const b = createLeader({ store, owner: 'b', logger: createMemoryLogger(), ttlMs: 60_000 });
    await a.tick();
    await b.tick();
    expect(b.isLeader()).toBe(false);
    await a.stop();
    await b.tick();
    expect(b.isLeader()).toBe(true);
  });
});
