/**
 * The permission rules the bot reproduces, compared with the server's own decision: the bot's
 * resolver (src/core/permissions, reading roles with the bot's token) answers "may the caller
 * do X here?", and the caller's own token hitting an endpoint guarded by X is the server's
 * answer. Read-only probes only.
 */
import { z } from 'zod';
import type { Requirement } from '../../core/command.js';
import { createPermissionService } from '../../core/permissions/service.js';
import { channelSchema, teamSchema, userSchema, type User } from '../../mattermost/models.js';
import type { RawAnswer } from '../http.js';
import { statusLine } from '../http.js';
import { ensure, fail, pass, type Check, type CheckContext } from '../types.js';

interface Probe {
  label: string;
  req: Requirement;
  where?: { teamId?: string; channelId?: string };
  /** the caller's request whose outcome is the server's answer */
  ask: () => Promise<RawAnswer>;
}

/** 2xx → allowed, 403 → denied, anything else → unusable (reported). */
function serverSays(a: RawAnswer): boolean | string {
  if (a.status >= 200 && a.status < 300) return true;
  if (a.status === 403) return false;
  return statusLine(a);
}

/** Another active, non-admin human the caller may be probed against. */
async function someOtherUser(ctx: CheckContext): Promise<User | undefined> {
  const list = z.array(userSchema).safeParse((await ctx.admin.get('/users', { page: 0, per_page: 100, active: true })).json);
  if (!list.success) return undefined;
  return list.data.find(
    (u) => u.id !== ctx.callerUser.id && u.id !== ctx.adminUser.id && !u.is_bot && u.delete_at === 0 && !u.roles.split(' ').some((r) => r.includes('admin') || r.includes('manager')),
  );
}

async function probes(ctx: CheckContext): Promise<Probe[]> {
  const out: Probe[] = [];
  const other = await someOtherUser(ctx);
  if (other) {
    out.push({
      label: 'edit_other_users (GET another user’s sessions)',
      req: { permission: 'edit_other_users', scope: 'system' },
      ask: () => ctx.user.get(`/users/${other.id}/sessions`),
    });
    out.push({
      label: 'sysconsole_read_user_management_users (GET another user’s teams)',
      req: { permission: 'sysconsole_read_user_management_users', scope: 'system' },
      ask: () => ctx.user.get(`/users/${other.id}/teams`),
    });
  }
  out.push({
    label: 'list_users_without_team (GET /users?without_team=true)',
    req: { permission: 'list_users_without_team', scope: 'system' },
    ask: () => ctx.user.get('/users', { without_team: true, page: 0, per_page: 1 }),
  });
  out.push({
    label: 'sysconsole_read_environment_high_availability (GET /cluster/status)',
    req: { permission: 'sysconsole_read_environment_high_availability', scope: 'system' },
    ask: () => ctx.user.get('/cluster/status'),
  });
  if (ctx.team) {
    const teamId = ctx.team.id;
    out.push({
      label: 'view_team in a team of the caller (GET team members)',
      req: { permission: 'view_team', scope: 'team' },
      where: { teamId },
      ask: () => ctx.user.get(`/teams/${teamId}/members`, { page: 0, per_page: 1 }),
    });
    out.push({
      label: 'manage_slash_commands (GET /commands?custom_only=true)',
      req: { permission: 'manage_slash_commands', scope: 'team' },
      where: { teamId },
      ask: () => ctx.user.get('/commands', { team_id: teamId, custom_only: true }),
    });
  }
  if (ctx.channel) {
    const channelId = ctx.channel.id;
    out.push({
      label: 'read_channel in a channel of the caller (GET channel members)',
      req: { permission: 'read_channel', scope: 'channel' },
      where: { channelId, teamId: ctx.channel.team_id || undefined },
      ask: () => ctx.user.get(`/channels/${channelId}/members`, { page: 0, per_page: 1 }),
    });
  }
  // a team of the bot the caller is not in: the resolver must say no, like the server
  const botTeams = z.array(teamSchema).safeParse((await ctx.admin.get(`/users/${ctx.adminUser.id}/teams`)).json);
  const callerTeams = z.array(teamSchema).safeParse((await ctx.admin.get(`/users/${ctx.callerUser.id}/teams`)).json);
  if (botTeams.success && callerTeams.success) {
    const foreign = botTeams.data.find((t) => !callerTeams.data.some((c) => c.id === t.id));
    if (foreign) {
      out.push({
        label: 'view_team in a team the caller is not in',
        req: { permission: 'view_team', scope: 'team' },
        where: { teamId: foreign.id },
        ask: () => ctx.user.get(`/teams/${foreign.id}/members`, { page: 0, per_page: 1 }),
      });
      const chans = z.array(channelSchema).safeParse((await ctx.admin.get(`/users/${ctx.adminUser.id}/teams/${foreign.id}/channels`)).json);
      const ch = chans.success ? chans.data.find((c) => c.type === 'O') : undefined;
      if (ch) {
        out.push({
          label: 'read_channel in a channel of a team the caller is not in',
          req: { permission: 'read_channel', scope: 'channel' },
          where: { channelId: ch.id, teamId: foreign.id },
          ask: () => ctx.user.get(`/channels/${ch.id}/members`, { page: 0, per_page: 1 }),
        });
      }
    }
  }
  return out;
}

export const permChecks: Check[] = [
  {
    id: 'perm.matrix',
    what: "the bot's permission resolver agrees with the server's own decision for the caller (system, team, channel probes)",
    dependsOn: 'every permission gate (src/core/permissions/resolve.ts, service.ts; the dispatcher refuses before acting)',
    notes: '§5.9, §6 item 20',
    kind: 'read',
    async run(ctx) {
      const perms = createPermissionService({ api: ctx.adminApi, selfUserId: ctx.adminUser.id, ttlMs: 0 });
      const list = await probes(ctx);
      ensure(list.length >= 3, 'too few probes could be set up');
      const disagreements: string[] = [];
      let allowed = 0;
      for (const p of list) {
        const server = serverSays(await p.ask());
        if (typeof server === 'string') {
          disagreements.push(`${p.label}: server answered ${server}`);
          continue;
        }
        const bot = (await perms.check(ctx.callerUser.id, p.req, p.where ?? {}, { fresh: true })).allowed;
        if (server) allowed += 1;
        if (bot !== server) disagreements.push(`${p.label}: bot ${bot ? 'allows' : 'refuses'}, server ${server ? 'allows' : 'refuses'}`);
      }
      if (disagreements.length > 0) return fail(disagreements.join('; '));
      return pass(`${list.length} probes agree (${allowed} allowed, ${list.length - allowed} refused)`);
    },
  },
];
