import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, scrubSecrets, serializeError } from '../../src/core/logger.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  return { lines, stream };
}

describe('createLogger', () => {
  it('writes JSON lines and redacts secret fields at any depth', () => {
    const { lines, stream } = capture();
    const log = createLogger({ level: 'info', destination: stream });
    log.info({ token: 'tok-1', req: { headers: { authorization: 'Bearer tok-2' } }, body: { new_password: 'pw-3' }, ok: 'visible' }, 'hello');
    log.child({ component: 'x' }).warn({ cfg: { password: 'pw-4' } }, 'child');
    const all = lines.join('\n');
    for (const secret of ['tok-1', 'tok-2', 'pw-3', 'pw-4']) expect(all).not.toContain(secret);
    const first = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(first.msg).toBe('hello');
    expect(first.ok).toBe('visible');
    expect(JSON.parse(lines[1] ?? '{}')).toMatchObject({ component: 'x', msg: 'child' });
  });

  it('respects the level', () => {
    const { lines, stream } = capture();
    const log = createLogger({ level: 'warn', destination: stream });
    log.info({}, 'quiet');
    log.error({}, 'loud');
    expect(lines).toHaveLength(1);
  });
});

describe('scrubSecrets / serializeError', () => {
  it('removes tokens from free text', () => {
    expect(scrubSecrets('GET /x?access_token=abc123def&y=1')).not.toContain('abc123def');
    expect(scrubSecrets('Authorization: Bearer 9xuqwrwgstrb3mzrxb83nb357a')).not.toContain('9xuqwrwgstrb3mzrxb83nb357a');
    expect(scrubSecrets('password="hunter2"')).not.toContain('hunter2');
    expect(scrubSecrets('nothing here')).toBe('nothing here');
  });

  it('serializes errors with scrubbed message and stack', () => {
    const e = new Error('failed with token=sekrit-value');
    const s = serializeError(e);
    expect(JSON.stringify(s)).not.toContain('sekrit-value');
    expect(s.type).toBe('Error');
  });
});
