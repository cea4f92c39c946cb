/**
 * `npm run contract -- --e2e` against the sandbox: the real bot as a process (as on a real
 * server), each step's row, and that the run leaves nothing behind. Run in the 5.37 mode
 * (no GET /users/{id}/channels, empty click answers refused) and as a current server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SANDBOX_BOT_TOKEN, teamIdFor, tokenFor, userIdFor } from '../../src/sandbox/seed.js';
import { E2E_STEPS, runEndToEnd } from '../../src/contract/e2e.js';
import { CONTRACT_E2E_USER, CONTRACT_SCRATCH_TEAM, startContractSandbox, type ContractSandbox } from '../../src/contract/sandbox-target.js';
import { renderTable } from '../../src/contract/table.js';

let sb: ContractSandbox | undefined;
afterEach(async () => {
  await sb?.close();
  sb = undefined;
});

const BOT = userIdFor('mmops');

describe('contract --e2e', () => {
  for (const version of ['5.37', '10.5']) {
    it(`every step passes on the sandbox playing ${version}, and the run leaves nothing behind`, { timeout: 90_000 }, async () => {
      sb = await startContractSandbox({ version });
      const { fake } = sb;
      const ann = userIdFor(CONTRACT_E2E_USER);
      const team = teamIdFor(CONTRACT_SCRATCH_TEAM);
      const member = () => { const m = fake.store.teamMember(team, ann); return m && { explicit: m.explicit_roles, user: m.scheme_user, admin: m.scheme_admin }; };
      const rolesBefore = member();
      expect(rolesBefore?.admin).toBe(false);
      const liveCommands = () => [...fake.store.commands.values()].filter((c) => c.delete_at === 0).length;
      const commandsBefore = liveCommands();
      const rows: string[] = [];
      const report = await runEndToEnd(
        { name: 'sandbox', url: fake.url, botToken: SANDBOX_BOT_TOKEN, userToken: tokenFor(CONTRACT_E2E_USER), scratchTeam: CONTRACT_SCRATCH_TEAM },
        { onResult: (r) => rows.push(r.id), settleMs: 250 },
      );
      const table = renderTable(E2E_STEPS, report);
      expect(report.aborted, table).toBeUndefined();
      expect(report.version).toMatch(new RegExp(`^${version.replace('.', '\\.')}\\.0\\.`));
      expect(rows).toEqual(E2E_STEPS.map((s) => s.id));
      for (const r of report.results) expect(r.status, `${r.id}: ${r.detail}`).toBe('pass');
      expect(report.cleanupFailures).toEqual([]);
      for (const s of E2E_STEPS) expect(table).toContain(s.id);

      // what the run did went through the server: the click, the command, the restart's DM
      expect(fake.requests.some((r) => r.method === 'POST' && r.path === '/api/v4/commands/execute' && r.userId === ann && r.status === 200)).toBe(true);
      expect(fake.requests.some((r) => r.method === 'POST' && /^\/api\/v4\/posts\/[a-z0-9]+\/actions\/confirm$/.test(r.path) && r.userId === ann && r.status === 200)).toBe(true);
      // the 5.37 server has no GET /users/{id}/channels: the bot never asked for it there
      const asked = fake.requests.filter((r) => r.path === `/api/v4/users/${BOT}/channels`);
      if (version === '5.37') expect(asked).toEqual([]);
      else expect(asked.length).toBeGreaterThan(0);

      // nothing left: posts, slash commands, the user's roles
      expect(fake.posts.filter((p) => p.delete_at === 0 && (p.user_id === ann || p.user_id === BOT) && p.create_at > Date.now() - 90_000)).toEqual([]);
      expect(liveCommands()).toBe(commandsBefore);
      expect(member()).toEqual(rolesBefore);
      // the refusal ran nothing: no team role was written but the confirmed one and its write-back
      const roleWrites = fake.requests.filter((r) => r.method === 'PUT' && r.path.startsWith(`/api/v4/teams/${team}/members/${ann}/`) && /\/(scheme)?[rR]oles$/.test(r.path));
      expect(roleWrites.map((r) => [r.path.split('/').pop(), (r.body as { scheme_admin?: boolean }).scheme_admin])).toEqual([
        ['schemeRoles', true],
        ['schemeRoles', false],
      ]);
    });
  }

  it('an interrupt (Ctrl-C aborts the same signal) stops after the running step, stops the bot and removes what it made', { timeout: 60_000 }, async () => {
    sb = await startContractSandbox({ version: '5.37' });
    const { fake } = sb;
    const ann = userIdFor(CONTRACT_E2E_USER);
    const liveCommands = () => [...fake.store.commands.values()].filter((c) => c.delete_at === 0).length;
    const commandsBefore = liveCommands();
    const stop = new AbortController();
    let commandsDuring = 0;
    const report = await runEndToEnd(
      { name: 'sandbox', url: fake.url, botToken: SANDBOX_BOT_TOKEN, userToken: tokenFor(CONTRACT_E2E_USER), scratchTeam: CONTRACT_SCRATCH_TEAM },
      {
        signal: stop.signal,
        settleMs: 250,
        onResult: (r) => {
          if (r.id === 'e2e.dm') {
            commandsDuring = liveCommands();
            stop.abort();
          }
        },
      },
    );
    expect(report.results.map((r) => `${r.id} ${r.status}`)).toEqual(['e2e.start pass', 'e2e.dm pass']);
    expect(commandsDuring).toBeGreaterThan(commandsBefore);
    expect(liveCommands()).toBe(commandsBefore);
    expect(fake.posts.filter((p) => p.delete_at === 0 && (p.user_id === ann || p.user_id === BOT) && p.create_at > Date.now() - 60_000)).toEqual([]);
    expect(report.cleanupFailures).toEqual([]);
    // the bot process is gone: its WebSocket closed
    await new Promise((r) => setTimeout(r, 200));
    expect(fake.wsConnections('mmops')).toEqual([]);
  });
});
