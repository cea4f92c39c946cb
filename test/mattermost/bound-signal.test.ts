import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bindSignal, callerSignal } from '../../src/mattermost/bound-signal.js';
import { NetworkError } from '../../src/mattermost/errors.js';
import { createRestApi } from '../../src/mattermost/rest-api.js';

const BASE = 'http://mm.test';

describe('bindSignal', () => {
  /** an API whose methods report the signal they would run under */
  const probe = {
    seen: [] as Array<AbortSignal | undefined>,
    call(o?: { signal?: AbortSignal }) {
      this.seen.push(callerSignal(o));
      return this.seen.length;
    },
    nested(o?: { signal?: AbortSignal }) {
      return callerSignal(o);
    },
  };

  it("gives a call without a signal the view's, lets an explicit one win, and is unbound outside", () => {
    const a = new AbortController().signal;
    const b = new AbortController().signal;
    const own = new AbortController().signal;
    const viewA = bindSignal(probe, a);
    const viewB = bindSignal(probe, b);
    probe.seen = [];
    viewA.call();
    viewB.call();
    viewA.call({ signal: own });
    probe.call();
    expect(probe.seen).toEqual([a, b, own, undefined]);
    expect(callerSignal(undefined)).toBeUndefined();
  });

  it('returns what the method returns, with the API as `this`, and restores the scope when it throws', () => {
    const api = {
      n: 41,
      next() {
        return this.n + 1;
      },
      fail(): never {
        throw new Error('no');
      },
    };
    const view = bindSignal(api, new AbortController().signal);
    expect(view.next()).toBe(42);
    expect(() => view.fail()).toThrow('no');
    expect(callerSignal(undefined)).toBeUndefined();
    // not a method: read through to the API
    expect(view.n).toBe(41);
  });

  it('runs a method replaced after binding, and shares one prototype per API', () => {
    const api = { get: () => 'old' };
    const one = bindSignal(api, new AbortController().signal);
    api.get = () => 'new';
    const two = bindSignal(api, new AbortController().signal);
    expect(one.get()).toBe('new');
    expect(Object.getPrototypeOf(one)).toBe(Object.getPrototypeOf(two));
  });

  it('binds methods of class instances too', () => {
    class Api {
      where() {
        return callerSignal(undefined);
      }
    }
    const signal = new AbortController().signal;
    expect(bindSignal(new Api(), signal).where()).toBe(signal);
  });
});

describe('a bound REST client', () => {
  beforeAll(() => nock.disableNetConnect());
  afterAll(() => nock.enableNetConnect());
  afterEach(() => {
    nock.abortPendingRequests();
    nock.cleanAll();
  });

  it('stops a call at the bound signal, with no { signal } passed', async () => {
    nock(BASE).get('/api/v4/users/me').delay(5_000).reply(200, {});
    const controller = new AbortController();
    const api = bindSignal(createRestApi({ url: BASE, token: 'tok' }), controller.signal);
    setTimeout(() => controller.abort(), 20);
    const started = Date.now();
    const e = await api.getMe().catch((err: unknown) => err);
    expect(e).toBeInstanceOf(NetworkError);
    expect((e as NetworkError).reason).toContain('cancelled');
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('makes no request at all once the bound signal has aborted, on every kind of endpoint', async () => {
    const raw = createRestApi({ url: BASE, token: 'tok' });
    const api = bindSignal(raw, AbortSignal.abort());
    const calls = [
      api.getUser('u1'),
      api.getUsersByIds(['u1']),
      api.getPreferences('u1'),
      api.updateMfa('u1', false),
      api.createPost({ channel_id: 'c1', message: 'x' }),
      api.setProfileImage('u1', { data: new Uint8Array([1]), filename: 'a.png', mimeType: 'image/png' }),
      api.getFile('f1'),
    ];
    for (const call of calls) expect(((await call.catch((e: unknown) => e)) as NetworkError).reason).toContain('cancelled');
    expect(raw.stats().requests).toBe(0);
  });
});
