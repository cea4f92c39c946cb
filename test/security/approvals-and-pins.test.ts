/**
 * Who may approve, and what a click runs, against the real bot (createBot, as `npm start`)
 * and the sandbox server:
 * - the second person of the two-person rule is neither the requester nor anyone the
 *   action is done to (src/services/confirmations.ts `approverRefusal`);
 * - a Confirm or Approve runs what the preview showed: every value it showed or derived is
 *   pinned in the signed payload, and a world that changed since is refused
 *   (commands/lib/admin-users.ts `askFirst`).
 * Each test asserts the refusal and that no privileged call happened (`fake.requests`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeMattermost, Post, RecordedRequest } from '../../src/sandbox/fake-server.js';
import { userIdFor } from '../../src/sandbox/seed.js';
import { startE2E, waitFor, type E2E } from '../e2e/support.js';
import { actionIds, asAlice, audits, BOT_ID, botCalls, policyFile, SECRET } from './interactions-support.js';

let e2e: E2E | undefined;
afterEach(async () => {
  await e2e?.close();
  e2e = undefined;
});

const ALICE = userIdFor('alice');
const BOB = userIdFor('bob');
const HEIDI = userIdFor('heidi');
const IVAN = userIdFor('ivan');
const GRACE = userIdFor('grace');

/** Rendered Markdown without its escapes. */
const unescaped = (text: string): string => text.replace(/\\(.)/g, '$1').replace(/\u200b/g, '');

/** The newest ephemeral text `who` got. */
const lastEphemeral = (fake: FakeMattermost, who: string): string => [...fake.ephemeral].reverse().find((e) => e.userId === userIdFor(who))?.post.message ?? '';

/** The ephemeral post with buttons a slash command answered with. */
async function slashWithButtons(fake: FakeMattermost, who: string, text: string): Promise<Post> {
  const r = await fake.executeSlash(who, 'acme:town-square', text);
  expect(r.error).toBeUndefined();
  const post = r.ephemeral.find((p) => Array.isArray((p.props as { attachments?: unknown[] } | undefined)?.attachments));
  if (!post) throw new Error(`no buttons in the answer to ${text}: ${JSON.stringify(r.ephemeral.map((p) => p.message))}`);
  return post;
}

/** A change of the stored user as the server makes it, with its `user_updated` event (§3.8). */
function changeUser(fake: FakeMattermost, userId: string, change: (u: { email: string; username: string; roles: string }) => void): void {
  const u = fake.store.users.get(userId);
  if (!u) throw new Error(`no user ${userId}`);
  change(u);
  fake.emit('user_updated', { user: fake.store.userView(u, undefined) });
}

/** Waits until the bot has seen every event before now (it answers a later DM). */
async function botCaughtUp(fake: FakeMattermost): Promise<void> {
  const ping = await fake.postAs('alice', '@mmops', 'help');
  await waitFor(() => fake.posts.find((p) => p.user_id === BOT_ID && p.channel_id === ping.channel_id && p.create_at >= ping.create_at), 'the answer to a later DM');
}

/** Approvers: anyone who may edit other users (heidi, the help desk; bob once he joins it). */
const helpdeskPolicy = (commands: string[]): string =>
  policyFile({ approvals: { channel: 'ops/incidents', approvers: { permission: 'edit_other_users', scope: 'system' }, commands } });

async function approvalRequest(fake: FakeMattermost): Promise<Post> {
  return waitFor(() => fake.posts.find((p) => p.user_id === BOT_ID && p.message.includes('Approval needed') && actionIds(p).includes('approve')), 'the approval request');
}

/** Puts `username` in the approvals channel (the server checks read access on a click). */
async function joinApprovals(fake: FakeMattermost, request: Post, username: string): Promise<void> {
  expect(await asAlice(fake, 'POST', `/channels/${request.channel_id}/members`, { user_id: userIdFor(username) })).toBe(201);
}

describe('the second person is not the target', () => {
  const mfaResets = (fake: FakeMattermost, userId: string): RecordedRequest[] => botCalls(fake, 'PUT', new RegExp(`^/api/v4/users/${userId}/mfa$`));

  it('the person whose MFA is reset cannot approve (nor deny) it; the request stays open and another approver runs it', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET, MMOPS_POLICY: helpdeskPolicy(['user mfa']) } });
    const { fake } = e2e;
    const heidi = fake.store.users.get(HEIDI);
    if (!heidi) throw new Error('seed changed: no heidi');
    heidi.mfa_active = true;
    heidi.mfa_secret = 'HEIDISECRET';
    const r = await fake.executeSlash('alice', 'acme:town-square', '/user mfa @heidi off');
    expect(r.ephemeral.map((p) => p.message).join('\n')).toContain('Sent for approval');
    const request = await approvalRequest(fake);
    await joinApprovals(fake, request, 'heidi');
    fake.clearRequests();

    const approve = await fake.clickAction('heidi', request.id, 'approve');
    expect(approve.status).toBe(200);
    expect(lastEphemeral(fake, 'heidi')).toMatch(/done to you.*someone else/i);
    const deny = await fake.clickAction('heidi', request.id, 'deny');
    expect(deny.status).toBe(200);
    expect(lastEphemeral(fake, 'heidi')).toMatch(/done to you/i);
    expect(mfaResets(fake, HEIDI)).toEqual([]);
    expect(fake.store.users.get(HEIDI)?.mfa_active).toBe(true);
    // still open: the buttons are there, and the refusal is in the audit trail
    const still = fake.posts.find((p) => p.id === request.id);
    expect(still?.message).toContain('Approval needed');
    expect(actionIds(still as Post)).toEqual(['approve', 'deny']);
    expect(audits(e2e)).toContainEqual(expect.objectContaining({ command: 'user mfa', outcome: 'refused', detail: expect.stringContaining('target') }));

    // bob joins the help desk and approves: it runs, once
    expect(await asAlice(fake, 'PUT', `/users/${BOB}/roles`, { roles: 'system_user helpdesk' })).toBe(200);
    await joinApprovals(fake, request, 'bob');
    await fake.clickAction('bob', request.id, 'approve');
    await waitFor(() => fake.posts.find((p) => p.id === request.id && p.message.includes('Approved by')), 'the outcome');
    expect(fake.store.users.get(HEIDI)?.mfa_active).toBe(false);
    expect(mfaResets(fake, HEIDI)).toHaveLength(1);
    // the audit line names both people: the requester and the approver
    expect(audits(e2e)).toContainEqual(expect.objectContaining({ who: expect.objectContaining({ username: 'alice' }), command: 'user mfa', outcome: 'succeeded', confirmedBy: 'approval by @bob' }));
  }, 30_000);

  it('no one among the people a team add adds can approve it', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET, MMOPS_POLICY: helpdeskPolicy(['team add']) } });
    const { fake } = e2e;
    const acme = fake.store.teamByName('acme')?.id ?? '';
    const membership = fake.store.teamMembers.find((m) => m.team_id === acme && m.user_id === HEIDI);
    if (!membership) throw new Error('seed changed: heidi is not in acme');
    membership.delete_at = Date.now(); // heidi left acme; ivan was never in it
    const r = await fake.executeSlash('alice', 'acme:town-square', '/team add acme @ivan @heidi');
    expect(r.ephemeral.map((p) => p.message).join('\n')).toContain('Sent for approval');
    const request = await approvalRequest(fake);
    await joinApprovals(fake, request, 'heidi');
    fake.clearRequests();

    await fake.clickAction('heidi', request.id, 'approve');
    expect(lastEphemeral(fake, 'heidi')).toMatch(/done to you/i);
    expect(botCalls(fake, 'POST', /\/members(\/batch)?$/)).toEqual([]);
    expect(fake.store.teamMembers.some((m) => m.team_id === acme && m.user_id === HEIDI && m.delete_at === 0)).toBe(false);
    expect(fake.store.teamMembers.some((m) => m.team_id === acme && m.user_id === IVAN && m.delete_at === 0)).toBe(false);
    expect(actionIds(fake.posts.find((p) => p.id === request.id) as Post)).toEqual(['approve', 'deny']);
  }, 30_000);
});

describe('the approver at run time', () => {
  it('an approval handed to the requester (Run now) does not run once the approver lost the approver right', async () => {
    // a secret answer runs when the requester clicks Run now, up to an hour after the
    // approval: the approval is only as good as the approver's right when it runs
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET, MMOPS_POLICY: helpdeskPolicy(['user sessions']) } });
    const { fake } = e2e;
    const signOuts = (): RecordedRequest[] => botCalls(fake, 'POST', new RegExp(`^/api/v4/users/${GRACE}/sessions/revoke/all$`));
    const r = await fake.executeSlash('alice', 'acme:town-square', '/user sessions @grace revoke-all');
    expect(r.ephemeral.map((p) => p.message).join('\n')).toContain('Sent for approval');
    const request = await approvalRequest(fake);
    await joinApprovals(fake, request, 'heidi');
    await fake.clickAction('heidi', request.id, 'approve');
    const dm = fake.store.directChannel(ALICE, BOT_ID)?.id;
    const handed = await waitFor(() => fake.posts.find((p) => p.channel_id === dm && p.message.includes('Run now')), 'the Run now message');
    // heidi leaves the help desk before alice runs it
    expect(await asAlice(fake, 'PUT', `/users/${HEIDI}/roles`, { roles: 'system_user' })).toBe(200);
    await botCaughtUp(fake);
    fake.clearRequests();
    const click = await fake.clickAction('alice', handed.id, 'run');
    expect(click.status).toBe(200);
    expect(lastEphemeral(fake, 'alice')).toMatch(/heidi.*no longer.*approve.*nothing was done/i);
    expect(signOuts()).toEqual([]);
    expect(fake.store.sessions.filter((x) => x.user_id === GRACE)).not.toEqual([]);
    expect(audits(e2e)).toContainEqual(expect.objectContaining({ command: 'user sessions', outcome: 'refused', detail: expect.stringContaining('approver') }));
  }, 30_000);
});

describe('a click runs what the preview showed', () => {
  const authChanges = (fake: FakeMattermost, userId: string): RecordedRequest[] => botCalls(fake, 'PUT', new RegExp(`^/api/v4/users/${userId}/auth$`));

  it('user auth @bob saml: bob changing his email between the preview and Confirm links nothing', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    const email = fake.store.users.get(BOB)?.email ?? '';
    const post = await slashWithButtons(fake, 'alice', '/user auth @bob saml');
    expect(unescaped(post.message)).toContain(`identity ${email}`);
    changeUser(fake, BOB, (u) => {
      u.email = 'alice.admin@evil.example';
    });
    await botCaughtUp(fake);
    fake.clearRequests();

    const click = await fake.clickAction('alice', post.id, 'confirm');
    expect(click.status).toBe(200);
    expect(lastEphemeral(fake, 'alice')).toMatch(/changed since you were asked; ask again/);
    expect(authChanges(fake, BOB)).toEqual([]);
    expect(fake.store.users.get(BOB)?.auth_service).toBe('');
    expect(fake.store.users.get(BOB)?.auth_data ?? '').toBe('');
  }, 30_000);

  it('user auth @bob saml under a two-person rule: the approver approves the identity shown, never another', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET, MMOPS_POLICY: helpdeskPolicy(['user auth']) } });
    const { fake } = e2e;
    const r = await fake.executeSlash('alice', 'acme:town-square', '/user auth @bob saml');
    expect(r.ephemeral.map((p) => p.message).join('\n')).toContain('Sent for approval');
    const request = await approvalRequest(fake);
    changeUser(fake, BOB, (u) => {
      u.email = 'alice.admin@evil.example';
    });
    await botCaughtUp(fake);
    await joinApprovals(fake, request, 'heidi');
    fake.clearRequests();
    await fake.clickAction('heidi', request.id, 'approve');
    await waitFor(() => fake.posts.find((p) => p.id === request.id && p.message.includes('Approved by')), 'the outcome');
    expect(authChanges(fake, BOB)).toEqual([]);
    expect(fake.store.users.get(BOB)?.auth_service).toBe('');
    const dm = fake.store.directChannel(ALICE, BOT_ID)?.id;
    await waitFor(() => fake.posts.find((p) => p.channel_id === dm && p.message.includes('changed since you were asked')), 'the requester told why');
  }, 30_000);

  it('user roles: roles changed by someone else between the preview and Confirm are not overwritten', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    const post = await slashWithButtons(fake, 'alice', '/user roles @grace system_user system_user_manager');
    expect(unescaped(post.message)).toContain('from system_user to system_user system_user_manager');
    // another admin makes grace a system admin meanwhile: the preview's "from" is not true any more
    expect(await asAlice(fake, 'PUT', `/users/${GRACE}/roles`, { roles: 'system_user system_admin' })).toBe(200);
    await botCaughtUp(fake);
    fake.clearRequests();
    await fake.clickAction('alice', post.id, 'confirm');
    expect(lastEphemeral(fake, 'alice')).toMatch(/changed since you were asked; ask again/);
    expect(botCalls(fake, 'PUT', new RegExp(`^/api/v4/users/${GRACE}/roles$`))).toEqual([]);
    expect(fake.store.users.get(GRACE)?.roles).toBe('system_user system_admin');
  }, 30_000);

  it('user sessions revoke-all under a two-person rule: the person signed out cannot stop it by signing in again', async () => {
    // a stolen session signs in once more before the approval: a pin on the number of
    // sessions let the target refuse every approved sign-out ("changed since you were
    // asked"), and with the rule in force --yes cannot go around it
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET, MMOPS_POLICY: helpdeskPolicy(['user sessions']) } });
    const { fake } = e2e;
    const signOuts = (): RecordedRequest[] => botCalls(fake, 'POST', new RegExp(`^/api/v4/users/${GRACE}/sessions/revoke/all$`));
    const r = await fake.executeSlash('alice', 'acme:town-square', '/user sessions @grace revoke-all');
    expect(r.ephemeral.map((p) => p.message).join('\n')).toContain('Sent for approval');
    const request = await approvalRequest(fake);
    const first = fake.store.sessions.find((x) => x.user_id === GRACE);
    if (!first) throw new Error('seed changed: grace has no session');
    fake.store.sessions.push({ ...first, id: userIdFor('grace-new-session'), token: userIdFor('grace-new-token'), create_at: Date.now(), last_activity_at: Date.now() });
    await joinApprovals(fake, request, 'heidi');
    fake.clearRequests();
    await fake.clickAction('heidi', request.id, 'approve');
    const dm = fake.store.directChannel(ALICE, BOT_ID)?.id;
    const handed = await waitFor(() => fake.posts.find((p) => p.channel_id === dm && p.message.includes('Run now')), 'the Run now message');
    await fake.clickAction('alice', handed.id, 'run');
    // the Run now post becomes the outcome
    expect(fake.posts.find((p) => p.id === handed.id)?.message).not.toMatch(/changed since you were asked/);
    expect(signOuts()).toHaveLength(1);
    expect(fake.store.sessions.filter((x) => x.user_id === GRACE)).toEqual([]);
  }, 30_000);

  it('a preview whose world did not change still runs on Confirm', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    const email = fake.store.users.get(BOB)?.email ?? '';
    const post = await slashWithButtons(fake, 'alice', '/user auth @bob saml');
    await fake.clickAction('alice', post.id, 'confirm');
    expect(authChanges(fake, BOB)).toHaveLength(1);
    expect(fake.store.users.get(BOB)).toMatchObject({ auth_service: 'saml', auth_data: email });
  }, 30_000);
});
