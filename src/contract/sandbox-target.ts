/**
 * The sandbox side of the contract: the fake Mattermost server with the demo seed plus a
 * scratch team `contract` (the bot is a member, the user `dave` is not), rate limiting on
 * with a budget no check exhausts, the bot's token as admin token and dave's as user token.
 */
import { startFakeMattermost, type FakeMattermost } from '../sandbox/fake-server.js';
import { demoSeed, SANDBOX_BOT_TOKEN, SeedBuilder, tokenFor } from '../sandbox/seed.js';
import type { SeedData } from '../sandbox/store.js';
import type { Target } from './runner.js';

export const CONTRACT_SCRATCH_TEAM = 'contract';
export const CONTRACT_CALLER = 'dave';

/** The demo seed plus the scratch team. */
export function contractSeed(): SeedData {
  const base = demoSeed();
  const extra = new SeedBuilder();
  extra.team(CONTRACT_SCRATCH_TEAM, 'Contract checks', { description: 'Scratch team for npm run contract', type: 'I', allow_open_invite: false });
  extra.channel(CONTRACT_SCRATCH_TEAM, 'town-square', 'Town Square');
  extra.channel(CONTRACT_SCRATCH_TEAM, 'off-topic', 'Off-Topic');
  extra.join(CONTRACT_SCRATCH_TEAM, ['mmops'], ['town-square', 'off-topic'], 'admin');
  extra.join(CONTRACT_SCRATCH_TEAM, ['alice', 'ann'], ['town-square', 'off-topic']);
  return {
    ...base,
    teams: [...(base.teams ?? []), ...extra.data.teams],
    channels: [...(base.channels ?? []), ...extra.data.channels],
    teamMembers: [...(base.teamMembers ?? []), ...extra.data.teamMembers],
    channelMembers: [...(base.channelMembers ?? []), ...extra.data.channelMembers],
  };
}

export interface ContractSandbox {
  fake: FakeMattermost;
  target: Target;
  close(): Promise<void>;
}

/** The person the end-to-end part talks to the bot as: a plain member of the scratch team. */
export const CONTRACT_E2E_USER = 'ann';

/** Starts the sandbox for a contract run (in this process); `version` is the release it plays (src/sandbox/versions.ts). */
export async function startContractSandbox(opts: { port?: number; host?: string; version?: string } = {}): Promise<ContractSandbox> {
  const fake = await startFakeMattermost({ seed: contractSeed(), port: opts.port, host: opts.host, ...(opts.version ? { version: opts.version } : {}) });
  fake.faults.rateLimit = { enabled: true, perSec: 1000, burst: 100_000 };
  return {
    fake,
    target: {
      name: 'sandbox',
      url: fake.url,
      adminToken: SANDBOX_BOT_TOKEN,
      userToken: tokenFor(CONTRACT_CALLER),
      scratchTeam: CONTRACT_SCRATCH_TEAM,
    },
    close: () => fake.close(),
  };
}
