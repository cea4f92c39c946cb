/**
 * Several replicas of the real bot (createBot, as `npm start`) against the fake server,
 * behind the sandbox's round-robin proxy (MMOPS_PUBLIC_URL), sharing one state store:
 * the in-process store (as the demo does) and a real Redis. Each replica has its own
 * WebSocket, so every replica sees every post.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createBot, type Bot } from '../../src/bot.js';
import { startFakeMattermost, type FakeMattermost } from '../../src/sandbox/fake-server.js';
import { startRoundRobinProxy, type RoundRobinProxy } from '../../src/sandbox/round-robin.js';
import { userIdFor } from '../../src/sandbox/seed.js';
import { createMemoryStateStore, type StateStore } from '../../src/state/state-store.js';
import { answersInThread, configFor, envFor, FAST, waitFor } from '../e2e/support.js';
import { createMemoryLogger } from '../helpers/logger.js';
import { probeRedis, redisStores, whenConnected } from '../helpers/redis.js';

const redis = await probeRedis();
const redisMade = redisStores();
const BOT_ID = userIdFor('mmops');
const LEASE_MS = 400;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Cluster {
  fake: FakeMattermost;
  lb: RoundRobinProxy;
  bots: Bot[];
  start(state: StateStore): Promise<Bot>;
  close(): Promise<void>;
}

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

async function startCluster(): Promise<Cluster> {
  const fake = await startFakeMattermost({ seed: 'demo' });
  const lb = await startRoundRobinProxy();
  const bots: Bot[] = [];
  const log = createMemoryLogger();
  const c: Cluster = {
    fake,
    lb,
    bots,
    async start(state) {
      const config = configFor(envFor(fake.url, { MMOPS_PUBLIC_URL: lb.url, LOG_LEVEL: 'warn' }));
      const bot = createBot(config, { ...FAST, logger: log, state, leaseMs: LEASE_MS });
      bots.push(bot);
      await bot.start();
      await bot.registered();
      lb.setTargets(bots.filter((b) => b.url).map((b) => b.url));
      return bot;
    },
    async close() {
      for (const b of bots) await b.stop();
      await lb.close();
      await fake.close();
    },
  };
  return c;
}

const commandWrites = (fake: FakeMattermost) =>
  fake.requests.filter((r) => (r.method === 'POST' && r.path === '/api/v4/commands') || (r.method === 'PUT' && /^\/api\/v4\/commands\/[^/]+$/.test(r.path)));

const stores: Array<{ name: string; available: boolean; make(): Promise<StateStore> }> = [
  { name: 'in-process store', available: true, make: async () => createMemoryStateStore() },
  {
    name: 'Redis',
    available: redis.available,
    async make() {
      const s = redisMade.make();
      await whenConnected(s);
      return s;
    },
  },
];

describe.each(stores)('two replicas on a shared $name', ({ available, make }) => {
  it.runIf(available)('one leader registers once; every DM and mention is answered once; slash commands work on both', async () => {
    cluster = await startCluster();
    const { fake } = cluster;
    const state = await make();
    const a = await cluster.start(state);
    const writesAfterFirst = commandWrites(fake).length;
    expect(writesAfterFirst).toBeGreaterThan(0);
    const b = await cluster.start(state);
    expect([a, b].filter((x) => x.replica.isLeader())).toHaveLength(1);
    // the second replica learned the tokens without writing anything
    expect(commandWrites(fake)).toHaveLength(writesAfterFirst);
    expect(b.registrations().flatMap((r) => r.registered).sort()).toEqual(a.registrations().flatMap((r) => r.registered).sort());
    // every registered command points at the load balancer, never at a replica
    const ours = [...fake.store.commands.values()].filter((cmd) => cmd.creator_id === BOT_ID && cmd.delete_at === 0);
    expect(ours.length).toBeGreaterThan(0);
    expect(new Set(ours.map((cmd) => cmd.url))).toEqual(new Set([`${cluster.lb.url}/slash`]));

    const dms = [];
    for (let i = 0; i < 10; i++) dms.push(await fake.postAs(i % 2 ? 'alice' : 'bob', '@mmops', `status @carol`));
    const mention = await fake.postAs('alice', 'acme:town-square', '@mmops status @bob');
    await waitFor(() => answersInThread(fake, mention.id, BOT_ID).length > 0, 'the mention answer');
    for (const dm of dms) await waitFor(() => fake.posts.some((p) => p.user_id === BOT_ID && p.channel_id === dm.channel_id && p.create_at >= dm.create_at), 'a DM answer');
    await sleep(300);
    const dmChannels = new Set(dms.map((d) => d.channel_id));
    const dmAnswers = fake.posts.filter((p) => p.user_id === BOT_ID && dmChannels.has(p.channel_id));
    expect(dmAnswers).toHaveLength(10);
    expect(answersInThread(fake, mention.id, BOT_ID)).toHaveLength(1);

    // slash commands reach both replicas through the proxy and both can verify them
    for (let i = 0; i < 4; i++) {
      const r = await fake.executeSlash('alice', 'acme:town-square', '/mmops status @bob');
      expect(r.error, JSON.stringify(r.error)).toBeUndefined();
    }
    expect([...cluster.lb.served.values()].every((n) => n >= 2)).toBe(true);
    expect(cluster.lb.served.size).toBe(2);
  });

  it.runIf(available)('when the leader stops, the other takes over within 2 × the lease without re-registering', async () => {
    cluster = await startCluster();
    const { fake } = cluster;
    const state = await make();
    const a = await cluster.start(state);
    const b = await cluster.start(state);
    const writes = commandWrites(fake).length;
    const [leader, follower] = a.replica.isLeader() ? [a, b] : [b, a];
    expect(follower.replica.isLeader()).toBe(false);
    const stoppedAt = Date.now();
    await leader.stop();
    await waitFor(() => follower.replica.isLeader(), 'the follower to lead', 2 * LEASE_MS + 500);
    expect(Date.now() - stoppedAt).toBeLessThan(2 * LEASE_MS + 500);
    await sleep(200);
    // the new leader checked the registrations (a listing) and found them current: no write
    expect(commandWrites(fake)).toHaveLength(writes);
  });
});

/** A shared store that can be switched "unreachable": every call throws, healthy() is false. */
function switchable(inner: StateStore): StateStore & { healthy(): boolean; down: boolean } {
  const s = {
    down: false,
    healthy: () => !s.down,
  } as StateStore & { healthy(): boolean; down: boolean };
  for (const m of ['claim', 'renew', 'get', 'set', 'delete', 'swap', 'deleteIf', 'acquireLease', 'releaseLease'] as const) {
    (s as unknown as Record<string, unknown>)[m] = async (...args: unknown[]) => {
      if (s.down) throw new Error('state store unreachable');
      return (inner[m] as (...a: unknown[]) => Promise<unknown>)(...args);
    };
  }
  s.close = () => inner.close();
  return s;
}

describe('while the shared state store is unreachable', () => {
  it('slash commands are answered, DMs and mentions are not (no double answers), /readyz says state_store_down; once it is back the skipped DM is caught up, once', async () => {
    cluster = await startCluster();
    const { fake } = cluster;
    const state = switchable(createMemoryStateStore());
    const a = await cluster.start(state);
    const b = await cluster.start(state);
    expect((await (await fetch(`${a.url}/readyz`)).json()) as unknown).toEqual({ status: 'ready' });

    state.down = true;
    const ready = await fetch(`${b.url}/readyz`);
    expect(ready.status).toBe(200); // still in the load balancer: it answers slash commands
    expect(await ready.json()).toEqual({ status: 'degraded', reason: 'state_store_down' });

    const dm = await fake.postAs('alice', '@mmops', 'status @bob');
    for (let i = 0; i < 2; i++) {
      const r = await fake.executeSlash('alice', 'acme:town-square', '/mmops status @bob');
      expect(r.error, JSON.stringify(r.error)).toBeUndefined();
    }
    await sleep(300);
    expect(fake.posts.filter((p) => p.user_id === BOT_ID && p.channel_id === dm.channel_id)).toHaveLength(0);

    // back: the DM sent during the outage is caught up (exactly once across both replicas),
    // a new DM is answered exactly once again; the leader is still one replica
    state.down = false;
    await waitFor(async () => ((await (await fetch(`${a.url}/readyz`)).json()) as { status: string }).status === 'ready', 'ready again');
    await waitFor(() => fake.posts.some((p) => p.user_id === BOT_ID && p.channel_id === dm.channel_id), 'the DM from the outage, caught up', 10_000);
    const dm2 = await fake.postAs('bob', '@mmops', 'status @alice');
    await waitFor(() => fake.posts.some((p) => p.user_id === BOT_ID && p.channel_id === dm2.channel_id && p.create_at >= dm2.create_at), 'the DM answer');
    await sleep(300);
    expect(fake.posts.filter((p) => p.user_id === BOT_ID && p.channel_id === dm2.channel_id && p.create_at >= dm2.create_at)).toHaveLength(1);
    // the outage's DM got one answer (the replies name the post they answer)
    expect(fake.posts.filter((p) => p.user_id === BOT_ID && (p.props as Record<string, unknown> | undefined)?.['mmops_reply_to'] === dm.id)).toHaveLength(1);
    await waitFor(() => [a, b].filter((x) => x.replica.isLeader()).length === 1, 'exactly one leader', 3 * LEASE_MS);
  });
});
