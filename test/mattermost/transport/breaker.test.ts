import { describe, expect, it } from 'vitest';
import { NetworkError } from '../../../src/mattermost/errors.js';
import { breaker } from '../../../src/mattermost/transport/breaker.js';
import { caught, failure, quiet, request, response, scripted } from './support.js';

describe('breaker layer', () => {
  it('opens after `failures` attempts in a row without an answer, fails fast, and closes after the cool-down', async () => {
    let clock = 1_000;
    const warned: string[] = [];
    const next = scripted([failure({ type: 'network', notSent: false }), failure({ type: 'timeout' }), response(200)]);
    const send = breaker({ failures: 2, cooldownMs: 5_000, now: () => clock, log: { debug: () => {}, warn: (_o, m) => warned.push(String(m)) } })(next);
    await caught(send(request(), undefined));
    await caught(send(request(), undefined));
    const fast = await caught(send(request(), undefined));
    expect(fast).toBeInstanceOf(NetworkError);
    expect((fast as NetworkError).message).toContain('Mattermost is not answering (2 failed attempts in a row); next try in 5s');
    expect(next.calls).toBe(2);
    expect(warned).toEqual(['Mattermost is not answering; failing fast for a while']);
    clock += 5_000;
    expect((await send(request(), undefined)).status).toBe(200);
    expect(next.calls).toBe(3);
  });

  it('counts only failures in a row: any answer, even a 500, an unreadable body or a 429, resets the count', async () => {
    const answers = [response(500), failure({ type: 'bad-json' }), failure({ type: 'rate-limited' })];
    for (const answer of answers) {
      const next = scripted([failure({ type: 'timeout' }), answer, failure({ type: 'timeout' }), response(200)]);
      const send = breaker({ failures: 2, cooldownMs: 5_000, now: () => 0, log: quiet })(next);
      for (let i = 0; i < 3; i++) await send(request(), undefined).catch(() => {});
      expect((await send(request(), undefined)).status).toBe(200);
    }
  });

  it('does not count a cancelled attempt either way', async () => {
    const next = scripted([failure({ type: 'timeout' }), failure({ type: 'cancelled' }), failure({ type: 'timeout' })]);
    const send = breaker({ failures: 2, cooldownMs: 5_000, now: () => 0, log: quiet })(next);
    for (let i = 0; i < 3; i++) await caught(send(request(), undefined));
    expect(((await caught(send(request(), undefined))) as Error).message).toContain('not answering');
  });
});
