import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/core/command.js';
import { AUDIT_TEXT_MAX, createAuditTrail, formatAuditLine } from '../../src/core/audit.js';
import { ZWSP } from '../../src/core/reply.js';
import { createMemoryLogger } from '../helpers/logger.js';

const entry: AuditEntry = {
  who: { id: 'u1', username: 'alice' },
  command: 'user deactivate',
  target: '@channel',
  scope: 'system',
  outcome: 'succeeded',
  ref: 'ABC234',
};

const flush = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('createAuditTrail', () => {
  it('logs one structured line per entry', () => {
    const log = createMemoryLogger();
    createAuditTrail(log)(entry);
    expect(log.entries).toHaveLength(1);
    expect(log.entries[0]?.fields).toMatchObject({ component: 'audit', audit: entry });
  });

  it('posts an escaped one-line summary when asked', async () => {
    const lines: string[] = [];
    createAuditTrail(createMemoryLogger(), { post: async (l) => void lines.push(l) })(entry);
    await flush();
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    expect(lines[0]).toContain(`@${ZWSP}channel`); // the target cannot notify the audit channel
    expect(lines[0]).toContain('ABC234');
  });

  it('logs, never throws, when posting fails (async or sync)', async () => {
    const log = createMemoryLogger();
    const audit = createAuditTrail(log, {
      post: () => {
        throw new Error('channel gone');
      },
    });
    expect(() => audit(entry)).not.toThrow();
    createAuditTrail(log, { post: async () => Promise.reject(new Error('503')) })(entry);
    await flush();
    expect(log.entries.filter((e) => e.msg === 'audit line could not be posted')).toHaveLength(2);
  });
});

describe('formatAuditLine', () => {
  it('escapes every user-controlled field', () => {
    const line = formatAuditLine({ ...entry, who: { id: 'x', username: 'ev*il' }, detail: 'a\nb | c' });
    expect(line).toContain('ev\\*il');
    expect(line).toContain('a b \\| c');
  });
});

describe('refusal aggregation', () => {
  const refusal = (i: number, userId = 'u9', username = 'dave'): AuditEntry => ({
    who: { id: userId, username },
    command: 'user roles',
    target: `@x${i}`,
    scope: 'system',
    outcome: 'refused',
    ref: `R${i}`,
  });

  it('posts the first refusal, sums the rest into one line a minute, and logs every one', async () => {
    let t = 1_000_000;
    const lines: string[] = [];
    const log = createMemoryLogger();
    const audit = createAuditTrail(log, { post: async (l) => void lines.push(l), now: () => t });
    for (let i = 0; i < 300; i++) audit(refusal(i));
    audit(refusal(0, 'u8', 'erin')); // another user has a window of their own
    await flush();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain('@\u200bdave');
    expect(lines[1]).toContain('@\u200berin');
    expect(log.entries.filter((e) => e.msg === 'audit')).toHaveLength(301);

    t += 61_000; // the next refusal after the minute: the summary first, then it waits for the next one
    audit(refusal(300));
    await flush();
    expect(lines).toHaveLength(3);
    expect(lines[2]).toContain('299 more refusals by @\u200bdave in the last minute');

    await audit.flush(); // shutdown posts what is pending
    expect(lines).toHaveLength(4);
    expect(lines[3]).toContain('1 more refusal by @\u200bdave');
    // non-refusals are never held back
    audit({ ...entry, outcome: 'succeeded' });
    await flush();
    expect(lines).toHaveLength(5);
  });

  it('posts the pending summary when the minute is over, without a new refusal', async () => {
    const lines: string[] = [];
    const audit = createAuditTrail(createMemoryLogger(), { post: async (l) => void lines.push(l), refusalWindowMs: 30 });
    for (let i = 0; i < 5; i++) audit(refusal(i));
    await new Promise((r) => setTimeout(r, 80));
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('4 more refusals');
  });
});

describe('formatAuditLine', () => {
  it(`cuts user-typed text to ${AUDIT_TEXT_MAX} characters before escaping it`, () => {
    const long = `${'A'.repeat(200)}@channel`;
    const line = formatAuditLine({ ...entry, target: long, detail: `No one matches "${'x'.repeat(300)}"` });
    expect(line).toContain(`${'A'.repeat(AUDIT_TEXT_MAX - 1)}…`);
    expect(line).not.toContain('A'.repeat(AUDIT_TEXT_MAX));
    expect(line).not.toContain('x'.repeat(AUDIT_TEXT_MAX));
    expect(line).not.toContain('@channel');
  });
});

describe('confirmed and approved actions', () => {
  it('say how they were confirmed, and who approved, with the name escaped', () => {
    expect(formatAuditLine({ ...entry, confirmedBy: 'click' })).toContain('**done** · confirmed by click · ref ABC234');
    const approved = formatAuditLine({ ...entry, confirmedBy: 'approval by @bob' });
    expect(approved).toContain(`confirmed by approval by @${ZWSP}bob`);
    expect(formatAuditLine({ ...entry, outcome: 'requested' })).toContain('**sent for approval**');
    expect(formatAuditLine({ ...entry, outcome: 'cancelled', detail: 'by click' })).toContain('**cancelled** (by click)');
  });
});
