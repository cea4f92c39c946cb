/**
 * Reversible writes the bot makes on behalf of admins: adding and removing a team member
 * (/team add, /team remove) and setting and clearing a preference (/prefs).
 */
import { z } from 'zod';
import { preferenceSchema, teamMemberWithErrorSchema } from '../../mattermost/models.js';
import { mustSucceed, statusLine } from '../http.js';
import { SCRATCH_PREF_CATEGORY } from '../runner.js';
import { ensure, pass, skip, type Check } from '../types.js';
import { expectJson, STATUS_OK } from './rest.js';

export const scratchChecks: Check[] = [
  {
    id: 'scratch.team-member',
    what: 'POST /teams/{id}/members/batch?graceful=true adds (rows {user_id, member, error}); DELETE removes ({status:OK}), a former member too',
    dependsOn: '/team add and /team remove (src/mattermost/rest-api.ts addTeamMembers)',
    notes: '§5.5',
    kind: 'scratch',
    async run(ctx) {
      const team = ctx.scratch!.team;
      const caller = ctx.callerUser.id;
      const before = await ctx.admin.get(`/teams/${team.id}/members/${caller}`);
      const isMember = before.status === 200 && z.object({ delete_at: z.number() }).safeParse(before.json).data?.delete_at === 0;
      if (isMember) return skip('the --user-token account already belongs to the scratch team; this check needs one that does not');
      ctx.onCleanup('remove the user from the scratch team', async () => {
        const now = await ctx.admin.get(`/teams/${team.id}/members/${caller}`);
        if (now.status === 200 && z.object({ delete_at: z.number() }).safeParse(now.json).data?.delete_at === 0) {
          mustSucceed(await ctx.admin.del(`/teams/${team.id}/members/${caller}`), 'DELETE team member');
        }
      });
      const rows = expectJson(
        await ctx.admin.post(`/teams/${team.id}/members/batch?graceful=true`, [{ team_id: team.id, user_id: caller }]),
        z.array(teamMemberWithErrorSchema),
        'POST /teams/{id}/members/batch?graceful=true',
        201,
      );
      ensure(rows.length === 1 && rows[0]?.user_id === caller && rows[0].member?.user_id === caller && !rows[0].error, 'the row is not {user_id, member, no error}');
      const del = await ctx.admin.del(`/teams/${team.id}/members/${caller}`);
      expectJson(del, STATUS_OK, 'DELETE /teams/{id}/members/{user}', 200);
      const after = await ctx.admin.get(`/teams/${team.id}/members/${caller}`);
      const gone = after.status === 404 || (z.object({ delete_at: z.number() }).safeParse(after.json).data?.delete_at ?? 0) > 0;
      ensure(gone, `still a member after DELETE: ${statusLine(after)}`);
      // a former member is "removed" again (store GetMember ignores DeleteAt): what /team remove
      // meets when someone left in between its preview and the click
      expectJson(await ctx.admin.del(`/teams/${team.id}/members/${caller}`), STATUS_OK, 'DELETE /teams/{id}/members/{user} (a former member)', 200);
      return pass('201 graceful rows; DELETE {status:OK}, again for a former member; member gone');
    },
  },
  {
    id: 'scratch.preference',
    what: 'PUT …/preferences and POST …/preferences/delete answer {status:OK}; the value appears and goes',
    dependsOn: '/prefs set and /prefs clear',
    notes: '§5.7',
    kind: 'scratch',
    async run(ctx) {
      const me = ctx.adminUser.id;
      const pref = { user_id: me, category: SCRATCH_PREF_CATEGORY, name: 'check', value: 'set by npm run contract' };
      ctx.onCleanup('clear the test preference', async () => {
        mustSucceed(await ctx.admin.post(`/users/${me}/preferences/delete`, [pref]), 'POST …/preferences/delete');
      });
      expectJson(await ctx.admin.put(`/users/${me}/preferences`, [pref]), STATUS_OK, 'PUT /users/{id}/preferences', 200);
      const read = expectJson(await ctx.admin.get(`/users/${me}/preferences/${SCRATCH_PREF_CATEGORY}`), z.array(preferenceSchema), 'GET …/preferences/{category}');
      ensure(read.some((p) => p.name === 'check' && p.value === pref.value), 'the preference did not appear');
      expectJson(await ctx.admin.post(`/users/${me}/preferences/delete`, [pref]), STATUS_OK, 'POST …/preferences/delete', 200);
      const after = await ctx.admin.get(`/users/${me}/preferences/${SCRATCH_PREF_CATEGORY}`);
      const list = z.array(preferenceSchema).safeParse(after.json);
      ensure(after.status === 404 || (list.success && !list.data.some((p) => p.name === 'check')), `still there after delete: ${statusLine(after)}`);
      return pass('set and cleared, {status:OK} both times');
    },
  },
];
