import { describe, expect, it } from 'vitest';
import { compose, sleepUnlessAborted, type Layer } from '../../../src/mattermost/transport/layer.js';

describe('compose', () => {
  it('wraps the transport in the layers, the first one outermost', async () => {
    const seen: string[] = [];
    const tag =
      (name: string): Layer<string, string> =>
      (next) =>
      async (req, signal) => {
        seen.push(`${name}>`);
        const res = await next(`${req}/${name}`, signal);
        seen.push(`<${name}`);
        return res;
      };
    const send = compose<string, string>(async (req) => `sent ${req}`, [tag('a'), tag('b')]);
    expect(await send('r', undefined)).toBe('sent r/a/b');
    expect(seen).toEqual(['a>', 'b>', '<b', '<a']);
  });

  it('with no layers is the transport itself', () => {
    const transport = async (): Promise<number> => 1;
    expect(compose(transport, [])).toBe(transport);
  });
});

describe('sleepUnlessAborted', () => {
  it('gives up with the abort error as soon as the signal aborts, leaving no timer', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const controller = new AbortController();
    const p = sleepUnlessAborted(30_000, controller.signal, () => new Error('stopped'));
    setTimeout(() => controller.abort(), 10);
    await expect(p).rejects.toThrow('stopped');
    expect(timers()).toBeLessThanOrEqual(before);
  });

  it('uses the injected sleep, and does not sleep for 0', async () => {
    const slept: number[] = [];
    const sleep = async (ms: number) => void slept.push(ms);
    await sleepUnlessAborted(0, undefined, () => new Error('x'), sleep);
    await sleepUnlessAborted(250, undefined, () => new Error('x'), sleep);
    expect(slept).toEqual([250]);
  });

  it('refuses at once when the signal is already aborted', async () => {
    await expect(sleepUnlessAborted(10, AbortSignal.abort(), () => new Error('late'), async () => {})).rejects.toThrow('late');
  });
});
