import { describe, expect, it } from 'vitest';
import { timeout } from '../../../src/mattermost/transport/timeout.js';

/** A `next` that waits for its signal to abort and then fails the way fetch does. */
const hang = (_req: string, signal: AbortSignal | undefined): Promise<string> =>
  new Promise((_, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted by signal'))));

const layer = timeout<string, string>({
  ms: 30,
  timedOut: (req) => new Error(`timed out: ${req}`),
  cancelled: (req) => new Error(`cancelled: ${req}`),
});

describe('timeout layer', () => {
  it('passes an answer in time through, and leaves no timer behind', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    expect(await layer(async (req) => `ok ${req}`)('r', undefined)).toBe('ok r');
    expect(timers()).toBeLessThanOrEqual(before);
  });

  it('aborts the attempt at its deadline and says it timed out', async () => {
    await expect(layer(hang)('r', undefined)).rejects.toThrow('timed out: r');
  });

  it('says cancelled when the caller aborted first', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 5);
    await expect(layer(hang)('r', controller.signal)).rejects.toThrow('cancelled: r');
  });

  it('hands an attempt an already-aborted signal when the caller has given up', async () => {
    let aborted: boolean | undefined;
    const send = layer(async (_req, signal) => {
      aborted = signal?.aborted;
      throw new Error('fetch refused');
    });
    await expect(send('r', AbortSignal.abort())).rejects.toThrow('cancelled: r');
    expect(aborted).toBe(true);
  });

  it("rethrows the attempt's own error when nothing aborted, and when no `cancelled` is given", async () => {
    await expect(layer(async () => Promise.reject(new Error('refused')))('r', undefined)).rejects.toThrow('refused');
    const plain = timeout<string, string>({ ms: 1_000, timedOut: () => new Error('timed out') });
    await expect(plain(hang)('r', AbortSignal.timeout(5))).rejects.toThrow('aborted by signal');
  });
});
