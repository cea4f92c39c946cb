/** The REST catch-up after a WebSocket gap (docs/mattermost-notes.md §5.11). */
import { z } from 'zod';
import { channelSchema, postSchema } from '../../mattermost/models.js';
import { ensure, pass, skip, type Check } from '../types.js';
import { expectJson } from './rest.js';

export const catchupChecks: Check[] = [
  {
    id: 'rest.catchup.channels',
    what: "GET /users/{id}/channels lists the user's channels of every team (and DMs/GMs with team_id \"\")",
    dependsOn: 'catch-up after a WebSocket gap (re-reading the channels the bot is in)',
    notes: '§5.11',
    kind: 'read',
    async run(ctx) {
      const list = expectJson(await ctx.admin.get(`/users/${ctx.callerUser.id}/channels`), z.array(channelSchema), 'GET /users/{id}/channels');
      if (ctx.channel) ensure(list.some((c) => c.id === ctx.channel?.id), 'a channel of the user is missing');
      ensure(list.every((c) => (c.type === 'D' || c.type === 'G') === (c.team_id === '')), 'team_id is not "" exactly for DMs/GMs');
      return pass('200; channels parsed; team_id "" only for DMs/GMs');
    },
  },
  {
    id: 'rest.catchup.posts-since',
    what: 'GET /channels/{id}/posts?since=ms answers {order, posts} with only posts updated after since',
    dependsOn: 'catch-up after a WebSocket gap (missed DMs and mentions)',
    notes: '§5.11',
    kind: 'read',
    async run(ctx) {
      if (!ctx.channel) return skip('no shared channel');
      const since = Date.now() - 7 * 86_400_000;
      const body = expectJson(
        await ctx.admin.get(`/channels/${ctx.channel.id}/posts`, { since }),
        z.object({ order: z.array(z.string()), posts: z.record(z.string(), postSchema) }),
        'GET /channels/{id}/posts?since',
      );
      for (const id of body.order) ensure((body.posts[id]?.update_at ?? 0) > since, 'a post in order is older than since');
      return pass('200; order and posts parsed; all newer than since');
    },
  },
];
