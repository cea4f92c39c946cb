/**
 * `npm run bench`, child process: the fake Mattermost server (demo seed plus
 * {@link BENCH_USER_COUNT} extra members of team `acme`), controlled by the parent over IPC.
 * `BENCH_TEAMS=N` adds teams until the bot is in N (the start-up in 1,000 teams, docs/benchmark.md).
 */
import { z } from 'zod';
import { startFakeMattermost, type FakeMattermost } from '../src/sandbox/fake-server.js';
import { newId } from '../src/sandbox/ids.js';
import { demoSeed, SeedBuilder, teamIdFor, userIdFor } from '../src/sandbox/seed.js';
import { BENCH_USER_COUNT, benchUsername, notifyParent, serveParent } from './bench-lib.js';

function seed(): ReturnType<typeof demoSeed> {
  const base = demoSeed();
  const extra = new SeedBuilder();
  const names = Array.from({ length: BENCH_USER_COUNT }, (_, i) => benchUsername(i + 1));
  for (const [i, username] of names.entries()) {
    const u = extra.user({ username, first_name: 'Bench', last_name: `User ${i + 1}` });
    extra.data.statuses.push({ user_id: u.id, status: i % 3 === 0 ? 'online' : i % 3 === 1 ? 'away' : 'offline', manual: false, last_activity_at: Date.now() - i * 60_000, dnd_end_time: 0 });
  }
  // the team and channel rows already exist in the demo seed; only memberships are added
  extra.join('acme', names, ['town-square']);
  return {
    ...base,
    users: [...(base.users ?? []), ...extra.data.users],
    tokens: [...(base.tokens ?? []), ...extra.data.tokens],
    statuses: [...(base.statuses ?? []), ...extra.data.statuses],
    teamMembers: [...(base.teamMembers ?? []), ...extra.data.teamMembers],
    channelMembers: [...(base.channelMembers ?? []), ...extra.data.channelMembers],
  };
}

const BOT_ID = userIdFor('mmops');
const REPLY_TO_PROP = 'mmops_reply_to';

/**
 * Adds copies of team `acme` with the bot as a member until the bot is in `total` teams.
 * No team keeps its own permission scheme (each such team costs the bot one more read,
 * GET /schemes/{id}; test/e2e/startup.test.ts does the same).
 */
function addTeams(fake: FakeMattermost, total: number): void {
  const acme = fake.store.teams.get(teamIdFor('acme'));
  const member = fake.store.teamMembers.find((m) => m.team_id === teamIdFor('acme') && m.user_id === BOT_ID);
  if (!acme || !member) throw new Error('the demo seed changed: no team acme with the bot in it');
  const have = fake.store.teamMembers.filter((m) => m.user_id === BOT_ID && m.delete_at === 0).length;
  for (let i = have; i < total; i++) {
    const id = newId();
    fake.store.teams.set(id, { ...acme, id, name: `bench-team-${i}`, display_name: `Bench team ${i}`, invite_id: newId() });
    fake.store.teamMembers.push({ ...member, team_id: id });
  }
  for (const t of fake.store.teams.values()) t.scheme_id = null;
}

/** The bot's posts created at or after `since` that answer a post (props.mmops_reply_to). */
function botAnswers(fake: FakeMattermost, since: number): Array<{ replyTo: string; at: number; channelId: string; message: string }> {
  const out: Array<{ replyTo: string; at: number; channelId: string; message: string }> = [];
  for (let i = fake.posts.length - 1; i >= 0; i--) {
    const p = fake.posts[i];
    if (!p) continue;
    if (p.create_at < since) break;
    if (p.user_id !== BOT_ID) continue;
    const replyTo = p.props[REPLY_TO_PROP];
    out.push({ replyTo: typeof replyTo === 'string' ? replyTo : '', at: p.create_at, channelId: p.channel_id, message: p.message });
  }
  return out.reverse();
}

{
  // the parent signs slash trigger ids with the same key (BENCH_SIGNING_KEY, PKCS#8 PEM)
  const signingKeyPem = process.env.BENCH_SIGNING_KEY;
  const fake = await startFakeMattermost({ seed: seed(), ...(signingKeyPem ? { signingKeyPem } : {}) });
  const teams = Number(process.env.BENCH_TEAMS ?? '0');
  if (teams > 0) addTeams(fake, teams);
  const byUser = z.object({ userId: z.string() });
  const dmsArgs = z.object({ users: z.array(z.string()).min(1), count: z.number().int().positive(), text: z.string() });
  const sinceArgs = z.object({ since: z.number() });
  const latencyArgs = z.object({ ms: z.number().min(0) });
  const onOff = z.object({ on: z.boolean() });
  let cpuMark = process.cpuUsage();
  serveParent({
    info: () => ({ url: fake.url }),
    resetSamples: () => {
      cpuMark = process.cpuUsage();
    },
    cpu: () => {
      const c = process.cpuUsage(cpuMark);
      return { micros: c.user + c.system };
    },
    commands: () =>
      [...fake.store.commands.values()].filter((c) => c.delete_at === 0).map((c) => ({ trigger: c.trigger, teamId: c.team_id, token: c.token, url: c.url })),
    mark: () => {
      fake.clearRequests();
    },
    /** `METHOD /path` of every request by `userId` since the last mark */
    apiCalls: (args) => {
      const { userId } = byUser.parse(args);
      return fake.requests.filter((r) => r.userId === userId).map((r) => `${r.method} ${r.path}`);
    },
    /** how many requests by `userId` since the last mark (cheap; the log is then cleared) */
    countAndMark: (args) => {
      const { userId } = byUser.parse(args);
      const n = fake.requests.reduce((acc, r) => acc + (r.userId === userId ? 1 : 0), 0);
      fake.clearRequests();
      return n;
    },
    /** `METHOD /path` and time of every request by `userId` since the last mark */
    apiCallsTimed: (args) => {
      const { userId } = byUser.parse(args);
      return fake.requests.filter((r) => r.userId === userId).map((r) => ({ call: `${r.method} ${r.path}`, at: r.at }));
    },
    /** simulated latency of every API request (faults.latencyMs) */
    latency: (args) => {
      fake.faults.latencyMs = latencyArgs.parse(args).ms;
    },
    /** posts `count` DMs to the bot, round-robin over `users`, as fast as the server takes them; their ids and times */
    postDms: async (args) => {
      const { users, count, text } = dmsArgs.parse(args);
      const posted: Array<{ id: string; at: number; user: string }> = [];
      for (let i = 0; i < count; i++) {
        const user = users[i % users.length] ?? '';
        const p = await fake.postAs(user, '@mmops', text);
        posted.push({ id: p.id, at: p.create_at, user });
      }
      return posted;
    },
    /** the bot's answers (posts carrying props.mmops_reply_to) created since `since` (ms) */
    botAnswers: (args) => botAnswers(fake, sinceArgs.parse(args).since),
    /** the number of bot posts created since `since` (cheap: no texts) */
    botPostCount: (args) => botAnswers(fake, sinceArgs.parse(args).since).length,
    drop: () => {
      fake.dropSockets();
    },
    accept: (args) => {
      fake.setWebSocketAccepting(onOff.parse(args).on);
    },
    sockets: () => fake.wsConnections('mmops').length,
    memory: () => process.memoryUsage(),
    stop: async () => {
      await fake.close();
      setImmediate(() => process.exit(0));
    },
  });
  notifyParent('ready', { url: fake.url });
}
