/**
 * The REST catch-up on a stubbed API: which missed posts it hands to the intake, and
 * which it only records as answered (found by the chaos test, test/chaos/chaos.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { createReplication } from '../../src/bot/replication.js';
import { ApiError } from '../../src/mattermost/errors.js';
import type { Config } from '../../src/config.js';
import type { Channel, Post } from '../../src/mattermost/models.js';
import { COVERS_PROP, createCatchUp, REPLY_TO_PROP } from '../../src/services/catch-up.js';
import { createPostLedger } from '../../src/services/post-ledger.js';
import { createMemoryStateStore } from '../../src/state/state-store.js';
import { createMemoryLogger } from '../helpers/logger.js';

const BOT = 'botbotbotbotbotbotbotbot01';
const ALICE = 'alicealicealicealicealic01';
const DM = 'dmdmdmdmdmdmdmdmdmdmdmdm01';
const T0 = 1730000000000;

const post = (id: string, at: number, user: string, props: Record<string, unknown> = {}): Post => ({
  id: id.padEnd(26, '0'),
  create_at: at,
  update_at: at,
  edit_at: 0,
  delete_at: 0,
  user_id: user,
  channel_id: DM,
  root_id: '',
  message: user === BOT ? "I'm busy with your earlier commands: try again in a moment." : 'status @bob',
  type: '',
  props,
  file_ids: [],
});
const dm: Channel = { id: DM, team_id: '', create_at: 0, update_at: 0, delete_at: 0, type: 'D', display_name: '', name: `${ALICE}__${BOT}`, header: '', purpose: '', creator_id: '', last_post_at: T0 + 100 };

describe('catch-up', () => {
  it('records as answered every post a folded "busy" line names (mmops_covers), and hands in only the others', async () => {
    const store = createMemoryStateStore({ now: () => T0 });
    const claims = createReplication({ config: { catchupMaxAgeMs: 86_400_000 } as Config, logger: createMemoryLogger(), deps: { state: store, sharedState: false } }).postClaims;
    const ledger = await createPostLedger({ store, now: () => T0, claims, exclusive: true });
    const a = post('a', T0 + 1, ALICE);
    const b = post('b', T0 + 2, ALICE);
    const c = post('c', T0 + 3, ALICE);
    // one busy line answered a and b (the process died before recording it); c is unanswered
    const busy = post('r', T0 + 4, BOT, { [REPLY_TO_PROP]: a.id, [COVERS_PROP]: [a.id, b.id] });
    const all = [a, b, c, busy];
    const handed: string[] = [];
    const catchUp = createCatchUp({
      api: {
        getChannelsForUser: async () => [dm],
        getTeamsForUser: async () => [],
        getChannelsForTeamForUser: async () => [],
        getPostsSince: async () => ({ order: all.map((p) => p.id), posts: Object.fromEntries(all.map((p) => [p.id, p])), next_post_id: '', prev_post_id: '' }),
        getPostsPage: async () => ({ order: [], posts: {}, next_post_id: '', prev_post_id: '' }),
      },
      ledger,
      botUserId: BOT,
      handle: async (p) => {
        handed.push(p.id);
        return 'run';
      },
      logger: createMemoryLogger(),
      now: () => T0 + 200,
      maxAgeMs: 86_400_000,
      recheckAfterMs: 60_000,
    });
    const report = await catchUp.run('test');
    catchUp.stop();
    expect(handed).toEqual([c.id]);
    expect(await store.get(`post:${a.id}`)).toBe('done');
    expect(await store.get(`post:${b.id}`)).toBe('done');
    expect(report.posts).toBe(1);
  });

  it('with the version unknown, one router 404 of GET /users/{id}/channels switches to team by team for good, logged once', async () => {
    const store = createMemoryStateStore({ now: () => T0 });
    const claims = createReplication({ config: { catchupMaxAgeMs: 86_400_000 } as Config, logger: createMemoryLogger(), deps: { state: store, sharedState: false } }).postClaims;
    const ledger = await createPostLedger({ store, now: () => T0, claims, exclusive: true });
    const a = post('a', T0 + 1, ALICE);
    const calls: string[] = [];
    const team = (id: string) => ({ id, name: id, display_name: id, type: 'O', delete_at: 0, create_at: 0, update_at: 0, description: '', email: '', allowed_domains: '', invite_id: '', allow_open_invite: true, scheme_id: null, group_constrained: null }) as never;
    const log = createMemoryLogger();
    const handed: string[] = [];
    const catchUp = createCatchUp({
      api: {
        getChannelsForUser: async () => {
          calls.push('user');
          throw new ApiError(404, 'api.context.404.app_error', 'Sorry, we could not find the page.', 'r1', 'GET /users/{user_id}/channels');
        },
        getTeamsForUser: async () => [team('t1'), team('t2')],
        // the DM comes with every team: listed twice, kept once
        getChannelsForTeamForUser: async (_u, t) => {
          calls.push(t);
          return [dm];
        },
        getPostsSince: async () => ({ order: [a.id], posts: { [a.id]: a }, next_post_id: '', prev_post_id: '' }),
        getPostsPage: async () => ({ order: [], posts: {}, next_post_id: '', prev_post_id: '' }),
      },
      serverVersion: () => '',
      ledger,
      botUserId: BOT,
      // as the intake does: claim, answer, record
      handle: async (p) => {
        const begun = await ledger.begin(p);
        if (begun.outcome !== 'run') return begun.outcome;
        handed.push(p.id);
        await begun.claim.answered();
        return 'run';
      },
      logger: log,
      now: () => T0 + 200,
      maxAgeMs: 86_400_000,
      recheckAfterMs: 60_000,
    });
    const first = await catchUp.run('start-up');
    const second = await catchUp.run('the WebSocket did not resume');
    catchUp.stop();
    // the missing endpoint was asked once; each pass reads each team once; the DM is read once per pass
    expect(calls).toEqual(['user', 't1', 't2', 't1', 't2']);
    expect(first.channels).toBe(1);
    expect(second.channels).toBe(1);
    expect(handed).toEqual([a.id]);
    const lines = log.entries.filter((l) => l.msg.startsWith("catch-up reads the bot's channels team by team"));
    expect(lines).toHaveLength(1);
    expect(lines[0]?.msg).toContain('answered 404');
  });

  it('a 404 with another id is not taken for a missing endpoint: the pass fails and nothing switches', async () => {
    const store = createMemoryStateStore({ now: () => T0 });
    const claims = createReplication({ config: { catchupMaxAgeMs: 86_400_000 } as Config, logger: createMemoryLogger(), deps: { state: store, sharedState: false } }).postClaims;
    const ledger = await createPostLedger({ store, now: () => T0, claims, exclusive: true });
    let teamCalls = 0;
    const catchUp = createCatchUp({
      api: {
        getChannelsForUser: async () => {
          throw new ApiError(404, 'app.user.missing_account.const', 'Unable to find the user.', 'r1', 'GET /users/{user_id}/channels');
        },
        getTeamsForUser: async () => {
          teamCalls++;
          return [];
        },
        getChannelsForTeamForUser: async () => [],
        getPostsSince: async () => ({ order: [], posts: {}, next_post_id: '', prev_post_id: '' }),
        getPostsPage: async () => ({ order: [], posts: {}, next_post_id: '', prev_post_id: '' }),
      },
      ledger,
      botUserId: BOT,
      handle: async () => 'run',
      logger: createMemoryLogger(),
      now: () => T0 + 200,
      maxAgeMs: 86_400_000,
      recheckAfterMs: 60_000,
    });
    await expect(catchUp.run('start-up')).rejects.toThrow();
    catchUp.stop();
    expect(teamCalls).toBe(0);
  });
});
