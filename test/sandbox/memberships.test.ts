/**
 * Team member removal and channel member add/remove in the fake server follow 9.10's order
 * and error ids (docs/mattermost-notes.md §5.5, §5.6; server/channels/api4/team.go
 * removeTeamMember, api4/channel.go addChannelMember and removeChannelMember, app/channel.go
 * AddUserToChannel and removeUserFromChannel).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeMattermost, type FakeMattermost } from '../../src/sandbox/fake-server.js';
import { channelIdFor, teamIdFor, tokenFor, userIdFor } from '../../src/sandbox/seed.js';
import { apiAs, type Api } from './helpers.js';

let mm: FakeMattermost;
let alice: Api;
let bob: Api;
let ivan: Api;
const u = userIdFor;
const PERMISSION_ERROR = 'api.context.permissions.app_error';

beforeEach(async () => {
  mm = await startFakeMattermost();
  alice = apiAs(mm, tokenFor('alice'));
  bob = apiAs(mm, tokenFor('bob'));
  ivan = apiAs(mm, tokenFor('ivan'));
});
afterEach(async () => {
  await mm.close();
});

const err = (r: { status: number; json: { id?: string } }): [number, string | undefined] => [r.status, r.json?.id];

describe('DELETE /teams/{id}/members/{user_id}', () => {
  it('someone else needs remove_user_from_team; oneself needs nothing', async () => {
    const acme = teamIdFor('acme');
    expect(err(await bob('DELETE', `/teams/${acme}/members/${u('ann')}`))).toEqual([403, PERMISSION_ERROR]);
    expect(mm.store.isTeamMember(acme, u('ann'))).toBe(true);
    expect((await bob('DELETE', `/teams/${acme}/members/${u('bob')}`)).status).toBe(200);
    expect(mm.store.isTeamMember(acme, u('bob'))).toBe(false);
    // out of the team's channels too
    expect(mm.store.isChannelMember(channelIdFor('acme', 'town-square'), u('bob'))).toBe(false);
  });

  it('someone who never was a member is 400 remove_user_from_team.missing, a former member 200 again; an unknown user 404', async () => {
    const ops = teamIdFor('ops');
    expect(err(await alice('DELETE', `/teams/${ops}/members/${u('erin')}`))).toEqual([400, 'api.team.remove_user_from_team.missing.app_error']);
    expect((await alice('DELETE', `/teams/${ops}/members/${u('ann')}`)).status).toBe(200);
    expect((await alice('DELETE', `/teams/${ops}/members/${u('ann')}`)).status).toBe(200);
    expect(err(await alice('DELETE', `/teams/${ops}/members/${'z'.repeat(26)}`))).toEqual([404, 'app.user.missing_account.const']);
  });

  it('a group-constrained team refuses removing others (not bots), but not oneself', async () => {
    const ops = teamIdFor('ops');
    const team = mm.store.teams.get(ops);
    if (team) team.group_constrained = true;
    expect(err(await alice('DELETE', `/teams/${ops}/members/${u('ann')}`))).toEqual([400, 'api.team.remove_member.group_constrained.app_error']);
    expect((await alice('DELETE', `/teams/${ops}/members/${u('otherbot')}`)).status).toBe(200);
    expect((await ivan('DELETE', `/teams/${ops}/members/${u('ivan')}`)).status).toBe(200);
  });
});

describe('POST /channels/{id}/members', () => {
  it('joining a public channel oneself needs join_public_channels; adding someone else manage_public_channel_members', async () => {
    const helpdesk = channelIdFor('acme', 'helpdesk');
    // bob is not in ~helpdesk: as a team user he may join it, but not add others
    expect(err(await bob('POST', `/channels/${helpdesk}/members`, { user_id: u('grace') }))).toEqual([403, PERMISSION_ERROR]);
    expect((await bob('POST', `/channels/${helpdesk}/members`, { user_id: u('bob') })).status).toBe(201);
    // now a channel member, he may add others
    expect((await bob('POST', `/channels/${helpdesk}/members`, { user_id: u('grace') })).status).toBe(201);
  });

  it('a private channel needs manage_private_channel_members, even to add oneself', async () => {
    const incidents = channelIdFor('ops', 'incidents');
    expect(err(await ivan('POST', `/channels/${incidents}/members`, { user_id: u('ivan') }))).toEqual([403, PERMISSION_ERROR]);
    expect(mm.store.isChannelMember(incidents, u('ivan'))).toBe(false);
  });

  it('not in the team: 404; removed from it: 400; deactivated: 403; a member already: 201 unchanged', async () => {
    const incidents = channelIdFor('ops', 'incidents');
    expect(err(await alice('POST', `/channels/${incidents}/members`, { user_id: u('erin') }))).toEqual([404, 'app.team.get_member.missing.app_error']);
    expect((await alice('DELETE', `/teams/${teamIdFor('ops')}/members/${u('ann')}`)).status).toBe(200);
    expect(err(await alice('POST', `/channels/${incidents}/members`, { user_id: u('ann') }))).toEqual([400, 'api.channel.add_user.to.channel.failed.deleted.app_error']);
    const dave = mm.store.users.get(u('dave'));
    if (dave) dave.delete_at = Date.now();
    expect(err(await alice('POST', `/channels/${incidents}/members`, { user_id: u('dave') }))).toEqual([403, 'app.channel.add_member.deleted_user.app_error']);
    const again = await alice('POST', `/channels/${incidents}/members`, { user_id: u('bob') });
    expect([again.status, again.json.user_id]).toEqual([201, u('bob')]);
  });

  it('a group-constrained channel takes nobody by hand (the sandbox has no synced groups)', async () => {
    const helpdesk = channelIdFor('acme', 'helpdesk');
    const ch = mm.store.channels.get(helpdesk);
    if (ch) ch.group_constrained = true;
    expect(err(await alice('POST', `/channels/${helpdesk}/members`, { user_id: u('bob') }))).toEqual([400, 'api.channel.add_members.user_denied']);
  });
});

describe('DELETE /channels/{id}/members/{user_id}', () => {
  it('someone else needs the channel-members right; nobody but a guest leaves town-square', async () => {
    const helpdesk = channelIdFor('acme', 'helpdesk');
    expect(err(await bob('DELETE', `/channels/${helpdesk}/members/${u('ann')}`))).toEqual([403, PERMISSION_ERROR]);
    const square = channelIdFor('acme', 'town-square');
    expect(err(await alice('DELETE', `/channels/${square}/members/${u('ann')}`))).toEqual([400, 'api.channel.remove.default.app_error']);
    expect(err(await bob('DELETE', `/channels/${square}/members/${u('bob')}`))).toEqual([400, 'api.channel.remove.default.app_error']);
    // erin is a guest whose only acme channel is town-square: she leaves the team too
    expect((await alice('DELETE', `/channels/${square}/members/${u('erin')}`)).status).toBe(200);
    expect(mm.store.isTeamMember(teamIdFor('acme'), u('erin'))).toBe(false);
  });

  it('a non-member is 404; a group-constrained channel refuses removing others but not oneself', async () => {
    const helpdesk = channelIdFor('acme', 'helpdesk');
    expect(err(await alice('DELETE', `/channels/${helpdesk}/members/${u('bob')}`))).toEqual([404, 'app.channel.get_member.missing.app_error']);
    const ch = mm.store.channels.get(helpdesk);
    if (ch) ch.group_constrained = true;
    expect(err(await alice('DELETE', `/channels/${helpdesk}/members/${u('ann')}`))).toEqual([400, 'api.channel.remove_member.group_constrained.app_error']);
    expect((await apiAs(mm, tokenFor('ann'))('DELETE', `/channels/${helpdesk}/members/${u('ann')}`)).status).toBe(200);
  });
});
