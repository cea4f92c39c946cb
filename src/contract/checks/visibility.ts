/**
 * Who the caller may see: the bot's resolver (src/core/permissions/visibility.ts, reading
 * teams, channels and members with the bot's token) against the server's answer to the
 * caller's own token for the same people (GET /users/{id} one by one, POST /users/ids in a
 * batch). Matters for restricted callers (guests); for others both must say "everyone".
 */
import { z } from 'zod';
import { createPermissionService } from '../../core/permissions/service.js';
import { createVisibilityService } from '../../core/permissions/visibility.js';
import { userSchema } from '../../mattermost/models.js';
import { statusLine } from '../http.js';
import { ensure, fail, pass, type Check } from '../types.js';

/** people probed at most (each costs one GET with the caller's token) */
const MAX_PROBED = 40;

export const visibilityChecks: Check[] = [
  {
    id: 'perm.visibility',
    what: "the bot's visibility resolver agrees with what the server shows the caller's own token (GET /users/{id}, POST /users/ids) for up to 40 people",
    dependsOn: 'every command that names or lists people (whois, user, members…): a guest must not learn of people the server hides from them',
    notes: '§2.3',
    kind: 'read',
    async run(ctx) {
      const listed = z.array(userSchema).safeParse((await ctx.admin.get('/users', { page: 0, per_page: 200 })).json);
      ensure(listed.success, 'GET /users with the bot token did not list users');
      const people = listed.data.filter((u) => u.id !== ctx.callerUser.id).slice(0, MAX_PROBED);
      ensure(people.length > 0, 'nobody to probe');
      const permissions = createPermissionService({ api: ctx.adminApi, selfUserId: ctx.adminUser.id, ttlMs: 0 });
      const viewer = await createVisibilityService({ api: ctx.adminApi, permissions, ttlMs: 0 }).viewer(ctx.callerUser.id);
      const batch = await ctx.user.post('/users/ids', people.map((u) => u.id));
      const batchIds = z.array(z.object({ id: z.string() })).safeParse(batch.json);
      ensure(batch.status === 200 && batchIds.success, `POST /users/ids as the caller: ${statusLine(batch)}`);
      const inBatch = new Set(batchIds.data.map((u) => u.id));
      const disagreements: string[] = [];
      let visible = 0;
      for (const [i, u] of people.entries()) {
        const one = await ctx.user.get(`/users/${u.id}`);
        if (one.status !== 200 && one.status !== 403 && one.status !== 404) {
          disagreements.push(`person ${i + 1}: GET /users/{id} answered ${statusLine(one)}`);
          continue;
        }
        const server = one.status === 200;
        const bot = viewer.sees(u.id);
        if (server) visible += 1;
        // labels, not names or ids: the detail must compare between runs and servers
        const who = `person ${i + 1}${u.is_bot ? ' (bot)' : ''}${u.delete_at > 0 ? ' (deactivated)' : ''}`;
        if (bot !== server) disagreements.push(`${who}: bot ${bot ? 'shows' : 'hides'}, GET /users/{id} ${statusLine(one)}`);
        if (inBatch.has(u.id) !== server) disagreements.push(`${who}: POST /users/ids ${inBatch.has(u.id) ? 'lists' : 'omits'} the person, GET /users/{id} ${statusLine(one)}`);
      }
      if (disagreements.length > 0) return fail(disagreements.slice(0, 5).join('; ') + (disagreements.length > 5 ? ` (+${disagreements.length - 5} more)` : ''));
      return pass(`${viewer.everyone ? 'caller sees everyone' : 'restricted caller'}: ${people.length} people agree (${visible} visible, ${people.length - visible} hidden)`);
    },
  },
];
