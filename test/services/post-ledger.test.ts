import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createReplication } from '../../src/bot/replication.js';
import type { Config } from '../../src/config.js';
import type { Logger } from '../../src/core/command.js';
import { createPostLedger, FUTURE_SKEW_MS, type Begun, type Claim, type PostLedger, type PostRef } from '../../src/services/post-ledger.js';
import { createMemoryStateStore, type StateStore } from '../../src/state/state-store.js';

const T0 = 1_800_000_000_000;
const post = (id: string, at: number) => ({ id, create_at: at });
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };
/** the replicas' claims on `store` (the one claim model the ledger uses) */
const claimsOn = (store: StateStore, postClaimMs = 60_000) =>
  createReplication({ config: { catchupMaxAgeMs: 86_400_000 } as Config, logger: quiet, deps: { state: store, sharedState: false, postClaimMs } }).postClaims;

/** What begin decided. */
const outcome = async (ledger: PostLedger, p: PostRef): Promise<Begun['outcome']> => (await ledger.begin(p)).outcome;
/** The claim of a post `ledger` takes (it must take it). */
async function taken(ledger: PostLedger, p: PostRef): Promise<Claim> {
  const begun = await ledger.begin(p);
  if (begun.outcome !== 'run') throw new Error(`expected to take ${p.id}, got ${begun.outcome}`);
  return begun.claim;
}

describe('post ledger', () => {
  it('starts its mark and floor at the first start, and never takes a post from before it', async () => {
    const store = createMemoryStateStore({ now: () => T0 });
    const ledger = await createPostLedger({ store, now: () => T0, claims: claimsOn(store) });
    expect(ledger.floor()).toBe(T0);
    expect(ledger.mark()).toBe(T0);
    expect(await outcome(ledger, post('a', T0 - 1))).toBe('before_floor');
    const b = await ledger.begin(post('b', T0 + 1));
    expect(b.outcome).toBe('run');
    expect(await outcome(ledger, post('b', T0 + 1))).toBe('busy');
    if (b.outcome === 'run') await b.claim.answered();
    expect(await outcome(ledger, post('b', T0 + 1))).toBe('done');
  });

  it('keeps mark, floor and claims across a restart (persisted store), and reads again from mark minus the overlap', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'mmops-ledger-')), 'state.json');
    let t = T0;
    const s1 = createMemoryStateStore({ now: () => t, persistPath: path });
    const l1 = await createPostLedger({ store: s1, now: () => t, overlapMs: 1_000, claims: claimsOn(s1) });
    t += 60_000;
    await (await taken(l1, post('p1', T0 + 10_000))).answered();
    await l1.flush();
    await s1.close();

    const s2 = createMemoryStateStore({ now: () => t, persistPath: path });
    const l2 = await createPostLedger({ store: s2, now: () => t, overlapMs: 1_000, claims: claimsOn(s2) });
    expect(l2.floor()).toBe(T0);
    expect(l2.mark()).toBe(T0 + 10_000);
    expect(l2.since()).toBe(T0 + 9_000);
    expect(await outcome(l2, post('p1', T0 + 10_000))).toBe('done');
  });

  it('never lets the shared mark pass a post another replica holds, until that post is answered', async () => {
    // the replicas' chaos test (test/replicas/chaos.test.ts): replica B, busy with later posts, wrote a mark past a post
    // replica A was working on; had A died and B restarted after the overlap, it was lost
    const store = createMemoryStateStore();
    const claims = (ms: number) =>
      createReplication({ config: { catchupMaxAgeMs: 86_400_000 } as Config, logger: quiet, deps: { state: store, sharedState: true, postClaimMs: ms } }).postClaims;
    const a = await createPostLedger({ store, now: () => T0, claims: claims(60_000), overlapMs: 0 });
    const b = await createPostLedger({ store, now: () => T0, claims: claims(50), overlapMs: 0 });
    const p = post('p', T0 + 10);
    const q = post('q', T0 + 20);
    const ap = await taken(a, p);
    expect(await outcome(b, p)).toBe('busy');
    let retried = 0;
    b.lost(p, () => retried++);
    await (await taken(b, q)).answered();
    await b.flush();
    expect(b.mark()).toBe(T0 + 9);
    expect(Number(await store.get('catchup:mark'))).toBe(T0 + 9);
    // A answers p: B's look at it again finds it done and lets its mark go on
    await ap.answered();
    await new Promise((r) => setTimeout(r, 1_000));
    await b.flush();
    expect(retried).toBe(0);
    expect(b.mark()).toBe(T0 + 20);
  });

  it('lets the claim of a handler that died run out, then hands the post out again', async () => {
    let t = T0;
    const store = createMemoryStateStore({ now: () => t });
    const dead = await createPostLedger({ store, now: () => t, claims: claimsOn(store, 5_000) });
    expect(await outcome(dead, post('p', T0 + 1))).toBe('run');
    const next = await createPostLedger({ store, now: () => t, claims: claimsOn(store, 5_000) });
    expect(await outcome(next, post('p', T0 + 1))).toBe('busy');
    t += 6_000;
    expect(await outcome(next, post('p', T0 + 1))).toBe('run');
  });

  it('moves the mark only past handled posts: a running or held post keeps it below', async () => {
    const store = createMemoryStateStore({ now: () => T0 });
    const ledger = await createPostLedger({ store, now: () => T0, claims: claimsOn(store) });
    const slow = await taken(ledger, post('slow', T0 + 10));
    await (await taken(ledger, post('fast', T0 + 20))).answered();
    expect(ledger.mark()).toBe(T0 + 9);
    ledger.hold(post('queued', T0 + 5));
    expect((await ledger.flush(), ledger.mark())).toBe(T0 + 4);
    await slow.giveBack();
    ledger.unhold(post('queued', T0 + 5));
    await ledger.flush();
    // 'slow' was given back (not started): it stays held so the next start reads it
    expect(ledger.mark()).toBe(T0 + 9);
    expect(await store.get('post:slow')).toBeUndefined();
  });

  it('takes over at once a claim left by a dead process when the store is its own (exclusive), but never one it is running', async () => {
    const store = createMemoryStateStore({ now: () => T0 });
    const dead = await createPostLedger({ store, now: () => T0, claims: claimsOn(store) });
    expect(await outcome(dead, post('p', T0 + 1))).toBe('run');
    const next = await createPostLedger({ store, now: () => T0, exclusive: true, claims: claimsOn(store) });
    const [a, b] = await Promise.all([next.begin(post('p', T0 + 1)), next.begin(post('p', T0 + 1))]);
    expect([a.outcome, b.outcome].sort()).toEqual(['busy', 'run']);
    const won = a.outcome === 'run' ? a : b;
    if (won.outcome === 'run') await won.claim.answered();
    expect(await outcome(next, post('p', T0 + 1))).toBe('done');
  });

  it('a claim found lost neither finishes nor gives back: the replica that took the post over owns it', async () => {
    const store = createMemoryStateStore();
    const claims = (id: string, ms: number) =>
      createReplication({ config: { catchupMaxAgeMs: 86_400_000 } as Config, logger: quiet, deps: { state: store, sharedState: true, postClaimMs: ms, replicaId: id } }).postClaims;
    const a = await createPostLedger({ store, now: () => T0, claims: claims('replica-a', 200), overlapMs: 0 });
    const b = await createPostLedger({ store, now: () => T0, claims: claims('replica-b', 60_000), overlapMs: 0 });
    const p = post('p', T0 + 10);
    const mine = await taken(a, p);
    // A is paused past its claim and B takes the post over
    await store.set('post:p', 'replica-b', 60_000);
    await new Promise((r) => setTimeout(r, 150));
    expect(await mine.stillOurs()).toBe(false);
    await mine.answered();
    await mine.giveBack();
    expect(await store.get('post:p')).toBe('replica-b');
    expect(await outcome(b, p)).toBe('busy');
    // one way out only: a claim that was answered is not given back afterwards
    const q = await taken(b, post('q', T0 + 20));
    await q.answered();
    await q.giveBack();
    expect(await store.get('post:q')).toBe('done');
  });

  it('never moves the catch-up mark past its own clock for a post dated ahead of it (clock skew, or an admin-set create_at)', async () => {
    // POST /posts keeps a create_at a system admin gives (server/channels/api4/post.go createPost),
    // and a server clock that ran ahead dates posts the same way: the mark must not follow,
    // or every post missed afterwards sits below the mark and is never caught up
    const store = createMemoryStateStore({ now: () => T0 });
    const ledger = await createPostLedger({ store, now: () => T0, overlapMs: 1_000, claims: claimsOn(store) });
    await (await taken(ledger, post('ahead', T0 + 365 * 86_400_000))).answered();
    await ledger.flush();
    expect(ledger.mark()).toBeLessThanOrEqual(T0 + FUTURE_SKEW_MS);
    expect(Number(await store.get('catchup:mark'))).toBeLessThanOrEqual(T0 + FUTURE_SKEW_MS);
    // a DM sent a minute later and missed by the socket is still read by the next catch-up
    expect(ledger.since()).toBeLessThan(T0 + 60_000);
    // a mark already stored ahead (by a version before this rule) comes back to the clock at start
    await store.set('catchup:mark', String(T0 + 365 * 86_400_000));
    const restarted = await createPostLedger({ store, now: () => T0, overlapMs: 1_000, claims: claimsOn(store) });
    expect(restarted.since()).toBeLessThan(T0 + 60_000);
    await restarted.flush();
    expect(Number(await store.get('catchup:mark'))).toBeLessThanOrEqual(T0 + FUTURE_SKEW_MS);
  });
});
