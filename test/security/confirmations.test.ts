/**
 * Confirm with a button, approve with a second person, against the real bot
 * (createBot, as `npm start`) and the sandbox server, which does clicks as the server does
 * (docs/mattermost-notes.md §8: cookies on ephemeral posts, `user_id` from the clicker's
 * session, `integration` hidden from clients).
 *
 * Every refusal is checked twice: the answer, and that the privileged API call never
 * happened (the sandbox records every REST request).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeMattermost, Post, RecordedRequest } from '../../src/sandbox/fake-server.js';
import { userIdFor } from '../../src/sandbox/seed.js';
import { createActionTokens } from '../../src/services/action-token.js';
import { startE2E, waitFor, type E2E } from '../e2e/support.js';
import { actionIds, asAlice, audits, BOT_ID, botCalls, policyFile, postToBot, SECRET } from './interactions-support.js';

let e2e: E2E | undefined;
afterEach(async () => {
  await e2e?.close();
  e2e = undefined;
});

const GRACE = userIdFor('grace');
const CAROL = userIdFor('carol');

const deactivations = (fake: FakeMattermost): RecordedRequest[] => botCalls(fake, 'PUT', new RegExp(`^/api/v4/users/${GRACE}/active$`));
const mfaResets = (fake: FakeMattermost): RecordedRequest[] => botCalls(fake, 'PUT', new RegExp(`^/api/v4/users/${CAROL}/mfa$`));

/** The ephemeral post with buttons a slash command answered with. */
async function slashWithButtons(fake: FakeMattermost, who: string, text: string): Promise<Post> {
  const r = await fake.executeSlash(who, 'acme:town-square', text);
  expect(r.error).toBeUndefined();
  const post = r.ephemeral.find((p) => Array.isArray((p.props as { attachments?: unknown[] } | undefined)?.attachments));
  if (!post) throw new Error(`no buttons in the answer to ${text}: ${JSON.stringify(r.ephemeral.map((p) => p.message))}`);
  return post;
}

/** The newest ephemeral text the clicker got from a click. */
const lastEphemeral = (fake: FakeMattermost, who: string): string => [...fake.ephemeral].reverse().find((e) => e.userId === userIdFor(who))?.post.message ?? '';

describe('Confirm / Cancel buttons', () => {
  it("shows a preview with Confirm and Cancel; the requester's click runs it once, a second click does nothing", async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    const post = await slashWithButtons(fake, 'alice', '/user deactivate @grace');
    expect(post.message).toContain('This will deactivate');
    expect(post.message).toContain('Nothing has been changed yet');
    expect(actionIds(post)).toEqual(['confirm', 'cancel']);
    // the client never sees where the click goes or its signed context (§8.2)
    expect(JSON.stringify(post.props)).not.toContain('integration');
    expect(deactivations(fake)).toEqual([]);
    expect(fake.store.users.get(GRACE)?.delete_at).toBe(0);

    const click = await fake.clickAction('alice', post.id, 'confirm');
    expect(click.status).toBe(200);
    expect(fake.store.users.get(GRACE)?.delete_at).toBeGreaterThan(0);
    expect(deactivations(fake)).toHaveLength(1);
    expect(lastEphemeral(fake, 'alice')).toContain('Deactivated Grace');

    const again = await fake.clickAction('alice', post.id, 'confirm');
    expect(again.status).toBe(200);
    expect(lastEphemeral(fake, 'alice')).toContain('already handled');
    expect(deactivations(fake)).toHaveLength(1);

    // the audit trail says how it was confirmed, and records the second click
    expect(audits(e2e)).toContainEqual(expect.objectContaining({ command: 'user deactivate', outcome: 'succeeded', confirmedBy: 'click', target: '@grace' }));
    expect(audits(e2e)).toContainEqual(expect.objectContaining({ command: 'user deactivate', outcome: 'refused', detail: 'confirm clicked again (already handled)' }));
  }, 30_000);

  it('Cancel changes nothing, and Confirm after Cancel does nothing', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    const post = await slashWithButtons(fake, 'alice', '/user deactivate @grace');
    await fake.clickAction('alice', post.id, 'cancel');
    expect(lastEphemeral(fake, 'alice')).toContain('Cancelled');
    await fake.clickAction('alice', post.id, 'confirm');
    expect(lastEphemeral(fake, 'alice')).toContain('already handled');
    expect(fake.store.users.get(GRACE)?.delete_at).toBe(0);
    expect(deactivations(fake)).toEqual([]);
  }, 30_000);

  it("another user's click is refused: only the requester can confirm", async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    const post = await slashWithButtons(fake, 'alice', '/user deactivate @grace');
    const cookie = ((post.props as { attachments: Array<{ actions: Array<{ id: string; cookie?: string }> }> }).attachments[0]?.actions ?? []).find((a) => a.id === 'confirm')?.cookie;
    expect(cookie).toBeTruthy();
    // bob reads town-square, so the server lets him click with the cookie; the bot refuses
    const r = await fake.clickAction('bob', post.id, 'confirm', { cookie: cookie ?? '' });
    expect(r.status).toBe(200);
    expect(lastEphemeral(fake, 'bob')).toContain('Only @\u200balice can confirm this');
    expect(deactivations(fake)).toEqual([]);
    expect(audits(e2e)).toContainEqual(expect.objectContaining({ outcome: 'refused', detail: 'confirm clicked by someone else (bob)' }));
    // and alice can still confirm: bob's click used nothing up
    await fake.clickAction('alice', post.id, 'confirm');
    expect(deactivations(fake)).toHaveLength(1);
  }, 30_000);

  it('a forged click (no token, a bad HMAC, a tampered payload) is refused and runs nothing', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    const payload = {
      v: 1, kind: 'confirm', nonce: 'n'.repeat(22), requester: userIdFor('alice'), requesterName: 'alice', text: 'user deactivate @grace', label: 'user deactivate',
      source: 'slash', channelId: fake.store.channelByName?.('acme', 'town-square')?.id ?? 'c'.repeat(26), teamId: '', rootId: '', replyTo: '', expiresAt: Date.now() + 60_000, stored: false,
    };
    const foreign = createActionTokens({ secret: 'another-secret-entirely-0123456789abcdef' }).sign('action', payload);
    const genuine = createActionTokens({ secret: SECRET }).sign('action', payload);
    const [body = '', mac = ''] = genuine.split('.');
    const tampered = `${Buffer.from(Buffer.from(body, 'base64url').toString('utf8').replace('@grace', '@carol')).toString('base64url')}.${mac}`;
    const asDialog = createActionTokens({ secret: SECRET }).sign('dialog', payload);
    for (const context of [{}, { token: 'garbage' }, { token: foreign }, { token: tampered }, { token: asDialog }]) {
      const r = await postToBot(e2e, '/actions', { user_id: userIdFor('alice'), user_name: 'alice', post_id: 'p'.repeat(26), context });
      expect(r.status).toBe(200);
      expect(String(r.json['ephemeral_text'])).toContain("didn't come from me");
    }
    const malformed = await postToBot(e2e, '/actions', { context: { token: genuine } }); // no user_id: not the server's shape
    expect(malformed.status).toBe(400);
    expect(deactivations(fake)).toEqual([]);
    expect(fake.store.users.get(GRACE)?.delete_at).toBe(0);
    expect(e2e.log.dump()).toContain('click refused: its token is missing, forged or damaged');
    expect(audits(e2e).filter((a) => a.command === 'button click' && a.outcome === 'refused')).toHaveLength(5);
  }, 30_000);

  it('an expired confirmation is refused', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET, MMOPS_CONFIRM_TTL: '1s' } });
    const { fake } = e2e;
    const post = await slashWithButtons(fake, 'alice', '/user deactivate @grace');
    await new Promise((r) => setTimeout(r, 1_200));
    await fake.clickAction('alice', post.id, 'confirm');
    expect(lastEphemeral(fake, 'alice')).toContain('expired');
    expect(deactivations(fake)).toEqual([]);
    expect(audits(e2e)).toContainEqual(expect.objectContaining({ outcome: 'refused', detail: 'confirm clicked after it expired' }));
    expect(fake.store.users.get(GRACE)?.delete_at).toBe(0);
  }, 30_000);

  it('a permission revoked between the request and the click is refused (read fresh at click time)', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    expect(fake.store.users.get(CAROL)?.mfa_active).toBe(true);
    const post = await slashWithButtons(fake, 'heidi', '/user mfa @carol off');
    expect(post.message).toContain('This will turn multi\\-factor authentication off');
    // the help desk role is taken away; the bot hears nothing about it (§6 item 24)
    expect(await asAlice(fake, 'PUT', `/users/${userIdFor('heidi')}/roles`, { roles: 'system_user' })).toBe(200);
    fake.clearRequests();
    await fake.clickAction('heidi', post.id, 'confirm');
    expect(lastEphemeral(fake, 'heidi')).toContain('`edit_other_users`');
    expect(fake.store.users.get(CAROL)?.mfa_active).toBe(true);
    expect(mfaResets(fake)).toEqual([]);
    expect(audits(e2e)).toContainEqual(expect.objectContaining({ command: 'user mfa', outcome: 'refused', confirmedBy: 'click' }));
  }, 30_000);

  it('over DM the buttons are in the DM, and the outcome replaces them', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    const dm = await fake.postAs('alice', '@mmops', 'user deactivate @grace');
    const answer = await waitFor(() => fake.posts.find((p) => p.user_id === BOT_ID && p.channel_id === dm.channel_id), 'the confirmation');
    expect(actionIds(answer)).toEqual(['confirm', 'cancel']);
    await fake.clickAction('alice', answer.id, 'confirm');
    const updated = fake.posts.find((p) => p.id === answer.id);
    expect(updated?.message).toContain('Deactivated Grace');
    expect(actionIds(updated ?? answer)).toEqual([]);
    expect(deactivations(fake)).toHaveLength(1);
  }, 30_000);

  it('by mention the buttons are ephemeral in the thread, for the requester alone', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    const asked = await fake.postAs('alice', 'acme:town-square', '@mmops user deactivate @grace');
    const eph = await waitFor(() => fake.ephemeral.find((e) => e.userId === userIdFor('alice') && actionIds(e.post).length > 0), 'the ephemeral confirmation');
    expect(eph.post.root_id).toBe(asked.id);
    // nothing with buttons was stored in the channel
    expect(fake.posts.filter((p) => p.user_id === BOT_ID && p.channel_id === asked.channel_id)).toEqual([]);
    await fake.clickAction('alice', eph.post.id, 'confirm');
    expect(deactivations(fake)).toHaveLength(1);
    expect(lastEphemeral(fake, 'alice')).toContain('Deactivated Grace');
  }, 30_000);

  it('--yes still runs at once (keyboards and scripts)', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    const r = await fake.executeSlash('alice', 'acme:town-square', '/user deactivate @grace --yes');
    expect(r.ephemeral.map((p) => p.message).join('\n')).toContain('Deactivated Grace');
    expect(deactivations(fake)).toHaveLength(1);
  }, 30_000);
});

describe('two-person rule (MMOPS_POLICY approvals)', () => {
  const mfaPolicy = (): string => policyFile({ approvals: { channel: 'ops/incidents', approvers: { role: 'system_admin' }, commands: ['user mfa'] } });
  const approvalPost = (fake: FakeMattermost): Post | undefined => fake.posts.find((p) => p.user_id === BOT_ID && p.message.includes('Approval needed'));

  async function requestMfaReset(e: E2E): Promise<Post> {
    const r = await e.fake.executeSlash('heidi', 'acme:town-square', '/user mfa @carol off');
    expect(r.ephemeral.map((p) => p.message).join('\n')).toContain('Sent for approval to the approvals channel');
    // ops/incidents is private: its name is not told to the requester
    expect(r.ephemeral.map((p) => p.message).join('\n')).not.toContain('incidents');
    return waitFor(() => approvalPost(e.fake), 'the approval request');
  }

  it('the requester cannot approve; someone without the approver role cannot; an approver runs it and the requester hears by DM', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET, MMOPS_POLICY: mfaPolicy() } });
    const { fake } = e2e;
    const request = await requestMfaReset(e2e);
    expect(actionIds(request)).toEqual(['approve', 'deny']);
    expect(request.message).toContain('@\u200bheidi');
    expect(fake.store.users.get(CAROL)?.mfa_active).toBe(true);

    // heidi is not in ops/incidents: make her a member so she can click (the server checks channel read access)
    expect(await asAlice(fake, 'POST', `/channels/${request.channel_id}/members`, { user_id: userIdFor('heidi') })).toBe(201);
    await fake.clickAction('heidi', request.id, 'approve');
    expect(lastEphemeral(fake, 'heidi')).toContain("can't approve your own request");
    await fake.clickAction('bob', request.id, 'approve');
    expect(lastEphemeral(fake, 'bob')).toContain('Only someone with the system_admin role');
    expect(mfaResets(fake)).toEqual([]);
    expect(fake.store.users.get(CAROL)?.mfa_active).toBe(true);

    await fake.clickAction('alice', request.id, 'approve');
    expect(fake.store.users.get(CAROL)?.mfa_active).toBe(false);
    expect(mfaResets(fake)).toHaveLength(1);
    expect(fake.posts.find((p) => p.id === request.id)?.message).toContain('Approved by @\u200balice');
    const dm = fake.store.directChannel(userIdFor('heidi'), BOT_ID)?.id;
    const told = await waitFor(() => fake.posts.find((p) => p.channel_id === dm && p.message.includes('approved your request')), 'the DM to the requester');
    expect(told.message).toContain('MFA is off');
    // a second approval does nothing more
    await fake.clickAction('alice', request.id, 'approve');
    expect(mfaResets(fake)).toHaveLength(1);
    expect(audits(e2e)).toContainEqual(expect.objectContaining({ who: expect.objectContaining({ username: 'heidi' }), command: 'user mfa', outcome: 'requested' }));
    expect(audits(e2e)).toContainEqual(expect.objectContaining({ who: expect.objectContaining({ username: 'heidi' }), command: 'user mfa', outcome: 'succeeded', confirmedBy: 'approval by @alice' }));
    expect(audits(e2e)).toContainEqual(expect.objectContaining({ outcome: 'refused', detail: expect.stringContaining('own_request') }));
  }, 30_000);

  it("a request whose requester lost the right before the approval is not carried out", async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET, MMOPS_POLICY: mfaPolicy() } });
    const { fake } = e2e;
    const request = await requestMfaReset(e2e);
    expect(await asAlice(fake, 'PUT', `/users/${userIdFor('heidi')}/roles`, { roles: 'system_user' })).toBe(200);
    fake.clearRequests();
    await fake.clickAction('alice', request.id, 'approve');
    expect(fake.posts.find((p) => p.id === request.id)?.message).toContain('not carried out');
    expect(fake.store.users.get(CAROL)?.mfa_active).toBe(true);
    expect(mfaResets(fake)).toEqual([]);
  }, 30_000);

  it('--yes does not skip the approval, and a small team add needs it too when the policy names it', async () => {
    const path = policyFile({ approvals: { channel: 'ops/incidents', approvers: { role: 'system_admin' }, commands: ['user mfa', 'team add'] } });
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET, MMOPS_POLICY: path } });
    const { fake } = e2e;
    const typed = await fake.executeSlash('heidi', 'acme:town-square', '/user mfa @carol off --yes');
    expect(typed.ephemeral.map((p) => p.message).join('\n')).toContain('Sent for approval');
    const added = await fake.executeSlash('alice', 'acme:town-square', '/team add acme @ivan');
    expect(added.ephemeral.map((p) => p.message).join('\n')).toContain('Sent for approval');
    expect(mfaResets(fake)).toEqual([]);
    expect(botCalls(fake, 'POST', /\/members\/batch$/)).toEqual([]);
    expect(fake.store.users.get(CAROL)?.mfa_active).toBe(true);
    expect(fake.posts.filter((p) => p.user_id === BOT_ID && p.message.includes('Approval needed'))).toHaveLength(2);
  }, 30_000);

  it('Deny runs nothing and tells the requester', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET, MMOPS_POLICY: mfaPolicy() } });
    const { fake } = e2e;
    const request = await requestMfaReset(e2e);
    await fake.clickAction('alice', request.id, 'deny');
    expect(fake.posts.find((p) => p.id === request.id)?.message).toContain('Denied by @\u200balice');
    await fake.clickAction('alice', request.id, 'approve');
    expect(mfaResets(fake)).toEqual([]);
    const dm = fake.store.directChannel(userIdFor('heidi'), BOT_ID)?.id;
    await waitFor(() => fake.posts.find((p) => p.channel_id === dm && p.message.includes('denied your request')), 'the DM to the requester');
  }, 30_000);
});

describe('dialogs through the server', () => {
  it('/team invite without addresses opens a form; bad lines are refused per line, good ones are invited as the submitter', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake } = e2e;
    const r = await fake.executeSlash('alice', 'acme:town-square', '/team invite acme');
    expect(r.ephemeral).toEqual([]); // the dialog is the answer
    const opened = await waitFor(() => fake.dialogs.find((d) => d.userId === userIdFor('alice')), 'the dialog');
    expect(opened.dialog.callback_id).toBe('team-invite');
    const invites = (): RecordedRequest[] => botCalls(fake, 'POST', /\/invite\/email$/);

    const bad = await fake.submitDialog('alice', { emails: 'ann@example.com\nnope' });
    expect(bad.status).toBe(200);
    expect(JSON.stringify(bad.body)).toContain('line 2');
    expect(invites()).toEqual([]);
    // someone else submitting alice's form (same state) is refused
    const other = await fake.submitDialog('bob', { emails: 'x@example.com' }, { dialog: opened });
    expect(JSON.stringify(other.body)).toContain('opened for someone else');
    expect(invites()).toEqual([]);
    expect(audits(e2e)).toContainEqual(expect.objectContaining({ command: 'form submission', outcome: 'refused', detail: 'form team-invite opened for someone else' }));

    const good = await fake.submitDialog('alice', { emails: 'new.one@example.com\nnew.two@example.com' });
    expect(good.status).toBe(200);
    expect(invites()).toHaveLength(1);
    const answer = await waitFor(() => fake.ephemeral.find((e) => e.userId === userIdFor('alice') && e.post.message.includes('2 of 2 invited')), 'the answer');
    expect(answer.post.user_id).toBe(BOT_ID);
  }, 30_000);

  it('/user password @bob opens a password form; the typed password is set, shown nowhere and never logged', async () => {
    e2e = await startE2E({ env: { MMOPS_ACTIONS_SECRET: SECRET } });
    const { fake, log } = e2e;
    await fake.executeSlash('alice', 'acme:town-square', '/user password @bob');
    const opened = await waitFor(() => fake.dialogs.find((d) => d.userId === userIdFor('alice')), 'the dialog');
    expect(opened.dialog.callback_id).toBe('user-password');
    const pw = 'Correct-Horse-42-Battery';
    const mismatch = await fake.submitDialog('alice', { password: pw, confirm: `${pw}x` });
    expect(JSON.stringify(mismatch.body)).toContain('differ');
    expect(await fake.submitDialog('alice', { password: pw, confirm: pw })).toMatchObject({ status: 200 });
    await waitFor(() => fake.store.users.get(userIdFor('bob'))?.password === pw, 'the new password');
    expect(fake.posts.filter((p) => p.message.includes(pw))).toEqual([]);
    expect(fake.ephemeral.filter((e) => e.post.message.includes(pw))).toEqual([]);
    expect(log.dump()).not.toContain(pw);
    expect(audits(e2e)).toContainEqual(expect.objectContaining({ command: 'user password', outcome: 'succeeded', confirmedBy: 'dialog', target: '@bob' }));
  }, 30_000);
});
