/**
 * Structured logging on pino (one JSON object per line). Secrets are removed twice:
 * known secret-bearing fields are redacted by path, and error messages/stacks are
 * scrubbed of `token=…`, `Bearer …` and similar fragments, because an error text
 * can carry a secret that no field name warns about.
 *
 * @example
 *   const log = createLogger({ level: 'info' });
 *   log.info({ command: 'whois' }, 'served');
 */
import { pino, type DestinationStream, type Level, type Logger as PinoLogger } from 'pino';
import { prettyDestination, type LogFormat } from './log-pretty.js';

/** What every part of the bot logs through: a structured object first, then a short message. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: object): Logger;
}

export type LogLevel = Level | 'silent';

export interface LoggerOptions {
  level: LogLevel;
  /** where lines go (default: stdout) */
  destination?: DestinationStream;
  /** fields on every line */
  base?: Record<string, unknown>;
  /** JSON lines (default) or lines for a person (src/log/log-pretty.ts); both redacted alike */
  format?: LogFormat;
  /** colour the pretty form's levels (a terminal that allows colour) */
  color?: boolean;
}

/** Field names whose values are secrets, wherever they appear (up to three levels deep). */
const SECRET_KEYS = [
  'token',
  'access_token',
  'accessToken',
  'botToken',
  'password',
  'new_password',
  'newPassword',
  'current_password',
  'authorization',
  'Authorization',
  'cookie',
  'Cookie',
  'mfa_secret',
  'secret',
  'MM_BOT_TOKEN',
  'MMOPS_SLASH_TOKENS',
];

/** The fields redacted: `token`, `*.token`, `*.*.token` for every secret key (see {@link redactFields}). */
export const REDACT_PATHS: string[] = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

/** Matches secret-looking fragments inside free text (error messages, URLs). */
const SECRET_IN_TEXT =
  /\b(token|access_token|password|new_password|authorization|secret)(["']?\s*[=:]\s*["']?)((?:(?:Bearer|Token|Basic)\s+)?[^\s"'&,;}]+)|\b(Bearer|Token)\s+[A-Za-z0-9._~+/=-]{8,}/gi;

/** Replaces secret-looking fragments of free text with `[redacted]`. */
export function scrubSecrets(text: string): string {
  return text.replace(SECRET_IN_TEXT, (_m, key: string | undefined, sep: string | undefined, _v, scheme: string | undefined) =>
    key !== undefined ? `${key}${sep ?? '='}[redacted]` : `${scheme ?? ''} [redacted]`,
  );
}

const SECRET_KEY_SET = new Set(SECRET_KEYS.map((k) => k.toLowerCase()));

/** How deep nested error details are followed (causes, fields of plain objects). */
const MAX_DEPTH = 6;

const isPlainRecord = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

/**
 * Serializes an error for a log line: name, code, status, scrubbed message and stack.
 * Idempotent: an object that is already a serialized error (or any plain object of
 * details) is kept field by field, with secret-named fields redacted and text
 * scrubbed, so callers may pass either a raw error or `serializeError(err)`.
 */
export function serializeError(err: unknown): Record<string, unknown> {
  return serializeAt(err, 0, new WeakSet());
}

function serializeAt(err: unknown, depth: number, seen: WeakSet<object>): Record<string, unknown> {
  if (err instanceof Error) {
    if (seen.has(err)) return { value: '[circular]' };
    seen.add(err);
    const out: Record<string, unknown> = { type: err.name, message: scrubSecrets(err.message) };
    if (err.stack) out.stack = scrubSecrets(err.stack);
    for (const key of ['code', 'status', 'serverErrorId', 'requestId', 'endpoint', 'reason'] as const) {
      const v: unknown = Reflect.get(err, key);
      if (typeof v === 'string' || typeof v === 'number') out[key] = typeof v === 'string' ? scrubSecrets(v) : v;
    }
    if (err.cause !== undefined) out.cause = depth < MAX_DEPTH ? serializeAt(err.cause, depth + 1, seen) : { value: '[too deep]' };
    return out;
  }
  if (isPlainRecord(err)) {
    const v = scrubValue(err, depth, seen);
    return isPlainRecord(v) ? v : { value: v };
  }
  return { value: scrubSecrets(String(err)) };
}

/** A copy of `v` fit for a log line: text scrubbed, secret-named fields redacted. */
function scrubValue(v: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof v === 'string') return scrubSecrets(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return v;
  if (typeof v === 'bigint') return String(v);
  if (typeof v !== 'object') return undefined; // functions, symbols
  if (v instanceof Error) return serializeAt(v, depth, seen);
  if (seen.has(v)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  seen.add(v);
  if (Array.isArray(v)) return v.slice(0, 50).map((x) => scrubValue(x, depth + 1, seen));
  if (!isPlainRecord(v)) return scrubSecrets(String(v));
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(v)) {
    const clean = SECRET_KEY_SET.has(key.toLowerCase()) ? '[redacted]' : scrubValue(value, depth + 1, seen);
    if (clean !== undefined) out[key] = clean;
  }
  return out;
}

/** What secret fields are replaced with. */
const CENSOR = '[redacted]';
const SECRET_FIELD = new Set(SECRET_KEYS);
/** Keys with a serializer: serializeError redacts and scrubs them itself, at any depth. */
const SERIALIZED_KEYS = new Set(['err', 'error']);

/**
 * `value` with every field named exactly like a secret replaced by the censor, up to
 * `levels` levels down (the {@link REDACT_PATHS} shape: `token`, `*.token`, `*.*.token`).
 * Copy on write: objects without secrets are returned as they are, and the caller's
 * objects are never modified. Objects whose JSON form is not their fields (`toJSON`,
 * typed arrays) are left to JSON.
 */
export function redactFields(value: unknown, levels = 3): unknown {
  if (levels <= 0 || typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return value;
  if (typeof Reflect.get(value, 'toJSON') === 'function') return value;
  if (Array.isArray(value)) {
    // indexes are never secret names; only the elements' fields can be
    let arr: unknown[] | undefined;
    value.forEach((v: unknown, i) => {
      const next = redactFields(v, levels - 1);
      if (next !== v) (arr ??= value.slice())[i] = next;
    });
    return arr ?? value;
  }
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    const v: unknown = Reflect.get(value, key);
    const next = SECRET_FIELD.has(key) && v !== undefined ? CENSOR : redactFields(v, levels - 1);
    if (next === v) continue;
    (copy ??= { ...value })[key] = next;
  }
  return copy ?? value;
}

/** The fields of one log call or child binding, redacted (serialized keys are left to their serializer). */
function redactRecord(obj: object): object {
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(obj)) {
    if (SERIALIZED_KEYS.has(key)) continue;
    const v: unknown = Reflect.get(obj, key);
    const next = SECRET_FIELD.has(key) && v !== undefined ? CENSOR : redactFields(v, 2);
    if (next === v) continue;
    (copy ??= { ...obj })[key] = next;
  }
  return copy ?? obj;
}

/**
 * Our {@link Logger} over a pino logger: fields are redacted here, in one pass, before
 * pino sees them. (pino's own `redact` with `*.`-paths runs its redactor on every field
 * of every line and costs ~60 µs a line; this costs ~1 µs.) Disabled levels cost nothing.
 */
function wrap(p: PinoLogger): Logger {
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (obj: object, msg?: string): void => {
      if (!p.isLevelEnabled(level)) return;
      p[level](redactRecord(obj), msg);
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (bindings) => wrap(p.child(redactRecord(bindings))),
  };
}

/**
 * A child of `parent` that adds `bindings` to each line instead of building a pino
 * child: for a logger that writes one or two lines (one per command), building the
 * child costs more than the lines. The lines read the same once parsed.
 *
 * @example
 *   const log = mergingChild(deps.logger, { ref, userId });
 *   log.info({ outcome: 'ok' }, 'command answered'); // {"ref":…,"userId":…,"outcome":"ok",…}
 */
export function mergingChild(parent: Logger, bindings: object): Logger {
  return {
    debug: (obj, msg) => parent.debug({ ...bindings, ...obj }, msg),
    info: (obj, msg) => parent.info({ ...bindings, ...obj }, msg),
    warn: (obj, msg) => parent.warn({ ...bindings, ...obj }, msg),
    error: (obj, msg) => parent.error({ ...bindings, ...obj }, msg),
    child: (more) => mergingChild(parent, { ...bindings, ...more }),
  };
}

/** A JSON-lines logger with secret redaction (or, with `format: 'pretty'`, lines for a person). */
export function createLogger(opts: LoggerOptions): Logger {
  const options = {
    level: opts.level,
    base: redactRecord(opts.base ?? {}),
    // top-level secret fields once more, in pino itself (cheap: one function per key)
    redact: { paths: [...SECRET_KEYS], censor: CENSOR },
    serializers: { err: serializeError, error: serializeError },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  // Synchronous stdout: the last lines before process.exit ("stopped", a start-up error)
  // must not be lost in an async buffer; a bot writes few lines, so the cost is nil.
  const destination = opts.destination ?? pino.destination({ dest: 1, sync: true });
  return wrap(pino(options, opts.format === 'pretty' ? prettyDestination(destination, opts.color === true) : destination));
}

const noop = (): void => {};

/** A logger that drops everything (tests, library use). */
export const silentLogger: Logger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
};
