/**
 * A Logger that keeps every line in memory, for asserting what was logged (and
 * that no secret was). Child bindings are merged into each entry.
 *
 * @example
 *   const log = createMemoryLogger();
 *   // ... run code with `log` ...
 *   expect(log.find('command crashed')?.fields.ref).toBe('ABC123');
 */
import { Writable } from 'node:stream';
import type { Logger } from '../../src/core/command.js';

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  /** bindings of the child loggers plus the line's own object */
  fields: Record<string, unknown>;
}

export interface MemoryLogger extends Logger {
  entries: LogEntry[];
  /** the first entry whose message is `msg` */
  find(msg: string): LogEntry | undefined;
  /** every entry as one JSON string (for "no secret anywhere" checks) */
  dump(): string;
}

/** Creates an in-memory logger. */
export function createMemoryLogger(): MemoryLogger {
  const entries: LogEntry[] = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const at =
      (level: LogEntry['level']) =>
      (obj: object, msg = ''): void => {
        entries.push({ level, msg, fields: { ...bindings, ...obj } });
      };
    return {
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      child: (b: object) => make({ ...bindings, ...b }),
    };
  };
  return {
    ...make({}),
    entries,
    find: (msg) => entries.find((e) => e.msg === msg),
    dump: () => JSON.stringify(entries),
  };
}

/**
 * A stream that keeps each JSON line a real pino logger writes, for checking what
 * actually reaches the output (serializers and redaction included).
 *
 * @example
 *   const out = captureLines();
 *   const log = createLogger({ level: 'info', destination: out.stream });
 *   log.error({ err }, 'failed');
 *   expect(out.entries()[0]?.err).toMatchObject({ type: 'Error' });
 */
export function captureLines(): { lines: string[]; stream: Writable; entries(): Array<Record<string, unknown>> } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  return { lines, stream, entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}
