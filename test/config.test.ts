import { describe, expect, it } from 'vitest';
import { configHelp, CONFIG_VARIABLES, loadConfig, resolvePublicUrl } from '../src/config.js';
import { main, type MainIo } from '../src/main.js';

const TOKEN = 'q8ywkz3hjbfmdp4xrt6ceu1n9a';
const good = { MM_URL: 'https://chat.example.com', MM_BOT_TOKEN: TOKEN };

function problemsOf(env: Record<string, string>): string[] {
  const r = loadConfig(env);
  if (r.ok) throw new Error('expected a configuration problem');
  return r.problems;
}

function captureIo(): MainIo & { lines: { out: string[]; err: string[] } } {
  const lines = { out: [] as string[], err: [] as string[] };
  return {
    lines,
    out: (l) => lines.out.push(l),
    err: (l) => lines.err.push(l),
    onSignal: () => () => {},
  };
}

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const r = loadConfig(good);
    expect(r).toEqual({
      ok: true,
      config: {
        mmUrl: 'https://chat.example.com',
        botToken: TOKEN,
        listen: { host: '127.0.0.1', port: 3978 },
        opsListen: null,
        publicUrl: null,
        teams: null,
        triggerPrefix: '',
        rootTrigger: 'mmops',
        logLevel: 'info',
        logFormat: null,
        auditChannel: null,
        policyPath: null,
        stateDir: './.mmops',
        allowBots: false,
        redisUrl: null,
        redisPrefix: 'mmops:',
        leaderLeaseMs: 10_000,
        postClaimMs: 60_000,
        triggerMaxAgeMs: 60_000,
        allowUnsignedSlash: false,
        limits: { perUserRunning: 2, perUserQueued: 5, maxRunning: 16, maxQueued: 256, apiConcurrency: 16, maxConnections: 256 },
        catchupRunWindowMs: 120_000,
        catchupMaxAgeMs: 86_400_000,
        actionsSecret: null,
        confirmTtlMs: 300_000,
        approvalTtlMs: 3_600_000,
      },
    });
    if (!r.ok) return;
    // MMOPS_PUBLIC_URL defaults to http:// + the listen address
    expect(resolvePublicUrl(r.config, r.config.listen)).toBe('http://127.0.0.1:3978');
  });

  it('reads every variable', () => {
    const r = loadConfig({
      ...good,
      MM_URL: 'https://chat.example.com/mm/api/v4/',
      MMOPS_LISTEN: '[::1]:0',
      MMOPS_OPS_LISTEN: '127.0.0.1:9090',
      MMOPS_PUBLIC_URL: 'https://bot.example.com/mmops/',
      MMOPS_TEAMS: 'acme, ops,acme',
      MMOPS_TRIGGER_PREFIX: 'ops-',
      MMOPS_ROOT_TRIGGER: 'ops',
      LOG_LEVEL: 'debug',
      MMOPS_AUDIT_CHANNEL: 'ops:audit-log',
      MMOPS_POLICY: './policy.json',
      MMOPS_STATE_DIR: '/var/lib/mmops',
      MMOPS_ALLOW_BOTS: 'yes',
      MMOPS_REDIS_URL: 'rediss://default:pw@redis.internal:6380/1',
      MMOPS_REDIS_PREFIX: 'mmops-prod:',
      MMOPS_LEADER_LEASE_MS: '5000',
      MMOPS_POST_CLAIM_MS: '45000',
      MMOPS_TRIGGER_MAX_AGE: '30',
      MMOPS_ALLOW_UNSIGNED_SLASH: 'true',
      MMOPS_USER_RUNNING: '3',
      MMOPS_USER_QUEUED: '10',
      MMOPS_MAX_RUNNING: '32',
      MMOPS_MAX_QUEUED: '512',
      MMOPS_API_CONCURRENCY: '8',
      MMOPS_MAX_CONNECTIONS: '1024',
      MMOPS_CATCHUP_RUN_WINDOW: '90s',
      MMOPS_CATCHUP_MAX_AGE: '12h',
      MMOPS_ACTIONS_SECRET: 'k'.repeat(40),
      MMOPS_CONFIRM_TTL: '2m',
      MMOPS_APPROVAL_TTL: '30m',
    });
    expect(r.ok && r.config).toEqual({
      mmUrl: 'https://chat.example.com/mm',
      botToken: TOKEN,
      listen: { host: '::1', port: 0 },
      opsListen: { host: '127.0.0.1', port: 9090 },
      publicUrl: 'https://bot.example.com/mmops',
      teams: ['acme', 'ops'],
      triggerPrefix: 'ops-',
      rootTrigger: 'ops',
      logLevel: 'debug',
      logFormat: null,
      auditChannel: { team: 'ops', channel: 'audit-log' },
      policyPath: './policy.json',
      stateDir: '/var/lib/mmops',
      allowBots: true,
      redisUrl: 'rediss://default:pw@redis.internal:6380/1',
      redisPrefix: 'mmops-prod:',
      leaderLeaseMs: 5_000,
      postClaimMs: 45_000,
      triggerMaxAgeMs: 30_000,
      allowUnsignedSlash: true,
      limits: { perUserRunning: 3, perUserQueued: 10, maxRunning: 32, maxQueued: 512, apiConcurrency: 8, maxConnections: 1024 },
      catchupRunWindowMs: 90_000,
      catchupMaxAgeMs: 12 * 3_600_000,
      actionsSecret: 'k'.repeat(40),
      confirmTtlMs: 120_000,
      approvalTtlMs: 1_800_000,
    });
  });

  it('derives the public URL from the bound address when none is set', () => {
    const r = loadConfig({ ...good, MMOPS_LISTEN: '0.0.0.0:0' });
    if (!r.ok) throw new Error('expected ok');
    expect(resolvePublicUrl(r.config, { host: '127.0.0.1', port: 41234 })).toBe('http://127.0.0.1:41234');
    expect(resolvePublicUrl(r.config, { host: '::1', port: 5 })).toBe('http://[::1]:5');
  });

  it('treats blank values as unset', () => {
    const r = loadConfig({ ...good, MMOPS_TEAMS: '  ', LOG_LEVEL: '' });
    expect(r.ok && r.config.teams).toBeNull();
    expect(r.ok && r.config.logLevel).toBe('info');
  });

  it('says a server is needed when MM_URL is missing', () => {
    const r = loadConfig({});
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.noServer).toBe(true);
    expect(r.problems).toEqual([
      'MM_URL: is not set; give the address of your Mattermost server (e.g. MM_URL=https://chat.example.com)',
      'MM_BOT_TOKEN: is not set; create a bot account in Mattermost (System Console → Integrations → Bot Accounts) and give its access token (e.g. MM_BOT_TOKEN=9xuqwrwgstrb3mzrxb83nb357a)',
    ]);
  });

  const cases: Array<[string, Record<string, string>, string]> = [
    ['MM_URL without scheme', { MM_URL: 'chat.example.com' }, `MM_URL: "chat.example.com" is not a URL; give the server's address with http:// or https:// (e.g. MM_URL=https://chat.example.com)`],
    ['MM_URL with another scheme', { MM_URL: 'ftp://chat.example.com' }, 'MM_URL: "ftp://chat.example.com" must start with http:// or https:// (e.g. MM_URL=https://chat.example.com)'],
    ['MM_URL with a query', { MM_URL: 'https://chat.example.com/?x=1' }, 'MM_URL: "https://chat.example.com/"… must not carry credentials, a query or a fragment (e.g. MM_URL=https://chat.example.com)'],
    ['MM_BOT_TOKEN missing', { MM_BOT_TOKEN: '' }, 'MM_BOT_TOKEN: is not set; create a bot account in Mattermost (System Console → Integrations → Bot Accounts) and give its access token (e.g. MM_BOT_TOKEN=9xuqwrwgstrb3mzrxb83nb357a)'],
    ['MM_BOT_TOKEN with Bearer', { MM_BOT_TOKEN: `Bearer ${TOKEN}` }, 'MM_BOT_TOKEN: give the token alone, without "Bearer" (e.g. MM_BOT_TOKEN=9xuqwrwgstrb3mzrxb83nb357a)'],
    ['MM_BOT_TOKEN with quotes', { MM_BOT_TOKEN: `"${TOKEN}"` }, 'MM_BOT_TOKEN: contains spaces or quotes; paste only the token itself (e.g. MM_BOT_TOKEN=9xuqwrwgstrb3mzrxb83nb357a)'],
    ['MM_BOT_TOKEN too short', { MM_BOT_TOKEN: 'abc123' }, 'MM_BOT_TOKEN: is not the length of an access token (26 characters); copy the token, not the token id (e.g. MM_BOT_TOKEN=9xuqwrwgstrb3mzrxb83nb357a)'],
    ['MM_BOT_TOKEN odd characters', { MM_BOT_TOKEN: `${TOKEN}!$` }, 'MM_BOT_TOKEN: has characters an access token never contains (letters, digits, - and _ only) (e.g. MM_BOT_TOKEN=9xuqwrwgstrb3mzrxb83nb357a)'],
    ['MMOPS_LISTEN without port', { MMOPS_LISTEN: 'localhost' }, 'MMOPS_LISTEN: "localhost" is not host:port (port 0-65535) (e.g. MMOPS_LISTEN=0.0.0.0:3978)'],
    ['MMOPS_LISTEN port out of range', { MMOPS_LISTEN: '127.0.0.1:70000' }, 'MMOPS_LISTEN: "127.0.0.1:70000" is not host:port (port 0-65535) (e.g. MMOPS_LISTEN=0.0.0.0:3978)'],
    ['MMOPS_PUBLIC_URL not a URL', { MMOPS_PUBLIC_URL: 'bot:3978' }, 'MMOPS_PUBLIC_URL: "bot:3978" must start with http:// or https:// (e.g. MMOPS_PUBLIC_URL=https://mmops.example.com)'],
    ['MMOPS_TEAMS with a display name', { MMOPS_TEAMS: 'acme,Acme Corp' }, 'MMOPS_TEAMS: "Acme Corp" is not a team name (the lowercase URL name of the team, not its display name) (e.g. MMOPS_TEAMS=acme,ops)'],
    ['MMOPS_TEAMS only commas', { MMOPS_TEAMS: ',,' }, 'MMOPS_TEAMS: lists no team; leave it unset to use every team the bot is on (e.g. MMOPS_TEAMS=acme,ops)'],
    ['MMOPS_TRIGGER_PREFIX with slash', { MMOPS_TRIGGER_PREFIX: '/ops-' }, 'MMOPS_TRIGGER_PREFIX: must not start with "/" (the slash is added by Mattermost) (e.g. MMOPS_TRIGGER_PREFIX=ops-)'],
    ['MMOPS_TRIGGER_PREFIX uppercase', { MMOPS_TRIGGER_PREFIX: 'Ops' }, 'MMOPS_TRIGGER_PREFIX: may only hold lowercase letters, digits, "-", "_" and "." (e.g. MMOPS_TRIGGER_PREFIX=ops-)'],
    ['MMOPS_ROOT_TRIGGER built in', { MMOPS_ROOT_TRIGGER: 'help' }, 'MMOPS_ROOT_TRIGGER: is a built-in Mattermost command; a custom command cannot take it (e.g. MMOPS_ROOT_TRIGGER=ops)'],
    ['MMOPS_ROOT_TRIGGER with a space', { MMOPS_ROOT_TRIGGER: 'my bot' }, 'MMOPS_ROOT_TRIGGER: may only hold lowercase letters, digits, "-", "_" and "." (e.g. MMOPS_ROOT_TRIGGER=ops)'],
    ['LOG_LEVEL unknown', { LOG_LEVEL: 'verbose' }, 'LOG_LEVEL: must be one of trace, debug, info, warn, error, fatal, silent (e.g. LOG_LEVEL=debug)'],
    ['MMOPS_AUDIT_CHANNEL without team', { MMOPS_AUDIT_CHANNEL: 'audit' }, 'MMOPS_AUDIT_CHANNEL: "audit" is not team:channel (the URL names, lowercase) (e.g. MMOPS_AUDIT_CHANNEL=ops:audit)'],
    ['MMOPS_REDIS_URL another scheme', { MMOPS_REDIS_URL: 'http://redis:6379', MMOPS_PUBLIC_URL: 'https://bot.example.com' }, 'MMOPS_REDIS_URL: must start with redis:// or rediss:// (e.g. MMOPS_REDIS_URL=redis://redis.internal:6379/0)'],
    ['MMOPS_REDIS_URL without MMOPS_PUBLIC_URL', { MMOPS_REDIS_URL: 'redis://redis:6379' }, "MMOPS_PUBLIC_URL: is required with MMOPS_REDIS_URL: every replica registers slash commands at this one address (the load balancer's) (e.g. MMOPS_PUBLIC_URL=https://mmops.example.com)"],
    ['MMOPS_LEADER_LEASE_MS too short', { MMOPS_LEADER_LEASE_MS: '100' }, 'MMOPS_LEADER_LEASE_MS: "100" is not a whole number of milliseconds from 500 to 300000 (e.g. MMOPS_LEADER_LEASE_MS=5000)'],
    ['MMOPS_POST_CLAIM_MS not a number', { MMOPS_POST_CLAIM_MS: '1m' }, 'MMOPS_POST_CLAIM_MS: "1m" is not a whole number of milliseconds from 1000 to 3600000 (e.g. MMOPS_POST_CLAIM_MS=45000)'],
    ['MMOPS_REDIS_PREFIX with a space', { MMOPS_REDIS_PREFIX: 'my bot:' }, 'MMOPS_REDIS_PREFIX: may only hold letters, digits and "_:.{}-" (e.g. MMOPS_REDIS_PREFIX=mmops-prod:)'],
    ['MMOPS_USER_RUNNING zero', { MMOPS_USER_RUNNING: '0' }, 'MMOPS_USER_RUNNING: "0" is not a whole number from 1 to 1000 (e.g. MMOPS_USER_RUNNING=3)'],
    ['MMOPS_MAX_CONNECTIONS not a number', { MMOPS_MAX_CONNECTIONS: 'lots' }, 'MMOPS_MAX_CONNECTIONS: "lots" is not a whole number from 1 to 1000000 (e.g. MMOPS_MAX_CONNECTIONS=1024)'],
    ['MMOPS_CATCHUP_RUN_WINDOW not a duration', { MMOPS_CATCHUP_RUN_WINDOW: 'soon' }, 'MMOPS_CATCHUP_RUN_WINDOW: "soon" is not a duration; give a number with s, m or h (e.g. MMOPS_CATCHUP_RUN_WINDOW=5m)'],
    ['MMOPS_CATCHUP_MAX_AGE shorter than the run window', { MMOPS_CATCHUP_MAX_AGE: '1m' }, 'MMOPS_CATCHUP_MAX_AGE: must not be shorter than MMOPS_CATCHUP_RUN_WINDOW (e.g. MMOPS_CATCHUP_MAX_AGE=12h)'],
    ['MMOPS_ALLOW_BOTS not boolean', { MMOPS_ALLOW_BOTS: 'sometimes' }, 'MMOPS_ALLOW_BOTS: "sometimes" is not true or false (e.g. MMOPS_ALLOW_BOTS=true)'],
    ['MMOPS_TRIGGER_MAX_AGE with a unit', { MMOPS_TRIGGER_MAX_AGE: '60s' }, 'MMOPS_TRIGGER_MAX_AGE: "60s" is not a whole number of seconds between 1 and 3600 (e.g. MMOPS_TRIGGER_MAX_AGE=30)'],
    ['MMOPS_TRIGGER_MAX_AGE zero', { MMOPS_TRIGGER_MAX_AGE: '0' }, 'MMOPS_TRIGGER_MAX_AGE: "0" is not a whole number of seconds between 1 and 3600 (e.g. MMOPS_TRIGGER_MAX_AGE=30)'],
    ['MMOPS_ALLOW_UNSIGNED_SLASH not boolean', { MMOPS_ALLOW_UNSIGNED_SLASH: 'maybe' }, 'MMOPS_ALLOW_UNSIGNED_SLASH: "maybe" is not true or false (e.g. MMOPS_ALLOW_UNSIGNED_SLASH=true)'],
  ];

  it.each(cases)('%s → one clear line', (_name, env, line) => {
    expect(problemsOf({ ...good, ...env })).toEqual([line]);
  });

  it('reports every problem at once, one line each', () => {
    const problems = problemsOf({ ...good, MMOPS_LISTEN: 'x', LOG_LEVEL: 'loud', MMOPS_ALLOW_BOTS: '2' });
    expect(problems.map((p) => p.split(':')[0])).toEqual(['MMOPS_LISTEN', 'LOG_LEVEL', 'MMOPS_ALLOW_BOTS']);
  });

  it('never echoes the Redis password, whatever is wrong with the URL', () => {
    for (const bad of ['http://u:PASSWORD1@redis:6379', 'redis//u:PASSWORD1@redis', 'redis://u:PASSWORD1@redis:6379']) {
      const r = loadConfig({ ...good, MMOPS_REDIS_URL: bad });
      expect(r.ok).toBe(false);
      expect(JSON.stringify(r)).not.toContain('PASSWORD1');
    }
  });

  it('never echoes the token, whatever is wrong with it', () => {
    const secret = 'Zq9SECRETsecret-VALUE_123';
    for (const bad of [`Bearer ${secret}`, `${secret} `, ` "${secret}"`, `${secret}$%`, `${secret}x`.repeat(10)]) {
      const r = loadConfig({ ...good, MM_BOT_TOKEN: bad, MM_URL: 'nope' });
      expect(JSON.stringify(r)).not.toContain('SECRET');
    }
  });
});

describe('configHelp', () => {
  it('lists every variable with its default', () => {
    const help = configHelp();
    for (const v of CONFIG_VARIABLES) {
      const row = help.split('\n').find((l) => l.startsWith(`${v.name} `));
      expect(row, v.name).toBeDefined();
      expect(row).toContain(v.defaultText);
    }
    expect(help).toContain('npm run demo');
  });
});

describe('main with a bad configuration', () => {
  it('prints --help and exits 0', async () => {
    const io = captureIo();
    expect(await main(['--help'], {}, io)).toBe(0);
    expect(io.lines.out.join('\n')).toContain('MMOPS_ROOT_TRIGGER');
  });

  it('points to npm run demo when there is no server, exit 2', async () => {
    const io = captureIo();
    expect(await main([], {}, io)).toBe(2);
    const text = io.lines.err.join('\n');
    expect(text).toContain('needs a Mattermost server');
    expect(text).toContain('npm run demo');
  });

  it('prints one line per problem and exits 2, without the token', async () => {
    const io = captureIo();
    const code = await main([], { ...good, MM_BOT_TOKEN: `Bearer ${TOKEN}`, LOG_LEVEL: 'loud' }, io);
    expect(code).toBe(2);
    expect(io.lines.err).toContain('LOG_LEVEL: must be one of trace, debug, info, warn, error, fatal, silent (e.g. LOG_LEVEL=debug)');
    expect(io.lines.err.filter((l) => l.startsWith('MM_BOT_TOKEN:'))).toHaveLength(1);
    expect([...io.lines.err, ...io.lines.out].join('\n')).not.toContain(TOKEN);
  });

  it('refuses unknown arguments with exit 2', async () => {
    const io = captureIo();
    expect(await main(['--port=1'], good, io)).toBe(2);
    expect(io.lines.err[0]).toContain('unknown argument');
  });
});
