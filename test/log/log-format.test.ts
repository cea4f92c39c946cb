/**
 * The two log formats (src/log/log-pretty.ts): JSON lines for machines, lines for a person on
 * a terminal, MMOPS_LOG_FORMAT to choose. Secrets are redacted in both: the same secret-laden
 * calls go through each format and no secret reaches either output.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { chooseLogFormat, formatPrettyLine } from '../../src/log/log-pretty.js';
import { createLogger } from '../../src/log/logger.js';
import { captureLines } from '../helpers/logger.js';

const SECRETS = ['tok-field-1', 'tok-nested-2', 'pw-3', 'bearer-secret-4567890', 'pw-in-message-5', 'child-token-6', 'cause-token-7890abc'];

/** Logs the same secret-laden lines with a logger of the given format; returns the output lines. */
function logSecrets(format: 'json' | 'pretty'): string[] {
  const out = captureLines();
  const log = createLogger({ level: 'debug', destination: out.stream, base: { app: 'mmops' }, format });
  log.info({ token: 'tok-field-1', req: { headers: { authorization: 'Bearer tok-nested-2' } }, body: { new_password: 'pw-3' }, command: 'whois' }, 'command answered');
  const err = new Error('POST /users failed: Authorization: Bearer bearer-secret-4567890 password=pw-in-message-5', {
    cause: new Error('token=cause-token-7890abc'),
  });
  log.error({ err, ref: 'r-1' }, 'command failed');
  log.child({ token: 'child-token-6', replica: 2 }).warn({ reason: 'websocket_down' }, 'not ready');
  return out.lines;
}

describe('log formats', () => {
  it('JSON: one object a line, every secret redacted', () => {
    const lines = logSecrets('json');
    expect(lines).toHaveLength(3);
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries.map((e) => e.msg)).toEqual(['command answered', 'command failed', 'not ready']);
    expect(entries[0]).toMatchObject({ token: '[redacted]', command: 'whois', level: 30 });
    for (const s of SECRETS) expect(lines.join('\n'), s).not.toContain(s);
  });

  it('pretty: time, level, message and fields for a person, the stack below, every secret redacted', () => {
    const lines = logSecrets('pretty');
    const text = lines.join('\n');
    for (const s of SECRETS) expect(text, s).not.toContain(s);
    expect(lines.some((l) => l.startsWith('{'))).toBe(false);
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}command answered {2}token=\[redacted\] req=\{"headers":\{"authorization":"\[redacted\]"\}\} body=\{"new_password":"\[redacted\]"\} command=whois$/);
    const failed = lines.findIndex((l) => / ERROR command failed/.test(l));
    expect(lines[failed]).toMatch(/err=\{"type":"Error","message":"POST \/users failed: Authorization: \[redacted\] password=\[redacted\]"\} ref=r-1$/);
    expect(lines[failed + 1]).toMatch(/^ {4}Error: POST \/users failed/); // the stack, indented
    expect(text).toContain('caused by:');
    expect(lines.at(-1)).toMatch(/ WARN {2}not ready {2}token=\[redacted\] replica=2 reason=websocket_down$/);
  });

  it('pretty keeps a line that is not JSON, colours only when asked', () => {
    expect(formatPrettyLine('plain text')).toBe('plain text');
    const line = '{"level":50,"time":"2026-12-07T23:41:05.123Z","msg":"boom","app":"mmops","pid":1,"hostname":"h","n":2,"s":"two words"}';
    expect(formatPrettyLine(line)).toBe('23:41:05.123 ERROR boom  n=2 s="two words"');
    expect(formatPrettyLine(line, true)).toContain('\x1b[31mERROR\x1b[0m');
  });

  it('is pretty on a terminal and JSON otherwise, unless MMOPS_LOG_FORMAT says', () => {
    expect(chooseLogFormat(null, true)).toBe('pretty');
    expect(chooseLogFormat(null, false)).toBe('json');
    expect(chooseLogFormat('json', true)).toBe('json');
    expect(chooseLogFormat('pretty', false)).toBe('pretty');
  });

  it('MMOPS_LOG_FORMAT is validated like every setting', () => {
    const base = { MM_URL: 'https://chat.example.com', MM_BOT_TOKEN: 'abcdefghijklmnopqrstuvwxyz' };
    const unset = loadConfig(base);
    expect(unset.ok && unset.config.logFormat).toBe(null);
    const pretty = loadConfig({ ...base, MMOPS_LOG_FORMAT: 'pretty' });
    expect(pretty.ok && pretty.config.logFormat).toBe('pretty');
    const bad = loadConfig({ ...base, MMOPS_LOG_FORMAT: 'xml' });
    expect(bad.ok).toBe(false);
    expect(bad.ok ? [] : bad.problems).toEqual(['MMOPS_LOG_FORMAT: must be json or pretty (e.g. MMOPS_LOG_FORMAT=json)']);
  });
});
