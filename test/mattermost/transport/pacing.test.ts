import { describe, expect, it } from 'vitest';
import { NetworkError } from '../../../src/mattermost/errors.js';
import { createPacer } from '../../../src/mattermost/pacing.js';
import { pacing, rateLimitWaitMs } from '../../../src/mattermost/transport/pacing.js';
import { AttemptError } from '../../../src/mattermost/transport/request.js';
import { caught, quiet, request, response, scripted } from './support.js';

function setup(script: Parameters<typeof scripted>[0], limits = { maxRetries: 4, maxWaitMs: 60_000 }) {
  const state = { clock: 0, slept: [] as number[], waits: 0 };
  const now = () => state.clock;
  const next = scripted(script);
  const send = pacing({
    pacer: createPacer({ now }),
    ...limits,
    now,
    sleep: async (ms) => {
      state.slept.push(ms);
      state.clock += ms;
    },
    log: quiet,
    onWait: () => void (state.waits += 1),
  })(next);
  return { state, next, send };
}

const limited = (retryAfter: string) => response(429, { 'Retry-After': retryAfter });

describe('pacing layer', () => {
  it('waits out a 429: blocks the pacer for Retry-After and asks for another attempt, counted once', async () => {
    const { state, send } = setup([limited('3'), response(200)]);
    const req = request('write');
    const e = await caught(send(req, undefined));
    expect(e).toBeInstanceOf(AttemptError);
    expect((e as AttemptError).failure).toEqual({ type: 'rate-limited' });
    expect(state.slept).toEqual([]);
    expect((await send(req, undefined)).status).toBe(200);
    expect(state.slept).toEqual([3000]);
    expect(state.waits).toBe(1);
    expect(req.rateLimitRetries).toBe(1);
  });

  it('hands up the 429 itself once the per-call waits are used up, or when the wait is too long', async () => {
    const few = setup([limited('1'), limited('1')], { maxRetries: 1, maxWaitMs: 60_000 });
    const req = request();
    await caught(few.send(req, undefined));
    expect((await few.send(req, undefined)).status).toBe(429);
    const long = setup([limited('3600')]);
    expect((await long.send(request(), undefined)).status).toBe(429);
    expect(long.state.waits).toBe(0);
    // not waited out: the pacer is not blocked for the others
    expect(long.state.slept).toEqual([]);
  });

  it('spaces requests while the budget is empty, counting each pause', async () => {
    const empty = { 'X-RateLimit-Limit': '101', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '11' };
    const { state, send } = setup([response(200, empty), response(200, empty), response(200)]);
    for (let i = 0; i < 3; i++) await send(request(), undefined);
    expect(state.slept).toEqual([109, 109]);
    expect(state.waits).toBe(2);
  });

  it('gives up a pause when the caller aborts (a NetworkError that nothing was sent)', async () => {
    const { send, next } = setup([limited('30'), response(200)]);
    const req = request('write');
    await caught(send(req, undefined));
    // the 30 s pause is due now: an aborted caller does not wait for it
    const e = (await caught(send(req, AbortSignal.abort()))) as NetworkError;
    expect(e).toBeInstanceOf(NetworkError);
    expect(e.outcomeUnknown).toBe(false);
    expect(next.calls).toBe(1);
  });
});

describe('rateLimitWaitMs', () => {
  it('is the Retry-After, else one spacing interval, else a second', () => {
    expect(rateLimitWaitMs(new Headers({ 'Retry-After': '2' }), 0)).toBe(2000);
    expect(rateLimitWaitMs(new Headers({ 'X-RateLimit-Limit': '101', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '11' }), 0)).toBe(109);
    expect(rateLimitWaitMs(new Headers(), 0)).toBe(1000);
  });
});
