/**
 * End to end: start-up in a large workspace (1,000 teams). The bot answers DMs as soon as
 * its WebSocket is up; slash registration follows in the background; a restart costs at
 * most (teams + 5) API calls.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createBot, type Bot } from '../../src/bot.js';
import { newId } from '../../src/sandbox/ids.js';
import { teamIdFor, userIdFor } from '../../src/sandbox/seed.js';
import { createMemoryLogger } from '../helpers/logger.js';
import { FAST, startE2E, waitFor, type E2E } from './support.js';

const BOT_ID = userIdFor('mmops');
const TEAMS = 1_000;

let e2e: E2E | undefined;
const extra: Bot[] = [];
afterEach(async () => {
  for (const b of extra.splice(0)) await b.stop();
  await e2e?.close();
  e2e = undefined;
});

describe('start-up with 1,000 teams', () => {
  it('answers a DM before slash registration is done, and a restart costs at most teams + 5 API calls', async () => {
    // a fixed public URL: a restart finds its commands unchanged
    e2e = await startE2E({ env: { MMOPS_PUBLIC_URL: 'http://mmops.internal:3978' } });
    const { fake } = e2e;
    await e2e.bot.stop();

    // 998 more teams with the bot in each, holding the same commands as acme (as a first start made them)
    const acme = fake.store.teams.get(teamIdFor('acme'));
    const acmeMember = fake.store.teamMembers.find((m) => m.team_id === teamIdFor('acme') && m.user_id === BOT_ID);
    const acmeCommands = [...fake.store.commands.values()].filter((c) => c.team_id === teamIdFor('acme'));
    if (!acme || !acmeMember || acmeCommands.length === 0) throw new Error('seed changed');
    for (let i = 0; i < TEAMS - 2; i++) {
      const id = newId();
      fake.store.teams.set(id, { ...acme, id, name: `team-${i}`, display_name: `Team ${i}`, invite_id: newId() });
      fake.store.teamMembers.push({ ...acmeMember, team_id: id });
      for (const c of acmeCommands) {
        const cid = newId();
        fake.store.commands.set(cid, { ...c, id: cid, team_id: id, token: newId() });
      }
    }

    // no team with its own permission scheme here: each such team costs one more read (GET /schemes/{id})
    for (const t of fake.store.teams.values()) t.scheme_id = null;

    fake.clearRequests();
    const bot = createBot(e2e.config, { ...FAST, logger: createMemoryLogger() });
    extra.push(bot);
    let registeredAt = 0;
    await bot.start();
    void bot.registered().then(() => {
      registeredAt = Date.now();
    });
    // start() did not wait for 1,000 teams' commands
    expect(bot.registrations().length).toBeLessThan(TEAMS);

    const dm = await fake.postAs('alice', '@mmops', 'whois @bob');
    const answer = await waitFor(() => fake.posts.find((p) => p.user_id === BOT_ID && p.channel_id === dm.channel_id), 'the DM answer', 30_000);
    const answeredAt = Date.now();
    expect(answer.message).toMatch(/Bob/);

    await bot.registered();
    expect(answeredAt).toBeLessThanOrEqual(registeredAt);
    expect(bot.registrations()).toHaveLength(TEAMS);
    expect(bot.registrations().every((r) => r.error === undefined && r.registered.length === acmeCommands.length)).toBe(true);

    // the start-up's calls: everything before the DM arrived plus the registration
    const dmCalls = fake.requests.filter((r) => r.at >= dm.create_at);
    const startup = fake.requests.filter((r) => !dmCalls.includes(r) || r.path === '/api/v4/commands');
    const commandsCalls = startup.filter((r) => r.path === '/api/v4/commands');
    expect(commandsCalls.filter((r) => r.method === 'GET')).toHaveLength(TEAMS);
    expect(commandsCalls.filter((r) => r.method !== 'GET')).toHaveLength(0);

    expect(startup.length).toBeLessThanOrEqual(TEAMS + 5);
  }, 120_000);
});
