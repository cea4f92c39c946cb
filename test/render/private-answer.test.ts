import { describe, expect, it } from 'vitest';
import { paragraph, reply, type Reply } from '../../src/core/reply.js';
import { ApiError } from '../../src/mattermost/errors.js';
import { createPrivateAnswers, privateNotice } from '../../src/render/private-answer.js';
import { createMemoryLogger } from '../helpers/logger.js';

const USER = 'u'.repeat(26);
const DM = 'd'.repeat(26);
const HERE = 'c'.repeat(26);

function rig(opts: { canEphemeral: boolean; ephemeralFails?: boolean }) {
  const calls: Array<{ kind: 'ephemeral' | 'post'; channel: string; message: string }> = [];
  const log = createMemoryLogger();
  const answers = createPrivateAnswers({
    api: {
      createEphemeralPost: async (_u, post) => {
        if (opts.ephemeralFails) throw new ApiError(403, 'api.context.permissions.app_error', 'no', '', 'POST /api/v4/posts/ephemeral');
        calls.push({ kind: 'ephemeral', channel: post.channel_id, message: post.message });
        return {} as never;
      },
      createPost: async (post) => {
        calls.push({ kind: 'post', channel: post.channel_id, message: post.message });
        return {} as never;
      },
      createDirectChannel: async () => ({ id: DM }) as never,
    },
    botUserId: 'b'.repeat(26),
    canEphemeral: () => opts.canEphemeral,
    render: (r: Reply) => r.blocks.map((b) => ('text' in b ? String(b.text) : '')),
    logger: log,
  });
  return { answers, calls, log };
}

const plain = reply([paragraph('done')]);
const secret = reply([paragraph('pw: hunter2')], { sensitive: true });

describe('private answers', () => {
  it('go as an ephemeral post where the person is, when the bot may', async () => {
    const r = rig({ canEphemeral: true });
    expect(await r.answers.send({ userId: USER, channelId: HERE }, plain, 'R1')).toBe('ephemeral');
    expect(r.calls).toEqual([{ kind: 'ephemeral', channel: HERE, message: 'done' }]);
  });

  it('go as a stored DM when asked to (late answers), unless they hold a secret', async () => {
    const r = rig({ canEphemeral: true });
    expect(await r.answers.send({ userId: USER }, plain, 'R1', { preferDm: true })).toBe('dm');
    expect(await r.answers.send({ userId: USER }, secret, 'R2', { preferDm: true })).toBe('ephemeral');
    expect(r.calls).toEqual([
      { kind: 'post', channel: DM, message: 'done' },
      { kind: 'ephemeral', channel: DM, message: 'pw: hunter2' },
    ]);
  });

  it('never store a secret: without ephemeral posts only a notice with the reference is left', async () => {
    for (const r of [rig({ canEphemeral: false }), rig({ canEphemeral: true, ephemeralFails: true })]) {
      expect(await r.answers.send({ userId: USER, channelId: HERE }, secret, 'R9')).toBe('notice');
      expect(r.calls).toEqual([{ kind: 'post', channel: DM, message: privateNotice('R9') }]);
      expect(JSON.stringify(r.calls)).not.toContain('hunter2');
      expect(r.log.dump()).not.toContain('hunter2');
    }
  });

  it('fall back to the DM for a plain answer when the ephemeral post fails', async () => {
    const r = rig({ canEphemeral: true, ephemeralFails: true });
    expect(await r.answers.send({ userId: USER, channelId: HERE }, plain, 'R1')).toBe('dm');
    expect(r.calls).toEqual([{ kind: 'post', channel: DM, message: 'done' }]);
  });
});
