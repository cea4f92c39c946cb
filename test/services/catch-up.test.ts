/**
 * The REST catch-up on a stubbed API: which missed posts it hands to the intake, and
 * which it only records as answered (found by the chaos test, test/chaos/chaos.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { createReplication } from '../../src/bot/replication.js';
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
});
