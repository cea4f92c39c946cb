import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/core/command.js';
import { createAuditTrail, formatAuditLine } from '../../src/core/audit.js';
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
