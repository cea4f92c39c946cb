import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/console-sandbox.js';
import { userIdFor } from '../../src/sandbox/seed.js';
import { waitFor } from '../e2e/support.js';

const BOT_ID = userIdFor('mmops');
let sandbox: Sandbox | undefined;
afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

describe('npm run demo -- --replicas 2', () => {
  it('runs two replicas behind the proxy: one answer per DM, slash commands through the proxy', async () => {
    sandbox = await startSandbox({ replicas: 2, logLevel: 'warn' });
    const { fake, bots, proxy } = sandbox;
    expect(bots).toHaveLength(2);
    expect(proxy).toBeDefined();
    expect(bots.filter((b) => b.replica.isLeader())).toHaveLength(1);
    const dm = await fake.postAs('alice', '@mmops', 'teams');
    await waitFor(() => fake.posts.some((p) => p.user_id === BOT_ID && p.channel_id === dm.channel_id), 'the DM answer');
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.posts.filter((p) => p.user_id === BOT_ID && p.channel_id === dm.channel_id)).toHaveLength(1);
    for (let i = 0; i < 2; i++) {
      const r = await fake.executeSlash('alice', 'acme:town-square', '/mmops teams');
      expect(r.error, JSON.stringify(r.error)).toBeUndefined();
    }
    expect([...(proxy?.served.values() ?? [])]).toEqual([1, 1]);
  });
});
