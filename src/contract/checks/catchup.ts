/** The REST catch-up after a WebSocket gap (docs/mattermost-notes.md §5.11). */
import { z } from 'zod';
import { channelSchema, postSchema } from '../../mattermost/models.js';
import { ensure, pass, skip, type Check } from '../types.js';
import { atLeast, parseServerVersion } from '../../../src/mattermost/compat.js';
import { errorId, statusLine } from '../http.js';
import { expectJson } from './rest.js';

export const catchupChecks: Check[] = [
  {
    id: 'rest.catchup.channels',
    what: "the catch-up's channel listing: GET /users/{id}/channels (6.1+) lists the user's channels of every team and DMs/GMs; older servers answer it 404 and GET /users/{id}/teams/{team_id}/channels lists the team's channels plus DMs/GMs",
    dependsOn: 'catch-up after a WebSocket gap or a restart (re-reading the channels the bot is in)',
    notes: '§5.11',
    kind: 'read',
    async run(ctx) {
      const newer = await ctx.admin.get(`/users/${ctx.callerUser.id}/channels`);
      const v = parseServerVersion(ctx.version);
      const expectRoute = !v || atLeast(v, 6, 1);
      if (newer.status === 404 && !expectRoute) {
        // what the bot does there (src/services/catch-up.ts): team by team
        ensure(errorId(newer) === 'api.context.404.app_error', `GET /users/{id}/channels → ${statusLine(newer)}, not the router's 404`);
        if (!ctx.team) return skip('GET /users/{id}/channels 404 as expected before 6.1; no shared team to read team by team');
        const list = expectJson(await ctx.admin.get(`/users/${ctx.callerUser.id}/teams/${ctx.team.id}/channels`), z.array(channelSchema), 'GET /users/{id}/teams/{team_id}/channels');
        if (ctx.channel) ensure(list.some((c) => c.id === ctx.channel?.id), 'a channel of the user is missing');
        ensure(list.every((c) => c.team_id === '' || c.team_id === ctx.team?.id), 'a channel of another team is listed');
        ensure(list.every((c) => (c.type === 'D' || c.type === 'G') === (c.team_id === '')), 'team_id is not "" exactly for DMs/GMs');
        return pass('before 6.1: GET /users/{id}/channels 404; team by team: channels parsed, DMs/GMs included with team_id ""');
      }
      const list = expectJson(newer, z.array(channelSchema), 'GET /users/{id}/channels');
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
