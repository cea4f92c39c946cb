import { describe, expect, it } from 'vitest';
import type { ApiStats } from '../../../src/mattermost/api.js';
import { metrics } from '../../../src/mattermost/transport/metrics.js';
import { caught, failure, quiet, request, response, scripted } from './support.js';

const fresh = (): ApiStats => ({ requests: 0, byEndpoint: {}, rateLimitWaits: 0, retries: 0, lastRoundTripMs: 0 });

describe('metrics layer', () => {
  it('counts each attempt by endpoint and status (0 without a response), with its time', async () => {
    let clock = 0;
    const stats = fresh();
    const seen: unknown[] = [];
    const layer = metrics({ stats, now: () => clock, log: quiet, onRequest: (info) => seen.push(info) });
    const next = scripted([response(200), failure({ type: 'timeout' })]);
    const slow = layer(async (req, signal) => {
      clock += 7;
      return next(req, signal);
    });
    await slow(request(), undefined);
    await caught(slow(request(), undefined));
    expect(stats.requests).toBe(2);
    expect(stats.byEndpoint['GET /api/v4/users/me']).toEqual({ count: 2, byStatus: { '200': 1, '0': 1 }, totalMs: 14 });
    expect(stats.lastRoundTripMs).toBe(7);
    expect(seen).toEqual([
      { endpoint: 'GET /api/v4/users/me', status: 200, ms: 7 },
      { endpoint: 'GET /api/v4/users/me', status: 0, ms: 7 },
    ]);
  });

  it('keeps counting when the onRequest hook throws, and logs it', async () => {
    const stats = fresh();
    const warned: string[] = [];
    const layer = metrics({
      stats,
      now: () => 0,
      log: { debug: () => {}, warn: (_o, msg) => warned.push(String(msg)) },
      onRequest: () => {
        throw new Error('hook broke');
      },
    });
    expect((await layer(scripted([response(404)]))(request(), undefined)).status).toBe(404);
    expect(stats.requests).toBe(1);
    expect(warned).toEqual(['onRequest hook threw']);
  });
});
