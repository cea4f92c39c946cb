import { describe, expect, it } from 'vitest';
import { NetworkError } from '../../../src/mattermost/errors.js';
import { AttemptError } from '../../../src/mattermost/transport/request.js';
import { retry } from '../../../src/mattermost/transport/retry.js';
import { caught, failure, quiet, request, response, scripted } from './support.js';

function setup(script: Parameters<typeof scripted>[0]) {
  const state = { slept: [] as number[], retries: 0 };
  const next = scripted(script);
  const send = retry({
    random: () => 0.5,
    sleep: async (ms) => void state.slept.push(ms),
    log: quiet,
    onRetry: () => void (state.retries += 1),
  })(next);
  return { state, next, send };
}

describe('retry layer', () => {
  it('retries a read after a 5xx and a timeout, with jittered exponential backoff', async () => {
    const { state, next, send } = setup([response(503), failure({ type: 'timeout' }), response(200)]);
    expect((await send(request('read', 2), undefined)).status).toBe(200);
    expect(next.calls).toBe(3);
    expect(state.slept).toEqual([100, 200]);
    expect(state.retries).toBe(2);
  });

  it('hands up the last response or failure once the retries are used up', async () => {
    const a = setup([response(500), response(500)]);
    expect((await a.send(request('read', 1), undefined)).status).toBe(500);
    const b = setup([failure({ type: 'timeout' }), failure({ type: 'timeout' })]);
    expect(await caught(b.send(request('read', 1), undefined))).toBeInstanceOf(AttemptError);
    expect(b.next.calls).toBe(2);
  });

  it('never repeats a write whose outcome is unknown, but repeats one that was never sent', async () => {
    const unknown = setup([response(500)]);
    expect((await unknown.send(request('write'), undefined)).status).toBe(500);
    const timedOut = setup([failure({ type: 'timeout' })]);
    expect(((await caught(timedOut.send(request('write'), undefined))) as AttemptError).failure.type).toBe('timeout');
    const refused = setup([failure({ type: 'network', notSent: true }), response(201)]);
    expect((await refused.send(request('write'), undefined)).status).toBe(201);
  });

  it('does not retry a 4xx, a 501, an unreadable body or a cancelled attempt', async () => {
    for (const step of [response(404), response(501)]) {
      const s = setup([step]);
      expect((await s.send(request(), undefined)).status).toBe(step.status);
      expect(s.state.retries).toBe(0);
    }
    for (const step of [failure({ type: 'bad-json' }), failure({ type: 'cancelled' })]) {
      const s = setup([step, response(200)]);
      expect(await caught(s.send(request(), undefined))).toBe(step);
      expect(s.next.calls).toBe(1);
    }
  });

  it('tries a rate-limited attempt again at once, without backoff and without counting a retry', async () => {
    const { state, send } = setup([failure({ type: 'rate-limited' }), failure({ type: 'rate-limited' }), response(200)]);
    expect((await send(request('write', 0), undefined)).status).toBe(200);
    expect(state.slept).toEqual([]);
    expect(state.retries).toBe(0);
  });

  it('stops before the next attempt once the caller has aborted', async () => {
    const controller = new AbortController();
    const next = scripted([response(503), response(200)]);
    const send = retry({ random: () => 0.5, sleep: async () => controller.abort(), log: quiet })(next);
    const e = (await caught(send(request('read'), controller.signal))) as NetworkError;
    expect(e).toBeInstanceOf(NetworkError);
    expect(e.reason).toContain('cancelled');
    expect(next.calls).toBe(1);
  });

  it('lets errors that are not attempt failures through untouched', async () => {
    const boom = new NetworkError('GET /x', 'circuit open');
    const s = setup([boom]);
    expect(await caught(s.send(request(), undefined))).toBe(boom);
  });
});
