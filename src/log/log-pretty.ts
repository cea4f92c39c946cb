/**
 * Human-readable log lines for a terminal: each JSON line the logger writes is reformatted
 * as `time LEVEL message key=value …`, an error's stack indented below. It reads the line
 * pino produced, after redaction and the error serializer (src/log/logger.ts), so what is
 * hidden in the JSON form is hidden here too.
 *
 * @example
 *   formatPrettyLine('{"level":30,"time":"2026-12-07T23:41:05.123Z","msg":"ready","teams":2}')
 *   // "23:41:05.123 INFO  ready teams=2"
 */
import type { DestinationStream } from 'pino';

/** Where the log lines go and how. */
export type LogFormat = 'json' | 'pretty';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const COLORS: Record<number, string> = { 10: '90', 20: '90', 30: '32', 40: '33', 50: '31', 60: '35' };
/** Fields shown in the line's head, or not at all. */
const HEAD = new Set(['level', 'time', 'msg', 'app', 'pid', 'hostname']);

/** A value as `key=value` text: bare when it has no spaces or quotes, JSON otherwise. */
function show(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The stack (or message) of a serialized error, indented under the line. */
function errorLines(err: unknown): string[] {
  if (!isRecord(err)) return [];
  const text = typeof err.stack === 'string' ? err.stack : typeof err.message === 'string' ? `${String(err.type ?? 'Error')}: ${err.message}` : '';
  const out = text ? text.split('\n').map((l) => `    ${l.trim()}`) : [];
  if (err.cause !== undefined) out.push('    caused by:', ...errorLines(err.cause).map((l) => `  ${l}`));
  return out;
}

/** One JSON log line as text for a person; a line that is not JSON is kept as it is. */
export function formatPrettyLine(line: string, color = false): string {
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    return line;
  }
  if (!isRecord(entry)) return line;
  const level = typeof entry.level === 'number' ? entry.level : 30;
  const name = (LEVELS[level] ?? String(level)).padEnd(5);
  const time = typeof entry.time === 'string' ? (/T(\d\d:\d\d:\d\d(?:\.\d+)?)/.exec(entry.time)?.[1] ?? entry.time) : '';
  const paint = (code: string | undefined, text: string) => (color && code ? `\x1b[${code}m${text}\x1b[0m` : text);
  const fields: string[] = [];
  const below: string[] = [];
  for (const [key, value] of Object.entries(entry)) {
    if (HEAD.has(key)) continue;
    if ((key === 'err' || key === 'error') && isRecord(value)) {
      const { stack: _stack, cause: _cause, ...rest } = value;
      fields.push(`${key}=${show(rest)}`);
      below.push(...errorLines(value));
      continue;
    }
    fields.push(`${paint('2', `${key}=`)}${show(value)}`);
  }
  const msg = typeof entry.msg === 'string' ? entry.msg : '';
  const head = [time, paint(COLORS[level], name), msg].filter(Boolean).join(' ');
  return [fields.length > 0 ? `${head}  ${fields.join(' ')}` : head, ...below].join('\n');
}

/** A destination that writes each JSON line of `next` as {@link formatPrettyLine} text. */
export function prettyDestination(next: DestinationStream, color = false): DestinationStream {
  return {
    write(chunk: string): void {
      const lines = chunk.split('\n').filter((l) => l.length > 0);
      next.write(`${lines.map((l) => formatPrettyLine(l, color)).join('\n')}\n`);
    },
  };
}

/**
 * The format to use: MMOPS_LOG_FORMAT when it is set (config.ts validates it), else
 * pretty on a terminal and JSON otherwise (a pipe, a file, a container's log driver).
 */
export function chooseLogFormat(setting: LogFormat | null, stdoutIsTTY: boolean): LogFormat {
  return setting ?? (stdoutIsTTY ? 'pretty' : 'json');
}
