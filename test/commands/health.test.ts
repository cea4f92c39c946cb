/**
 * `/health` and `/health watch|unwatch|watches` through the real pipeline against the
 * fake server (demo seed: a 3-node cluster where app-3 lags, SAML with the private
 * key missing). The watch tests run the real dispatcher with a real watch service
 * (fake clock and timers, a temporary state file) posting through the real API.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Invocation, Services } from '../../src/core/command.js';
import type { BotStatus } from '../../src/services/bot-status.js';
import { createDispatcher, type Dispatcher } from '../../src/core/dispatcher.js';
import { silentLogger } from '../../src/log/logger.js';
import type { User } from '../../src/mattermost/models.js';
import { renderReply } from '../../src/render/markdown.js';
import { runHealthCheck } from '../../src/services/health-check.js';
import { createHealthWatchService, watchFilePath, type HealthWatchScheduler, type WatchTimers } from '../../src/services/health-watch.js';
import { channelIdFor, SANDBOX_BOT_TOKEN, teamIdFor, userIdFor } from '../../src/sandbox/seed.js';
import { createRestApi } from '../../src/mattermost/rest-api.js';
import { formatInterval, parseInterval } from '../../commands/lib/admin-health.js';
import { createHarness, type Harness } from '../helpers/harness.js';

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(async () => {
  await h?.close();
});

const SECTIONS = ['Server', 'Cluster', 'SAML certificates', 'This bot'];
/** The lines of one report section (from its bold header to the next one). */
function section(text: string, name: string): string {
  const lines = text.split('\n');
  const from = lines.indexOf(`**${name}**`);
  if (from < 0) return '';
  const rest = lines.slice(from + 1);
  const to = rest.findIndex((l) => SECTIONS.some((n) => l === `**${n}**`));
  return (to < 0 ? rest : rest.slice(0, to)).join('\n');
}

describe('/health', () => {
  it('reports a mismatched cluster node and a missing SAML private key, with the server section', async () => {
    const { result, text } = await h.run('alice', 'health');
    expect(result.outcome).toBe('ok');
    expect(result.reply.tone).toBe('warning');
    expect(text).toContain('Health: 🟡 degraded');
    expect(text).toContain('app\\-3 has version 10\\.4\\.2; the others have 10\\.5\\.0\\.');
    expect(text).toContain('app\\-3 has database schema version 126; the others have 128\\.');
    expect(text).toContain('app\\-3 has configuration hash 9f8e7d6c5b4a; the others have 1a2b3c4d5e6f\\.');
    expect(text).toContain('SAML\\: the service provider private key is missing');

    const server = section(text, 'Server');
    expect(server).toContain('**Database:** ✅ OK');
    expect(server).toContain('**File store:** ✅ OK');
    expect(server).toContain('**Search backend:** database');
    expect(server).toMatch(/\*\*API round trip:\*\* \d+ ms/);
    const cluster = section(text, 'Cluster');
    expect(cluster).toContain('| app\\-3 | 10\\.0\\.1\\.13 | ⚠️ 10\\.4\\.2 | ⚠️ 126 | ⚠️ 9f8e7d6c5b4a |');
    expect(cluster).toContain('| app\\-1 | 10\\.0\\.1\\.11 | 10\\.5\\.0 | 128 | 1a2b3c4d5e6f |');
    const saml = section(text, 'SAML certificates');
    expect(saml).toContain('**Private key:** ⚠️ missing');
    expect(saml).toContain('**Identity provider certificate:** ✅ present');
    expect(section(text, 'This bot')).toContain('**Account:** @\u200bmmops');
    // the ping asked for the server status with REST semantics
    const ping = h.fake.requests.find((r) => r.path === '/api/v4/system/ping');
    expect(ping?.query).toMatchObject({ get_server_status: 'true', use_rest_semantics: 'true' });
  });

  it('needs manage_system', async () => {
    const { result, text } = await h.run('carol', 'health');
    expect(result.outcome).toBe('refused');
    expect(text).toContain('`manage_system`');
    expect(h.fake.requests.some((r) => r.path === '/api/v4/cluster/status')).toBe(false);
  });

  it('shows SAML switched off (the server\u2019s 501) as a plain sentence, without a flag', async () => {
    h.fake.store.saml.enabled = false;
    const { text } = await h.run('alice', 'health');
    expect(section(text, 'SAML certificates')).toContain('Not in use: SAML 2\\.0 is not configured or supported on this server\\.');
    expect(text).not.toContain('private key is missing');
  });

  it('shows a refused or failing check in its own section while the rest still comes', async () => {
    h.fake.faults.failNext('GET', /\/cluster\/status$/, 403);
    h.fake.faults.failNext('GET', /\/saml\/certificate\/status$/, 500);
    const { result, text } = await h.run('alice', 'health');
    expect(result.outcome).toBe('ok');
    expect(section(text, 'Cluster')).toContain('Not checked: the bot account lacks sysconsole\\_read\\_environment\\_high\\_availability\\.');
    expect(section(text, 'SAML certificates')).toContain('Check failed');
    expect(text).toContain('The SAML certificate status could not be read');
    expect(section(text, 'Server')).toContain('**Database:** ✅ OK');
    expect(text).not.toContain('app\\-3 has version');
  });

  it('is down when the server stops answering, and says so instead of failing', async () => {
    await h.run('alice', 'health'); // the caller and their rights are known (cached) from before
    h.fake.faults.down = true;
    const { result, text } = await h.run('alice', 'health');
    h.fake.faults.down = false;
    expect(result.outcome).toBe('ok');
    expect(result.reply.tone).toBe('error');
    expect(text).toContain('Health: 🔴 down');
    expect(text).toContain('The server does not answer');
    expect(section(text, 'Server')).toContain('No answer');
    expect(section(text, 'Cluster')).toContain('No answer');
    expect(section(text, 'This bot')).toContain('**Account:**');
  });

  it('is "unknown", not down, when the server rate-limits the ping (a 429 is an answer)', async () => {
    await h.run('alice', 'health'); // the caller and their rights are known (cached) from before
    h.fake.faults.rateLimitNext('GET', /\/system\/ping$/, 0, 20);
    const { result, text } = await h.run('alice', 'health');
    expect(result.outcome).toBe('ok');
    expect(text).toContain('Health: ⚪ unknown');
    expect(text).not.toContain('down');
    expect(section(text, 'Server')).toContain('Unknown: The server is rate\\-limiting the bot');
  });

  it('reports an unhealthy database as down', async () => {
    h.fake.store.config.databaseStatus = 'UNHEALTHY';
    const { text } = await h.run('alice', 'health');
    expect(text).toContain('Health: 🔴 down');
    expect(section(text, 'Server')).toContain('**Database:** ⚠️ UNHEALTHY');
  });

  it('leaves out the sections the caller may not see (manage_system without the cluster/SAML permissions)', async () => {
    h.fake.store.roles.set('ops_lead', {
      id: 'opsleadroleopsleadroleopsl',
      name: 'ops_lead',
      display_name: 'Ops lead',
      description: '',
      create_at: 0,
      update_at: 0,
      delete_at: 0,
      permissions: ['manage_system'],
      scheme_managed: false,
      built_in: false,
    });
    const grace = h.fake.store.users.get(userIdFor('grace'));
    if (grace) grace.roles = 'system_user ops_lead';
    const { result, text } = await h.run('grace', 'health');
    expect(result.outcome).toBe('ok');
    expect(section(text, 'Cluster')).toContain('you need sysconsole\\_read\\_environment\\_high\\_availability');
    expect(section(text, 'SAML certificates')).toContain('you need get\\_saml\\_cert\\_status');
    expect(h.fake.requests.some((r) => r.path === '/api/v4/cluster/status')).toBe(false);
  });
});

// ---------------------------------------------------------------------------
// watches: the real dispatcher with a real watch service on a fake clock

function fakeClock(start = Date.now()) {
  let t = start;
  let seq = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  const timers: WatchTimers = {
    set(fn, ms) {
      pending.set(++seq, { at: t + ms, fn });
      return seq;
    },
    clear(handle) {
      if (typeof handle === 'number') pending.delete(handle);
    },
  };
  return {
    now: () => t,
    timers,
    advance(ms: number): void {
      const until = t + ms;
      for (;;) {
        const next = [...pending.entries()].filter(([, p]) => p.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
        if (!next) break;
        pending.delete(next[0]);
        t = Math.max(t, next[1].at);
        next[1].fn();
      }
      t = until;
    },
  };
}

describe('/health watch', () => {
  let dir: string;
  let me: User;
  let clock: ReturnType<typeof fakeClock>;
  let service: HealthWatchScheduler;
  let dispatcher: Dispatcher;
  const OPS_ALERTS = (): string => channelIdFor('acme', 'off-topic');

  /** A watch service + dispatcher over the harness's server, as the bot builds them. */
  function boot(): void {
    const botStatus = (): BotStatus => ({
      user: me,
      startedAt: clock.now() - 60_000,
      websocket: { connected: true, since: clock.now() - 60_000, reconnects: 0 },
      commandsServed: 0,
      lastError: null,
      serverVersion: '10.5.0',
    });
    // the watch's own client: the REST client's circuit breaker cools down in real time,
    // which the fake clock does not advance
    const watchApi = createRestApi({ url: h.fake.url, token: SANDBOX_BOT_TOKEN, logger: silentLogger, readRetries: 0, breaker: { failures: 1_000_000, cooldownMs: 0 } });
    service = createHealthWatchService({
      api: watchApi,
      store: { path: watchFilePath(join(dir, 'state')) },
      logger: silentLogger,
      runCheck: () => runHealthCheck({ api: watchApi, now: clock.now, botStatus }),
      now: clock.now,
      timers: clock.timers,
    });
    const services: Services = {
      watches: service,
      audit: () => {},
      botStatus,
      commands: () => h.registry.all(),
      policy: { extraRequirements: () => [] },
      triggers: { root: 'mmops', prefix: '' },
    };
    dispatcher = createDispatcher({ registry: h.registry, api: h.api, permissions: h.permissions, services, logger: silentLogger, botUserId: h.botUserId, now: clock.now });
  }

  async function run(username: string, text: string, inv: Partial<Invocation> = {}) {
    const result = await dispatcher.dispatch({
      source: 'slash',
      text,
      userId: userIdFor(username),
      teamId: teamIdFor('acme'),
      channelId: channelIdFor('acme', 'town-square'),
      rootId: '',
      receivedAt: clock.now(),
      ...inv,
    });
    return { result, text: renderReply(result.reply) };
  }

  const botPostsIn = (channelId: string) => h.fake.posts.filter((p) => p.user_id === h.botUserId && p.channel_id === channelId);
  const tick = async (ms: number): Promise<void> => {
    clock.advance(ms);
    await service.whenIdle();
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mmops-health-'));
    me = await h.api.getMe();
    clock = fakeClock();
    boot();
    await service.start();
  });
  afterEach(async () => {
    await service.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts a watch in a named channel, posts once per change (not per tick) and again on recovery', async () => {
    const started = await run('alice', 'health watch ~off-topic --every 5m');
    expect(started.result.outcome).toBe('ok');
    expect(started.text).toContain('Watching health every 5 min');
    expect(started.text).toContain('~off\\-topic');
    expect(service.list()).toMatchObject([{ channelId: OPS_ALERTS(), teamId: teamIdFor('acme'), everyMs: 300_000, createdBy: userIdFor('alice') }]);

    await tick(0);
    const first = botPostsIn(OPS_ALERTS());
    expect(first).toHaveLength(1); // the workspace is degraded: said once at the start
    expect(first[0]?.message).toContain('Health watch: 🟡 degraded');
    expect(first[0]?.message).toContain('app\\-3 has version 10\\.4\\.2');

    for (let i = 0; i < 4; i++) await tick(5 * 60_000);
    expect(botPostsIn(OPS_ALERTS())).toHaveLength(1);

    // app-3 catches up: the mismatch ends (SAML is still flagged)
    for (const n of h.fake.store.cluster) Object.assign(n, { version: '10.5.0', schema_version: '128', config_hash: '1a2b3c4d5e6f' });
    await tick(5 * 60_000);
    const second = botPostsIn(OPS_ALERTS());
    expect(second).toHaveLength(2);
    expect(second[1]?.message).toContain('still 🟡 degraded, but something changed');
    expect(second[1]?.message).toContain('Resolved:');

    // the key is uploaded: recovery
    h.fake.store.saml.private_key_file = true;
    await tick(5 * 60_000);
    const third = botPostsIn(OPS_ALERTS());
    expect(third).toHaveLength(3);
    expect(third[2]?.message).toContain('🟢 healthy again (was degraded)');
    await tick(5 * 60_000);
    expect(botPostsIn(OPS_ALERTS())).toHaveLength(3);
  });

  it('posts when the server stops answering and when it is back', async () => {
    h.fake.store.saml.private_key_file = true;
    for (const n of h.fake.store.cluster) Object.assign(n, { version: '10.5.0', schema_version: '128', config_hash: '1a2b3c4d5e6f' });
    await run('alice', 'health watch --every 1m');
    await tick(0);
    const here = channelIdFor('acme', 'town-square');
    expect(botPostsIn(here)).toHaveLength(0); // healthy: a quiet start

    // the ping fails twice in a row: one post, not two
    h.fake.faults.failNext('GET', /\/system\/ping$/, 503, 2);
    await tick(60_000);
    await tick(60_000);
    expect(botPostsIn(here)).toHaveLength(1);
    expect(botPostsIn(here)[0]?.message).toContain('🔴 down (was healthy)');
    expect(botPostsIn(here)[0]?.message).toContain('The server\'s ping failed');
    await tick(60_000);
    expect(botPostsIn(here)).toHaveLength(2);
    expect(botPostsIn(here)[1]?.message).toContain('🟢 healthy again (was down)');
  });

  it('after a full outage (nothing can be posted then), says how long it lasted once the server is back', async () => {
    h.fake.store.saml.private_key_file = true;
    for (const n of h.fake.store.cluster) Object.assign(n, { version: '10.5.0', schema_version: '128', config_hash: '1a2b3c4d5e6f' });
    await run('alice', 'health watch --every 1m');
    await tick(0);
    const here = channelIdFor('acme', 'town-square');
    expect(botPostsIn(here)).toHaveLength(0);
    h.fake.faults.down = true;
    await tick(60_000);
    await tick(60_000);
    await tick(60_000);
    h.fake.faults.down = false;
    expect(botPostsIn(here)).toHaveLength(0);
    await tick(60_000);
    const posts = botPostsIn(here);
    expect(posts).toHaveLength(1);
    expect(posts[0]?.message).toContain('🟢 healthy again');
    expect(posts[0]?.message).toContain('could not be reached for about 3 min');
    await tick(60_000);
    expect(botPostsIn(here)).toHaveLength(1);
    expect(service.nextRunAt(here)).toBe(clock.now() + 60_000);
  });

  it('resumes after a restart from the state file without repeating itself', async () => {
    await run('alice', 'health watch ~off-topic --every 2m');
    await tick(0);
    expect(botPostsIn(OPS_ALERTS())).toHaveLength(1);
    await service.stop();
    const file: unknown = JSON.parse(readFileSync(watchFilePath(join(dir, 'state')), 'utf8'));
    expect(file).toMatchObject({ version: 1, watches: [{ channelId: OPS_ALERTS(), everyMs: 120_000, last: { verdict: 'degraded' } }] });

    // restart: a new service and dispatcher over the same file
    clock.advance(10 * 60_000);
    boot();
    await service.start();
    expect((await run('alice', 'health watches')).text).toContain('~off\\-topic');
    await tick(0);
    expect(botPostsIn(OPS_ALERTS())).toHaveLength(1);
    h.fake.store.saml.private_key_file = true;
    await tick(2 * 60_000);
    expect(botPostsIn(OPS_ALERTS())).toHaveLength(2);
  });

  it('lists and removes watches', async () => {
    expect((await run('alice', 'health watches')).text).toContain('No health watches');
    await run('alice', 'health watch ~off-topic --every 10m');
    await tick(0);
    const listed = await run('alice', 'health watches');
    expect(listed.text).toContain('| ~off\\-topic | 10 min | Alice Admin \\(@\u200balice\\) |');
    expect(listed.text).toContain('🟡 degraded');
    const again = await run('alice', 'health watch ~off-topic --every 1h');
    expect(again.text).toContain('now every 1 h (was 10 min)');
    expect(service.list()).toHaveLength(1);

    expect((await run('alice', 'health unwatch ~off-topic')).text).toContain('Stopped the health watch');
    expect((await run('alice', 'health unwatch ~off-topic')).text).toContain('There is no health watch');
    expect(service.list()).toEqual([]);
  });

  it('validates the interval and the channel, and needs manage_system', async () => {
    expect((await run('alice', 'health watch --every soon')).text).toContain('\\-\\-every takes an interval');
    expect((await run('alice', 'health watch --every 10s')).text).toContain('between 1 min and 24 h');
    expect((await run('alice', 'health watch ~no-such-channel')).result.outcome).toBe('user_error');
    const refused = await run('dave', 'health watch');
    expect(refused.result.outcome).toBe('refused');
    expect(refused.text).toContain('`manage_system`');
    expect(service.list()).toEqual([]);
  });

  it('watches in the DM with the bot', async () => {
    const dm = await h.api.createDirectChannel(userIdFor('alice'), h.botUserId);
    const r = await run('alice', 'health watch', { source: 'dm', teamId: '', channelId: dm.id });
    expect(r.result.outcome).toBe('ok');
    expect(r.text).toContain('this direct message');
    await tick(0);
    expect(botPostsIn(dm.id)).toHaveLength(1);
  });
});

describe('--every intervals', () => {
  it('parses and prints the interval forms', () => {
    expect(parseInterval('5m')).toBe(300_000);
    expect(parseInterval('90s')).toBe(90_000);
    expect(parseInterval('1h30m')).toBe(5_400_000);
    expect(parseInterval('2h')).toBe(7_200_000);
    expect(parseInterval('15')).toBe(900_000);
    expect(parseInterval('10min')).toBe(600_000);
    for (const bad of ['', 'soon', '5x', 'm', '-5m', '1d']) expect(parseInterval(bad), bad).toBeUndefined();
    expect(formatInterval(300_000)).toBe('5 min');
    expect(formatInterval(5_400_000)).toBe('1 h 30 min');
    expect(formatInterval(3_600_000)).toBe('1 h');
  });
});
