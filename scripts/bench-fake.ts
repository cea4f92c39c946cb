/**
 * `npm run bench`, child process: the fake Mattermost server (demo seed plus
 * {@link BENCH_USER_COUNT} extra members of team `acme`), controlled by the parent over IPC.
 */
import { z } from 'zod';
import { startFakeMattermost } from '../src/sandbox/fake-server.js';
import { demoSeed, SeedBuilder } from '../src/sandbox/seed.js';
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

{
  // the parent signs slash trigger ids with the same key (BENCH_SIGNING_KEY, PKCS#8 PEM)
  const signingKeyPem = process.env.BENCH_SIGNING_KEY;
  const fake = await startFakeMattermost({ seed: seed(), ...(signingKeyPem ? { signingKeyPem } : {}) });
  const byUser = z.object({ userId: z.string() });
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
