import { describe, expect, it } from 'vitest';
import { createLogger, scrubSecrets, serializeError } from '../../src/log/logger.js';
import { ApiError } from '../../src/mattermost/errors.js';
import { captureLines } from '../helpers/logger.js';

describe('createLogger', () => {
  it('writes JSON lines and redacts secret fields at any depth', () => {
    const { lines, stream } = captureLines();
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
    const { lines, stream } = captureLines();
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

describe('createLogger: error details', () => {
  const parse = (line: string | undefined): Record<string, unknown> => JSON.parse(line ?? '{}') as Record<string, unknown>;

  it('keeps an already-serialized error intact (it used to print {"value":"[object Object]"})', () => {
    const { lines, stream } = captureLines();
    const log = createLogger({ level: 'info', destination: stream });
    const api = new ApiError(500, 'app.x.y', 'boom at /api/v4/users?access_token=tok-in-url', 'req-1', 'GET /users/{user_id}');
    log.error({ err: serializeError(api) }, 'pre-serialized');
    log.error({ err: api }, 'raw');
    const [pre, raw] = [parse(lines[0]), parse(lines[1])];
    for (const entry of [pre, raw]) {
      expect(entry.err).toMatchObject({ type: 'ApiError', status: 500, serverErrorId: 'app.x.y', requestId: 'req-1', endpoint: 'GET /users/{user_id}' });
      expect(String((entry.err as Record<string, unknown>).message)).toContain('boom at /api/v4/users?access_token=[redacted]');
      expect(String((entry.err as Record<string, unknown>).stack)).toContain('ApiError');
    }
    expect(pre.err).toEqual(raw.err);
    expect(lines.join('\n')).not.toContain('tok-in-url');
    expect(lines.join('\n')).not.toContain('[object Object]');
  });

  it('scrubs plain objects passed as err: text fragments, secret-named fields at any depth, Bearer values', () => {
    const { lines, stream } = captureLines();
    const log = createLogger({ level: 'info', destination: stream });
    log.warn(
      {
        err: {
          message: 'POST https://mm.example/hooks?token=abc123secret failed',
          detail: { request: { headers: { Authorization: 'Bearer 9xuqwrwgstrb3mzrxb83nb357a' }, body: { password: 'pw-deep' } } },
          list: ['ok', 'Token sometokenvalue1234'],
          attempt: 3,
        },
        error: { reason: 'password=hunter2' },
      },
      'plain',
    );
    const all = lines.join('\n');
    for (const secret of ['abc123secret', '9xuqwrwgstrb3mzrxb83nb357a', 'pw-deep', 'hunter2', 'sometokenvalue1234']) expect(all).not.toContain(secret);
    const entry = parse(lines[0]);
    expect(entry.err).toMatchObject({ message: 'POST https://mm.example/hooks?token=[redacted] failed', attempt: 3, list: ['ok', 'Token [redacted]'] });
    expect(entry.error).toEqual({ reason: 'password=[redacted]' });
  });

  it('survives a circular cause and still logs primitives and causes', () => {
    const { lines, stream } = captureLines();
    const log = createLogger({ level: 'info', destination: stream });
    const e = new Error('outer', { cause: new Error('inner token=zzzsecret') });
    (e.cause as Error).cause = e;
    log.error({ err: e }, 'loop');
    log.error({ err: 'just text with token=plainsecret' }, 'text');
    const loop = parse(lines[0]);
    expect(loop.err).toMatchObject({ message: 'outer', cause: { message: 'inner token=[redacted]', cause: { value: '[circular]' } } });
    expect(parse(lines[1]).err).toEqual({ value: 'just text with token=[redacted]' });
    expect(lines.join('\n')).not.toMatch(/zzzsecret|plainsecret/);
  });
});
