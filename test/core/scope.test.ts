import { describe, expect, it } from 'vitest';
import { createScopeResolver } from '../../src/core/scope.js';
import { usageText } from '../../src/core/usage.js';
import { ApiError } from '../../src/mattermost/errors.js';
import { makeChannel, makeTeam, stubApi } from '../helpers/context.js';

const acme = makeTeam({ name: 'acme' });
const ops = makeTeam({ name: 'ops' });
const square = makeChannel({ name: 'town-square', team_id: acme.id });
const incidents = makeChannel({ name: 'incidents', team_id: ops.id });
const nf = (what: string) => new ApiError(404, 'x', 'not found', 'r', what);

function api() {
  return stubApi({
    getTeam: async (id) => [acme, ops].find((t) => t.id === id) ?? Promise.reject(nf('GET /teams/{team_id}')),
    getTeamByName: async (name) => [acme, ops].find((t) => t.name === name) ?? Promise.reject(nf('GET /teams/name/{name}')),
    getChannel: async (id) => [square, incidents].find((c) => c.id === id) ?? Promise.reject(nf('GET /channels/{id}')),
    getChannelByName: async (teamId, name) =>
      [square, incidents].find((c) => c.team_id === teamId && c.name === name) ?? Promise.reject(nf('GET /teams/{id}/channels/name/{name}')),
  });
}

describe('createScopeResolver', () => {
  it('finds teams by name or id and caches them', async () => {
    const a = api();
    const s = createScopeResolver(a);
    expect((await s.team('ACME')).id).toBe(acme.id);
    expect((await s.team('acme')).id).toBe(acme.id);
    expect((await s.team(ops.id)).name).toBe('ops');
    expect(a.calls.map((c) => c.method)).toEqual(['getTeamByName', 'getTeam']);
  });

  it('says plainly when a team is missing', async () => {
    await expect(createScopeResolver(api()).team('nope')).rejects.toMatchObject({ code: 'not_found', message: 'No team named "nope" (or the bot is not in it).' });
  });

  it('finds channels as ~name in a team, ~team:name, by id, or from slash channel_mentions', async () => {
    const a = api();
    const s = createScopeResolver(a);
    expect((await s.channel('~town-square', { team: acme })).id).toBe(square.id);
    expect((await s.channel('~ops:incidents', {})).id).toBe(incidents.id);
    expect((await s.channel(incidents.id, {})).name).toBe('incidents');
    const viaMention = createScopeResolver(api());
    expect((await viaMention.channel('~incidents', { mentions: { incidents: incidents.id } })).id).toBe(incidents.id);
  });

  it('asks which team when a channel name has none', async () => {
    await expect(createScopeResolver(api()).channel('~x', {})).rejects.toMatchObject({ code: 'invalid_input', message: 'Which team is ~x in? Write it as ~team:x.' });
  });

  it('soft lookups return undefined for hidden objects', async () => {
    const s = createScopeResolver(api());
    expect(await s.teamById('0'.repeat(26))).toBeUndefined();
    expect(await s.channelById('0'.repeat(26))).toBeUndefined();
  });
});

describe('usageText', () => {
  const whois = { name: 'whois', ownTrigger: true };
  const status = { name: 'status', ownTrigger: false };
  it('matches how the person reached the bot', () => {
    expect(usageText(whois, 'whois @user', 'slash')).toBe('/whois @user');
    expect(usageText(whois, 'whois @user', 'slash', { root: 'mmops', prefix: 'ops-' })).toBe('/ops-whois @user');
    expect(usageText(status, 'status [@user]', 'slash')).toBe('/mmops status [@user]');
    expect(usageText(status, 'status [@user]', 'dm')).toBe('status [@user]');
    expect(usageText(whois, '/whois @user', 'mention')).toBe('whois @user');
  });
});
