import { describe, expect, it } from 'vitest';
import { createPacer, emptyBudgetIntervalMs } from '../../src/mattermost/pacing.js';

const headers = (h: Record<string, string>) => new Headers(h);

describe('emptyBudgetIntervalMs', () => {
  it('is Reset / Limit seconds when Remaining is 0 (the default limiter: 11 s / 101 ≈ 109 ms, not 11 s)', () => {
    expect(emptyBudgetIntervalMs(headers({ 'X-RateLimit-Limit': '101', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '11' }))).toBe(109);
    expect(emptyBudgetIntervalMs(headers({ 'X-RateLimit-Limit': '3', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '3' }))).toBe(1000);
  });

  it('says nothing while there is room in the burst', () => {
    expect(emptyBudgetIntervalMs(headers({ 'X-RateLimit-Limit': '101', 'X-RateLimit-Remaining': '5', 'X-RateLimit-Reset': '10' }))).toBeUndefined();
    expect(emptyBudgetIntervalMs(headers({}))).toBeUndefined();
  });

  it('never asks for more than a second without a usable Limit', () => {
    expect(emptyBudgetIntervalMs(headers({ 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '10' }))).toBe(1000);
    expect(emptyBudgetIntervalMs(headers({ 'X-RateLimit-Remaining': '0' }))).toBe(1000);
  });
});

describe('createPacer', () => {
  it('sends at once while the budget has room', () => {
    let now = 0;
    const pacer = createPacer({ now: () => now });
    pacer.observe(headers({ 'X-RateLimit-Limit': '101', 'X-RateLimit-Remaining': '40', 'X-RateLimit-Reset': '7' }));
    expect([pacer.reserve(), pacer.reserve(), pacer.reserve()]).toEqual([0, 0, 0]);
  });

  it('gives each request its own slot Reset / Limit apart once Remaining is 0, and stops when room returns', () => {
    let now = 1_000;
    const pacer = createPacer({ now: () => now });
    pacer.observe(headers({ 'X-RateLimit-Limit': '101', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '11' }));
    expect(pacer.intervalMs).toBe(109);
    expect([pacer.reserve(), pacer.reserve(), pacer.reserve()]).toEqual([109, 218, 327]);
    now += 1_000;
    expect(pacer.reserve()).toBe(0); // the slots are in the past now
    pacer.observe(headers({ 'X-RateLimit-Limit': '101', 'X-RateLimit-Remaining': '3', 'X-RateLimit-Reset': '10' }));
    expect(pacer.intervalMs).toBe(0);
    expect([pacer.reserve(), pacer.reserve()]).toEqual([0, 0]);
  });

  it('holds every request until a 429 Retry-After has passed, then spaces them', () => {
    let now = 0;
    const pacer = createPacer({ now: () => now });
    pacer.observe(headers({ 'X-RateLimit-Limit': '3', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '3' }));
    pacer.blockFor(2_000);
    expect(pacer.reserve()).toBe(2_000);
    expect(pacer.reserve()).toBe(3_000);
    now = 5_000;
    expect(pacer.reserve()).toBe(0);
  });
});
