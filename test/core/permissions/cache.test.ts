import { describe, expect, it } from 'vitest';
import { createLruTtlCache } from '../../../src/core/permissions/cache.js';

describe('createLruTtlCache', () => {
  const setup = (ttlMs = 1000, maxEntries = 3) => {
    let t = 0;
    const c = createLruTtlCache<string>({ ttlMs, maxEntries, now: () => t });
    return { c, tick: (ms: number) => (t += ms) };
  };

  it('counts hits and misses and expires entries after the TTL', () => {
    const { c, tick } = setup();
    expect(c.get('a')).toBeUndefined();
    c.set('a', 'A');
    tick(999);
    expect(c.get('a')).toEqual({ value: 'A' });
    tick(1);
    expect(c.get('a')).toBeUndefined();
    expect(c.stats()).toEqual({ hits: 1, misses: 2, size: 0 });
  });

  it('evicts the least recently used entry beyond the bound', () => {
    const { c } = setup(1000, 3);
    c.set('a', 'A');
    c.set('b', 'B');
    c.set('c', 'C');
    c.get('a'); // a is now the most recent
    c.set('d', 'D');
    expect(c.stats().size).toBe(3);
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')?.value).toBe('A');
    expect(c.get('c')?.value).toBe('C');
    expect(c.get('d')?.value).toBe('D');
  });

  it('set refreshes the TTL; delete, deleteWhere and clear drop entries', () => {
    const { c, tick } = setup(100, 10);
    c.set('x:1', '1');
    tick(90);
    c.set('x:1', '1b');
    tick(90);
    expect(c.get('x:1')?.value).toBe('1b');
    c.set('x:2', '2');
    c.set('y:1', 'y');
    expect(c.deleteWhere((k) => k.startsWith('x:'))).toBe(2);
    expect(c.stats().size).toBe(1);
    c.delete('y:1');
    expect(c.stats().size).toBe(0);
    c.set('z', 'z');
    c.clear();
    expect(c.get('z')).toBeUndefined();
  });

  it('rejects nonsensical bounds', () => {
    expect(() => createLruTtlCache({ ttlMs: 1, maxEntries: 0, now: () => 0 })).toThrow(RangeError);
    expect(() => createLruTtlCache({ ttlMs: -1, maxEntries: 1, now: () => 0 })).toThrow(RangeError);
  });
});
