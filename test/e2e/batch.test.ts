/**
 * Commands over several people (docs/batch.md), end to end: the real bot (createBot, as
 * `npm start`) against the sandbox, which applies the server's own rules per row
 * (src/sandbox/routes-teams.ts, routes-users.ts). Every refused row is checked twice: the
 * answer names it, and no privileged call was made for it (the sandbox records every request).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeMattermost, Post, RecordedRequest } from '../../src/sandbox/fake-server.js';
import { tokenFor, userIdFor } from '../../src/sandbox/seed.js';
import { startE2E, waitFor, type E2E } from './support.js';
import { audits, botCalls, policyFile, SECRET } from '../security/interactions-support.js';

let e2e: E2E | undefined;
afterEach(async () => {
  await e2e?.close();
  e2e = undefined;
});

const id = (u: string): string => userIdFor(u);
const teamId = (fake: FakeMattermost, name: string): string => [...fake.store.teams.values()].find((t) => t.name === name)?.id ?? '';
const channelId = (fake: FakeMattermost, team: string, name: string): string => fake.store.channelByName(teamId(fake, team), name)?.id ?? '';

/** The bot's DELETE /teams/{team}/members/{user} calls. */
const teamRemovals = (fake: FakeMattermost, team: string): RecordedRequest[] => botCalls(fake, 'DELETE', new RegExp(`^/api/v4/teams/${teamId(fake, team)}/members/[a-z0-9]{26}$`));
const removedIds = (calls: RecordedRequest[]): string[] => calls.map((c) => c.path.split('/').pop() ?? '').sort();

/** Every ephemeral message a slash command answered with. */
async function slash(fake: FakeMattermost, who: string, where: string, text: string): Promise<{ text: string; posts: Post[] }> {
  const r = await fake.executeSlash(who, where, text);
  expect(r.error).toBeUndefined();
  return { text: r.ephemeral.map((p) => p.message).join('\n'), posts: r.ephemeral };
}

const withButtons = (posts: Post[]): Post => {
  const p = posts.find((x) => Array.isArray((x.props as { attachments?: unknown[] } | undefined)?.attachments));
  if (!p) throw new Error(`no buttons: ${posts.map((x) => x.message).join(' | ')}`);
  return p;
};

/** A rendered message as a person reads it (Markdown escapes and the no-mention spaces gone). */
const plain = (s: string): string => s.replace(/\\(.)/g, '$1').replace(/\u200b/g, '');

/** A username change as the server makes it (PUT /users/{id}/patch), with its `user_updated` event. */
function rename(fake: FakeMattermost, userId: string, username: string): void {
  const u = fake.store.users.get(userId);
  if (!u) throw new Error(`no user ${userId}`);
  u.username = username;
  fake.emit('user_updated', { user: fake.store.userView(u, undefined) });
}

const lastEphemeral = (fake: FakeMattermost, who: string): string => [...fake.ephemeral].reverse().find((e) => e.userId === id(who))?.post.message ?? '';

describe('team remove', () => {
  it('refuses every row the caller may not change, with no removal call for them', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    // bob is an ordinary member of acme: he may remove only himself there
    const r = await slash(fake, 'bob', 'acme:town-square', '/team remove acme @ann @grace @mmops @nosuchperson');
    expect(plain(r.text)).toContain('0 will change, 0 already so, 1 not found, 3 not allowed, 0 ambiguous');
    expect(plain(r.text)).toContain('Ann Lee (@ann) (you need remove_user_from_team in Acme Corp)');
    expect(r.text).toContain('the bot account itself');
    expect(teamRemovals(fake, 'acme')).toEqual([]);
    expect(fake.store.isTeamMember(teamId(fake, 'acme'), id('ann'))).toBe(true);
  }, 30_000);

  it('previews the counts and first rows, and the confirmed run removes the people the preview resolved, by id', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    // bob is a team admin of ops; erin and frank are not in ops
    const r = await slash(fake, 'bob', 'ops:town-square', '/team remove ops @ann @grace @erin @mmops @zed-nobody');
    const post = withButtons(r.posts);
    const shown = plain(post.message).split('\n');
    expect(shown).toContain('This will remove 2 people from Operations and all its channels (their messages stay).');
    expect(shown).toContain('2 will change, 1 already so, 1 not found, 1 not allowed, 0 ambiguous.');
    expect(shown).toContain('Will remove (2): Ann Lee (@ann), Grace Hopper (@grace)');
    expect(shown).toContain('Not members anyway (1): Erin Guest (@erin) (not a member)');
    expect(shown).toContain('Not found (1): @zed-nobody');
    expect(teamRemovals(fake, 'ops')).toEqual([]);

    await fake.clickAction('bob', post.id, 'confirm');
    expect(removedIds(teamRemovals(fake, 'ops'))).toEqual([id('ann'), id('grace')].sort());
    expect(fake.store.isTeamMember(teamId(fake, 'ops'), id('ann'))).toBe(false);
    // out of the team's channels too (app/team.go LeaveTeam)
    expect(fake.store.isChannelMember(channelId(fake, 'ops', 'incidents'), id('grace'))).toBe(false);
    expect(lastEphemeral(fake, 'bob')).toContain('2 removed');
    expect(audits(e2e)).toContainEqual(expect.objectContaining({ command: 'team remove', scope: 'team:ops', outcome: 'succeeded', confirmedBy: 'click' }));
  }, 30_000);

  it('a name that means someone else by the time of the click stops the whole run', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    const post = withButtons((await slash(fake, 'alice', 'ops:town-square', '/team remove ops @ann @ivan')).posts);
    // ann renames away and anna takes her name before the click
    rename(fake, id('ann'), 'ann-old');
    rename(fake, id('anna'), 'ann');
    // the bot's socket delivers events in order: once it answers a later DM, it has seen both renames
    const ping = await fake.postAs('alice', '@mmops', 'help');
    await waitFor(() => fake.posts.find((p) => p.user_id === userIdFor('mmops') && p.channel_id === ping.channel_id), 'the answer to a later DM');
    await fake.clickAction('alice', post.id, 'confirm');
    expect(lastEphemeral(fake, 'alice')).toContain('Nothing was done');
    expect(teamRemovals(fake, 'ops')).toEqual([]);
    expect(fake.store.isTeamMember(teamId(fake, 'ops'), id('anna'))).toBe(true);
  }, 30_000);

  it('a batch whose set of people changed between the preview and the click is refused, with no removal call', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    const post = withButtons((await slash(fake, 'bob', 'ops:town-square', '/team remove ops @ann @grace')).posts);
    expect(plain(post.message)).toContain('Will remove (2): Ann Lee (@ann), Grace Hopper (@grace)');
    // grace leaves ops herself before the click: she is "not a member anyway" now, and the
    // people to change are no longer the two the preview showed
    const left = await fetch(`${fake.url}/api/v4/teams/${teamId(fake, 'ops')}/members/${id('grace')}`, { method: 'DELETE', headers: { Authorization: `Bearer ${tokenFor('grace')}` } });
    expect(left.status).toBe(200);
    await fake.clickAction('bob', post.id, 'confirm');
    expect(plain(lastEphemeral(fake, 'bob'))).toContain('Nothing was done: who the preview listed in each group changed since you were asked; ask again.');
    expect(teamRemovals(fake, 'ops')).toEqual([]);
    expect(botCalls(fake, 'DELETE', /^\/api\/v4\//)).toEqual([]);
    expect(fake.store.isTeamMember(teamId(fake, 'ops'), id('ann'))).toBe(true);
  }, 30_000);

  it('a group-synced team refuses removing others, but not oneself', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    const ops = fake.store.teams.get(teamId(fake, 'ops'));
    if (ops) ops.group_constrained = true;
    const r = await slash(fake, 'bob', 'ops:town-square', '/team remove ops @ann @bob --yes');
    expect(r.text).toContain('synced groups');
    expect(removedIds(teamRemovals(fake, 'ops'))).toEqual([id('bob')]);
    expect(fake.store.isTeamMember(teamId(fake, 'ops'), id('ann'))).toBe(true);
  }, 30_000);
});


/** The bot's POST /channels/{id}/members and DELETE /channels/{id}/members/{user} calls. */
const channelAdds = (fake: FakeMattermost, channel: string): RecordedRequest[] => botCalls(fake, 'POST', new RegExp(`^/api/v4/channels/${channel}/members$`));
const channelRemovals = (fake: FakeMattermost, channel: string): RecordedRequest[] => botCalls(fake, 'DELETE', new RegExp(`^/api/v4/channels/${channel}/members/[a-z0-9]{26}$`));

describe('channel add | remove', () => {
  it('mallory, not in ~helpdesk, may add only herself (join_public_channels); the others are refused with no call for them', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    const helpdesk = channelId(fake, 'acme', 'helpdesk');
    const r = await slash(fake, 'mallory', 'acme:town-square', '/channel add ~helpdesk @bob @grace @mallory');
    expect(plain(r.text)).toContain('1 added');
    expect(plain(r.text)).toContain('Not allowed (2): Bob Builder (@bob) (you need manage_public_channel_members on ~helpdesk), Grace Hopper (@grace) (you need');
    // one person is few enough to add without asking (as team add)
    expect(channelAdds(fake, helpdesk).map((c) => (c.body as { user_id?: string }).user_id)).toEqual([id('mallory')]);
    expect(fake.store.isChannelMember(helpdesk, id('bob'))).toBe(false);
  }, 30_000);

  it('adds across teams with ~team/channel, one call per row; people outside the team and members already are not called for', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    const incidents = channelId(fake, 'ops', 'incidents');
    // grace is a channel admin of the private ~incidents; she types in acme
    const r = await slash(fake, 'grace', 'acme:town-square', '/channel add ~ops/incidents @ivan @ann @bob @erin @dave');
    expect(plain(r.text)).toContain('3 added');
    expect(plain(r.text)).toContain('Members already (1): Bob Builder (@bob) (already a member)');
    expect(plain(r.text)).toContain('Not allowed (1): Erin Guest (@erin) (not in the channel’s team (add them with team add first))');
    expect(channelAdds(fake, incidents).map((c) => (c.body as { user_id?: string }).user_id).sort()).toEqual([id('ivan'), id('ann'), id('dave')].sort());
    expect(fake.store.isChannelMember(incidents, id('erin'))).toBe(false);
  }, 30_000);

  it('channel remove: someone else needs the channel-members right; an ambiguous name is listed, never guessed', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    const helpdesk = channelId(fake, 'acme', 'helpdesk');
    // bob is not in ~helpdesk: he may not take others out of it
    const r = await slash(fake, 'bob', 'acme:town-square', '/channel remove ~helpdesk @ann @carol Lee --yes');
    expect(plain(r.text)).toContain('0 will change, 0 already so, 0 not found, 2 not allowed, 1 ambiguous');
    expect(plain(r.text)).toContain('Ambiguous (1): Lee (matches @ann, @anna)');
    expect(channelRemovals(fake, helpdesk)).toEqual([]);
    expect(fake.store.isChannelMember(helpdesk, id('ann'))).toBe(true);
  }, 30_000);

  it('a private channel the caller cannot read is "no channel named", and nothing is called', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    const incidents = channelId(fake, 'ops', 'incidents');
    const r = await slash(fake, 'ivan', 'ops:town-square', '/channel remove ~incidents @grace @alice --yes');
    expect(plain(r.text)).toContain('No channel named');
    expect(channelRemovals(fake, incidents)).toEqual([]);
  }, 30_000);

  it('nobody but a guest leaves town-square; a guest out of her last channel leaves the team too', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    const square = channelId(fake, 'acme', 'town-square');
    const post = withButtons((await slash(fake, 'alice', 'acme:town-square', '/channel remove ~town-square @ann @erin')).posts);
    const shown = plain(post.message).split('\n');
    expect(shown).toContain('1 will change, 0 already so, 0 not found, 1 not allowed, 0 ambiguous.');
    expect(shown).toContain('Not allowed (1): Ann Lee (@ann) (nobody but a guest leaves the default channel (remove them from the team instead))');
    expect(channelRemovals(fake, square)).toEqual([]);
    await fake.clickAction('alice', post.id, 'confirm');
    expect(channelRemovals(fake, square).map((c) => c.path.split('/').pop())).toEqual([id('erin')]);
    expect(fake.store.isChannelMember(square, id('ann'))).toBe(true);
    expect(fake.store.isTeamMember(teamId(fake, 'acme'), id('erin'))).toBe(false);
  }, 30_000);

  it('a group-synced channel takes nobody by hand', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    const helpdesk = channelId(fake, 'acme', 'helpdesk');
    const ch = fake.store.channels.get(helpdesk);
    if (ch) ch.group_constrained = true;
    const r = await slash(fake, 'alice', 'acme:town-square', '/channel add ~helpdesk @bob @grace --yes');
    expect(plain(r.text)).toContain('synced groups');
    expect(channelAdds(fake, helpdesk)).toEqual([]);
  }, 30_000);
});

/** The bot's PUT /users/{id}/active calls, by whom they were for. */
const activations = (fake: FakeMattermost): string[] => botCalls(fake, 'PUT', /^\/api\/v4\/users\/[a-z0-9]{26}\/active$/).map((c) => c.path.split('/')[4] ?? '').sort();

describe('user deactivate | activate with several people', () => {
  it('each row is checked as a single one: others need the user-management right, admins manage_system, never the bot', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET }, start: false });
    const { fake } = e2e;
    // heidi's help-desk role may manage users, but she is no system admin
    fake.store.roles.get('helpdesk')?.permissions.push('sysconsole_write_user_management_users');
    await e2e.bot.start();
    await e2e.bot.registered();
    const post = withButtons((await slash(fake, 'heidi', 'acme:town-square', '/user deactivate @grace @alice @mmops @frank @dave')).posts);
    const shown = plain(post.message).split('\n');
    expect(shown).toContain('2 will change, 1 already so, 0 not found, 2 not allowed, 0 ambiguous.');
    expect(shown).toContain('Not allowed (2): Alice Admin (@alice) (a system admin: you need manage_system), @mmops (the bot account itself: that would stop this bot from working)');
    expect(shown).toContain('Deactivated already (1): Frank Former (@frank) (deactivated)');
    expect(activations(fake)).toEqual([]);
    await fake.clickAction('heidi', post.id, 'confirm');
    expect(activations(fake)).toEqual([id('grace'), id('dave')].sort());
    expect(fake.store.users.get(id('alice'))?.delete_at).toBe(0);
    expect(lastEphemeral(fake, 'heidi')).toContain('2 deactivated');
  }, 30_000);

  it('without the right, every other row is refused and nothing is called; reactivation is checked the same way', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    const r = await slash(fake, 'heidi', 'acme:town-square', '/user deactivate @grace @bob');
    expect(plain(r.text)).toContain('0 will change, 0 already so, 0 not found, 2 not allowed, 0 ambiguous');
    const again = await slash(fake, 'heidi', 'acme:town-square', '/user activate @frank @grace --yes');
    expect(plain(again.text)).toContain('Not allowed (2)');
    expect(activations(fake)).toEqual([]);
  }, 30_000);

  it('never the last active system admin: alice keeps her account when she is in the list', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    const r = await slash(fake, 'alice', 'acme:town-square', '/user deactivate @alice @dave --yes');
    expect(plain(r.text)).toContain('Alice Admin (@alice) (the last active system admin');
    expect(activations(fake)).toEqual([id('dave')]);
    expect(fake.store.users.get(id('alice'))?.delete_at).toBe(0);
  }, 30_000);

  it('the two-person rule applies to a batch: --yes only asks, an approval runs it, and an approver who is one of the people is refused', async () => {
    const path = policyFile({ approvals: { channel: 'ops/incidents', approvers: { permission: 'edit_other_users', scope: 'system' }, commands: ['user deactivate'] } });
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET, MMOPS_POLICY: path } });
    const { fake } = e2e;
    const incidents = channelId(fake, 'ops', 'incidents');
    // heidi approves in ~incidents: make her a member so the server lets her click
    fake.store.channelMembers.push({ ...(fake.store.channelMember(incidents, id('bob')) ?? (() => { throw new Error('no bob'); })()), user_id: id('heidi') });
    const asked = await slash(fake, 'alice', 'acme:town-square', '/user deactivate @heidi @dave --yes');
    expect(asked.text).toContain('Sent for approval');
    const request = fake.posts.filter((p) => p.channel_id === incidents && p.message.includes('Approval needed')).pop();
    if (!request) throw new Error('no approval request');
    expect(plain(request.message)).toContain('2 will change, 0 already so, 0 not found, 0 not allowed, 0 ambiguous. Will deactivate (2): Heidi Helpdesk (@heidi), Dave Doe (@dave)');
    await fake.clickAction('heidi', request.id, 'approve');
    expect(activations(fake)).toEqual([]);
    expect(fake.store.users.get(id('dave'))?.delete_at).toBe(0);

    const second = await slash(fake, 'alice', 'acme:town-square', '/user deactivate @grace @dave');
    expect(second.text).toContain('Sent for approval');
    const req2 = fake.posts.filter((p) => p.channel_id === incidents && p.message.includes('Approval needed')).pop();
    if (!req2) throw new Error('no second approval request');
    await fake.clickAction('heidi', req2.id, 'approve');
    expect(activations(fake)).toEqual([id('grace'), id('dave')].sort());
  }, 30_000);
  it('an approver whom the preview lists in a group that does not change is refused too, with no call', async () => {
    const path = policyFile({ approvals: { channel: 'ops/incidents', approvers: { permission: 'edit_other_users', scope: 'system' }, commands: ['user activate'] } });
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET, MMOPS_POLICY: path } });
    const { fake } = e2e;
    const incidents = channelId(fake, 'ops', 'incidents');
    fake.store.channelMembers.push({ ...(fake.store.channelMember(incidents, id('bob')) ?? (() => { throw new Error('no bob'); })()), user_id: id('heidi') });
    // heidi is active already: listed, not changed, and still one of the people the request names
    const asked = await slash(fake, 'alice', 'acme:town-square', '/user activate @heidi @frank');
    expect(asked.text).toContain('Sent for approval');
    const request = fake.posts.filter((p) => p.channel_id === incidents && p.message.includes('Approval needed')).pop();
    if (!request) throw new Error('no approval request');
    expect(plain(request.message)).toContain('Active already (1): Heidi Helpdesk (@heidi) (active)');
    await fake.clickAction('heidi', request.id, 'approve');
    expect(plain(lastEphemeral(fake, 'heidi'))).toContain('it is done to you');
    expect(activations(fake)).toEqual([]);
    expect(fake.store.users.get(id('frank'))?.delete_at).toBeGreaterThan(0);

    // the same approver on a request that does not list her: it runs
    await slash(fake, 'alice', 'acme:town-square', '/user activate @grace @frank');
    const req2 = fake.posts.filter((p) => p.channel_id === incidents && p.message.includes('Approval needed')).pop();
    if (!req2 || req2.id === request.id) throw new Error('no second approval request');
    await fake.clickAction('heidi', req2.id, 'approve');
    expect(activations(fake)).toEqual([id('frank')]);
  }, 30_000);
});

describe('API calls of a batch', () => {
  it('team add of 200 people makes one batch call and no more calls than a team add of one', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    const ivan = fake.store.users.get(id('ivan'));
    if (!ivan) throw new Error('no ivan in the seed');
    const names = Array.from({ length: 200 }, (_, i) => `hire${i}`);
    for (const n of [...names, 'warm0', 'warm1']) fake.store.users.set(id(n), { ...ivan, id: id(n), username: n, email: `${n}@acme.example`, first_name: 'New', last_name: `Hire ${n}` });
    const botApiCalls = (): RecordedRequest[] => fake.requests.filter((x) => x.userId === userIdFor('mmops') && x.path.startsWith('/api/v4/'));
    // the same command for one person first: its calls are the fixed cost (the bot's caches
    // warm up too), a person actually added, so that it has a result file as the batch has
    await slash(fake, 'alice', 'ops:town-square', '/team add ops @warm0 --yes');
    fake.clearRequests();
    await slash(fake, 'alice', 'ops:town-square', '/team add ops @warm1 --yes');
    const one = botApiCalls().length;
    fake.clearRequests();
    const r = await slash(fake, 'alice', 'ops:town-square', `/team add ops ${names.map((n) => `@${n}`).join(' ')} --yes`);
    expect(plain(r.text)).toContain('200 added');
    expect(botCalls(fake, 'POST', /\/teams\/[a-z0-9]{26}\/members\/batch$/)).toHaveLength(1);
    // ⌈200 / 256⌉ = 1 batch call, plus the same few reads as for one person (at most 10)
    expect(botApiCalls().length).toBeLessThanOrEqual(Math.ceil(200 / 256) + 10);
    // the same reads as for one person, plus one username batch for the 200 names (@grace was cached)
    expect(botApiCalls().length).toBeLessThanOrEqual(one + 1);
    expect(botCalls(fake, 'POST', /\/users\/usernames$/)).toHaveLength(1);
  }, 30_000);

  it('channel add makes one call per row it changes, none for the others', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    const helpdesk = channelId(fake, 'acme', 'helpdesk');
    fake.clearRequests();
    await slash(fake, 'alice', 'acme:town-square', '/channel add ~helpdesk @bob @grace @ann @erin @nosuch --yes');
    expect(channelAdds(fake, helpdesk).map((c) => (c.body as { user_id?: string }).user_id).sort()).toEqual([id('bob'), id('grace'), id('erin')].sort());
  }, 30_000);
});

describe('help', () => {
  it('help channel and help team show the batch subcommands with their usage', async () => {
    e2e = await startE2E();
    const { fake } = e2e;
    const channel = plain((await slash(fake, 'alice', 'acme:town-square', '/mmops help channel')).text);
    expect(channel).toContain('channel add ~channel @user … [--yes]');
    expect(channel).toContain('channel remove ~channel @user … [--yes]');
    const team = plain((await slash(fake, 'alice', 'acme:town-square', '/mmops help team')).text);
    expect(team).toContain('team remove <team> @user … [--yes]');
  }, 30_000);
});

describe('a list from a file, confirmed with the button', () => {
  it('the DM with a CSV previews the file\u2019s rows; Confirm reads the same file again and removes them, by id', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    const dmPost = await fake.postAs('alice', '@mmops', 'help');
    const dmChannel = dmPost.channel_id;
    await waitFor(() => fake.posts.find((p) => p.user_id === userIdFor('mmops') && p.channel_id === dmChannel), 'the answer to help');
    // alice uploads the list into her DM with the bot (POST /files), then posts it with the command
    const up = await fetch(`${fake.url}/api/v4/files?channel_id=${dmChannel}&filename=leavers.csv`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${tokenFor('alice')}`, 'Content-Type': 'text/csv' },
      body: 'username\nann\ngrace\n',
    });
    expect(up.status).toBe(201);
    const fileId = ((await up.json()) as { file_infos: Array<{ id: string }> }).file_infos[0]?.id ?? '';
    const asked = await fake.postAs('alice', '@mmops', 'team remove ops', { fileIds: [fileId] });
    expect(asked.file_ids).toEqual([fileId]);
    const preview = await waitFor(
      () => fake.posts.find((p) => p.user_id === userIdFor('mmops') && p.channel_id === dmChannel && Array.isArray((p.props as { attachments?: unknown[] } | undefined)?.attachments)),
      'the preview with buttons',
    );
    expect(plain(preview.message)).toContain('From leavers.csv: 2 rows.');
    expect(teamRemovals(fake, 'ops')).toEqual([]);
    await fake.clickAction('alice', preview.id, 'confirm');
    await waitFor(() => teamRemovals(fake, 'ops').length === 2 || undefined, 'the removals');
    expect(removedIds(teamRemovals(fake, 'ops'))).toEqual([id('ann'), id('grace')].sort());
    expect(botCalls(fake, 'GET', new RegExp(`^/api/v4/files/${fileId}$`)).length).toBe(2);
  }, 30_000);
});
