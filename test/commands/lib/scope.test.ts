import { describe, expect, it } from 'vitest';
import { channelInScope, parseChannelRef, teamInScope } from '../../../commands/lib/scope.js';
import { isUserError } from '../../../src/core/errors.js';
import { ApiError } from '../../../src/mattermost/errors.js';
import { createTestContext, makeChannel, makeTeam } from '../../helpers/context.js';

const acme = makeTeam({ name: 'acme', display_name: 'Acme' });
const ops = makeTeam({ name: 'ops', display_name: 'Ops' });
const town = makeChannel({ name: 'town-square', team_id: acme.id });
const incidents = makeChannel({ name: 'incidents', team_id: ops.id, type: 'P' });
const notFound = (ep: string) => new ApiError(404, 'x', 'not found', 'r', ep);

function ctxWith(allow: string[] | 'all' = 'all') {
  return createTestContext({
    team: acme,
    channel: town,
    invocation: { teamId: acme.id, channelId: town.id },
    allow: allow === 'all' ? 'all' : (req, where) => allow.includes(`${req.permission}@${where.teamId ?? where.channelId ?? ''}`),
    api: {
      getTeamByName: async (name) => {
        const t = [acme, ops].find((x) => x.name === name);
        if (!t) throw notFound('GET /teams/name/{name}');
        return t;
      },
      getChannelByName: async (teamId, name) => {
        const c = [town, incidents].find((x) => x.team_id === teamId && x.name === name);
        if (!c) throw notFound('GET /teams/{id}/channels/name/{name}');
        return c;
      },
    },
  });
}

describe('teamInScope', () => {
  it('reuses the context team without a lookup, still checking the requirement', async () => {
    const ctx = ctxWith([`view_team@${acme.id}`]);
    expect((await teamInScope(ctx, 'ACME', { permission: 'view_team', scope: 'team' })).id).toBe(acme.id);
    expect((await teamInScope(ctx, undefined, { permission: 'view_team', scope: 'team' })).id).toBe(acme.id);
    expect(ctx.calls).toEqual([]);
  });

  it('looks up another team by name and checks the requirement there', async () => {
    const ctx = ctxWith([`view_team@${acme.id}`]);
    await expect(teamInScope(ctx, 'ops', { permission: 'view_team', scope: 'team' })).rejects.toSatisfy(
      (e) => isUserError(e) && e.code === 'forbidden',
    );
    expect((await teamInScope(ctxWith([`view_team@${ops.id}`]), 'ops', { permission: 'view_team', scope: 'team' })).id).toBe(ops.id);
    await expect(teamInScope(ctx, 'nope', null)).rejects.toSatisfy((e) => isUserError(e) && e.code === 'not_found');
  });
});

describe('channelInScope', () => {
  it('parses channel references', () => {
    expect(parseChannelRef('~town-square')).toEqual({ name: 'town-square' });
    expect(parseChannelRef('~ops:incidents')).toEqual({ team: 'ops', name: 'incidents' });
  });

  it('finds channels in the current or a named team and checks read_channel there', async () => {
    const ctx = ctxWith('all');
    expect((await channelInScope(ctx, undefined, null)).id).toBe(town.id);
    expect((await channelInScope(ctx, '~town-square', null)).id).toBe(town.id);
    expect((await channelInScope(ctx, '~ops:incidents', null)).id).toBe(incidents.id);
    await expect(channelInScope(ctx, '~incidents', null)).rejects.toSatisfy((e) => isUserError(e) && e.code === 'not_found');
    await expect(channelInScope(ctxWith([]), '~ops:incidents', { permission: 'read_channel', scope: 'channel' })).rejects.toSatisfy(
      (e) => isUserError(e) && e.code === 'forbidden',
    );
  });
});
