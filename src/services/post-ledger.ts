/**
 * Which posts addressed to the bot have been handled, kept in the {@link StateStore} so
 * that a restart, a reconnect that did not resume, or a second replica never answers
 * a post twice and never forgets one.
 *
 * - `post:<id>` is claimed through the replicas' {@link PostClaims} (src/bot/replication.ts:
 *   set-if-absent with a lease, renewed while the post is worked on, `done` once
 *   answered), for a post read from the WebSocket and one read by the catch-up alike,
 *   so each is handled once. If the process dies before answering, the lease runs out
 *   and another replica, or the next catch-up, takes the post again.
 * - `catchup:mark` is the high-water mark: every post addressed to the bot created at
 *   or before it has been handled. It only moves past posts actually handled; a post
 *   received but not started (shutdown, a busy claim of another process) holds it back,
 *   so the next catch-up reads it again.
 * - `catchup:floor` is when the bot first ran with this state: nothing older is ever
 *   replayed (a first start, or state lost, does not answer yesterday's DMs).
 *
 * A post this process takes comes back as a {@link Claim}: the one handle to it, so no
 * caller re-passes the post to the ledger's verbs. A claim that turned out lost (another
 * replica took the post over) neither finishes nor gives back anything.
 *
 * @example
 *   const ledger = await createPostLedger({ store: replication.state, claims: replication.postClaims, now });
 *   const begun = await ledger.begin(post);
 *   if (begun.outcome === 'run') {
 *     const reply = await run(post);
 *     if (await begun.claim.stillOurs()) { await answer(reply); await begun.claim.answered(); }
 *     else begun.claim.onLost();
 *   }
 */
import type { StateStore } from '../state/state-store.js';

/** What {@link PostLedger.begin} decided. */
export type BeginOutcome =
  /** claimed now: this caller handles it */
  | 'run'
  /** answered already (here, by an earlier process or another replica) */
  | 'done'
  /** another handler holds the lease right now */
  | 'busy'
  /** created before the bot's state began (first start or state lost): never replayed */
  | 'before_floor';

export interface PostRef {
  id: string;
  create_at: number;
}

/** How handlers share out posts: the claim on `post:<id>` (src/bot/replication.ts). */
export interface PostClaims {
  /** how long a claim holds without renewal (ms) */
  readonly leaseMs: number;
  /** true = this process handles the post (the claim is renewed until `done`); throws when it cannot tell (store down) */
  claim(postId: string): Promise<boolean>;
  /**
   * takes a claim left by a dead process over (only where the store is this process's
   * alone): compare-and-set on `from`, the value found; false when it changed meanwhile
   */
  takeOver(postId: string, from: string): Promise<boolean>;
  /**
   * the post was answered (or failed for good): nobody should take it over; written only
   * over this process's own claim (or none). `aheadMs`: how far the post is dated ahead of
   * this clock; the mark lasts that much longer, so the post is never handled again once
   * its date comes
   */
  done(postId: string, aheadMs?: number): Promise<void>;
  /** gives a claim back unstarted (shutdown); only this process's own claim; throws when the store cannot be reached */
  release(postId: string): Promise<void>;
  /**
   * whether this process still holds the claim right before answering: false when its
   * renewal found the claim taken over (the process was paused or cut off from the store
   * longer than the lease, and another replica took the post). One store round trip only
   * when the last renewal is older than half the lease.
   */
  stillHeld(postId: string): Promise<boolean>;
  /** stops renewing a claim another handler took over (nothing is written) */
  forget(postId: string): void;
  /**
   * another handler holds the post; `retry` runs it once more when that claim could
   * have run out (its holder died before answering), `settled` is called instead when
   * it was answered meanwhile (or when looking again is given up). The claims decide
   * whether and when.
   */
  lost(postId: string, retry: () => void, settled?: () => void): void;
}

/**
 * A post this process claimed and handles. Each way out is used once; after the first,
 * the others do nothing. Once the claim is known lost (`stillOurs` said no), `answered` and
 * `giveBack` write nothing either: the replica that took the post over owns it.
 */
export interface Claim {
  readonly post: PostRef;
  /**
   * Whether this process still holds the post, right before answering (see
   * {@link PostClaims.stillHeld}); false once lost.
   */
  stillOurs(): Promise<boolean>;
  /** The post was answered (or its sender told to resend): done for good. */
  answered(): Promise<void>;
  /** Not answered (shutdown, an answer the server kept refusing): give the claim back, keep the mark below it. */
  giveBack(): Promise<void>;
  /** Another handler took the post over while it ran here: it answers; this process lets go without writing. */
  onLost(): void;
}

/** What {@link PostLedger.begin} returns: the claim when this process handles the post. */
export type Begun = { outcome: 'run'; claim: Claim } | { outcome: Exclude<BeginOutcome, 'run'> };

export interface PostLedger {
  /** Claims a post addressed to the bot (see {@link BeginOutcome}); `run` comes with its {@link Claim}. */
  begin(post: PostRef): Promise<Begun>;
  /** A post received but not taken (shutdown, busy elsewhere): keep the mark below it. */
  hold(post: PostRef): void;
  /** Forget a hold (the post turned out handled elsewhere). */
  unhold(post: PostRef): void;
  /**
   * Another handler holds the post: `retry` once its claim could have run out (see
   * {@link PostClaims.lost}). Until it is answered the mark stays below it here too, so
   * the mark this process shares never passes a post another replica may die holding.
   */
  lost(post: PostRef, retry: () => void): void;
  /** Whether a post is being handled in this process right now. */
  inProgress(id: string): boolean;
  /** Lower bound (ms) for reading missed posts: max(floor, mark - overlap). */
  since(): number;
  /** The stored high-water mark (ms). */
  mark(): number;
  /** The floor (ms): posts at or before it are never handled by catch-up. */
  floor(): number;
  /** Writes the mark now (shutdown). */
  flush(): Promise<void>;
}

export interface PostLedgerOptions {
  /** where the mark and floor are kept (the claims' store) */
  store: StateStore;
  /** the claims on `post:<id>` (src/bot/replication.ts) */
  claims: PostClaims;
  now?: () => number;
  /** posts created up to this long before the mark are read again (default 2 min: posts still on the wire) */
  overlapMs?: number;
  /**
   * the store is this process's alone (one replica, the file store): a claim it finds
   * that is not `done` was left by a process that died mid-command (SIGKILL), so it is
   * taken over at once instead of waiting for the lease
   */
  exclusive?: boolean;
  onError?: (err: unknown, what: string) => void;
}

/**
 * How far ahead of this process's clock a post's `create_at` may lie and still count as
 * "now" (the server's and the bot's clocks disagree a little). A post dated further ahead
 * (a server clock that ran ahead, or a create_at a system admin set: server/channels/api4/post.go
 * createPost keeps it) has no age anyone can judge.
 */
export const FUTURE_SKEW_MS = 60_000;

const MARK_KEY = 'catchup:mark';
const FLOOR_KEY = 'catchup:floor';
const postKey = (id: string): string => `post:${id}`;

/** Loads (or starts) the mark and floor, and returns the ledger. */
export async function createPostLedger(opts: PostLedgerOptions): Promise<PostLedger> {
  const { store } = opts;
  const now = opts.now ?? Date.now;
  const { claims } = opts;
  const overlapMs = opts.overlapMs ?? 2 * 60_000;
  const report = (err: unknown, what: string): void => opts.onError?.(err, what);

  const readNumber = async (key: string): Promise<number | undefined> => {
    const v = await store.get(key);
    const n = v === undefined ? NaN : Number(v);
    return Number.isFinite(n) ? n : undefined;
  };
  const start = now();
  const storedFloor = await readNumber(FLOOR_KEY);
  const storedMark = await readNumber(MARK_KEY);
  // first start, or the state was lost: nothing older than now is replayed
  const fixedFloor = storedFloor ?? (storedMark === undefined ? start : Math.min(start, storedMark));
  // a mark stored ahead of this clock (a post dated ahead, before that was capped) comes back to it
  let mark = Math.min(storedMark ?? start, start + FUTURE_SKEW_MS);
  if (storedFloor === undefined || storedMark === undefined) {
    await store.set(FLOOR_KEY, String(fixedFloor));
    await store.set(MARK_KEY, String(mark));
  }

  /** posts this process is handling, and posts it must not let the mark pass */
  const running = new Map<string, number>();
  const held = new Map<string, number>();
  /** posts whose claim is being made right now (the WebSocket and a catch-up may race) */
  const claiming = new Set<string>();
  /** the newest create_at among posts finished since the mark was last computed */
  let newestDone = mark;
  let persisted = storedMark ?? mark;
  let writing: Promise<void> = Promise.resolve();

  function recompute(): void {
    let candidate = Math.max(mark, newestDone);
    for (const at of running.values()) candidate = Math.min(candidate, at - 1);
    for (const at of held.values()) candidate = Math.min(candidate, at - 1);
    // a post held back may sit below the stored mark (it arrived in the overlap): the
    // mark goes back for it, and forward again once it is handled
    mark = candidate;
    if (mark !== persisted) {
      const value = mark;
      writing = writing
        .then(() => store.set(MARK_KEY, String(value)))
        .then(() => {
          persisted = value;
        })
        .catch((err: unknown) => report(err, 'storing the catch-up mark'));
    }
  }

  /** Claims a post not being claimed or run here already. */
  async function take(post: PostRef): Promise<BeginOutcome> {
    const claimed = await claims.claim(post.id);
    if (!claimed) {
      const v = await store.get(postKey(post.id));
      if (v === 'done') return 'done';
      if (!opts.exclusive) return 'busy';
      // left by a process that died before answering: ours now (gone meanwhile: claim it afresh)
      const ours = v === undefined ? await claims.claim(post.id) : await claims.takeOver(post.id, v);
      if (!ours) return 'busy';
    }
    running.set(post.id, post.create_at);
    held.delete(post.id);
    return 'run';
  }

  /** The handle to a post this process just took (see {@link Claim}). */
  function claimOf(post: PostRef): Claim {
    let state: 'held' | 'lost' | 'settled' = 'held';
    /** ends the claim here without writing to it; the taker's answer releases the mark */
    const letGo = (): void => {
      running.delete(post.id);
      claims.forget(post.id);
      held.set(post.id, post.create_at);
      const look = (): void =>
        claims.lost(post.id, look, () => {
          if (held.delete(post.id)) recompute();
        });
      look();
    };
    return {
      post,
      async stillOurs() {
        if (state !== 'held') return false;
        if (await claims.stillHeld(post.id)) return true;
        state = 'lost';
        return false;
      },
      async answered() {
        if (state === 'settled') return;
        if (state === 'lost') {
          state = 'settled';
          letGo();
          return;
        }
        state = 'settled';
        running.delete(post.id);
        held.delete(post.id);
        // never past this clock: a post dated ahead would carry the mark over every post
        // missed after it, and the catch-up would never read them
        const doneAt = Math.min(post.create_at, now() + FUTURE_SKEW_MS);
        if (doneAt > newestDone) newestDone = doneAt;
        await claims.done(post.id, Math.max(0, post.create_at - now())); // compare-and-set; logs its own failure
        recompute();
      },
      async giveBack() {
        if (state === 'settled') return;
        if (state === 'lost') {
          state = 'settled';
          letGo();
          return;
        }
        state = 'settled';
        running.delete(post.id);
        held.set(post.id, post.create_at);
        try {
          await claims.release(post.id);
        } catch (err) {
          report(err, 'releasing a post claim');
        }
        recompute();
      },
      onLost() {
        if (state === 'settled') return;
        state = 'settled';
        letGo();
      },
    };
  }

  return {
    async begin(post) {
      if (post.create_at <= fixedFloor) return { outcome: 'before_floor' };
      if (running.has(post.id) || claiming.has(post.id)) return { outcome: 'busy' };
      claiming.add(post.id);
      try {
        const outcome = await take(post);
        return outcome === 'run' ? { outcome, claim: claimOf(post) } : { outcome };
      } finally {
        claiming.delete(post.id);
      }
    },
    hold(post) {
      if (post.create_at <= fixedFloor || running.has(post.id)) return;
      held.set(post.id, post.create_at);
    },
    unhold(post) {
      if (held.delete(post.id)) recompute();
    },
    lost(post, retry) {
      if (post.create_at > fixedFloor && !running.has(post.id)) held.set(post.id, post.create_at);
      claims.lost(post.id, retry, () => {
        if (held.delete(post.id)) recompute();
      });
    },
    inProgress: (id) => running.has(id),
    since: () => Math.max(fixedFloor, mark - overlapMs),
    mark: () => mark,
    floor: () => fixedFloor,
    async flush() {
      recompute();
      await writing;
    },
  };
}
