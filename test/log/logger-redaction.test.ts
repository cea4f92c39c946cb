/**
 * The logger redacts secret fields itself (one pass, copy on write) instead of through
 * pino's `redact` with `*.`-paths, which cost ~60 µs a line (see docs/benchmark.md).
 * These tests pin that the output did not change: for thousands of random log calls,
 * child bindings and nested values, the new logger writes exactly what pino with the
 * original path list wrote.
 */
import fc from 'fast-check';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger, mergingChild, REDACT_PATHS, redactFields, serializeError } from '../../src/log/logger.js';
import { captureLines } from '../helpers/logger.js';

/** The logger as it was configured before (pino's own redaction over REDACT_PATHS). */
function referenceLogger(stream: ReturnType<typeof captureLines>['stream']): pino.Logger {
  return pino(
    {
      level: 'debug',
      base: { app: 'mmops' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { err: serializeError, error: serializeError },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    stream,
  );
}

const SECRET_NAMES = ['token', 'password', 'Authorization', 'authorization', 'cookie', 'MM_BOT_TOKEN', 'secret', 'access_token', 'new_password'];
const key = fc.oneof(fc.constantFrom(...SECRET_NAMES, 'Token', 'TOKEN', 'user', 'headers', 'req', 'body', 'ref', 'a', 'b'), fc.string({ maxLength: 6 }));
const leaf = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.boolean(), fc.constant(null), fc.double({ noNaN: true, noDefaultInfinity: true }));
const { value } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('record'), tie('array')),
  record: fc.dictionary(key, tie('value'), { maxKeys: 5, noNullPrototype: true }),
  array: fc.array(tie('value'), { maxLength: 4 }),
}));
const fields = fc.dictionary(key, value, { maxKeys: 6, noNullPrototype: true });

const parse = (line: string | undefined): Record<string, unknown> => {
  const { time: _time, ...rest } = JSON.parse(line ?? '{}') as Record<string, unknown>;
  return rest;
};

describe('logger redaction', () => {
  it('writes what pino with the original redact paths wrote (random fields, children, nesting)', () => {
    fc.assert(
      fc.property(fields, fields, fc.constantFrom('debug', 'info', 'warn', 'error'), fc.string({ maxLength: 10 }), (bindings, obj, level, msg) => {
        const ours = captureLines();
        const theirs = captureLines();
        createLogger({ level: 'debug', destination: ours.stream, base: { app: 'mmops' } }).child(bindings)[level](obj, msg);
        referenceLogger(theirs.stream).child(bindings)[level](obj, msg);
        expect(ours.lines).toHaveLength(1);
        expect(parse(ours.lines[0])).toEqual(parse(theirs.lines[0]));
      }),
      { numRuns: 2_000 },
    );
  });

  it('mergingChild writes the lines a child logger writes (parsed), also nested', () => {
    fc.assert(
      fc.property(fields, fields, fields, fc.constantFrom('debug', 'info', 'warn', 'error'), (outer, inner, obj, level) => {
        const merged = captureLines();
        const child = captureLines();
        mergingChild(createLogger({ level: 'debug', destination: merged.stream }), outer).child(inner)[level](obj, 'm');
        createLogger({ level: 'debug', destination: child.stream }).child(outer).child(inner)[level](obj, 'm');
        expect(merged.lines).toHaveLength(1);
        expect(parse(merged.lines[0])).toEqual(parse(child.lines[0]));
      }),
      { numRuns: 1_000 },
    );
  });

  it('never changes the objects it is given', () => {
    fc.assert(
      fc.property(fields, (obj) => {
        const before = structuredClone(obj);
        const { stream } = captureLines();
        createLogger({ level: 'info', destination: stream }).child(obj).info(obj, 'x');
        expect(obj).toEqual(before);
      }),
      { numRuns: 500 },
    );
  });

  it('redacts three levels deep (as the paths did), copies only what it changes', () => {
    const inner = { ok: 1 };
    const v = { a: { token: 't1', b: { password: 'p1', c: { secret: 's-deep' } } }, keep: inner, list: [{ cookie: 'c1' }] };
    const out = redactFields(v) as typeof v;
    expect(out.a.token).toBe('[redacted]');
    expect(out.a.b.password).toBe('[redacted]');
    // a fourth level was never covered by the paths: unchanged, like before
    expect(out.a.b.c.secret).toBe('s-deep');
    expect(out.list[0]?.cookie).toBe('[redacted]');
    expect(out.keep).toBe(inner);
    expect(v.a.token).toBe('t1');
    const clean = { x: { y: [1, 2, { z: 'q' }] } };
    expect(redactFields(clean)).toBe(clean);
  });

  it('leaves disabled levels alone (no work, no output) and keeps errors for the serializer', () => {
    const { lines, stream } = captureLines();
    const log = createLogger({ level: 'warn', destination: stream });
    let touched = false;
    const spy = {
      get token(): string {
        touched = true;
        return 'secret';
      },
    };
    log.info({ spy }, 'quiet');
    expect(touched).toBe(false);
    log.warn({ err: Object.assign(new Error('boom token=abc12345678'), { code: 'E1' }) }, 'loud');
    const line = JSON.parse(lines[0] ?? '{}') as { err?: { type?: string; code?: string; message?: string } };
    expect(line.err).toMatchObject({ type: 'Error', code: 'E1' });
    expect(line.err?.message).not.toContain('abc12345678');
  });
});
