/**
 * Review of buttons, approvals and dialogs as an attacker would try them, against
 * the real bot (createBot, as `npm start`) and the sandbox server (docs/mattermost-notes.md §8).
 * Each test is one problem found in review; each asserts the refusal and that no privileged
 * call happened (the sandbox records every request).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeMattermost, RecordedRequest } from '../../src/sandbox/fake-server.js';
import { userIdFor } from '../../src/sandbox/seed.js';
import { startE2E, waitFor, type E2E } from '../e2e/support.js';
import { asAlice, BOT_ID, botCalls, policyFile, postToBot, SECRET } from './interactions-support.js';

let e2e: E2E | undefined;
afterEach(async () => {
  await e2e?.close();
  e2e = undefined;
});

const ALICE = userIdFor('alice');
const BOB = userIdFor('bob');
const ANN = userIdFor('ann');

const passwordSets = (fake: FakeMattermost, userId: string): RecordedRequest[] => botCalls(fake, 'PUT', new RegExp(`^/api/v4/users/${userId}/password$`));

/** What alice was told (ephemeral), newest last. */
const toldAlice = (fake: FakeMattermost): string[] => fake.ephemeral.filter((e) => e.userId === ALICE).map((e) => e.post.message);

/** A username change as the server makes it (PUT /users/{id}/patch), with its `user_updated` event (§3.8). */
function rename(fake: FakeMattermost, userId: string, username: string): void {
  const u = fake.store.users.get(userId);
  if (!u) throw new Error(`no user ${userId}`);
  u.username = username;
  fake.emit('user_updated', { user: fake.store.userView(u, undefined) });
}

/** A REST call as alice (system admin), as an admin acts in the System Console. */
/** A fresh 26-character id, as a forger would invent one. */
const randomId = (): string => Array.from({ length: 26 }, () => 'abcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(Math.random() * 36)]).join('');

describe('dialogs', () => {
  it('the password form acts on the person it was opened for, not on whoever has that name when it is submitted', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    await fake.executeSlash('alice', 'acme:town-square', '/user password @bob');
    const opened = await waitFor(() => fake.dialogs.find((d) => d.userId === ALICE), 'the dialog');
    expect(opened.dialog.introduction_text).toContain('@bob');
    // while the form is open, bob takes another name and ann takes "bob" (anyone may change their own username)
    rename(fake, BOB, 'bob.old');
    rename(fake, ANN, 'bob');
    // the bot's socket delivers events in order: once it answers a later DM, it has seen both renames
    const ping = await fake.postAs('alice', '@mmops', 'help');
    await waitFor(() => fake.posts.find((p) => p.user_id === BOT_ID && p.channel_id === ping.channel_id), 'the answer to a later DM');
    fake.clearRequests();
    const pw = 'Correct-Horse-42-Battery';
    const r = await fake.submitDialog('alice', { password: pw, confirm: pw });
    expect(r.status).toBe(200);
    await waitFor(() => toldAlice(fake).find((m) => m.includes('someone else')), 'the refusal');
    expect(passwordSets(fake, ANN)).toEqual([]);
    expect(fake.store.users.get(ANN)?.password).not.toBe(pw);
  }, 30_000);

  it('a submitted form cannot be submitted again (a replayed state runs nothing)', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    await fake.executeSlash('alice', 'acme:town-square', '/user password @bob');
    const opened = await waitFor(() => fake.dialogs.find((d) => d.userId === ALICE), 'the dialog');
    const first = 'Correct-Horse-42-Battery';
    expect(await fake.submitDialog('alice', { password: first, confirm: first })).toMatchObject({ status: 200 });
    await waitFor(() => fake.store.users.get(BOB)?.password === first, 'the new password');
    expect(passwordSets(fake, BOB)).toHaveLength(1);

    // the client saw the whole dialog (§8.7); the same state again, through the server and
    // straight to the bot's unauthenticated /dialogs route, must not set another password
    const second = 'Another-Horse-43-Battery';
    const again = await fake.submitDialog('alice', { password: second, confirm: second }, { dialog: opened });
    expect(JSON.stringify(again.body)).toContain('already');
    const direct = await postToBot(e2e, '/dialogs', {
      type: 'dialog_submission',
      callback_id: opened.dialog.callback_id,
      state: opened.dialog.state,
      user_id: ALICE,
      channel_id: opened.channelId,
      team_id: opened.teamId,
      submission: { password: second, confirm: second },
      cancelled: false,
    });
    expect(direct.status).toBe(200);
    expect(String(direct.json['error'])).toContain('already');
    expect(fake.store.users.get(BOB)?.password).toBe(first);
    expect(passwordSets(fake, BOB)).toHaveLength(1);
  }, 30_000);

  it('under a two-person rule for user password, no password form is opened (its value could never be approved)', async () => {
    const path = policyFile({ approvals: { channel: 'ops/incidents', approvers: { role: 'system_admin' }, commands: ['user password'] } });
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET, MMOPS_POLICY: path } });
    const { fake } = e2e;
    const r = await fake.executeSlash('alice', 'acme:town-square', '/user password @bob');
    expect(r.ephemeral.map((p) => p.message).join('\n')).toContain('--generate');
    await new Promise((res) => setTimeout(res, 100));
    expect(fake.dialogs).toEqual([]);
    expect(passwordSets(fake, BOB)).toEqual([]);
  }, 30_000);
});

describe('two-person rule', () => {
  it('an approved password reset is handed to the requester: it runs when they click Run now, and only they see the password', async () => {
    // approvers: anyone who may edit other users (heidi, the help desk); the bot lacks create_post_ephemeral,
    // and the requester may well be offline when the approval comes: an ephemeral answer would be lost
    const path = policyFile({ approvals: { channel: 'ops/incidents', approvers: { permission: 'edit_other_users', scope: 'system' }, commands: ['user password'] } });
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET, MMOPS_POLICY: path }, start: false });
    const { fake } = e2e;
    const admin = fake.store.roles.get('system_admin');
    if (!admin) throw new Error('seed changed: no system_admin role');
    admin.permissions = admin.permissions.filter((p) => p !== 'create_post_ephemeral');
    await e2e.bot.start();
    await e2e.bot.registered();
    const before = fake.store.users.get(BOB)?.password;

    const r = await fake.executeSlash('alice', 'acme:town-square', '/user password @bob --generate');
    expect(r.ephemeral.map((p) => p.message).join('\n')).toContain('Sent for approval');
    const request = await waitFor(() => fake.posts.find((p) => p.user_id === BOT_ID && p.message.includes('Approval needed')), 'the approval request');
    expect(await asAlice(fake, 'POST', `/channels/${request.channel_id}/members`, { user_id: userIdFor('heidi') })).toBe(201);
    fake.clearRequests();
    await fake.clickAction('heidi', request.id, 'approve');

    // approved, but nothing changed yet: alice gets a stored DM with Run now
    const updated = await waitFor(() => fake.posts.find((p) => p.id === request.id && p.message.includes('Approved by')), 'the outcome');
    expect(updated.message).toContain('the requester runs user password');
    expect(passwordSets(fake, BOB)).toEqual([]);
    expect(fake.store.users.get(BOB)?.password).toBe(before);
    const dm = fake.store.directChannel(userIdFor('alice'), BOT_ID)?.id;
    const handed = await waitFor(() => fake.posts.find((p) => p.channel_id === dm && p.message.includes('Run now')), 'the Run now message');
    // only alice may run it
    const stranger = await fake.clickAction('heidi', handed.id, 'run');
    expect(stranger.status).not.toBe(200); // heidi cannot read alice's DM (the server refuses the click)
    expect(passwordSets(fake, BOB)).toEqual([]);

    await fake.clickAction('alice', handed.id, 'run');
    expect(passwordSets(fake, BOB)).toHaveLength(1);
    const pw = fake.store.users.get(BOB)?.password ?? '';
    expect(pw).not.toBe(before);
    // the password reached alice alone (an ephemeral answer to her click), never a stored post
    expect(fake.ephemeral.find((e) => e.userId === userIdFor('alice') && e.post.message.includes(pw))).toBeDefined();
    expect(fake.posts.filter((p) => p.message.includes(pw))).toEqual([]);
    expect(e2e.log.dump()).not.toContain(pw);
    // once only
    await fake.clickAction('alice', handed.id, 'run');
    expect(passwordSets(fake, BOB)).toHaveLength(1);
  }, 30_000);
});

describe('a list of people (team add)', () => {
  it('an approved team add adds the people the approver was shown, not whoever has those names at approval time', async () => {
    const path = policyFile({ approvals: { channel: 'ops/incidents', approvers: { permission: 'edit_other_users', scope: 'system' }, commands: ['team add'] } });
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET, MMOPS_POLICY: path } });
    const { fake } = e2e;
    const acme = fake.store.teamByName('acme')?.id ?? '';
    const MALLORY = userIdFor('mallory');
    // mallory has left acme; ivan was never in it
    const membership = fake.store.teamMembers.find((m) => m.team_id === acme && m.user_id === MALLORY);
    if (!membership) throw new Error('seed changed: mallory is not in acme');
    membership.delete_at = Date.now();

    const r = await fake.executeSlash('alice', 'acme:town-square', '/team add acme @ivan');
    expect(r.ephemeral.map((p) => p.message).join('\n')).toContain('Sent for approval');
    const request = await waitFor(() => fake.posts.find((p) => p.user_id === BOT_ID && p.message.includes('Approval needed')), 'the approval request');
    expect(request.message).toContain('Ivan');

    // before anyone approves, ivan takes another name and mallory takes "ivan"
    rename(fake, userIdFor('ivan'), 'ivan.old');
    rename(fake, MALLORY, 'ivan');
    const ping = await fake.postAs('alice', '@mmops', 'help');
    await waitFor(() => fake.posts.find((p) => p.user_id === BOT_ID && p.channel_id === ping.channel_id), 'the answer to a later DM');
    expect(await asAlice(fake, 'POST', `/channels/${request.channel_id}/members`, { user_id: userIdFor('heidi') })).toBe(201);
    fake.clearRequests();
    await fake.clickAction('heidi', request.id, 'approve');

    await waitFor(() => fake.posts.find((p) => p.id === request.id && p.message.includes('Approved by')), 'the outcome');
    expect(botCalls(fake, 'POST', /\/members\/batch$/)).toEqual([]);
    expect(fake.store.teamMembers.some((m) => m.team_id === acme && m.user_id === MALLORY && m.delete_at === 0)).toBe(false);
    const dm = fake.store.directChannel(ALICE, BOT_ID)?.id;
    await waitFor(() => fake.posts.find((p) => p.channel_id === dm && p.message.includes('belong to other people')), 'the requester told why');
  }, 30_000);
});

describe('unauthenticated requests to /actions and /dialogs', () => {
  it('forged clicks and forms are not blamed on the user_id they claim, and cannot flood the audit channel', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET, MMOPS_AUDIT_CHANNEL: 'acme:off-topic' } });
    const { fake } = e2e;
    const auditChannel = fake.store.channelByName(fake.store.teamByName('acme')?.id ?? '', 'off-topic')?.id;
    expect(auditChannel).toBeTruthy();
    const auditPosts = () => fake.posts.filter((p) => p.user_id === BOT_ID && p.channel_id === auditChannel);
    const before = auditPosts().length;
    // nothing proves who sent these: the server signs no click (§8.4), so user_id and user_name are the forger's words
    for (let i = 0; i < 15; i++) {
      expect((await postToBot(e2e, '/actions', { user_id: randomId(), user_name: 'alice', post_id: randomId(), context: { token: 'forged' } })).status).toBe(200);
      expect((await postToBot(e2e, '/dialogs', { type: 'dialog_submission', callback_id: 'user-password', state: 'forged', user_id: randomId(), submission: {} })).status).toBe(200);
    }
    await new Promise((r) => setTimeout(r, 300));
    const posted = auditPosts().slice(before);
    // one line (then a summary a minute) for the lot, not one bot post per forged request
    expect(posted.length).toBeLessThanOrEqual(2);
    expect(posted.map((p) => p.message).join('\n')).not.toMatch(/@\u200b?alice/);
  }, 30_000);
});
