/**
 * The buttons' signing secret kept in the shared state store (src/bot/interactions.ts
 * `actionsSecret`): every replica must end with the same one, or a click signed by one
 * replica and sent by the load balancer to another is refused as forged.
 */
import { describe, expect, it } from 'vitest';
import { actionsSecret } from '../../src/bot/interactions.js';
import { createMemoryStateStore, type StateStore } from '../../src/state/state-store.js';

describe('actionsSecret', () => {
  it('gives every replica the same secret, also when the creating lock ran out while one of them made it', async () => {
    // replica A takes the lock and is paused past its 5 s before writing; replica B then
    // takes the lock (it ran out) and writes its own: the last write used to win, and each
    // replica signed with the secret it made
    const shared = createMemoryStateStore();
    let resumeA: () => void = () => {};
    const aPaused = new Promise<void>((r) => {
      resumeA = r;
    });
    const a: StateStore = Object.create(shared) as StateStore;
    const b: StateStore = Object.create(shared) as StateStore;
    let aClaimed = false;
    a.claim = async (key, ttl, value) => {
      const got = await shared.claim(key, ttl, value);
      aClaimed = got;
      await aPaused; // paused past the lock's 5 s
      return got;
    };
    const fromA = actionsSecret(a, null, () => Promise.resolve());
    while (!aClaimed) await new Promise((r) => setTimeout(r, 1));
    await shared.delete('actions-secret:creating'); // the lock ran out while A was paused
    const fromB = await actionsSecret(b, null, () => Promise.resolve());
    resumeA();
    const secretA = await fromA;
    expect(secretA).toBe(fromB);
    expect(await shared.get('actions-secret')).toBe(fromB);
  });

  it('a configured secret wins, and a kept one is read back', async () => {
    const store = createMemoryStateStore();
    expect(await actionsSecret(store, 'configured-secret-0123456789abcdefghij')).toBe('configured-secret-0123456789abcdefghij');
    const made = await actionsSecret(store, null);
    expect(await actionsSecret(store, null)).toBe(made);
  });
});
