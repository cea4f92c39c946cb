/** Shared steps of the scratch (write) checks. Every write registers its undo first. */
import { channelSchema, type Channel } from '../../mattermost/models.js';
import { mustSucceed, statusLine } from '../http.js';
import { ContractFailure, ensure, type CheckContext } from '../types.js';

/**
 * Makes sure the --user-token account is in the scratch team and its town-square, adding it
 * when needed (undo: remove it again). Returns that channel.
 */
export async function ensureCallerInScratchTeam(ctx: CheckContext): Promise<Channel> {
  if (!ctx.scratch) throw new ContractFailure('needs --scratch-team');
  const team = ctx.scratch.team;
  const caller = ctx.callerUser.id;
  const member = await ctx.admin.get(`/teams/${team.id}/members/${caller}`);
  const isMember = member.status === 200 && !(typeof member.json === 'object' && member.json && 'delete_at' in member.json && Number(member.json.delete_at) > 0);
  if (!isMember) {
    ctx.onCleanup('remove the user from the scratch team', async () => {
      const now = await ctx.admin.get(`/teams/${team.id}/members/${caller}`);
      if (now.status === 200) mustSucceed(await ctx.admin.del(`/teams/${team.id}/members/${caller}`), 'DELETE team member');
    });
    const added = await ctx.admin.post(`/teams/${team.id}/members`, { team_id: team.id, user_id: caller });
    ensure(added.status === 201, `adding the user to the scratch team: ${statusLine(added)}`);
  }
  const ch = await ctx.admin.get(`/teams/${team.id}/channels/name/town-square`);
  const parsed = channelSchema.safeParse(ch.json);
  ensure(parsed.success, `scratch team town-square: ${statusLine(ch)}`);
  const cm = await ctx.admin.get(`/channels/${parsed.data.id}/members/${caller}`);
  if (cm.status !== 200) {
    ctx.onCleanup('remove the user from the scratch channel', async () => {
      const now = await ctx.admin.get(`/channels/${parsed.data.id}/members/${caller}`);
      if (now.status === 200) mustSucceed(await ctx.admin.del(`/channels/${parsed.data.id}/members/${caller}`), 'DELETE channel member');
    });
    const joined = await ctx.admin.post(`/channels/${parsed.data.id}/members`, { user_id: caller });
    ensure(joined.status === 201, `adding the user to town-square: ${statusLine(joined)}`);
  }
  return parsed.data;
}
