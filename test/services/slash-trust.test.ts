import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTriggerSigner } from '../../src/sandbox/signing.js';
import { createSlashTrust, type SlashTrustOptions } from '../../src/services/slash-trust.js';
import { createMemoryLogger } from '../helpers/logger.js';

const ALICE = 'aliceidaliceidaliceidalic1';
const MALLORY = 'malloryidmalloryidmallory1';

function setup(over: Partial<SlashTrustOptions> & { key?: () => string | undefined } = {}) {
  let t = 1_750_000_000_000;
  const clock = { now: () => t, advance: (ms: number) => (t += ms) };
  const signer = createTriggerSigner();
  let published: () => string | undefined = over.key ?? (() => signer.publicKey);
  const reads: number[] = [];
  const alarms: string[] = [];
  const log = createMemoryLogger();
  const trust = createSlashTrust({
    fetchKey: async () => {
      reads.push(clock.now());
      return published();
    },
    maxAgeMs: 60_000,
    allowUnsigned: false,
    logger: log,
    alarm: async (line) => {
      alarms.push(line);
    },
    now: clock.now,
    ...over,
  });
  return { trust, signer, clock, reads, alarms, log, publish: (f: () => string | undefined) => (published = f) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('slash trust', () => {
  it('verifies a signed request once; the same trigger id again is a replay', async () => {
    const s = setup();
    await s.trust.start();
    expect(s.trust.keyState()).toBe('present');
    const { triggerId } = s.signer.sign(ALICE, { at: s.clock.now() - 1_000 });
    expect(await s.trust.check({ triggerId, userId: ALICE, source: '10.0.0.9' })).toEqual({ verdict: 'verified' });
    expect(await s.trust.check({ triggerId, userId: ALICE, source: '10.0.0.9' })).toEqual({ verdict: 'refused', reason: 'replayed' });
  });

  it('refuses forged, tampered, mismatched, stale and missing trigger ids', async () => {
    const s = setup();
    await s.trust.start();
    const now = s.clock.now();
    const cases: Array<[string, string]> = [
      [s.signer.signWithForeignKey(ALICE, { at: now }).triggerId, 'bad_signature'],
      [s.signer.tamperUser(MALLORY, ALICE, { at: now }).triggerId, 'bad_signature'],
      [s.signer.sign(MALLORY, { at: now }).triggerId, 'user_mismatch'],
      [s.signer.sign(ALICE, { at: now - 61_000 }).triggerId, 'stale'],
      ['', 'missing'],
    ];
    for (const [triggerId, reason] of cases) {
      expect(await s.trust.check({ triggerId, userId: ALICE, source: '10.0.0.9' })).toEqual({ verdict: 'refused', reason });
    }
    // one warning line per refusal, none quoting the trigger id
    const lines = s.log.entries.filter((l) => l.fields.component === 'slash-trust' && l.msg.startsWith('slash request refused'));
    expect(lines).toHaveLength(5);
    expect(JSON.stringify(lines)).not.toContain(cases[0]?.[0]);
  });

  it('re-reads the key at most once a minute when signatures fail, and accepts a rotated key', async () => {
    const s = setup();
    await s.trust.start();
    expect(s.reads).toHaveLength(1);
    const rotated = createTriggerSigner();
    s.clock.advance(61_000);
    s.publish(() => rotated.publicKey);
    // signed with the new key: one re-read, then verified
    expect(await s.trust.check({ triggerId: rotated.sign(ALICE, { at: s.clock.now() }).triggerId, userId: ALICE, source: 'a' })).toEqual({ verdict: 'verified' });
    expect(s.reads).toHaveLength(2);
    // forgeries right after: no more reads within the minute
    for (let i = 0; i < 5; i++) await s.trust.check({ triggerId: s.signer.signWithForeignKey(ALICE, { at: s.clock.now() }).triggerId, userId: ALICE, source: 'a' });
    expect(s.reads).toHaveLength(2);
    s.clock.advance(60_000);
    await s.trust.check({ triggerId: s.signer.signWithForeignKey(ALICE, { at: s.clock.now() }).triggerId, userId: ALICE, source: 'a' });
    expect(s.reads).toHaveLength(3);
  });

  it('without a published key: unsigned (allowed only when configured), re-asking at most once a minute', async () => {
    const s = setup({ key: () => undefined });
    await s.trust.start();
    expect(s.trust.keyState()).toBe('absent');
    expect(await s.trust.check({ triggerId: '', userId: ALICE, source: 'a' })).toEqual({ verdict: 'unsigned', allowed: false });
    expect(await s.trust.check({ triggerId: '', userId: ALICE, source: 'a' })).toEqual({ verdict: 'unsigned', allowed: false });
    expect(s.reads).toHaveLength(1);
    expect(s.log.entries.some((l) => l.level === 'warn' && (l.msg).includes('signs no slash trigger_id'))).toBe(true);
    // the server gains a key: picked up after the minute, and from then on signatures are required
    s.clock.advance(60_000);
    s.publish(() => s.signer.publicKey);
    expect(await s.trust.check({ triggerId: '', userId: ALICE, source: 'a' })).toEqual({ verdict: 'refused', reason: 'missing' });
    expect(s.trust.keyState()).toBe('present');

    const allowed = setup({ key: () => undefined, allowUnsigned: true });
    await allowed.trust.start();
    expect(await allowed.trust.check({ triggerId: '', userId: ALICE, source: 'a' })).toEqual({ verdict: 'unsigned', allowed: true });
  });

  it('a failed key read is logged and treated as no key until a later read works', async () => {
    let fail = true;
    const signer = createTriggerSigner();
    const s = setup({
      key: () => {
        if (fail) throw new Error('connect ECONNREFUSED');
        return signer.publicKey;
      },
    });
    await s.trust.start();
    expect(s.trust.keyState()).toBe('unknown');
    expect(s.log.entries.some((l) => l.level === 'warn' && (l.msg).includes('could not read the server signing key'))).toBe(true);
    expect((await s.trust.check({ triggerId: '', userId: ALICE, source: 'a' })).verdict).toBe('unsigned');
    fail = false;
    s.clock.advance(60_000);
    expect(await s.trust.check({ triggerId: signer.sign(ALICE, { at: s.clock.now() }).triggerId, userId: ALICE, source: 'a' })).toEqual({ verdict: 'verified' });
  });

  it('posts at most one audit line per source per minute, counting the rest into the next', async () => {
    vi.useFakeTimers({ now: 1_750_000_000_000 });
    const s = setup({ now: () => Date.now() });
    await s.trust.start();
    const forge = () => s.signer.signWithForeignKey(ALICE, { at: Date.now() }).triggerId;
    for (let i = 0; i < 300; i++) await s.trust.check({ triggerId: forge(), userId: ALICE, source: '203.0.113.7' });
    await s.trust.check({ triggerId: forge(), userId: ALICE, source: '198.51.100.2' });
    expect(s.alarms).toEqual([
      ':warning: 1 forged or stale slash request refused from `203.0.113.7` (signature does not verify ×1)',
      ':warning: 1 forged or stale slash request refused from `198.51.100.2` (signature does not verify ×1)',
    ]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(s.alarms).toHaveLength(3);
    expect(s.alarms[2]).toBe(':warning: 299 forged or stale slash requests refused from `203.0.113.7` (signature does not verify ×299)');
    await vi.advanceTimersByTimeAsync(120_000);
    expect(s.alarms).toHaveLength(3);
    await s.trust.stop();
  });

  it('uses the shared replay set, and this process alone while it does not answer', async () => {
    const claimed = new Set<string>();
    let down = false;
    const s = setup({
      replay: {
        claim: async (key) => {
          if (down) throw new Error('ECONNREFUSED');
          if (claimed.has(key)) return false;
          claimed.add(key);
          return true;
        },
      },
    });
    await s.trust.start();
    const sign = () => s.signer.sign(ALICE, { at: s.clock.now() }).triggerId;
    const a = sign();
    expect((await s.trust.check({ triggerId: a, userId: ALICE, source: 'x' })).verdict).toBe('verified');
    expect(claimed.size).toBe(1);
    // another replica already took this one
    const b = sign();
    claimed.add(`slash-trigger:${Buffer.from(b, 'base64').toString().split(':')[0]}`);
    expect(await s.trust.check({ triggerId: b, userId: ALICE, source: 'x' })).toEqual({ verdict: 'refused', reason: 'replayed' });
    down = true;
    const c = sign();
    expect((await s.trust.check({ triggerId: c, userId: ALICE, source: 'x' })).verdict).toBe('verified');
    expect(await s.trust.check({ triggerId: c, userId: ALICE, source: 'x' })).toEqual({ verdict: 'refused', reason: 'replayed' });
    expect(await s.trust.check({ triggerId: a, userId: ALICE, source: 'x' })).toEqual({ verdict: 'refused', reason: 'replayed' });
    expect(s.log.entries.filter((e) => e.msg.includes('falls back') || e.msg.includes('fall back'))).toHaveLength(1);
  });
});
