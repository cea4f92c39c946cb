/**
 * Configuration from the environment, validated with zod at start-up.
 *
 * Every variable is described once, in {@link CONFIG_VARIABLES}; `--help` prints that
 * table and each problem becomes one line naming the variable, what is wrong and an
 * example. The token's value is never echoed, not even in an error.
 *
 * @example
 *   const result = loadConfig(process.env);
 *   if (!result.ok) { for (const line of result.problems) console.error(line); process.exit(2); }
 */
import { z } from 'zod';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface ListenAddress {
  host: string;
  /** 0 = any free port (tests) */
  port: number;
}

export interface Config {
  /** Mattermost base URL, without a trailing slash or `/api/v4` */
  mmUrl: string;
  /** the bot account's access token (never log it) */
  botToken: string;
  listen: ListenAddress;
  /** a separate address for /healthz, /readyz and /metrics; null = served on `listen` */
  opsListen: ListenAddress | null;
  /** where the Mattermost server reaches the bot; null = `http://` + the bound address */
  publicUrl: string | null;
  /** team names to register slash commands in; null = every team the bot is on */
  teams: string[] | null;
  triggerPrefix: string;
  rootTrigger: string;
  logLevel: LogLevel;
  /** MMOPS_LOG_FORMAT; null = pretty on a terminal, JSON otherwise (src/log/log-pretty.ts) */
  logFormat: 'json' | 'pretty' | null;
  /** where audit summaries are posted (`team:channel`), or null */
  auditChannel: { team: string; channel: string } | null;
  /** optional policy file that tightens command requirements */
  policyPath: string | null;
  stateDir: string;
  /** let other bots run commands (default: refused) */
  allowBots: boolean;
  /** shared state for replicas (src/state/redis-state-store.ts); null = in-process, one replica */
  redisUrl: string | null;
  /** prefix of every Redis key */
  redisPrefix: string;
  /** leader lease of the replicas (ms) */
  leaderLeaseMs: number;
  /** how long a replica's claim on a DM/mention holds before another may take it over (ms) */
  postClaimMs: number;
  /** how old a slash request's signed trigger_id may be (MMOPS_TRIGGER_MAX_AGE, default 60 s) */
  triggerMaxAgeMs: number;
  /**
   * run privileged slash commands even when the server signs no trigger_id, trusting the
   * form's user_id on the command token alone (unsafe; default false)
   */
  allowUnsignedSlash: boolean;
  /** load limits: fair admission of commands (src/core/scheduler.ts), API and connection bounds */
  limits: LoadLimits;
  /** a command missed during an outage still runs when younger than this (ms) */
  catchupRunWindowMs: number;
  /** a missed command up to this old (ms) gets a "send it again" line; older ones are ignored */
  catchupMaxAgeMs: number;
  /** signs button contexts and dialog state (MMOPS_ACTIONS_SECRET); null = generated once and kept in the state store */
  actionsSecret: string | null;
  /** how long a Confirm button works (MMOPS_CONFIRM_TTL, default 5 min) */
  confirmTtlMs: number;
  /** how long an approval request stays open (MMOPS_APPROVAL_TTL, default 1 h) */
  approvalTtlMs: number;
}

/** Bounds under load (docs/operations.md "Fair under load"). */
export interface LoadLimits {
  /** commands one user may have running at once (MMOPS_USER_RUNNING) */
  perUserRunning: number;
  /** commands one user may have waiting (MMOPS_USER_QUEUED) */
  perUserQueued: number;
  /** commands running at once, all users (MMOPS_MAX_RUNNING) */
  maxRunning: number;
  /** commands waiting, all users (MMOPS_MAX_QUEUED) */
  maxQueued: number;
  /** REST requests in flight toward Mattermost (MMOPS_API_CONCURRENCY) */
  apiConcurrency: number;
  /** open connections to the bot's HTTP endpoint (MMOPS_MAX_CONNECTIONS) */
  maxConnections: number;
}

export const DEFAULT_LOAD_LIMITS: LoadLimits = {
  perUserRunning: 2,
  perUserQueued: 5,
  maxRunning: 16,
  maxQueued: 256,
  apiConcurrency: 16,
  maxConnections: 256,
};

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[]; noServer: boolean };

/** Triggers the server keeps for itself (docs/mattermost-notes.md §4.3a): a custom command cannot take them. */
export const BUILT_IN_TRIGGERS: ReadonlySet<string> = new Set([
  'away', 'header', 'purpose', 'rename', 'code', 'status', 'dnd', 'echo', 'expand', 'collapse',
  'exportlink', 'groupmsg', 'help', 'invite', 'invite_people', 'join', 'leave', 'test', 'logout',
  'marketplace', 'me', 'mobile-logs', 'msg', 'mute', 'offline', 'online', 'open',
  'secure-connection', 'remove', 'kick', 'search', 'settings', 'shortcuts', 'share-channel', 'shrug',
]);

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
const DEFAULT_LISTEN = '127.0.0.1:3978';

interface VariableSpec {
  name: string;
  meaning: string;
  /** shown in `--help` */
  defaultText: string;
  example: string;
  secret?: boolean;
}

/** The table `--help` prints, in the order of docs/configuration.md. */
export const CONFIG_VARIABLES: readonly VariableSpec[] = [
  { name: 'MM_URL', meaning: 'Mattermost server base URL', defaultText: 'required', example: 'https://chat.example.com' },
  { name: 'MM_BOT_TOKEN', meaning: "the bot account's access token", defaultText: 'required', example: '9xuqwrwgstrb3mzrxb83nb357a', secret: true },
  { name: 'MMOPS_LISTEN', meaning: "host:port of the bot's HTTP endpoint (slash commands, health)", defaultText: DEFAULT_LISTEN, example: '0.0.0.0:3978' },
  { name: 'MMOPS_OPS_LISTEN', meaning: 'host:port for /healthz, /readyz and /metrics alone (then MMOPS_LISTEN serves only /slash)', defaultText: 'same as MMOPS_LISTEN', example: '127.0.0.1:9090' },
  { name: 'MMOPS_PUBLIC_URL', meaning: 'base URL at which the Mattermost server reaches the bot', defaultText: 'http:// + MMOPS_LISTEN', example: 'https://mmops.example.com' },
  { name: 'MMOPS_TEAMS', meaning: 'comma list of team names to register slash commands in', defaultText: 'every team the bot is on', example: 'acme,ops' },
  { name: 'MMOPS_TRIGGER_PREFIX', meaning: 'prefix for the per-command triggers (ops- → /ops-whois)', defaultText: 'none', example: 'ops-' },
  { name: 'MMOPS_ROOT_TRIGGER', meaning: 'the root trigger that reaches every command', defaultText: 'mmops', example: 'ops' },
  { name: 'LOG_LEVEL', meaning: 'log level (trace, debug, info, warn, error, fatal, silent)', defaultText: 'info', example: 'debug' },
  { name: 'MMOPS_LOG_FORMAT', meaning: 'log lines as json (one object a line) or pretty (for a person); secrets redacted in both', defaultText: 'pretty on a terminal, else json', example: 'json' },
  { name: 'MMOPS_AUDIT_CHANNEL', meaning: 'team:channel where privileged actions are summarised', defaultText: 'none (log only)', example: 'ops:audit' },
  { name: 'MMOPS_POLICY', meaning: 'JSON policy file that tightens command permissions', defaultText: 'none', example: './mmops-policy.json' },
  { name: 'MMOPS_STATE_DIR', meaning: 'directory for the bot state (health watches)', defaultText: './.mmops', example: '/var/lib/mmops' },
  { name: 'MMOPS_ALLOW_BOTS', meaning: 'let other bot accounts run commands (true/false)', defaultText: 'false', example: 'true' },
  { name: 'MMOPS_REDIS_URL', meaning: 'Redis for running several replicas (needs MMOPS_PUBLIC_URL)', defaultText: 'none (one replica, state in-process)', example: 'redis://redis.internal:6379/0', secret: true },
  { name: 'MMOPS_LEADER_LEASE_MS', meaning: 'leader lease of the replicas in ms (a dead leader is replaced within twice this)', defaultText: '10000', example: '5000' },
  { name: 'MMOPS_POST_CLAIM_MS', meaning: "how long a replica's claim on a DM or mention holds (ms); a replica that dies is taken over after it", defaultText: '60000', example: '45000' },
  { name: 'MMOPS_REDIS_PREFIX', meaning: 'prefix of every Redis key (one per bot sharing a Redis)', defaultText: 'mmops:', example: 'mmops-prod:' },
  { name: 'MMOPS_TRIGGER_MAX_AGE', meaning: "seconds a slash request's signed trigger_id stays acceptable", defaultText: '60', example: '30' },
  {
    name: 'MMOPS_ALLOW_UNSIGNED_SLASH',
    meaning: 'UNSAFE: run privileged slash commands on a server that signs no trigger_id (anyone who can read a command token can act as anyone)',
    defaultText: 'false',
    example: 'true',
  },
  { name: 'MMOPS_ACTIONS_SECRET', meaning: 'secret (32+ characters) that signs confirmation buttons and dialogs; replicas must share it', defaultText: 'generated at first start, kept in the state store', example: 'openssl rand -base64 32', secret: true },
  { name: 'MMOPS_CONFIRM_TTL', meaning: 'how long a Confirm button works', defaultText: '5m', example: '2m' },
  { name: 'MMOPS_APPROVAL_TTL', meaning: 'how long an approval request stays open', defaultText: '1h', example: '30m' },
  { name: 'MMOPS_USER_RUNNING', meaning: 'commands one person may have running at once (more wait)', defaultText: '2', example: '3' },
  { name: 'MMOPS_USER_QUEUED', meaning: 'commands one person may have waiting (more are answered "busy")', defaultText: '5', example: '10' },
  { name: 'MMOPS_MAX_RUNNING', meaning: 'commands running at once, everyone together', defaultText: '16', example: '32' },
  { name: 'MMOPS_MAX_QUEUED', meaning: 'commands waiting, everyone together (more are answered "busy")', defaultText: '256', example: '512' },
  { name: 'MMOPS_API_CONCURRENCY', meaning: 'requests to the Mattermost API in flight at once', defaultText: '16', example: '8' },
  { name: 'MMOPS_MAX_CONNECTIONS', meaning: "open connections to the bot's HTTP endpoint (more get 503)", defaultText: '256', example: '1024' },
  { name: 'MMOPS_CATCHUP_RUN_WINDOW', meaning: 'a command sent while the bot was away still runs if younger than this (s, m, h)', defaultText: '2m', example: '5m' },
  { name: 'MMOPS_CATCHUP_MAX_AGE', meaning: 'older missed commands up to this age get a "send it again" line; older ones are ignored', defaultText: '24h', example: '12h' },
];

const specOf = (name: string): VariableSpec => {
  const spec = CONFIG_VARIABLES.find((v) => v.name === name);
  if (!spec) throw new Error(`unknown config variable ${name}`);
  return spec;
};

/** "VAR: what is wrong (e.g. VAR=example)" */
function problem(name: string, what: string): string {
  return `${name}: ${what} (e.g. ${name}=${specOf(name).example})`;
}

/** Empty or whitespace-only values count as unset (a common `.env` slip). */
const optional = (v: string | undefined): string | undefined => (v === undefined || v.trim() === '' ? undefined : v.trim());

// ---------------------------------------------------------------------------
// Per-variable schemas. The message of the first issue is the "what is wrong" part.

const httpUrl = (what: string) =>
  z.string().transform((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a URL; give ${what} with http:// or https://` });
      return z.NEVER;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} must start with http:// or https://` });
      return z.NEVER;
    }
    if (url.search || url.hash || url.username || url.password) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(url.origin + url.pathname)}… must not carry credentials, a query or a fragment` });
      return z.NEVER;
    }
    return url;
  });

/** "90s", "2m", "24h" (a bare number is seconds) → ms */
const durationSchema = z.string().transform((value, ctx) => {
  const m = /^(\d+)\s*(s|m|h)?$/i.exec(value.trim());
  if (!m) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a duration; give a number with s, m or h` });
    return z.NEVER;
  }
  const unit = (m[2] ?? 's').toLowerCase();
  return Number(m[1]) * (unit === 'h' ? 3_600_000 : unit === 'm' ? 60_000 : 1_000);
});

const mmUrlSchema = httpUrl("the server's address").transform((url) =>
  // People often paste the API base; the client adds /api/v4 itself.
  `${url.origin}${url.pathname.replace(/\/+$/, '').replace(/\/api\/v4$/, '')}`,
);

const publicUrlSchema = httpUrl('the address the server can reach').transform(
  (url) => `${url.origin}${url.pathname.replace(/\/+$/, '')}`,
);

// Bot and personal access tokens are 26-character ids; allow a little more so that
// other token formats (and the sandbox's) still pass, but catch paste accidents.
const tokenSchema = z
  .string()
  .refine((t) => !/^(bearer|token)\s/i.test(t), 'give the token alone, without "Bearer"')
  .refine((t) => !/[\s"'`]/.test(t), 'contains spaces or quotes; paste only the token itself')
  .refine((t) => /^[A-Za-z0-9_-]+$/.test(t), 'has characters an access token never contains (letters, digits, - and _ only)')
  .refine((t) => t.length >= 16 && t.length <= 128, 'is not the length of an access token (26 characters); copy the token, not the token id');

/** `host:port` (MMOPS_LISTEN, MMOPS_OPS_LISTEN). */
export const listenSchema = z.string().transform((value, ctx): ListenAddress => {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not host:port (port 0-65535)` });
    return z.NEVER;
  }
  return { host: m[1] ?? m[2] ?? '', port };
});

const TEAM_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const teamsSchema = z.string().transform((value, ctx) => {
  const names = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const bad = names.filter((n) => !TEAM_NAME.test(n));
  if (bad.length > 0) {
    ctx.addIssue({
      code: 'custom',
      message: `${bad.map((b) => JSON.stringify(b)).join(', ')} ${bad.length === 1 ? 'is not a team name' : 'are not team names'} (the lowercase URL name of the team, not its display name)`,
    });
    return z.NEVER;
  }
  if (names.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'lists no team; leave it unset to use every team the bot is on' });
    return z.NEVER;
  }
  return [...new Set(names)];
});

const TRIGGER_CHARS = /^[a-z0-9_.-]+$/;
const prefixSchema = z
  .string()
  .refine((p) => !p.startsWith('/'), 'must not start with "/" (the slash is added by Mattermost)')
  .refine((p) => TRIGGER_CHARS.test(p), 'may only hold lowercase letters, digits, "-", "_" and "."')
  .refine((p) => p.length <= 64, 'is longer than 64 characters');

const rootTriggerSchema = z
  .string()
  .refine((p) => !p.startsWith('/'), 'must not start with "/" (the slash is added by Mattermost)')
  .refine((p) => TRIGGER_CHARS.test(p), 'may only hold lowercase letters, digits, "-", "_" and "."')
  .refine((p) => p.length <= 128, 'is longer than 128 characters')
  .refine((p) => !BUILT_IN_TRIGGERS.has(p), 'is a built-in Mattermost command; a custom command cannot take it');

const logLevelSchema = z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` });

const logFormatSchema = z.enum(['json', 'pretty'], { message: 'must be json or pretty' });

const auditChannelSchema = z.string().transform((value, ctx) => {
  const m = /^([a-z0-9][a-z0-9_-]*):([a-z0-9][a-z0-9_.-]*)$/.exec(value);
  if (!m || !m[1] || !m[2]) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not team:channel (the URL names, lowercase)` });
    return z.NEVER;
  }
  return { team: m[1], channel: m[2] };
});

const boolSchema = z.string().transform((value, ctx) => {
  const v = value.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not true or false` });
  return z.NEVER;
});

// The value may carry a password: messages never repeat it.
const redisUrlSchema = z.string().transform((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'is not a URL; give it as redis://host:port (rediss:// for TLS)' });
    return z.NEVER;
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    ctx.addIssue({ code: 'custom', message: 'must start with redis:// or rediss://' });
    return z.NEVER;
  }
  return value;
});

const redisPrefixSchema = z
  .string()
  .refine((p) => p.length <= 64, 'is longer than 64 characters')
  .refine((p) => /^[A-Za-z0-9_:.{}-]+$/.test(p), 'may only hold letters, digits and "_:.{}-"');

const msSchema = (min: number, max: number) =>
  z.string().transform((value, ctx) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !(n >= min && n <= max)) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a whole number of milliseconds from ${min} to ${max}` });
      return z.NEVER;
    }
    return n;
  });
const maxAgeSchema = z.string().transform((value, ctx) => {
  if (!/^[0-9]+$/.test(value) || Number(value) < 1 || Number(value) > 3600) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a whole number of seconds between 1 and 3600` });
    return z.NEVER;
  }
  return Number(value) * 1000;
});

/** A whole number in [min, max]. */
const countSchema = (min: number, max: number) =>
  z.string().transform((value, ctx) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a whole number from ${min} to ${max}` });
      return z.NEVER;
    }
    return n;
  });

const pathSchema = z.string().refine((p) => !p.includes('\0'), 'is not a file path');

/**
 * Reads and validates the configuration. Never throws; problems come back as lines
 * ready to print. `noServer` is set when MM_URL is missing altogether (so the caller
 * can point to `npm run demo`).
 */
export function loadConfig(env: Record<string, string | undefined>): ConfigResult {
  const problems: string[] = [];

  function read<T, F>(name: string, schema: z.ZodType<T, string>, fallback: F, required?: string): T | F {
    const value = optional(env[name]);
    if (value === undefined) {
      if (required) problems.push(problem(name, required));
      return fallback;
    }
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    const message = parsed.error.issues[0]?.message ?? 'is invalid';
    problems.push(problem(name, message));
    return fallback;
  }

  const noServer = optional(env.MM_URL) === undefined;
  const mmUrl = read('MM_URL', mmUrlSchema, undefined, 'is not set; give the address of your Mattermost server');
  const botToken = read(
    'MM_BOT_TOKEN',
    tokenSchema,
    undefined,
    "is not set; create a bot account in Mattermost (System Console → Integrations → Bot Accounts) and give its access token",
  );
  const listen = read('MMOPS_LISTEN', listenSchema, { host: '127.0.0.1', port: 3978 });
  const opsListen = read('MMOPS_OPS_LISTEN', listenSchema, null);
  const publicUrl = read('MMOPS_PUBLIC_URL', publicUrlSchema, null);
  const teams = read('MMOPS_TEAMS', teamsSchema, null);
  const triggerPrefix = read('MMOPS_TRIGGER_PREFIX', prefixSchema, '');
  const rootTrigger = read('MMOPS_ROOT_TRIGGER', rootTriggerSchema, 'mmops');
  const logLevel = read<LogLevel, LogLevel>('LOG_LEVEL', logLevelSchema, 'info');
  const logFormat = read('MMOPS_LOG_FORMAT', logFormatSchema, null);
  const auditChannel = read('MMOPS_AUDIT_CHANNEL', auditChannelSchema, null);
  const policyPath = read('MMOPS_POLICY', pathSchema, null);
  const stateDir = read('MMOPS_STATE_DIR', pathSchema, './.mmops');
  const allowBots = read('MMOPS_ALLOW_BOTS', boolSchema, false);
  const redisUrl = read('MMOPS_REDIS_URL', redisUrlSchema, null);
  const redisPrefix = read('MMOPS_REDIS_PREFIX', redisPrefixSchema, 'mmops:');
  const leaderLeaseMs = read('MMOPS_LEADER_LEASE_MS', msSchema(500, 300_000), 10_000);
  const postClaimMs = read('MMOPS_POST_CLAIM_MS', msSchema(1_000, 3_600_000), 60_000);
  const d = DEFAULT_LOAD_LIMITS;
  const limits: LoadLimits = {
    perUserRunning: read('MMOPS_USER_RUNNING', countSchema(1, 1_000), d.perUserRunning),
    perUserQueued: read('MMOPS_USER_QUEUED', countSchema(0, 100_000), d.perUserQueued),
    maxRunning: read('MMOPS_MAX_RUNNING', countSchema(1, 10_000), d.maxRunning),
    maxQueued: read('MMOPS_MAX_QUEUED', countSchema(0, 1_000_000), d.maxQueued),
    apiConcurrency: read('MMOPS_API_CONCURRENCY', countSchema(1, 1_000), d.apiConcurrency),
    maxConnections: read('MMOPS_MAX_CONNECTIONS', countSchema(1, 1_000_000), d.maxConnections),
  };
  const catchupRunWindowMs = read('MMOPS_CATCHUP_RUN_WINDOW', durationSchema, 2 * 60_000);
  const catchupMaxAgeMs = read('MMOPS_CATCHUP_MAX_AGE', durationSchema, 24 * 3_600_000);
  if (catchupMaxAgeMs < catchupRunWindowMs) {
    problems.push(problem('MMOPS_CATCHUP_MAX_AGE', 'must not be shorter than MMOPS_CATCHUP_RUN_WINDOW'));
  }
  if (redisUrl !== null && publicUrl === null) {
    // Replicas must all register the load balancer's address, never their own.
    problems.push(
      problem('MMOPS_PUBLIC_URL', 'is required with MMOPS_REDIS_URL: every replica registers slash commands at this one address (the load balancer\'s)'),
    );
  }
  const triggerMaxAgeMs = read('MMOPS_TRIGGER_MAX_AGE', maxAgeSchema, 60_000);
  const actionsSecret = read('MMOPS_ACTIONS_SECRET', z.string().trim().min(32, 'must be at least 32 characters (e.g. the output of openssl rand -base64 32)'), null);
  const confirmTtlMs = read('MMOPS_CONFIRM_TTL', durationSchema, 5 * 60_000);
  const approvalTtlMs = read('MMOPS_APPROVAL_TTL', durationSchema, 3_600_000);
  const allowUnsignedSlash = read('MMOPS_ALLOW_UNSIGNED_SLASH', boolSchema, false);

  if (problems.length > 0 || mmUrl === undefined || botToken === undefined) {
    return { ok: false, problems, noServer };
  }
  return {
    ok: true,
    config: {
      mmUrl,
      botToken,
      listen,
      opsListen,
      publicUrl,
      teams,
      triggerPrefix,
      rootTrigger,
      logLevel,
      logFormat,
      auditChannel,
      policyPath,
      stateDir,
      allowBots,
      redisUrl,
      redisPrefix,
      leaderLeaseMs,
      postClaimMs,
      triggerMaxAgeMs,
      allowUnsignedSlash,
      limits,
      catchupRunWindowMs,
      catchupMaxAgeMs,
      actionsSecret,
      confirmTtlMs,
      approvalTtlMs,
    },
  };
}

/** What `npm start` says when there is no server to talk to. */
export const NO_SERVER_HINT = [
  'mmops needs a Mattermost server to talk to: set MM_URL to its address and MM_BOT_TOKEN to the bot account\'s access token.',
  'No server at hand? `mmops demo` (`npm run demo` in a clone) starts the bot against a built-in sandbox server, no setup needed.',
  'Run with --help to see every setting.',
];

/** The `--help` text: usage and the variable table. */
export function configHelp(): string {
  const rows = CONFIG_VARIABLES.map((v) => [v.name, v.meaning, v.defaultText]);
  const header = ['variable', 'meaning', 'default'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [
    'mmops: a Mattermost operations bot',
    '',
    'Usage: mmops                run the bot (npm start in a clone)',
    '       mmops demo           try it against a built-in sandbox server (npm run demo)',
    '       mmops contract       check what the bot relies on, against the sandbox or --url your server (npm run contract)',
    '       mmops manifest       print what the bot offers and the rights it needs, as JSON',
    '       mmops healthcheck    exit 0 when the bot on this host answers /healthz',
    '       mmops --version      print the version',
    '',
    'Configuration comes from the environment:',
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
  ].join('\n');
}

/** The public URL the server uses for this config, given the address actually bound. */
export function resolvePublicUrl(config: Config, bound: ListenAddress): string {
  if (config.publicUrl) return config.publicUrl;
  const host = bound.host.includes(':') ? `[${bound.host}]` : bound.host;
  return `http://${host}:${bound.port}`;
}
