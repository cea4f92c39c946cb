/**
 * WebSocket checks: the handshake the bot's socket client (src/mattermost/websocket.ts) relies
 * on, resumption, and the event shapes its intake (src/transports/ws-intake.ts) and permission
 * cache (src/core/permissions/service.ts) parse.
 */
import { z } from 'zod';
import { postSchema } from '../../mattermost/models.js';
import { mustSucceed, type Frame, type Socket } from '../http.js';
import { ensure, pass, type Check, type CheckContext } from '../types.js';
import { ensureCallerInScratchTeam } from './scratch-helpers.js';

const WAIT = 5_000;
const isHello = (f: Frame) => f.event === 'hello';

async function withSockets<T>(fn: (opened: Socket[]) => Promise<T>): Promise<T> {
  const opened: Socket[] = [];
  try {
    return await fn(opened);
  } finally {
    await Promise.all(opened.map((s) => s.close()));
  }
}

const helloData = z.object({ connection_id: z.string().regex(/^[a-z0-9]{26}$/), server_version: z.string() });

async function hello(sock: Socket, what: string): Promise<{ seq: number; connectionId: string; version: string }> {
  const f = await sock.waitFor(isHello, WAIT);
  ensure(f, `${what}: no hello within ${WAIT / 1000} s`);
  const d = helloData.safeParse(f.data);
  ensure(d.success, `${what}: hello without a 26-character connection_id or server_version`);
  return { seq: f.seq ?? -1, connectionId: d.data.connection_id, version: d.data.server_version };
}

/** Reconnects like the bot after a drop: same connection id, next wanted seq. */
function resumeQuery(connectionId: string, nextSeq: number): Record<string, string> {
  return { connection_id: connectionId, sequence_number: String(nextSeq) };
}

export const wsChecks: Check[] = [
  {
    id: 'ws.hello',
    what: 'an upgrade with Authorization: Bearer is authenticated at once: hello, seq 0, connection_id, server_version',
    dependsOn: 'socket client start-up, server version, resume bookkeeping (src/mattermost/websocket.ts)',
    notes: '§3.1, §3.4',
    kind: 'read',
    async run(ctx) {
      return withSockets(async (opened) => {
        const sock = await ctx.admin.socket({ withToken: true });
        opened.push(sock);
        const h = await hello(sock, 'upgrade with token');
        ensure(h.seq === 0, `hello has seq ${h.seq}, not 0`);
        ensure(/^\d+\.\d+\.\d+/.test(h.version), 'server_version is not a version');
        return pass('hello seq 0 with connection_id and server_version');
      });
    },
  },
  {
    id: 'ws.challenge',
    what: 'without a token on the upgrade, authentication_challenge gives hello and an OK reply with seq_reply',
    dependsOn: 'socket authentication fallback (src/mattermost/websocket.ts)',
    notes: '§3.1, §3.3',
    kind: 'read',
    async run(ctx) {
      return withSockets(async (opened) => {
        const sock = await ctx.admin.socket();
        opened.push(sock);
        ctx.admin.challenge(sock, 1);
        await hello(sock, 'after authentication_challenge');
        const reply = await sock.waitFor((f) => f.seq_reply === 1, WAIT);
        ensure(reply?.status === 'OK', `challenge reply: ${reply ? `status ${reply.status}` : 'none'}`);
        ensure(reply.event === undefined && reply.seq === undefined, 'the reply carries event/seq');
        return pass('hello + {status:OK, seq_reply:1}');
      });
    },
  },
  {
    id: 'ws.bad-token',
    what: 'a wrong token in authentication_challenge gets no hello and the socket is closed',
    dependsOn: 'token-rejection detection on the socket (the bot stops reconnecting with a bad token)',
    notes: '§3.1, §6 item 8',
    kind: 'read',
    async run(ctx) {
      return withSockets(async (opened) => {
        const sock = await ctx.anon.socket();
        opened.push(sock);
        ctx.anon.challenge(sock, 1, 'mmopscontractbadtoken00000');
        const closed = await sock.waitClosed(8_000);
        ensure(closed, 'the socket stayed open for 8 s after a bad token');
        ensure(!sock.frames.some(isHello), 'hello sent for a bad token');
        ensure(!sock.frames.some((f) => f.seq_reply === 1 && f.status === 'OK'), 'OK reply for a bad token');
        return pass('no hello, socket closed');
      });
    },
  },
  {
    id: 'ws.resume',
    what: 'reconnecting with the token, connection_id and the next seq resumes: no new hello',
    dependsOn: 'resume after a drop without a REST catch-up (src/mattermost/websocket.ts)',
    notes: '§3.1, §3.6',
    kind: 'read',
    async run(ctx) {
      return withSockets(async (opened) => {
        const first = await ctx.admin.socket({ withToken: true });
        opened.push(first);
        const h = await hello(first, 'first connection');
        await first.close();
        await new Promise((r) => setTimeout(r, 300));
        const again = await ctx.admin.socket({ withToken: true, query: resumeQuery(h.connectionId, h.seq + 1) });
        opened.push(again);
        again.send({ seq: 1, action: 'ping' });
        const pong = await again.waitFor((f) => f.seq_reply === 1, WAIT);
        ensure(pong?.status === 'OK', `ping after resume: ${pong ? pong.status : 'no reply'}`);
        // a hello would have come before the ping reply; give a slow server a moment more
        await again.waitFor(isHello, 500);
        ensure(!again.frames.some(isHello), 'a new hello came: the server did not resume');
        return pass('resumed: no hello, ping answered');
      });
    },
  },
  {
    id: 'ws.resume-needs-token',
    what: 'connection_id on an upgrade without a token is ignored: the challenge gets a new connection and hello',
    dependsOn: 'the socket client must put the token on the upgrade to resume (src/mattermost/websocket.ts)',
    notes: '§3.1',
    kind: 'read',
    async run(ctx) {
      return withSockets(async (opened) => {
        const first = await ctx.admin.socket({ withToken: true });
        opened.push(first);
        const h = await hello(first, 'first connection');
        await first.close();
        await new Promise((r) => setTimeout(r, 300));
        const again = await ctx.admin.socket({ query: resumeQuery(h.connectionId, h.seq + 1) });
        opened.push(again);
        ctx.admin.challenge(again, 1);
        const h2 = await hello(again, 'challenge after a token-less resume');
        ensure(h2.connectionId !== h.connectionId, 'the old connection was resumed without a token on the upgrade');
        ensure(h2.seq === 0, `new hello seq ${h2.seq}`);
        return pass('new connection_id and hello');
      });
    },
  },
  {
    id: 'ws.posted',
    what: 'a mention of the bot arrives as posted: post is a JSON string the bot parses, mentions a JSON string with its id',
    dependsOn: 'DM and mention intake (src/transports/ws-intake.ts)',
    notes: '§3.8, §6 item 1, §6 item 2',
    kind: 'scratch',
    async run(ctx) {
      const channel = await ensureCallerInScratchTeam(ctx);
      return withSockets(async (opened) => {
        const sock = await ctx.admin.socket({ withToken: true });
        opened.push(sock);
        await hello(sock, 'bot socket');
        const message = `@${ctx.adminUser.username} mmops contract check, please ignore`;
        // undo first (idempotent): delete whatever post this check made
        let postId = '';
        ctx.onCleanup('delete the test post', async () => {
          if (postId) mustSucceed(await ctx.user.del(`/posts/${postId}`), 'DELETE /posts/{id}');
        });
        const created = await ctx.user.post('/posts', { channel_id: channel.id, message });
        ensure(created.status === 201, `POST /posts: ${created.status}`);
        postId = z.object({ id: z.string() }).parse(created.json).id;
        const ev = await sock.waitFor((f) => f.event === 'posted' && typeof f.data?.post === 'string' && f.data.post.includes(postId), WAIT);
        ensure(ev?.data, 'no posted event for the post');
        const data = ev.data;
        ensure(typeof data.post === 'string', 'data.post is not a string');
        const post = postSchema.safeParse(JSON.parse(data.post));
        ensure(post.success && post.data.id === postId && post.data.message === message, 'data.post does not parse as the post');
        ensure(data.sender_name === `@${ctx.callerUser.username}`, `sender_name is "${String(data.sender_name)}"`);
        ensure(data.channel_type === 'O' || data.channel_type === 'P', `channel_type ${String(data.channel_type)}`);
        ensure(typeof data.mentions === 'string', `mentions is ${typeof data.mentions}, not a JSON string`);
        const mentions = z.array(z.string()).safeParse(JSON.parse(data.mentions));
        ensure(mentions.success && mentions.data.includes(ctx.adminUser.id), 'mentions does not list the bot');
        return pass('post and mentions are JSON strings; sender_name @user');
      });
    },
  },
  {
    id: 'ws.ephemeral',
    what: 'POST /posts/ephemeral: 201 system_ephemeral, ephemeral_message to the target only, not stored',
    dependsOn: 'private replies in channels (ephemeral answers), src/mattermost/rest-api.ts createEphemeralPost',
    notes: '§3.8, §5.10, §6 item 23',
    kind: 'scratch',
    async run(ctx) {
      const channel = await ensureCallerInScratchTeam(ctx);
      return withSockets(async (opened) => {
        const callerSock = await ctx.user.socket({ withToken: true });
        opened.push(callerSock);
        await hello(callerSock, 'user socket');
        const a = await ctx.admin.post('/posts/ephemeral', { user_id: ctx.callerUser.id, post: { channel_id: channel.id, message: 'mmops contract check (ephemeral)' } });
        ensure(a.status === 201, `POST /posts/ephemeral: ${a.status}`);
        const p = postSchema.safeParse(a.json);
        ensure(p.success && p.data.type === 'system_ephemeral', 'the answer is not a system_ephemeral post');
        const ev = await callerSock.waitFor((f) => f.event === 'ephemeral_message', WAIT);
        ensure(typeof ev?.data?.post === 'string', 'no ephemeral_message with a JSON-string post');
        const list = await ctx.admin.get(`/channels/${channel.id}/posts`, { page: 0, per_page: 60 });
        const order = z.object({ order: z.array(z.string()) }).safeParse(list.json);
        ensure(order.success, `GET /channels/{id}/posts: ${list.status}`);
        ensure(!order.data.order.includes(p.data.id), 'the ephemeral post is stored');
        return pass('201 system_ephemeral; event to target; not stored');
      });
    },
  },
  {
    id: 'ws.role-events',
    what: "a team-role change goes as memberrole_updated to the member only: the bot's socket sees nothing",
    dependsOn: 'permission cache freshness (src/core/permissions/service.ts reads roles fresh before privileged actions)',
    notes: '§6 item 24, §3.8',
    kind: 'scratch',
    async run(ctx: CheckContext) {
      await ensureCallerInScratchTeam(ctx);
      const team = ctx.scratch!.team;
      return withSockets(async (opened) => {
        const botSock = await ctx.admin.socket({ withToken: true });
        const userSock = await ctx.user.socket({ withToken: true });
        opened.push(botSock, userSock);
        await hello(botSock, 'bot socket');
        await hello(userSock, 'user socket');
        // the roles the member already has, again: the server still announces the change, and
        // nothing is granted or taken (undo: the same value once more)
        const path = `/teams/${team.id}/members/${ctx.callerUser.id}`;
        const current = z.object({ roles: z.string() }).safeParse((await ctx.admin.get(path)).json);
        ensure(current.success && current.data.roles.trim() !== '', 'cannot read the member\'s current roles');
        const roles = current.data.roles;
        ctx.onCleanup('put the member roles back', async () => {
          mustSucceed(await ctx.admin.put(`${path}/roles`, { roles }), 'PUT member roles');
        });
        const a = await ctx.admin.put(`${path}/roles`, { roles });
        ensure(a.status === 200, `PUT …/members/{user}/roles: ${a.status}`);
        const own = await userSock.waitFor((f) => f.event === 'memberrole_updated', WAIT);
        ensure(own, 'the member got no memberrole_updated');
        ensure(typeof own.data?.member === 'string', 'memberrole_updated.member is not a JSON string');
        await botSock.waitFor((f) => f.event === 'memberrole_updated', 1_000);
        ensure(!botSock.frames.some((f) => f.event === 'memberrole_updated' || f.event === 'user_role_updated'), "the bot saw another user's role event");
        return pass('memberrole_updated to the member only');
      });
    },
  },
];
