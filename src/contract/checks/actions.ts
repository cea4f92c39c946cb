/**
 * Interactive messages and dialogs (docs/mattermost-notes.md §8): what clients see of an
 * action, the request the server sends the integration when someone clicks (the bot's
 * POST /actions endpoint parses it), the encrypted cookie of ephemeral posts, what the server
 * does with the integration's answer, and dialogs opened with a signed trigger id.
 *
 * The bot (admin token) posts, clicks and submits in the scratch team's town-square; every post
 * is deleted again. The integration is the local callback listener (--callback-url on a remote
 * server); when the server cannot reach it the check is skipped, as the slash checks are.
 */
import { atLeast, parseServerVersion } from '../../../src/mattermost/compat.js';
import { generateKeyPairSync, createSign } from 'node:crypto';
import { z } from 'zod';
import type { CallbackRequest } from '../callback.js';
import { errorId, mustSucceed, statusLine, type Frame, type Socket } from '../http.js';
import { ensure, pass, skip, type Check, type CheckContext, type Outcome } from '../types.js';
import { verifyTriggerId } from './slash.js';
import { SCRATCH_POST_MESSAGE } from '../runner.js';

const WAIT = 5_000;
/** the secret the checks put into `context`: it must never come back to a client */
const SECRET = 'mmops-contract-secret-7f3a';

const rand = (): string => Math.random().toString(36).slice(2, 8);

async function publicKey(ctx: CheckContext): Promise<string | undefined> {
  const a = await ctx.anon.get('/config/client', { format: 'old' });
  const p = z.object({ AsymmetricSigningPublicKey: z.string().optional() }).passthrough().safeParse(a.json);
  return p.success ? p.data.AsymmetricSigningPublicKey : undefined;
}

async function scratchTown(ctx: CheckContext): Promise<string> {
  const a = await ctx.admin.get(`/teams/${ctx.scratch!.team.id}/channels/name/town-square`);
  const p = z.object({ id: z.string() }).safeParse(a.json);
  ensure(p.success, `scratch town-square: ${statusLine(a)}`);
  return p.data.id;
}

/** Props with one attachment holding these actions, all pointing at `path` on the listener. */
function actionProps(ctx: CheckContext, path: string, actions: Array<Record<string, unknown>>): Record<string, unknown> {
  return {
    attachments: [
      {
        text: 'mmops contract check, please ignore',
        actions: actions.map((a) => ({ type: 'button', name: 'Check', integration: { url: `${ctx.callback.url}${path}`, context: { op: 'check', secret: SECRET } }, ...a })),
      },
    ],
  };
}

const postedSchema = z.object({ id: z.string(), message: z.string(), props: z.record(z.string(), z.unknown()).nullish() });
const attachmentActions = z.object({ attachments: z.array(z.object({ actions: z.array(z.record(z.string(), z.unknown())).nullish() })) });

/** The bot posts a message with actions (undo first: delete it). */
async function postWithActions(ctx: CheckContext, path: string, actions: Array<Record<string, unknown>>) {
  const channelId = await scratchTown(ctx);
  let postId = '';
  ctx.onCleanup('delete the test post', async () => {
    if (!postId) return;
    const a = await ctx.admin.del(`/posts/${postId}`);
    if (a.status !== 404) mustSucceed(a, 'DELETE /posts/{id}');
  });
  const created = await ctx.admin.post('/posts', { channel_id: channelId, message: SCRATCH_POST_MESSAGE, props: actionProps(ctx, path, actions) });
  ensure(created.status === 201, `POST /posts with actions: ${statusLine(created)}`);
  const post = postedSchema.parse(created.json);
  postId = post.id;
  return { channelId, post, answerText: created.text };
}

function actionsOf(props: Record<string, unknown> | null | undefined): Array<Record<string, unknown>> {
  const p = attachmentActions.safeParse(props ?? {});
  return p.success ? p.data.attachments.flatMap((a) => a.actions ?? []) : [];
}

const click = (ctx: CheckContext, postId: string, actionId: string, body: Record<string, unknown> = {}) => ctx.admin.post(`/posts/${postId}/actions/${actionId}`, body);

/** The listener's request on `path`, or a skip when the server never reached it. */
async function reached(ctx: CheckContext, path: string, what: string): Promise<CallbackRequest | Outcome> {
  const r = await ctx.callback.waitFor(path, 3_000);
  if (r) return r;
  return skip(`${what}: the server did not reach the callback listener; give --callback-url reachable from the server and allow it in AllowedUntrustedInternalConnections`);
}

async function withSocket<T>(ctx: CheckContext, fn: (sock: Socket) => Promise<T>): Promise<T> {
  const sock = await ctx.admin.socket({ withToken: true });
  try {
    const hello = await sock.waitFor((f) => f.event === 'hello', WAIT);
    ensure(hello, 'bot socket: no hello');
    return await fn(sock);
  } finally {
    await sock.close();
  }
}

const postIn = (f: Frame): unknown => (typeof f.data?.post === 'string' ? JSON.parse(f.data.post) : undefined);

/**
 * An ephemeral post with one action, to the bot's own user, and both of its cookies: the one
 * in the REST answer and the one in the `ephemeral_message` event. Only the event's works: the
 * answer's is sealed after SendEphemeralPost stripped the integrations from the shared
 * attachments (app/post.go SendEphemeralPost, model/post.go Clone; api4/post.go
 * createEphemeralPost), so it carries none. The webapp clicks with the event's.
 */
async function ephemeralWithCookies(ctx: CheckContext, sock: Socket, channelId: string, message: string, path: string): Promise<{ id: string; restCookie: string; cookie: string; text: string }> {
  const a = await ctx.admin.post('/posts/ephemeral', { user_id: ctx.adminUser.id, post: { channel_id: channelId, message, props: actionProps(ctx, path, [{ id: 'mmopsok' }]) } });
  ensure(a.status === 201, `POST /posts/ephemeral: ${statusLine(a)}`);
  const p = postedSchema.parse(a.json);
  const ev = await sock.waitFor((f) => f.event === 'ephemeral_message' && z.object({ id: z.string() }).safeParse(postIn(f)).data?.id === p.id, WAIT);
  ensure(ev, 'no ephemeral_message for the ephemeral post');
  const seen = postedSchema.safeParse(postIn(ev));
  ensure(seen.success, 'the ephemeral_message post does not parse');
  return { id: p.id, restCookie: String(actionsOf(p.props)[0]?.cookie ?? ''), cookie: String(actionsOf(seen.data.props)[0]?.cookie ?? ''), text: `${a.text}${String(ev.data?.post ?? '')}` };
}

/** A trigger id in the server's format, signed with a key the server never published. */
function forgedTrigger(userId: string, at: number): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const data = `${'mmopscontract0forged000000'}:${userId}:${at}:`;
  const sig = createSign('sha256').update(data).sign({ key: privateKey, dsaEncoding: 'der' }).toString('base64');
  return Buffer.from(data + sig).toString('base64');
}

const REQUEST_KEYS = ['user_id', 'user_name', 'channel_id', 'channel_name', 'team_id', 'team_domain', 'post_id', 'trigger_id', 'type', 'data_source', 'context'];
const SUBMIT_KEYS = ['type', 'callback_id', 'state', 'user_id', 'channel_id', 'team_id', 'submission', 'cancelled'];

/** Clicks a fresh post's button and returns the trigger id the integration got (for the dialog checks). */
async function triggerFromClick(ctx: CheckContext): Promise<{ triggerId: string; channelId: string } | Outcome> {
  const path = `/act-${rand()}`;
  const { post, channelId } = await postWithActions(ctx, path, [{ id: 'mmopsdlg' }]);
  const c = await click(ctx, post.id, 'mmopsdlg');
  const req = await reached(ctx, path, `click: ${statusLine(c)}`);
  if ('status' in req) return req;
  const body = z.object({ trigger_id: z.string() }).safeParse(JSON.parse(req.body));
  ensure(body.success, 'the action request has no trigger_id');
  return { triggerId: body.data.trigger_id, channelId };
}

/** Read-only: refusals change nothing. */
export const actionReadChecks: Check[] = [
  {
    id: 'dialogs.open-refused',
    what: 'POST /actions/dialogs/open with a forged trigger id → 400 verify_signature_failed; forged and 60 s old → 400 expired (age is checked first); garbage → 400',
    dependsOn: 'dialogs for team invite and user password: only the server can open them, for the user the trigger was signed for',
    notes: '§8.7, §4.5',
    kind: 'read',
    async run(ctx) {
      const url = `${ctx.callback.url}/dialog-never`;
      const dialog = { callback_id: 'mmops-contract', title: 'Contract check', elements: [] };
      const fresh = await ctx.anon.post('/actions/dialogs/open', { trigger_id: forgedTrigger(ctx.callerUser.id, Date.now()), url, dialog });
      ensure(fresh.status === 400 && errorId(fresh) === 'interactive_message.decode_trigger_id.verify_signature_failed', `forged: ${statusLine(fresh)}`);
      const stale = await ctx.anon.post('/actions/dialogs/open', { trigger_id: forgedTrigger(ctx.callerUser.id, Date.now() - 60_000), url, dialog });
      ensure(stale.status === 400 && errorId(stale) === 'interactive_message.decode_trigger_id.expired', `forged and stale: ${statusLine(stale)}`);
      const garbage = await ctx.anon.post('/actions/dialogs/open', { trigger_id: 'not a trigger id', url, dialog });
      ensure(garbage.status === 400, `garbage: ${statusLine(garbage)}`);
      return pass(`forged 400 verify_signature_failed; stale 400 expired; garbage ${statusLine(garbage)}`);
    },
  },
];

export const actionChecks: Check[] = [
  {
    id: 'actions.strip',
    what: 'a post with actions: ids filled in (26 chars), integration (url, context) absent from the POST answer, GET /posts/{id} and the posted event',
    dependsOn: 'confirmation buttons: the HMAC-signed context stays hidden from clients (the bot never relies on reading it back)',
    notes: '§8.1, §8.2',
    kind: 'scratch',
    async run(ctx) {
      return withSocket(ctx, async (sock) => {
        const { post, answerText } = await postWithActions(ctx, `/act-${rand()}`, [{ id: 'mmopsok' }, { name: 'No id' }]);
        const actions = actionsOf(post.props);
        ensure(actions.length === 2, `the answer has ${actions.length} actions, not 2`);
        ensure(actions[0]?.id === 'mmopsok', 'the given action id changed');
        ensure(typeof actions[1]?.id === 'string' && /^[a-z0-9]{26}$/.test(actions[1].id), 'the missing action id was not filled in with a 26-character id');
        ensure(!answerText.includes(SECRET) && actions.every((a) => !('integration' in a)), 'the POST answer contains the integration');
        const got = await ctx.admin.get(`/posts/${post.id}`);
        ensure(got.status === 200 && !got.text.includes(SECRET) && !got.text.includes(ctx.callback.url), `GET /posts/{id} shows the integration (${statusLine(got)})`);
        const ev = await sock.waitFor((f) => f.event === 'posted' && typeof f.data?.post === 'string' && f.data.post.includes(post.id), WAIT);
        ensure(ev, 'no posted event');
        ensure(!String(ev.data?.post).includes(SECRET), 'the posted event contains the integration');
        return pass('ids filled; integration stripped from the answer, GET and posted');
      });
    },
  },
  {
    id: 'actions.request',
    what: "a click POSTs the integration JSON {user_id (clicker), user_name, channel, team, post_id, signed trigger_id, type, data_source, context}, no signature header; the clicker gets {status:OK, trigger_id}",
    dependsOn: 'the POST /actions endpoint: body parsing, the requester check on user_id, trigger_id for dialogs',
    notes: '§8.3, §8.4, §4.5',
    kind: 'scratch',
    async run(ctx) {
      const path = `/act-${rand()}`;
      const { post, channelId } = await postWithActions(ctx, path, [{ id: 'mmopsok' }]);
      const c = await click(ctx, post.id, 'mmopsok');
      const req = await reached(ctx, path, `click: ${statusLine(c)}`);
      if ('status' in req) return req;
      ensure(req.method === 'POST' && req.contentType.split(';')[0] === 'application/json', `${req.method} ${req.contentType}`);
      ensure(req.headers.accept === 'application/json', `Accept: ${String(req.headers.accept)}`);
      ensure(req.headers.authorization === undefined, 'the request carries an Authorization header');
      const body = z.record(z.string(), z.unknown()).parse(JSON.parse(req.body));
      ensure(JSON.stringify(Object.keys(body)) === JSON.stringify(REQUEST_KEYS), `fields ${Object.keys(body).join(',')}`);
      ensure(body.user_id === ctx.adminUser.id && body.user_name === ctx.adminUser.username, 'user_id/user_name are not the clicker');
      ensure(body.channel_id === channelId && body.channel_name === 'town-square', 'channel_id/channel_name');
      ensure(body.team_id === ctx.scratch!.team.id && body.team_domain === ctx.scratch!.team.name, 'team_id/team_domain');
      ensure(body.post_id === post.id && body.type === 'button' && body.data_source === '', 'post_id/type/data_source');
      ensure(JSON.stringify(body.context) === JSON.stringify({ op: 'check', secret: SECRET }), 'context is not the one posted');
      const reply = z.object({ status: z.literal('OK'), trigger_id: z.string() }).safeParse(c.json);
      ensure(c.status === 200 && reply.success, `click answer: ${statusLine(c)}`);
      ensure(Buffer.from(String(body.trigger_id), 'base64').toString('utf8').startsWith(`${reply.data.trigger_id}:`), "the click answer's trigger_id is not the client part of the signed one");
      const key = await publicKey(ctx);
      let signed = 'not checked (no public key)';
      if (key) {
        const t = verifyTriggerId(String(body.trigger_id), key);
        ensure(t.userId === ctx.adminUser.id, 'the trigger id is not signed for the clicker');
        signed = 'signed for the clicker';
      }
      return pass(`JSON, no Authorization; fields as expected; trigger_id ${signed}; {status:OK, trigger_id}`);
    },
  },
  {
    id: 'actions.id-charset',
    what: 'an action id outside [A-Za-z0-9] (btn_ok) is stored, but its click is 404 and never reaches the integration',
    dependsOn: 'action ids of the confirmation and approval buttons (letters and digits only)',
    notes: '§8.1',
    kind: 'scratch',
    async run(ctx) {
      const path = `/act-${rand()}`;
      const { post } = await postWithActions(ctx, path, [{ id: 'mmops_bad' }]);
      ensure(actionsOf(post.props)[0]?.id === 'mmops_bad', 'the server changed the id');
      const c = await click(ctx, post.id, 'mmops_bad');
      ensure(c.status === 404, `click: ${statusLine(c)}`);
      const req = await ctx.callback.waitFor(path, 500);
      ensure(!req, 'the integration was called');
      return pass('stored as sent; click 404; integration not called');
    },
  },
  {
    id: 'actions.errors',
    what: 'an integration answering non-200, or 200 with a body that is not JSON, gives the clicker 400 api.post.do_action.action_integration.app_error',
    dependsOn: 'the POST /actions endpoint always answers 200 JSON (else the user sees an error though the action ran)',
    notes: '§8.5',
    kind: 'scratch',
    async run(ctx) {
      const path = `/act-${rand()}`;
      const { post } = await postWithActions(ctx, path, [{ id: 'mmopsok' }]);
      ctx.callback.respond(path, { status: 503, body: '{}' });
      const c503 = await click(ctx, post.id, 'mmopsok');
      const req = await reached(ctx, path, `click: ${statusLine(c503)}`);
      if ('status' in req) return req;
      ensure(c503.status === 400 && errorId(c503) === 'api.post.do_action.action_integration.app_error', `503 → ${statusLine(c503)}`);
      ctx.callback.respond(path, { status: 200, contentType: 'text/plain', body: 'done' });
      const text = await click(ctx, post.id, 'mmopsok');
      ensure(text.status === 400 && errorId(text) === 'api.post.do_action.action_integration.app_error', `text body → ${statusLine(text)}`);
      ctx.callback.respond(path, { status: 200, body: '' });
      const empty = await click(ctx, post.id, 'mmopsok');
      // an empty body is EOF to 5.37's json Decoder (app/integration_action.go
      // DoPostActionWithCookie); 5.38+ skip decoding it. The bot always answers JSON.
      const v = parseServerVersion(ctx.version);
      if (v && !atLeast(v, 5, 38)) {
        ensure(empty.status === 400 && errorId(empty) === 'api.post.do_action.action_integration.app_error', `empty body (before 5.38) → ${statusLine(empty)}`);
        return pass('503 → 400; non-JSON → 400; empty body → 400 (before 5.38)');
      }
      ensure(empty.status === 200, `empty body → ${statusLine(empty)}`);
      return pass('503 → 400; non-JSON → 400; empty body → 200');
    },
  },
  {
    id: 'actions.update',
    what: 'the answer {update, ephemeral_text} replaces the stored post (props kept when omitted) and sends the clicker an ephemeral reply in its thread',
    dependsOn: 'the outcome replacing the buttons on stored posts (DM and approval posts); ephemeral_text for results',
    notes: '§8.5',
    kind: 'scratch',
    async run(ctx) {
      return withSocket(ctx, async (sock) => {
        const path = `/act-${rand()}`;
        const { post } = await postWithActions(ctx, path, [{ id: 'mmopsok' }]);
        ctx.callback.respond(path, { body: JSON.stringify({ update: { message: 'mmops contract check: updated' }, ephemeral_text: 'mmops contract check: done' }) });
        const c = await click(ctx, post.id, 'mmopsok');
        const req = await reached(ctx, path, `click: ${statusLine(c)}`);
        if ('status' in req) return req;
        ensure(c.status === 200, `click: ${statusLine(c)}`);
        const got = postedSchema.safeParse((await ctx.admin.get(`/posts/${post.id}`)).json);
        ensure(got.success && got.data.message === 'mmops contract check: updated', 'the post was not updated');
        ensure(actionsOf(got.data.props)[0]?.id === 'mmopsok', 'props were not kept although update had none');
        const edited = await sock.waitFor((f) => f.event === 'post_edited' && String(f.data?.post).includes(post.id), WAIT);
        ensure(edited, 'no post_edited event');
        const eph = await sock.waitFor((f) => f.event === 'ephemeral_message' && String(f.data?.post).includes('contract check: done'), WAIT);
        ensure(eph, 'no ephemeral_message for ephemeral_text');
        const p = z.object({ root_id: z.string(), user_id: z.string() }).safeParse(postIn(eph));
        ensure(p.success && p.data.root_id === post.id && p.data.user_id === ctx.adminUser.id, 'the ephemeral reply is not in the post thread or not from the clicker');
        return pass('post updated (props kept), post_edited; ephemeral_text in the thread, authored by the clicker');
      });
    },
  },
  {
    id: 'actions.ephemeral-cookie',
    what: 'POST /posts/ephemeral with actions: each action has an encrypted cookie, no integration; a click with the ephemeral_message event’s cookie reaches the integration, one with the REST answer’s is 400 (it carries no integration); no cookie → 404, a tampered one or another post’s → 400',
    dependsOn: 'buttons on ephemeral confirmations (slash and mention answers)',
    notes: '§8.1, §8.3',
    kind: 'scratch',
    async run(ctx) {
      return withSocket(ctx, async (sock) => {
        const path = `/act-${rand()}`;
        const channelId = await scratchTown(ctx);
        const a = await ephemeralWithCookies(ctx, sock, channelId, 'mmops contract check (ephemeral buttons)', path);
        const b = await ephemeralWithCookies(ctx, sock, channelId, 'mmops contract check (ephemeral buttons)', path);
        const { cookie } = a;
        ensure(cookie.length > 0 && a.restCookie.length > 0, 'the action has no cookie');
        ensure(!a.text.includes(SECRET) && !Buffer.from(cookie, 'base64').toString('latin1').includes(SECRET), 'the integration is readable by the client');
        const none = await click(ctx, a.id, 'mmopsok');
        ensure(none.status === 404, `no cookie: ${statusLine(none)}`);
        const raw = Buffer.from(cookie, 'base64');
        raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1;
        const tampered = await click(ctx, a.id, 'mmopsok', { cookie: raw.toString('base64') });
        ensure(tampered.status === 400, `tampered cookie: ${statusLine(tampered)}`);
        const swapped = await click(ctx, b.id, 'mmopsok', { cookie });
        ensure(swapped.status === 400, `another post's cookie: ${statusLine(swapped)}`);
        const rest = await click(ctx, a.id, 'mmopsok', { cookie: a.restCookie });
        ensure(rest.status === 400 && errorId(rest) === 'api.post.do_action.action_integration.app_error', `the REST answer's cookie: ${statusLine(rest)}, not 400 (no integration in it)`);
        ensure(!(await ctx.callback.waitFor(path, 300)), 'a refused click reached the integration');
        const ok = await click(ctx, a.id, 'mmopsok', { cookie });
        const req = await reached(ctx, path, `click: ${statusLine(ok)}`);
        if ('status' in req) return req;
        const body = z.object({ post_id: z.string(), user_id: z.string(), context: z.record(z.string(), z.unknown()) }).safeParse(JSON.parse(req.body));
        ensure(body.success && body.data.post_id === a.id && body.data.user_id === ctx.adminUser.id && body.data.context.secret === SECRET, 'the request does not carry the ephemeral post, clicker and context');
        ensure(ok.status === 200, `click: ${statusLine(ok)}`);
        return pass("cookie, no integration; no cookie 404, tampered 400, other post 400, the REST answer's 400; the event's → integration");
      });
    },
  },
  {
    id: 'actions.ephemeral-update',
    what: 'an update answer to a click on an ephemeral post: current servers send the clicker post_edited, older ones answer 404 after the integration ran (version-dependent); ephemeral_text works on both',
    dependsOn: 'outcomes of ephemeral confirmations: the bot answers them with ephemeral_text, never update (src/mattermost/compat.ts)',
    notes: '§8.5, §0',
    kind: 'scratch',
    async run(ctx) {
      return withSocket(ctx, async (sock) => {
        const path = `/act-${rand()}`;
        const channelId = await scratchTown(ctx);
        // clicked with the ephemeral_message event's cookie, as the webapp does
        const mk = () => ephemeralWithCookies(ctx, sock, channelId, 'mmops contract check (ephemeral update)', path);
        const e1 = await mk();
        ctx.callback.respond(path, { body: JSON.stringify({ ephemeral_text: 'mmops contract check: ephemeral text' }) });
        const t = await click(ctx, e1.id, 'mmopsok', { cookie: e1.cookie });
        const req = await reached(ctx, path, `click: ${statusLine(t)}`);
        if ('status' in req) return req;
        ensure(t.status === 200, `ephemeral_text answer: ${statusLine(t)}`);
        ensure(await sock.waitFor((f) => f.event === 'ephemeral_message' && String(f.data?.post).includes('ephemeral text'), WAIT), 'no ephemeral_message for ephemeral_text');
        const e2 = await mk();
        ctx.callback.respond(path, { body: JSON.stringify({ update: { message: 'mmops contract check: replaced' } }) });
        const before = ctx.callback.requests.length;
        const u = await click(ctx, e2.id, 'mmopsok', { cookie: e2.cookie });
        ensure(ctx.callback.requests.length > before, 'the update click did not reach the integration');
        if (u.status === 404 && errorId(u) === 'app.post.get.app_error') return pass('ephemeral_text: 200; update: old server (404 app.post.get.app_error after the call)');
        ensure(u.status === 200, `update answer: ${statusLine(u)}`);
        const edited = await sock.waitFor((f) => f.event === 'post_edited' && String(f.data?.post).includes(e2.id), WAIT);
        ensure(edited, 'update answered 200 but no post_edited reached the clicker');
        ensure(edited.broadcast?.user_id === ctx.adminUser.id, 'the post_edited of an ephemeral post is not addressed to the clicker only');
        return pass('ephemeral_text: 200; update: current server (post_edited to the clicker)');
      });
    },
  },
  {
    id: 'dialogs.open',
    what: "a click's trigger id opens a dialog without a session: {status:OK}, and open_dialog reaches the clicker with data.dialog a JSON string {trigger_id, url, dialog}",
    dependsOn: 'dialogs for team invite and user password (opened from a slash command or a button)',
    notes: '§8.7',
    kind: 'scratch',
    async run(ctx) {
      return withSocket(ctx, async (sock) => {
        const t = await triggerFromClick(ctx);
        if ('status' in t) return t;
        const url = `${ctx.callback.url}/dialog-${rand()}`;
        const dialog = { callback_id: 'mmops-contract', title: 'Contract check', state: 'st', elements: [{ display_name: 'Value', name: 'value', type: 'text' }] };
        const open = await ctx.anon.post('/actions/dialogs/open', { trigger_id: t.triggerId, url, dialog });
        ensure(open.status === 200 && z.object({ status: z.literal('OK') }).safeParse(open.json).success, `open: ${statusLine(open)}`);
        const ev = await sock.waitFor((f) => f.event === 'open_dialog', WAIT);
        ensure(ev, 'no open_dialog event for the clicker');
        ensure(typeof ev.data?.dialog === 'string', 'data.dialog is not a JSON string');
        const d = z.object({ trigger_id: z.string(), url: z.string(), dialog: z.object({ callback_id: z.string(), state: z.string() }) }).safeParse(JSON.parse(ev.data.dialog));
        ensure(d.success && d.data.url === url && d.data.dialog.callback_id === 'mmops-contract' && d.data.dialog.state === 'st', 'open_dialog does not carry url, callback_id and state');
        ensure(Buffer.from(t.triggerId, 'base64').toString('utf8').startsWith(`${d.data.trigger_id}:`), 'open_dialog.trigger_id is not the client part of the trigger id');
        return pass('{status:OK}; open_dialog with url, callback_id, state and the client trigger id');
      });
    },
  },
  {
    id: 'dialogs.submit',
    what: 'POST /actions/dialogs/submit: the URL gets {type:dialog_submission, callback_id, state, user_id (session, not the body), channel_id, team_id, submission, cancelled}; {errors} comes back; non-200 → 400',
    dependsOn: 'the dialog submission endpoint: who submitted (user_id), field errors shown in the dialog',
    notes: '§8.7',
    kind: 'scratch',
    async run(ctx) {
      const channelId = await scratchTown(ctx);
      const path = `/dialog-${rand()}`;
      ctx.callback.respond(path, { body: JSON.stringify({ errors: { value: 'mmops contract: not valid' } }) });
      const submit = { url: `${ctx.callback.url}${path}`, callback_id: 'mmops-contract', state: 'st', user_id: ctx.callerUser.id, channel_id: channelId, team_id: ctx.scratch!.team.id, submission: { value: 'x' }, cancelled: false };
      const a = await ctx.admin.post('/actions/dialogs/submit', submit);
      const req = await reached(ctx, path, `submit: ${statusLine(a)}`);
      if ('status' in req) return req;
      const body = z.record(z.string(), z.unknown()).parse(JSON.parse(req.body));
      ensure(JSON.stringify(Object.keys(body)) === JSON.stringify(SUBMIT_KEYS), `fields ${Object.keys(body).join(',')}`);
      ensure(body.type === 'dialog_submission' && body.callback_id === 'mmops-contract' && body.state === 'st' && body.cancelled === false, 'type/callback_id/state/cancelled');
      ensure(body.user_id === ctx.adminUser.id, 'user_id is not the session user (the forged one went through)');
      ensure(body.channel_id === channelId && body.team_id === ctx.scratch!.team.id, 'channel_id/team_id');
      ensure(JSON.stringify(body.submission) === JSON.stringify({ value: 'x' }), 'submission changed');
      ensure(a.status === 200 && JSON.stringify(a.json) === JSON.stringify({ errors: { value: 'mmops contract: not valid' } }), `answer: ${statusLine(a)} ${a.text.slice(0, 80)}`);
      ctx.callback.respond(path, { status: 500, body: '{}' });
      const bad = await ctx.admin.post('/actions/dialogs/submit', submit);
      ensure(bad.status === 400, `non-200: ${statusLine(bad)}`);
      return pass('fields as expected; user_id from the session; {errors} passed back; non-200 → 400');
    },
  },
];
