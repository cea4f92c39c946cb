import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMemoryStateStore } from '../../src/state/state-store.js';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('memory state store', () => {
  it('claim is set-if-absent and expires', async () => {
    const c = clock();
    const s = createMemoryStateStore({ now: c.now });
    expect(await s.claim('post:1', 1000)).toBe(true);
    expect(await s.claim('post:1', 1000)).toBe(false);
    c.advance(1001);
    expect(await s.claim('post:1', 1000)).toBe(true);
  });

  it('get/set/delete honour ttl', async () => {
    const c = clock();
    const s = createMemoryStateStore({ now: c.now });
    await s.set('a', 'x', 50);
    await s.set('b', 'y');
    expect(await s.get('a')).toBe('x');
    c.advance(51);
    expect(await s.get('a')).toBeUndefined();
    expect(await s.get('b')).toBe('y');
    await s.delete('b');
    expect(await s.get('b')).toBeUndefined();
  });

  it('a lease has one holder until it expires, and the fencing token grows on handover', async () => {
    const c = clock();
    const s = createMemoryStateStore({ now: c.now });
    const t1 = await s.acquireLease('leader', 'r1', 1000);
    expect(t1).toBeTypeOf('number');
    expect(await s.acquireLease('leader', 'r2', 1000)).toBeUndefined();
    expect(await s.acquireLease('leader', 'r1', 1000)).toBe(t1); // renewal keeps the token
    c.advance(1001);
    const t2 = await s.acquireLease('leader', 'r2', 1000);
    expect(t2).toBeGreaterThan(t1!);
    await s.releaseLease('leader', 'r1'); // not the holder: no effect
    expect(await s.acquireLease('leader', 'r1', 1000)).toBeUndefined();
    await s.releaseLease('leader', 'r2');
    expect(await s.acquireLease('leader', 'r1', 1000)).toBeGreaterThan(t2!);
  });

  it('stays within maxEntries, dropping the soonest-expiring first', async () => {
    const c = clock();
    const s = createMemoryStateStore({ now: c.now, maxEntries: 3 });
    await s.set('short', '1', 10);
    await s.set('long1', '1', 10_000);
    await s.set('long2', '1', 10_000);
    await s.set('long3', '1', 10_000);
    expect(s.size()).toBe(3);
    expect(await s.get('short')).toBeUndefined();
    expect(await s.get('long3')).toBe('1');
  });

  it('persists to a file and reloads live entries only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmops-state-'));
    const path = join(dir, 'state.json');
    const c = clock();
    const a = createMemoryStateStore({ now: c.now, persistPath: path });
    await a.set('mark', '123');
    await a.set('soon', 'x', 100);
    await a.claim('post:9', 10_000);
    await a.close();
    c.advance(200);
    const b = createMemoryStateStore({ now: c.now, persistPath: path });
    expect(await b.get('mark')).toBe('123');
    expect(await b.get('soon')).toBeUndefined();
    expect(await b.claim('post:9', 10_000)).toBe(false);
    await b.close();
  });

  it('ignores a corrupt file and reports it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmops-state-'));
    const path = join(dir, 'state.json');
    writeFileSync(path, '{not json');
    const errors: unknown[] = [];
    const s = createMemoryStateStore({ persistPath: path, onError: (e) => errors.push(e) });
    expect(errors).toHaveLength(1);
    await s.set('k', 'v');
    await s.close();
    expect(JSON.parse(readFileSync(path, 'utf8')).entries).toEqual([['k', 'v', null]]);
  });
});
