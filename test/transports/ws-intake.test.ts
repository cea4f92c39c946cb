import { describe, expect, it } from 'vitest';
import type { Invocation } from '../../src/core/command.js';
import { paragraph, reply, type Reply } from '../../src/core/reply.js';
import type { MattermostApi } from '../../src/mattermost/api.js';
import { createReplication } from '../../src/bot/replication.js';
import type { Config } from '../../src/config.js';
import { postSchema, wsEventSchema, type Post, type WsEvent } from '../../src/mattermost/models.js';
import { renderPosts } from '../../src/render/markdown.js';
import { createInFlight } from '../../src/transports/in-flight.js';
import { commandText, createWsIntake, secretNotice, type PostClaims, type WsRun } from '../../src/transports/ws-intake.js';
import { answeredBy, REPLY_TO_PROP } from '../../src/services/catch-up.js';
import { ApiError } from '../../src/mattermost/errors.js';
import { createPostLedger, type PostLedger } from '../../src/services/post-ledger.js';
import { createMemoryStateStore, type StateStore } from '../../src/state/state-store.js';
import { stubApi } from '../helpers/context.js';
import { createMemoryLogger } from '../helpers/logger.js';

const BOT = 'botbotbotbotbotbotbotbot01';
const ALICE = 'alicealicealicealicealic01';
const OTHER_BOT = 'otherbototherbototherbot01';
const DM = 'dmdmdmdmdmdmdmdmdmdmdmdm01';
const TOWN = 'towntowntowntowntowntown01';
const TEAM = 'teamteamteamteamteamteam01';
const ALICE_DM_WITH_BOT = 'alicedmalicedmalicedmali01';

let seq = 0;
let postN = 0;
/** when the fixtures' posts are made (`posted` default create_at) */
const FIXTURE_NOW = 1730000000000;

/** A `posted` frame shaped like docs/mattermost-notes.md §3.8 (post and mentions are JSON strings). */
function posted(
  p: Partial<Post> & { message: string },
  opts: { channelType?: string; mentions?: string[]; teamId?: string; channelName?: string } = {},
): WsEvent {
  const post = {
    id: `post${String(++postN).padStart(22, '0')}`,
    create_at: 1730000000000,
    update_at: 1730000000000,
    edit_at: 0,
    delete_at: 0,
    is_pinned: false,
    user_id: ALICE,
    channel_id: opts.channelType === 'D' ? DM : TOWN,
    root_id: '',
    original_id: '',
    type: '',
    props: {},
    hashtags: '',
    pending_post_id: '',
    reply_count: 0,
    last_reply_at: 0,
    participants: null,
    metadata: {},
    ...p,
  };
  const frame = {
    event: 'posted',
    seq: seq++,
    broadcast: { omit_users: null, user_id: '', channel_id: post.channel_id, team_id: '', connection_id: '', omit_connection_id: '' },
    data: {
      channel_display_name: opts.channelType === 'D' ? '@alice' : 'Town Square',
      channel_name: opts.channelName ?? (opts.channelType === 'D' ? `${ALICE}__${BOT}` : 'town-square'),
      channel_type: opts.channelType ?? 'O',
      post: JSON.stringify(post),
      sender_name: '@alice',
      set_online: true,
      team_id: opts.teamId ?? (opts.channelType === 'D' ? '' : TEAM),
      ...(opts.mentions ? { mentions: JSON.stringify(opts.mentions) } : {}),
    },
  };
  return wsEventSchema.parse(frame);
}

interface Posted {
  kind: 'post' | 'ephemeral';
  channel_id: string;
  message: string;
  root_id?: string;
  userId?: string;
}

function setup(
  opts: {
    reply?: (inv: Invocation) => Reply;
    canEphemeral?: boolean;
    ephemeralFails?: boolean;
    ledger?: PostLedger;
    now?: () => number;
    run?: (inv: Invocation) => Promise<void>;
    /** what GET /channels/{id}/posts?since= answers (a takeover looks there first) */
    channelPosts?: () => Post[];
  } = {},
) {
  const ran: Invocation[] = [];
  const out: Posted[] = [];
  const pendingIds: Array<string | undefined> = [];
  /** props.mmops_reply_to of every stored reply, in order */
  const replyTo: unknown[] = [];
  const api = stubApi({
    createPost: async ({ pending_post_id, props, ...p }) => {
      pendingIds.push(pending_post_id);
      replyTo.push(props?.[REPLY_TO_PROP]);
      out.push({ kind: 'post', ...p });
      return { id: 'x', create_at: 0, update_at: 0, edit_at: 0, delete_at: 0, user_id: BOT, channel_id: p.channel_id, root_id: p.root_id ?? '', message: p.message, type: '', props: {}, file_ids: [] };
    },
    createEphemeralPost: async (userId, p) => {
      if (opts.ephemeralFails) throw new Error('403');
      out.push({ kind: 'ephemeral', userId, ...p });
      return { id: 'e', create_at: 0, update_at: 0, edit_at: 0, delete_at: 0, user_id: BOT, channel_id: p.channel_id, root_id: p.root_id ?? '', message: p.message, type: 'system_ephemeral', props: {}, file_ids: [] };
    },
    ...(opts.channelPosts
      ? {
          getPostsSince: async () => {
            const posts = opts.channelPosts?.() ?? [];
            return { order: posts.map((p) => p.id), posts: Object.fromEntries(posts.map((p) => [p.id, p])), next_post_id: '', prev_post_id: '' };
          },
        }
      : {}),
    createDirectChannel: async (a, b) => ({
      id: ALICE_DM_WITH_BOT,
      team_id: '',
      create_at: 0,
      update_at: 0,
      delete_at: 0,
      type: 'D',
      display_name: '',
      name: `${a}__${b}`,
      header: '',
      purpose: '',
      creator_id: '',
    }),
  } satisfies Partial<MattermostApi>);
  const work = createInFlight();
  const log = createMemoryLogger();
  const intake = createWsIntake({
    botUserId: BOT,
    botUsername: 'mmops',
    run: async (inv) => {
      ran.push(inv);
      await opts.run?.(inv);
      return { reply: (opts.reply ?? (() => reply([paragraph(`answer to ${inv.text.replace(/@/g, '')}`)])))(inv), ref: 'REF' };
    },
    render: (r) => renderPosts(r),
    api,
    canEphemeral: () => opts.canEphemeral ?? true,
    work,
    logger: log,
    ...(opts.ledger ? { ledger: opts.ledger } : {}),
    // the intake's clock is the fixtures' (posts are created at FIXTURE_NOW): every post is
    // judged by its age, so a wall clock years past the fixtures would make them all too old
    now: opts.now ?? (() => FIXTURE_NOW),
  });
  return { intake, ran, out, replyTo, api, log, work, pendingIds };
}

describe('commandText', () => {
  it.each([
    ['whois @ann', true, 'whois @ann'],
    ['/whois @ann', true, 'whois @ann'],
    ['@mmops whois @ann', true, 'whois @ann'],
    ['@mmops whois @ann', false, 'whois @ann'],
    ['hey @mmops: status @bob', false, 'status @bob'],
    ['@MMOPS /teams', false, 'teams'],
    ['whois @ann @mmops', false, 'whois @ann'],
    ['ask @mmopsy something', false, undefined],
    ['mail me at x@mmops.example', false, undefined],
    ['just chatting', false, undefined],
    ['@channel standup in 5 minutes', false, undefined],
    ['@all @here hello', false, undefined],
  ])('%j (dm=%s) → %j', (message, direct, expected) => {
    expect(commandText(message, 'mmops', { direct })).toBe(expected);
  });
});

describe('WebSocket intake', () => {
  it('runs a DM as a command and answers in the DM', async () => {
    const s = setup();
    await s.intake.handleEvent(posted({ message: '/whois @ann' }, { channelType: 'D' }));
    expect(s.ran).toHaveLength(1);
    expect(s.ran[0]).toMatchObject({ source: 'dm', text: 'whois @ann', userId: ALICE, channelId: DM, teamId: '', rootId: '' });
    expect(s.out).toEqual([{ kind: 'post', channel_id: DM, message: 'answer to whois ann' }]);
    // the reply names the post it answers (a catch-up after a crash can see it was answered)
    expect(s.replyTo).toEqual([s.ran[0]?.postId]);
  });

  it('runs a mention in a channel and answers in its thread', async () => {
    const s = setup({ reply: () => reply([paragraph('for all')], { visibility: 'channel' }) });
    const ev = posted({ message: '@mmops teams' }, { mentions: [BOT] });
    const postId = JSON.parse(String(ev.data.post)).id as string;
    await s.intake.handleEvent(ev);
    expect(s.ran[0]).toMatchObject({ source: 'mention', text: 'teams', teamId: TEAM, rootId: postId, postId });
    expect(s.out).toEqual([{ kind: 'post', channel_id: TOWN, message: 'for all', root_id: postId }]);
  });

  it('keeps a reply inside an existing thread (root = the post\'s root)', async () => {
    const s = setup({ reply: () => reply([paragraph('x')], { visibility: 'channel' }) });
    const root = 'rootrootrootrootrootroot01';
    await s.intake.handleEvent(posted({ message: '@mmops teams', root_id: root }, { mentions: [BOT] }));
    expect(s.out[0]?.root_id).toBe(root);
  });

  it('takes a post outside a DM only when its text names the bot, whatever `mentions` says', async () => {
    const s = setup();
    // a group message on 9.1+ lists every member; @channel/@all/@here list everyone on every version
    await s.intake.handleEvent(posted({ message: 'hello everyone, lunch at noon' }, { channelType: 'G', mentions: [BOT] }));
    await s.intake.handleEvent(posted({ message: '@channel hello' }, { mentions: [BOT] }));
    expect(s.ran).toEqual([]);
    expect(s.out).toEqual([]);
    await s.intake.handleEvent(posted({ message: '@MMOPS whois @bob' }, { channelType: 'G', mentions: [BOT] }));
    expect(s.ran.map((r) => r.text)).toEqual(['whois @bob']);
  });

  it('recognises the mention by the text when `mentions` is absent', async () => {
    const s = setup();
    await s.intake.handleEvent(posted({ message: 'hi @mmops status @bob' }));
    expect(s.ran[0]?.text).toBe('status @bob');
  });

  it('answers a caller-only reply to a mention with an ephemeral post', async () => {
    const s = setup({ canEphemeral: true });
    const ev = posted({ message: '@mmops whois @ann' }, { mentions: [BOT] });
    const postId = JSON.parse(String(ev.data.post)).id as string;
    await s.intake.handleEvent(ev);
    expect(s.out).toEqual([{ kind: 'ephemeral', userId: ALICE, channel_id: TOWN, message: 'answer to whois ann', root_id: postId }]);
  });

  it('sends a caller-only reply by DM with a pointer in the thread when ephemeral posts are not allowed', async () => {
    const s = setup({ canEphemeral: false });
    const ev = posted({ message: '@mmops whois @ann' }, { mentions: [BOT] });
    const postId = JSON.parse(String(ev.data.post)).id as string;
    await s.intake.handleEvent(ev);
    expect(s.out).toEqual([
      { kind: 'post', channel_id: ALICE_DM_WITH_BOT, message: 'answer to whois ann' },
      { kind: 'post', channel_id: TOWN, message: 'I sent you the answer in a direct message.', root_id: postId },
    ]);
  });

  it('falls back to the DM when the ephemeral post fails', async () => {
    const s = setup({ canEphemeral: true, ephemeralFails: true });
    await s.intake.handleEvent(posted({ message: '@mmops whois @ann' }, { mentions: [BOT] }));
    expect(s.out.map((o) => o.channel_id)).toEqual([ALICE_DM_WITH_BOT, TOWN]);
  });

  it('never stores a sensitive reply: an ephemeral post in the thread, even if marked for the channel', async () => {
    const s = setup({ reply: () => reply([paragraph('sessions…')], { visibility: 'channel', sensitive: true }) });
    await s.intake.handleEvent(posted({ message: '@mmops user sessions @bob' }, { mentions: [BOT] }));
    expect(s.out).toEqual([{ kind: 'ephemeral', userId: ALICE, channel_id: TOWN, message: 'sessions…', root_id: expect.any(String) }]);
  });

  it('answers a sensitive command sent by DM with an ephemeral post in the DM, never a stored one', async () => {
    const s = setup({ reply: () => reply([paragraph('New password s3cret')], { sensitive: true }) });
    await s.intake.handleEvent(posted({ message: 'user password @bob --generate' }, { channelType: 'D' }));
    expect(s.out.filter((o) => o.kind === 'post')).toEqual([]);
    expect(s.out).toEqual([{ kind: 'ephemeral', userId: ALICE, channel_id: DM, message: 'New password s3cret', root_id: '' }]);
    expect(s.ran[0]?.privateReplies).toBe(true);
  });

  it('tells the dispatcher when no private answer is possible (no create_post_ephemeral)', async () => {
    const s = setup({ canEphemeral: false });
    await s.intake.handleEvent(posted({ message: 'user password @bob --generate' }, { channelType: 'D' }));
    expect(s.ran[0]?.privateReplies).toBe(false);
  });

  it('leaves only a notice without the content when the ephemeral post of a sensitive reply fails', async () => {
    const s = setup({ ephemeralFails: true, reply: () => reply([paragraph('New password s3cret')], { sensitive: true }) });
    await s.intake.handleEvent(posted({ message: 'user password @bob --generate' }, { channelType: 'D' }));
    expect(s.out).toEqual([{ kind: 'post', channel_id: DM, message: secretNotice('REF') }]);
    expect(JSON.stringify(s.out)).not.toContain('s3cret');
    expect(s.log.find('sensitive answer could not be shown privately; not sent')?.level).toBe('error');
  });

  it.each([
    ['its own posts', { user_id: BOT }],
    ['other bots (from_bot)', { user_id: OTHER_BOT, props: { from_bot: 'true' } }],
    ['webhooks and slash replies (from_webhook)', { props: { from_webhook: 'true' } }],
    ['system messages', { type: 'system_join_channel' }],
    ['edited posts', { edit_at: 1730000000500 }],
  ])('ignores %s', async (_name, over) => {
    const s = setup();
    await s.intake.handleEvent(posted({ message: 'whois @ann', ...over }, { channelType: 'D' }));
    expect(s.ran).toHaveLength(0);
    expect(s.out).toHaveLength(0);
  });

  it('ignores channel posts that do not address the bot', async () => {
    const s = setup();
    await s.intake.handleEvent(posted({ message: 'whois @ann' }));
    await s.intake.handleEvent(posted({ message: 'someone mentioned @ann' }, { mentions: ['annannannannannannannann01'] }));
    expect(s.ran).toHaveLength(0);
  });

  it('handles a post once, even when a resumed socket replays it', async () => {
    const s = setup();
    const ev = posted({ message: 'whois @ann' }, { channelType: 'D' });
    await s.intake.handleEvent(ev);
    await s.intake.handleEvent({ ...ev, seq: ev.seq + 100 });
    expect(s.ran).toHaveLength(1);
    expect(s.out).toHaveLength(1);
  });

  it('skips a malformed frame with a log line, without throwing', async () => {
    const s = setup();
    const bad = wsEventSchema.parse({ event: 'posted', seq: 1, data: { post: '{not json', channel_type: 'D' } });
    await expect(s.intake.handleEvent(bad)).resolves.toBeUndefined();
    expect(s.ran).toHaveLength(0);
    expect(s.log.entries.some((e) => e.level === 'warn' && e.msg.includes('malformed'))).toBe(true);
  });

  it('ignores other events and refuses new work during shutdown', async () => {
    const s = setup();
    await s.intake.handleEvent(wsEventSchema.parse({ event: 'typing', seq: 2, data: {} }));
    s.work.close();
    await s.intake.handleEvent(posted({ message: 'whois @ann' }, { channelType: 'D' }));
    expect(s.ran).toHaveLength(0);
  });

  it('passes attached file ids (avatar upload by DM)', async () => {
    const s = setup();
    await s.intake.handleEvent(posted({ message: 'avatar set', file_ids: ['filefilefilefilefilefile01'] } as Partial<Post> & { message: string }, { channelType: 'D' }));
    expect(s.ran[0]?.fileIds).toEqual(['filefilefilefilefilefile01']);
  });
});

describe('claims across replicas', () => {
  it('posts answers with a pending_post_id derived from the command post, so a repeat after a takeover is one post', async () => {
    const first = setup();
    const ev = posted({ message: 'status' }, { channelType: 'D' });
    await first.intake.handleEvent(ev);
    const second = setup(); // another replica answering the same post
    await second.intake.handleEvent(ev);
    expect(first.pendingIds).toHaveLength(1);
    expect(first.pendingIds[0]).toMatch(new RegExp(`^${BOT}:post\\d+:0$`));
    expect(second.pendingIds).toEqual(first.pendingIds);
  });

  /** the post ledger on claims that `decide` (another replica holds a post when false) */
  async function claimsOf(decide: (id: string) => boolean | Promise<boolean>) {
    const log = { claimed: [] as string[], done: [] as string[], retries: [] as Array<() => void> };
    const claims: PostClaims = {
      leaseMs: 60_000,
      claim: async (id) => {
        log.claimed.push(id);
        return decide(id);
      },
      takeOver: async () => true,
      done: async (id) => void log.done.push(id),
      release: async () => {},
      stillHeld: async () => true,
      forget: () => {},
      lost: (_id, retry) => void log.retries.push(retry),
    };
    // the ledger's floor is its first start: the posts here are younger
    const ledger = await createPostLedger({ store: createMemoryStateStore(), claims, now: () => 1730000000000 - 1 });
    return { claims: ledger, log };
  }

  it('claims each addressed post once, answers only what it won, and marks it done', async () => {
    const c = await claimsOf(() => c.log.claimed.length === 1); // another replica wins the second
    const { intake, ran, out } = setup({ ledger: c.claims });
    await intake.handleEvent(posted({ message: 'status' }, { channelType: 'D' }));
    await intake.handleEvent(posted({ message: 'status' }, { channelType: 'D' }));
    // not addressed: no claim at all (no store round trip for chatter)
    await intake.handleEvent(posted({ message: 'hello everyone' }));
    expect(c.log.claimed).toHaveLength(2);
    expect(ran).toHaveLength(1);
    expect(out).toHaveLength(1);
    expect(c.log.done).toEqual([c.log.claimed[0]]);
    expect(c.log.retries).toHaveLength(1); // the lost one is looked at again later
  });

  it('takes a post over when the replica holding it never answered (its claim ran out)', async () => {
    let holderAlive = true;
    const c = await claimsOf(() => !holderAlive);
    const { intake, ran, out, work, log } = setup({ ledger: c.claims });
    await intake.handleEvent(posted({ message: 'status' }, { channelType: 'D' }));
    expect(ran).toHaveLength(0);
    holderAlive = false; // SIGKILLed before answering: the claim expires
    c.log.retries[0]?.();
    await work.drain(1_000);
    expect(ran).toHaveLength(1);
    expect(out).toHaveLength(1);
    expect(log.entries.some((e) => e.level === 'warn' && /did not answer it/.test(e.msg))).toBe(true);
    // a retry that finds the post still held hands it back to the claims, which decide
    // whether to look again (src/bot/replication.ts stops once it is marked done)
    c.log.retries.length = 0;
    holderAlive = true;
    await intake.handleEvent(posted({ message: 'status' }, { channelType: 'D' }));
    c.log.retries[0]?.();
    await work.drain(1_000);
    expect(c.log.retries).toHaveLength(2);
    expect(ran).toHaveLength(1);
  });

  it('a takeover after the run window does not run the command: its sender is told to send it again', async () => {
    let holderAlive = true;
    let clock = FIXTURE_NOW;
    const c = await claimsOf(() => !holderAlive);
    const { intake, ran, out, work, log } = setup({ ledger: c.claims, now: () => clock });
    await intake.handleEvent(posted({ message: 'user deactivate @ann --yes' }, { channelType: 'D' }));
    expect(ran).toHaveLength(0);
    holderAlive = false; // its holder died; the claim runs out, but only after the window
    clock = FIXTURE_NOW + 3 * 60_000;
    c.log.retries[0]?.();
    await work.drain(1_000);
    expect(ran).toEqual([]);
    expect(out.map((o) => o.message)).toEqual([expect.stringMatching(/^Not run: you sent this 3 min ago/)]);
    expect(log.entries.some((e) => e.msg.startsWith('command not run (older than the run window)') && e.fields['how'] === 'taken over')).toBe(true);
  });

  it('a live post older than the run window (a replay) is not run; one within it runs with a note when it is late', async () => {
    let clock = FIXTURE_NOW + 5 * 60_000;
    const { intake, ran, out } = setup({ now: () => clock });
    await intake.handleEvent(posted({ message: 'user deactivate @ann --yes' }, { channelType: 'D' }));
    expect(ran).toEqual([]);
    expect(out.map((o) => o.message)).toEqual([expect.stringMatching(/^Not run: you sent this 5 min ago/)]);
    clock = FIXTURE_NOW + 30_000;
    await intake.handleEvent(posted({ message: 'status' }, { channelType: 'D' }));
    expect(ran).toHaveLength(1);
    expect(out[1]?.message).toMatch(/^_You sent this 30 s ago while I was reconnecting/);
  });

  it('on a takeover, records a post the dead replica had answered (its reply is in the channel) instead of answering twice', async () => {
    // the replicas' chaos test (test/replicas/chaos.test.ts): a replica SIGKILLed right after posting an answer; another took
    // the post over once the claim ran out (60 s by default: past the server's 30 s
    // pending_post_id window, and a folded "busy" line has another pending id) and answered again
    let holderAlive = true;
    const c = await claimsOf(() => !holderAlive);
    const ev = posted({ message: 'status' }, { channelType: 'D' });
    const source = postSchema.parse(JSON.parse(String(ev.data.post)));
    const reply = { ...source, id: 'replyreplyreplyreplyrepl01', user_id: BOT, message: 'busy', props: { [REPLY_TO_PROP]: 'someotherpostsomeotherpo1', mmops_covers: ['someotherpostsomeotherpo1', source.id] } };
    const { intake, ran, out, work, log } = setup({ ledger: c.claims, channelPosts: () => [source, reply] });
    await intake.handleEvent(ev);
    holderAlive = false;
    c.log.retries[0]?.();
    await work.drain(1_000);
    expect(ran).toHaveLength(0);
    expect(out).toHaveLength(0);
    expect(c.log.done).toEqual([source.id]);
    expect(log.entries.some((e) => /answered this post but did not record it/.test(e.msg))).toBe(true);
  });

  it('does not answer a post another replica took over while this one was cut off from the store past its claim', async () => {
    // the replicas' chaos test (test/replicas/chaos.test.ts): a replica starved of CPU (or of Redis) past its claim kept
    // working and answered, while the replica that took the post over answered too
    const shared = createMemoryStateStore();
    let cutOff = false;
    const aStore: StateStore = {
      ...shared,
      claim: (k, ms, v) => shared.claim(k, ms, v),
      get: (k) => shared.get(k),
      set: (k, v, ms) => shared.set(k, v, ms),
      delete: (k) => shared.delete(k),
      swap: (k, e, v, o) => shared.swap(k, e, v, o),
      deleteIf: (k, e) => shared.deleteIf(k, e),
      renew: (k, v, ms) => (cutOff ? Promise.reject(new Error('Redis did not answer within 1000 ms')) : shared.renew(k, v, ms)),
      acquireLease: (n, o, ms) => shared.acquireLease(n, o, ms),
      releaseLease: (n, o) => shared.releaseLease(n, o),
      close: async () => {},
    };
    const replica = (state: StateStore, id: string) =>
      createReplication({ config: { catchupMaxAgeMs: 86_400_000 } as Config, logger: createMemoryLogger(), deps: { state, sharedState: true, postClaimMs: 200, replicaId: id } });
    const ra = replica(aStore, 'replica-a');
    const rb = replica(shared, 'replica-b');
    const T = 1730000000000;
    const la = await createPostLedger({ store: aStore, claims: ra.postClaims, now: () => T - 1 });
    const lb = await createPostLedger({ store: shared, claims: rb.postClaims, now: () => T - 1 });
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const a = setup({ ledger: la, run: () => gate });
    const b = setup({ ledger: lb });
    const ev = posted({ message: 'status', create_at: T }, { channelType: 'D' });
    const handlingA = a.intake.handleEvent(ev);
    await new Promise((r) => setTimeout(r, 20));
    cutOff = true; // A's renewals fail from here; its claim runs out
    await new Promise((r) => setTimeout(r, 400));
    await b.intake.handleEvent(ev); // B finds the claim free and answers
    release();
    await handlingA;
    expect(b.out).toHaveLength(1);
    expect(a.out).toEqual([]);
    expect(a.log.entries.some((e) => /took this post over while it ran here/.test(e.msg))).toBe(true);
    expect(await shared.get(`post:${postSchema.parse(JSON.parse(String(ev.data.post))).id}`)).toBe('done');
    await ra.stop();
    await rb.stop();
  });

  it('does not answer, and says so in the log, when the claim cannot be made; a replay later is handled', async () => {
    let down = true;
    const c = await claimsOf(() => {
      if (down) throw new Error('Redis is not connected');
      return true;
    });
    const { intake, ran, out, log } = setup({ ledger: c.claims });
    const ev = posted({ message: 'status' }, { channelType: 'D' });
    await intake.handleEvent(ev);
    expect(ran).toHaveLength(0);
    expect(out).toHaveLength(0);
    expect(log.entries.some((e) => e.level === 'warn' && /cannot be reached to claim/.test(e.msg))).toBe(true);
    down = false;
    await intake.handleEvent(ev); // e.g. the catch-up delivering it again
    expect(ran).toHaveLength(1);
  });
});

describe('busy answers', () => {
  it('posts "busy" answers a few at a time, one per waiting thread, and never drops one silently', async () => {
    const out: Posted[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const releases: Array<() => void> = [];
    const api = stubApi({
      createPost: async (p) => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise<void>((r) => releases.push(r));
        inFlight -= 1;
        out.push({ kind: 'post', ...p });
        return { id: 'x', create_at: 0, update_at: 0, edit_at: 0, delete_at: 0, user_id: BOT, channel_id: p.channel_id, root_id: p.root_id ?? '', message: p.message, type: '', props: {}, file_ids: [] };
      },
      createEphemeralPost: async (userId, p) => {
        out.push({ kind: 'ephemeral', userId, ...p });
        return { id: 'e', create_at: 0, update_at: 0, edit_at: 0, delete_at: 0, user_id: BOT, channel_id: p.channel_id, root_id: p.root_id ?? '', message: p.message, type: 'system_ephemeral', props: {}, file_ids: [] };
      },
    } satisfies Partial<MattermostApi>);
    const log = createMemoryLogger();
    const intake = createWsIntake({
      botUserId: BOT,
      botUsername: 'mmops',
      run: async () => ({ reply: reply([paragraph('busy, try again in a moment')]), ref: 'BUSY', outcome: 'busy' }),
      render: (r) => renderPosts(r),
      api,
      canEphemeral: () => true,
      work: createInFlight(),
      logger: log,
      busyConcurrency: 1,
      busyMaxPending: 2,
      now: () => FIXTURE_NOW,
    });
    // five refused DMs in one DM, then one in each of three threads of a channel; each
    // handling settles once its "busy" line is out
    const handled: Array<Promise<void>> = [];
    const settle = () => new Promise((r) => setImmediate(r));
    for (let i = 0; i < 5; i++) {
      handled.push(intake.handleEvent(posted({ message: `whois @ann ${i}` }, { channelType: 'D' })));
      await settle();
    }
    for (let i = 0; i < 3; i++) {
      handled.push(intake.handleEvent(posted({ message: '@mmops whois @ann', root_id: `root${i}`.padEnd(26, '0') }, { mentions: [BOT] })));
      await settle();
    }
    // the first DM answer is posting; the second waits and the DM's three others fold into
    // it; the first thread waits too; the lane (2 waiting) is full for the last two threads
    const drain = async () => {
      while (releases.length > 0 || inFlight > 0) {
        releases.shift()?.();
        await new Promise((r) => setImmediate(r));
      }
    };
    await drain();
    await Promise.all(handled);
    expect(maxInFlight).toBe(1);
    expect(out.filter((o) => o.channel_id === DM).map((o) => o.message)).toHaveLength(2);
    expect(out.filter((o) => o.kind === 'ephemeral')).toHaveLength(1);
    expect(log.entries.filter((e) => e.msg === 'busy answer folded into the one waiting for this thread')).toHaveLength(3);
    const dropped = log.entries.filter((e) => e.msg === 'busy answer not posted: too many threads are waiting for one');
    expect(dropped).toHaveLength(2);
    expect(dropped[0]?.level).toBe('warn');
  });
});

/** the replicas' claims (the one claim model) on a store of this process's own */
const claimsOn = (store: StateStore) =>
  createReplication({ config: { catchupMaxAgeMs: 86_400_000 } as Config, logger: createMemoryLogger(), deps: { state: store, sharedState: false } }).postClaims;

describe('WebSocket intake with the post ledger (exactly once, late commands, shutdown)', () => {
  const T0 = 1730000000000;
  const channel = (type: 'D' | 'O') => ({
    id: type === 'D' ? DM : TOWN,
    team_id: type === 'D' ? '' : TEAM,
    create_at: 0,
    update_at: 0,
    delete_at: 0,
    type,
    display_name: '',
    name: 'x',
    header: '',
    purpose: '',
    creator_id: '',
  });
  const postOf = (ev: WsEvent): Post => postSchema.parse(JSON.parse(String(ev.data.post)));

  async function withLedger(nowMs: number, extra: Parameters<typeof setup>[0] = {}) {
    const store = createMemoryStateStore({ now: () => nowMs });
    const ledger = await createPostLedger({ store, now: () => nowMs, claims: claimsOn(store) });
    // the ledger's floor is its first start: make the posts of these tests younger than it
    return { store, ledger, ...setup({ ledger, now: () => nowMs, ...extra }) };
  }

  it('answers a post once when the WebSocket and the catch-up both deliver it, and records it done in the store', async () => {
    const s = await withLedger(T0 - 1);
    const ev = posted({ message: 'whois @ann', create_at: T0 }, { channelType: 'D' });
    await s.intake.handleEvent(ev);
    expect(await s.intake.handleMissed(postOf(ev), channel('D'))).toBe('done');
    await s.intake.handleEvent(ev);
    expect(s.ran).toHaveLength(1);
    expect(s.out).toHaveLength(1);
    expect(await s.store.get(`post:${postOf(ev).id}`)).toBe('done');
  });

  it('runs a missed command inside the run window with a note, and answers an older one with one "not run" line', async () => {
    const now = T0 + 10 * 60_000;
    const s = await withLedger(T0 - 1, { now: () => now });
    const young = postOf(posted({ message: 'whois @ann', create_at: now - 60_000 }, { channelType: 'D' }));
    const old = postOf(posted({ message: 'whois @bob', create_at: now - 7 * 60_000 }, { channelType: 'D' }));
    expect(await s.intake.handleMissed(young, channel('D'))).toBe('run');
    expect(await s.intake.handleMissed(old, channel('D'))).toBe('run');
    expect(s.ran.map((i) => i.text)).toEqual(['whois @ann']);
    expect(s.out.map((o) => o.message)).toEqual([
      '_You sent this 1 min ago while I was reconnecting; here is the answer._\n\nanswer to whois ann',
      'Not run: you sent this 7 min ago while I was offline; send it again if you still need it.',
    ]);
    expect(s.replyTo).toEqual([young.id, old.id]);
  });

  it('does not run a post dated ahead of its clock (its age is unknown), however it arrives, and never runs it later either', async () => {
    // POST /posts keeps a create_at a system admin gives (server/channels/api4/post.go createPost);
    // a server clock that ran ahead dates posts the same way. Clamped to age 0, such a post
    // ran at once, was read again by every catch-up while "in the future", and ran again
    // once its done mark (a day) had run out.
    let clock = T0;
    const store = createMemoryStateStore({ now: () => clock });
    const ledger = await createPostLedger({ store, now: () => clock, claims: claimsOn(store) });
    const s = setup({ ledger, now: () => clock });
    const year = 365 * 86_400_000;
    const dm = posted({ message: 'user deactivate @grace --yes', create_at: T0 + year }, { channelType: 'D' });
    await s.intake.handleEvent(dm);
    expect(await s.intake.handleMissed(postOf(posted({ message: 'user deactivate @heidi --yes', create_at: T0 + 3_600_000 }, { channelType: 'D' })), channel('D'))).toBe('run');
    expect(s.ran).toEqual([]);
    expect(s.out.map((o) => o.message)).toEqual([
      'Not run: this message is dated 8760 h ahead of my clock (the server\u2019s clock and mine disagree), so I cannot tell when it was sent; send it again.',
      'Not run: this message is dated 60 min ahead of my clock (the server\u2019s clock and mine disagree), so I cannot tell when it was sent; send it again.',
    ]);
    // a year later, the catch-up reads it again (dated "now"): it was answered, so it does not run
    clock = T0 + year + 1_000;
    expect(await s.intake.handleMissed(postOf(dm), channel('D'))).toBe('done');
    expect(s.ran).toEqual([]);
    // a little skew is only skew: a post dated a few seconds ahead runs
    await s.intake.handleEvent(posted({ message: 'whois @ann', create_at: clock + 5_000 }, { channelType: 'D' }));
    expect(s.ran.map((i) => i.text)).toEqual(['whois @ann']);
  });

  it('does not run a late copy of a post its sender deleted or edited since (a resumed socket\u2019s replay), as the REST catch-up would not', async () => {
    // a resumed socket replays the original `posted` event, minutes late (docs/mattermost-notes.md §3.6):
    // alice deleted her mistaken DM meanwhile, and edited another; GET /channels/{id}/posts?since=
    // lists both as they are now (deleted ones too, GetPostsSince)
    const clock = T0 + 60_000;
    const gone = posted({ message: 'user deactivate @grace --yes', create_at: T0 }, { channelType: 'D' });
    const edited = posted({ message: 'user deactivate @heidi --yes', create_at: T0 + 1 }, { channelType: 'D' });
    const kept = posted({ message: 'whois @ann', create_at: T0 + 2 }, { channelType: 'D' });
    const now = (ev: WsEvent, change: Partial<Post>): Post => ({ ...postOf(ev), update_at: clock - 5, ...change });
    const store = createMemoryStateStore({ now: () => clock });
    const ledger = await createPostLedger({ store, now: () => T0 - 1, claims: claimsOn(store) });
    const s = setup({ ledger, now: () => clock, channelPosts: () => [now(gone, { delete_at: clock - 5, message: '' }), now(edited, { edit_at: clock - 5, message: 'whois @heidi' })] });
    await s.intake.handleEvent(gone);
    await s.intake.handleEvent(edited);
    await s.intake.handleEvent(kept);
    expect(s.ran.map((i) => i.text)).toEqual(['whois @ann']);
    // taken back, not lost: answered in the ledger (nothing to tell in a deleted thread)
    expect(await store.get(`post:${postOf(gone).id}`)).toBe('done');
    expect(await store.get(`post:${postOf(edited).id}`)).toBe('done');
    expect(s.log.entries.filter((e) => e.msg.startsWith('command not run: its sender')).map((e) => e.fields['changed'])).toEqual(['deleted', 'edited']);
  });

  it('never replays a post from before its first start (no stored mark)', async () => {
    const s = await withLedger(T0 + 1);
    const before = postOf(posted({ message: 'whois @ann', create_at: T0 }, { channelType: 'D' }));
    expect(await s.intake.handleMissed(before, channel('D'))).toBe('before_floor');
    expect(s.ran).toEqual([]);
    expect(s.out).toEqual([]);
  });

  it('leaves posts that arrive during shutdown unclaimed and holds the mark below them', async () => {
    const s = await withLedger(T0 - 1);
    const first = posted({ message: 'whois @ann', create_at: T0 }, { channelType: 'D' });
    await s.intake.handleEvent(first);
    await s.ledger.flush();
    expect(s.ledger.mark()).toBe(T0);
    s.work.close();
    const late = posted({ message: 'whois @bob', create_at: T0 + 5 }, { channelType: 'D' });
    await s.intake.handleEvent(late);
    const after = posted({ message: 'whois @cy', create_at: T0 + 9 }, { channelType: 'D' });
    // a post handled elsewhere later must not carry the mark past the held one
    const begun = await s.ledger.begin(postOf(after));
    expect(begun.outcome).toBe('run');
    if (begun.outcome === 'run') await begun.claim.answered();
    await s.ledger.flush();
    expect(s.ran).toHaveLength(1);
    expect(await s.store.get(`post:${postOf(late).id}`)).toBeUndefined();
    expect(s.ledger.mark()).toBe(T0 + 4);
    expect(s.ledger.since()).toBeLessThanOrEqual(T0 + 4);
  });

  it('answers a command still running after the grace period with one "send it again" line, and drops its late result', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const s = await withLedger(T0 - 1, { run: () => gate });
    const ev = posted({ message: 'whois @ann', create_at: T0 }, { channelType: 'D' });
    const handling = s.intake.handleEvent(ev);
    await new Promise((r) => setTimeout(r, 5));
    expect(await s.intake.abandon()).toBe(1);
    release();
    await handling;
    expect(s.out.map((o) => o.message)).toEqual(['I am restarting and could not finish this; please send it again in a moment.']);
    expect(s.replyTo).toEqual([postOf(ev).id]);
    expect(await s.store.get(`post:${postOf(ev).id}`)).toBe('done');
  });
});


describe('answers that cannot be delivered at once (found by the chaos test)', () => {
  const T0 = 1730000000000;
  const postOf = (ev: WsEvent): Post => postSchema.parse(JSON.parse(String(ev.data.post)));
  const stored = (p: { channel_id: string; message: string; root_id?: string }): Post => ({
    id: 'x', create_at: 0, update_at: 0, edit_at: 0, delete_at: 0, user_id: BOT, channel_id: p.channel_id, root_id: p.root_id ?? '', message: p.message, type: '', props: {}, file_ids: [],
  });
  const rateLimited = () => new ApiError(429, '', 'limit exceeded', 'r', 'POST /api/v4/posts', 1);

  async function harness(createPost: MattermostApi['createPost'], extra: { run?: () => Promise<WsRun> } = {}) {
    const store = createMemoryStateStore({ now: () => T0 });
    const ledger = await createPostLedger({ store, now: () => T0, claims: claimsOn(store), exclusive: true });
    const log = createMemoryLogger();
    const undelivered: Post[] = [];
    const intake = createWsIntake({
      botUserId: BOT,
      botUsername: 'mmops',
      run: extra.run ?? (async (inv) => ({ reply: reply([paragraph(`answer to ${inv.text.replace(/@/g, '')}`)]), ref: 'REF' })),
      render: (r) => renderPosts(r),
      api: stubApi({ createPost } satisfies Partial<MattermostApi>),
      canEphemeral: () => true,
      work: createInFlight(),
      logger: log,
      ledger,
      now: () => T0 + 10,
      deliveryRetryMs: [1, 1, 1],
      busyConcurrency: 1,
      onUndelivered: (p) => undelivered.push(p),
    });
    return { store, ledger, intake, log, undelivered };
  }

  it('tries an answer the server refused (429 past the client\'s own retries) again, and posts it once', async () => {
    const sent: Array<{ message: string; pending?: string }> = [];
    let refusals = 2;
    const h = await harness(async (p) => {
      if (refusals-- > 0) throw rateLimited();
      sent.push({ message: p.message, ...(p.pending_post_id ? { pending: p.pending_post_id } : {}) });
      return stored(p);
    });
    const ev = posted({ message: 'whois @ann', create_at: T0 + 1 }, { channelType: 'D' });
    await h.intake.handleEvent(ev);
    expect(sent.map((x) => x.message)).toEqual(['answer to whois ann']);
    expect(await h.store.get(`post:${postOf(ev).id}`)).toBe('done');
  });

  it('gives a post back (claim released, mark held below it, caller told) when its answer is still refused after the retries', async () => {
    // before: the post was marked done and its answer was lost
    const h = await harness(async () => {
      throw rateLimited();
    });
    const ev = posted({ message: 'whois @ann', create_at: T0 + 1 }, { channelType: 'D' });
    await h.intake.handleEvent(ev);
    expect(await h.store.get(`post:${postOf(ev).id}`)).toBeUndefined();
    expect(h.undelivered.map((p) => p.id)).toEqual([postOf(ev).id]);
    await h.ledger.flush();
    expect(h.ledger.mark()).toBeLessThan(T0 + 1);
    expect(h.log.entries.some((e) => e.level === 'error' && e.msg.includes('handled again by a later catch-up'))).toBe(true);
  });

  it('one "busy" line for several DMs names every post it answers, and none is marked done before it is posted', async () => {
    // before: the folded posts had no reply naming them (counted lost), and were marked
    // done before the line was posted (a kill in between lost them)
    const sent: Array<{ message: string; props: Record<string, unknown> | undefined }> = [];
    let open: () => void = () => {};
    const gate = new Promise<void>((r) => {
      open = r;
    });
    const h = await harness(
      async (p) => {
        await gate;
        sent.push({ message: p.message, props: p.props });
        return stored(p);
      },
      { run: async () => ({ reply: reply([paragraph('busy, try again in a moment')]), ref: 'BUSY', outcome: 'busy' }) },
    );
    const evs = [0, 1, 2].map((i) => posted({ message: `whois @ann ${i}`, create_at: T0 + 1 + i }, { channelType: 'D' }));
    const handled = evs.map((ev) => h.intake.handleEvent(ev));
    await new Promise((r) => setTimeout(r, 5));
    for (const ev of evs) expect(await h.store.get(`post:${postOf(ev).id}`)).not.toBe('done');
    open();
    await Promise.all(handled);
    // the first line waited for the gate alone; the two after it folded into one
    const ids = evs.map((ev) => postOf(ev).id);
    expect(sent.map((x) => answeredBy(x.props ?? {}))).toEqual([[ids[0]], [ids[1], ids[2]]]);
    for (const id of ids) expect(await h.store.get(`post:${id}`)).toBe('done');
  });
});
