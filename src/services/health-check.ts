/**
 * The health check behind `/health` and `/health watch`: four independent probes
 * (server ping, cluster status, SAML certificate status, the bot itself) gathered
 * with {@link gatherHealthInputs}, then judged by the pure {@link buildHealthReport}
 * into one report with a verdict and the list of flagged items.
 *
 * Verdict: `down` when the server does not answer its ping (or answers with an
 * error, or reports its database unhealthy); `degraded` when anything else is
 * flagged; `healthy` otherwise. A probe the server refuses (the bot lacks the
 * permission) or that is switched off (501) is reported as such and flags nothing:
 * it says nothing about health. Every flag has a stable `key`, so a watch can tell
 * "the same problem" from "a new one" between two checks.
 *
 * @example
 *   const report = await runHealthCheck({ api, now: Date.now, botStatus: () => status.snapshot() });
 *   report.verdict; // 'degraded'
 *   report.flags;   // [{ key: 'cluster:app-3:version', text: 'app-3 runs version 10.4.2; the others run 10.5.0', … }]
 */
import type { BotStatus } from './bot-status.js';
import type { MattermostApi } from '../mattermost/api.js';
import { isApiError, isNetworkError, ProtocolError } from '../mattermost/errors.js';
import type { ClusterInfo, Job, Ping, PluginStatus, SamlCertificateStatus } from '../mattermost/models.js';

/** `unknown`: a read was rate-limited (429), so the check cannot say; never announced by a watch */
export type Verdict = 'healthy' | 'degraded' | 'down' | 'unknown';

/** How one probe ended. */
export type Probe<T> =
  | { ok: true; value: T; ms: number }
  | {
      ok: false;
      /**
       * `refused`: the server said 403 (the bot lacks `permission`); `off`: the feature is
       * switched off or unlicensed (501); `unreachable`: no answer; `failed`: an error
       * answer or an unreadable one; `skipped`: not run (the caller may not see it);
       * `limited`: the server rate-limited the bot (429): it answered, so it is not down,
       * and what it would have said is unknown.
       */
      kind: 'refused' | 'off' | 'unreachable' | 'failed' | 'skipped' | 'limited';
      /** one plain sentence, safe to show (never a token) */
      detail: string;
      permission?: string;
    };

/** What a report is built from. */
export interface HealthInputs {
  ping: Probe<Ping>;
  cluster: Probe<ClusterInfo[]>;
  saml: Probe<SamlCertificateStatus>;
  /** undefined when unknown (e.g. before start-up finished) */
  bot?: BotStatus;
  /** the newest jobs (GET /jobs); absent: not checked */
  jobs?: Probe<Job[]>;
  /** GET /plugins/statuses; absent: not checked */
  plugins?: Probe<PluginStatus[]>;
  /** GET /license/client?format=old (the full map); absent: not checked */
  license?: Probe<Record<string, string>>;
  /** ms since epoch */
  checkedAt: number;
}

export type Section = 'server' | 'cluster' | 'saml' | 'bot' | 'jobs' | 'plugins' | 'license';

/** One problem worth telling people about. `text` is plain (untrusted) text. */
export interface HealthFlag {
  /** stable identity between checks, e.g. `cluster:app-3:version` */
  key: string;
  section: Section;
  severity: 'down' | 'degraded';
  text: string;
}

export type SectionState = 'ok' | 'flagged' | 'refused' | 'off' | 'failed' | 'unreachable' | 'skipped' | 'limited';

export interface ServerSection {
  state: SectionState;
  status?: string;
  database?: string;
  filestore?: string;
  searchBackend?: string;
  /** the API round trip the bot measured for the ping */
  roundTripMs?: number;
  detail?: string;
}

export type ClusterField = 'version' | 'schema_version' | 'config_hash';

export interface ClusterNodeView extends ClusterInfo {
  /** fields where this node differs from the majority */
  mismatches: ClusterField[];
}

export interface ClusterSection {
  state: SectionState;
  nodes: ClusterNodeView[];
  /** the majority value per field (absent when there is no majority) */
  expected: Partial<Record<ClusterField, string>>;
  detail?: string;
}

export interface SamlSection {
  state: SectionState;
  idpCertificate?: boolean;
  publicCertificate?: boolean;
  privateKey?: boolean;
  detail?: string;
}

export interface BotSection {
  state: SectionState;
  status?: BotStatus;
}

/** Jobs, plugins and the licence: one line each, or why not shown. */
export interface OperationsSection {
  jobs: { state: SectionState; failed?: Job[]; checked?: number; detail?: string };
  plugins: { state: SectionState; running?: number; notRunning?: PluginStatus[]; detail?: string };
  license: { state: SectionState; expiresAt?: number; daysLeft?: number; detail?: string };
}

export interface HealthReport {
  verdict: Verdict;
  /** jobs, plugins and licence (absent when none of them was asked for) */
  operations?: OperationsSection;
  checkedAt: number;
  server: ServerSection;
  cluster: ClusterSection;
  saml: SamlSection;
  bot: BotSection;
  /** every flagged item, server first */
  flags: HealthFlag[];
  /**
   * node names (hostname, else IP, else id) the cluster reported, sorted; `[]` when
   * not clustered; `null` when the cluster could not be read (unknown, not "none")
   */
  nodes: string[] | null;
}

export const CLUSTER_FIELDS: readonly ClusterField[] = ['version', 'schema_version', 'config_hash'];

const FIELD_WORDS: Record<ClusterField, string> = {
  version: 'version',
  schema_version: 'database schema version',
  config_hash: 'configuration hash',
};

/** The permission each probe needs on the server (for "the bot account lacks X"). */
export const PROBE_PERMISSIONS = {
  cluster: 'sysconsole_read_environment_high_availability',
  saml: 'get_saml_cert_status',
  plugins: 'sysconsole_read_plugins',
  license: 'read_license_information',
  /** every job type's read permission; a system admin holds them all (app/job.go SessionHasPermissionToReadJob) */
  jobs: 'read_*_job',
} as const;

/** Failed jobs younger than this are flagged. */
export const FAILED_JOB_WINDOW_MS = 24 * 3_600_000;
/** A licence expiring within this many days is flagged. */
export const LICENSE_EXPIRY_WARN_DAYS = 30;
/** How many of the newest jobs are read (one call). */
const JOBS_READ = 200;

// ---------------------------------------------------------------------------
// Gathering

/** Runs `call`, timing it, and classifies a failure into a {@link Probe}. */
export async function probe<T>(call: () => Promise<T>, now: () => number, permission?: string): Promise<Probe<T>> {
  const started = now();
  try {
    const value = await call();
    return { ok: true, value, ms: Math.max(0, now() - started) };
  } catch (err) {
    return classifyFailure(err, permission);
  }
}

/** A failed call as a probe result (exported for tests). */
export function classifyFailure(err: unknown, permission?: string): Extract<Probe<never>, { ok: false }> {
  if (isApiError(err)) {
    if (err.status === 403 || err.status === 401) {
      const what = err.isTokenRejected
        ? 'the bot token was rejected'
        : err.status === 401
          ? `the server refused: ${err.serverMessage || 'no reason given'}`
          : `the bot account lacks ${permission ?? 'the permission'}`;
      return { ok: false, kind: 'refused', detail: `${what}.`, ...(permission ? { permission } : {}) };
    }
    if (err.status === 501) return { ok: false, kind: 'off', detail: err.serverMessage || 'Not available on this server.' };
    // a 429 is an answer: the server is up and busy (or limiting the bot), not down
    if (err.status === 429) return { ok: false, kind: 'limited', detail: 'The server is rate-limiting the bot (HTTP 429), so this could not be read now.' };
    return { ok: false, kind: 'failed', detail: `The server answered with an error (HTTP ${err.status}).` };
  }
  if (isNetworkError(err)) {
    return { ok: false, kind: 'unreachable', detail: err.timedOut ? 'No answer in time.' : 'No answer from the server.' };
  }
  if (err instanceof ProtocolError) return { ok: false, kind: 'failed', detail: 'The server answered with something unreadable.' };
  if (err instanceof Error && err.name === 'AbortError') return { ok: false, kind: 'unreachable', detail: 'No answer in time.' };
  return { ok: false, kind: 'failed', detail: 'The check failed unexpectedly.' };
}

export interface GatherOptions {
  /** the jobs, plugins and licence probes run where the api has those calls */
  api: Pick<MattermostApi, 'ping' | 'getClusterStatus' | 'getSamlCertificateStatus'> & Partial<Pick<MattermostApi, 'getJobs' | 'getPluginStatuses' | 'getClientLicense'>>;
  now: () => number;
  /** the bot's own status; a throwing or absent function leaves the bot section out */
  botStatus?: () => BotStatus;
  signal?: AbortSignal;
  /** probes not to run, with the sentence to show instead (e.g. the caller may not see them) */
  skip?: Partial<Record<'cluster' | 'saml' | 'jobs' | 'plugins' | 'license', string>>;
  /**
   * also check failed jobs, plugins and the licence expiry (where the api has those calls);
   * `/health` asks for them, a watch does not (yet)
   */
  operations?: boolean;
}

/** Runs the three API probes in parallel; never throws. */
export async function gatherHealthInputs(opts: GatherOptions): Promise<HealthInputs> {
  const call = opts.signal ? { signal: opts.signal } : {};
  const skipped = (detail: string): Probe<never> => ({ ok: false, kind: 'skipped', detail });
  const [ping, cluster, saml] = await Promise.all([
    probe(() => opts.api.ping(call), opts.now),
    opts.skip?.cluster !== undefined
      ? skipped(opts.skip.cluster)
      : probe(() => opts.api.getClusterStatus(call), opts.now, PROBE_PERMISSIONS.cluster),
    opts.skip?.saml !== undefined
      ? skipped(opts.skip.saml)
      : probe(() => opts.api.getSamlCertificateStatus(call), opts.now, PROBE_PERMISSIONS.saml),
  ]);
  const api = opts.api;
  const optional = async <T>(name: 'jobs' | 'plugins' | 'license', call: (() => Promise<T>) | undefined, permission: string): Promise<Probe<T> | undefined> => {
    if (opts.skip?.[name] !== undefined) return skipped(opts.skip[name] ?? '');
    return call && opts.operations ? probe(call, opts.now, permission) : undefined;
  };
  const [jobs, plugins, license] = await Promise.all([
    optional('jobs', api.getJobs && (() => api.getJobs?.({ page: 0, perPage: JOBS_READ }, call) ?? Promise.resolve([])), PROBE_PERMISSIONS.jobs),
    optional('plugins', api.getPluginStatuses && (() => api.getPluginStatuses?.(call) ?? Promise.resolve([])), PROBE_PERMISSIONS.plugins),
    optional('license', api.getClientLicense && (() => api.getClientLicense?.(call) ?? Promise.resolve({})), PROBE_PERMISSIONS.license),
  ]);
  let bot: BotStatus | undefined;
  try {
    bot = opts.botStatus?.();
  } catch {
    bot = undefined; // not known yet (start-up): the section says so
  }
  return {
    ping,
    cluster,
    saml,
    ...(bot ? { bot } : {}),
    ...(jobs ? { jobs } : {}),
    ...(plugins ? { plugins } : {}),
    ...(license ? { license } : {}),
    checkedAt: opts.now(),
  };
}

/** Gathers and judges in one go. */
export async function runHealthCheck(opts: GatherOptions): Promise<HealthReport> {
  return buildHealthReport(await gatherHealthInputs(opts));
}

// ---------------------------------------------------------------------------
// Judging (pure)

const isOk = (s: string | undefined): boolean => s === undefined || s.toUpperCase() === 'OK';

function judgeServer(p: Probe<Ping>, flags: HealthFlag[]): ServerSection {
  if (!p.ok && p.kind === 'limited') return { state: 'limited', detail: p.detail };
  if (!p.ok) {
    const state: SectionState = p.kind === 'unreachable' ? 'unreachable' : 'failed';
    flags.push({
      key: p.kind === 'unreachable' ? 'server:unreachable' : 'server:error',
      section: 'server',
      severity: 'down',
      text: p.kind === 'unreachable' ? `The server does not answer. ${p.detail}` : `The server's ping failed. ${p.detail}`,
    });
    return { state, detail: p.detail };
  }
  const v = p.value;
  const section: ServerSection = {
    state: 'ok',
    status: v.status,
    ...(v.database_status !== undefined ? { database: v.database_status } : {}),
    ...(v.filestore_status !== undefined ? { filestore: v.filestore_status } : {}),
    ...(v.ActiveSearchBackend !== undefined ? { searchBackend: v.ActiveSearchBackend } : {}),
    roundTripMs: p.ms,
  };
  const before = flags.length;
  if (!isOk(v.database_status)) {
    flags.push({ key: 'server:database', section: 'server', severity: 'down', text: `The database is ${v.database_status ?? 'unknown'}.` });
  }
  if (!isOk(v.filestore_status)) {
    flags.push({ key: 'server:filestore', section: 'server', severity: 'degraded', text: `The file store is ${v.filestore_status ?? 'unknown'}.` });
  }
  if (!isOk(v.status) && flags.length === before) {
    flags.push({ key: 'server:status', section: 'server', severity: 'degraded', text: `The server reports itself ${v.status}.` });
  }
  if (flags.length > before) section.state = 'flagged';
  return section;
}

const nodeName = (n: ClusterInfo): string => n.hostname || n.ipaddress || n.id || '?';

/** The value more than half of the nodes share, if any. */
function majority(values: string[]): string | undefined {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  for (const [v, c] of counts) if (c * 2 > values.length) return v;
  return undefined;
}

function judgeCluster(p: Probe<ClusterInfo[]>, serverDown: boolean, flags: HealthFlag[]): ClusterSection {
  if (!p.ok) {
    const state: SectionState = p.kind === 'unreachable' ? 'unreachable' : p.kind;
    // when the whole server is down, that is the one flag; the rest follows from it
    if ((p.kind === 'failed' || p.kind === 'unreachable') && !serverDown) {
      flags.push({ key: 'cluster:check', section: 'cluster', severity: 'degraded', text: `The cluster status could not be read. ${p.detail}` });
    }
    return { state, nodes: [], expected: {}, detail: p.detail };
  }
  const nodes = p.value;
  if (nodes.length === 0) return { state: 'off', nodes: [], expected: {}, detail: 'Not clustered (a single server, or high availability is off).' };

  const expected: Partial<Record<ClusterField, string>> = {};
  const views: ClusterNodeView[] = nodes.map((n) => ({ ...n, mismatches: [] }));
  const before = flags.length;
  for (const field of CLUSTER_FIELDS) {
    const values = nodes.map((n) => n[field]);
    if (new Set(values).size <= 1) {
      if (values[0] !== undefined) expected[field] = values[0];
      continue;
    }
    const common = majority(values);
    if (common === undefined) {
      // no majority: every node is "different", so name the split once
      for (const v of views) v.mismatches.push(field);
      const parts = [...new Set(values)].map((val) => `${val || '(none)'} on ${nodes.filter((n) => n[field] === val).map(nodeName).join(', ')}`);
      flags.push({ key: `cluster:split:${field}`, section: 'cluster', severity: 'degraded', text: `The nodes disagree on the ${FIELD_WORDS[field]}: ${parts.join('; ')}.` });
      continue;
    }
    expected[field] = common;
    for (const v of views) {
      if (v[field] === common) continue;
      v.mismatches.push(field);
      flags.push({
        key: `cluster:${nodeName(v)}:${field}`,
        section: 'cluster',
        severity: 'degraded',
        text: `${nodeName(v)} has ${FIELD_WORDS[field]} ${v[field] || '(none)'}; the others have ${common}.`,
      });
    }
  }
  return { state: flags.length > before ? 'flagged' : 'ok', nodes: views, expected };
}

function judgeSaml(p: Probe<SamlCertificateStatus>, serverDown: boolean, flags: HealthFlag[]): SamlSection {
  if (!p.ok) {
    const state: SectionState = p.kind === 'unreachable' ? 'unreachable' : p.kind;
    if ((p.kind === 'failed' || p.kind === 'unreachable') && !serverDown) {
      flags.push({ key: 'saml:check', section: 'saml', severity: 'degraded', text: `The SAML certificate status could not be read. ${p.detail}` });
    }
    return { state, detail: p.detail };
  }
  const s = p.value;
  const section: SamlSection = {
    state: 'ok',
    idpCertificate: s.idp_certificate_file,
    publicCertificate: s.public_certificate_file,
    privateKey: s.private_key_file,
  };
  // SAML counts as "in use" once any certificate is uploaded: with none at all it is
  // simply not set up. The IdP certificate is always required; the service provider's
  // public certificate and private key are optional (encryption/signing) but only
  // work as a pair, so one without the other is flagged.
  if (!s.idp_certificate_file && !s.public_certificate_file && !s.private_key_file) {
    return { ...section, state: 'off', detail: 'SAML is not set up (no certificates uploaded).' };
  }
  const before = flags.length;
  if (!s.idp_certificate_file) {
    flags.push({ key: 'saml:idp_certificate', section: 'saml', severity: 'degraded', text: 'SAML: the identity provider certificate is missing.' });
  }
  if (s.public_certificate_file && !s.private_key_file) {
    flags.push({ key: 'saml:private_key', section: 'saml', severity: 'degraded', text: 'SAML: the service provider private key is missing (the public certificate is there).' });
  }
  if (!s.public_certificate_file && s.private_key_file) {
    flags.push({ key: 'saml:public_certificate', section: 'saml', severity: 'degraded', text: 'SAML: the service provider public certificate is missing (the private key is there).' });
  }
  if (flags.length > before) section.state = 'flagged';
  return section;
}

function judgeBot(bot: BotStatus | undefined, flags: HealthFlag[]): BotSection {
  if (!bot) return { state: 'skipped' };
  if (!bot.websocket.connected) {
    flags.push({
      key: 'bot:websocket',
      section: 'bot',
      severity: 'degraded',
      text: "The bot's WebSocket is disconnected: DMs and mentions do not reach it (slash commands still work).",
    });
    return { state: 'flagged', status: bot };
  }
  return { state: 'ok', status: bot };
}

const notRead = (p: Extract<Probe<unknown>, { ok: false }>): { state: SectionState; detail: string } => ({ state: p.kind === 'unreachable' ? 'unreachable' : p.kind, detail: p.detail });

/** Failed jobs of the last 24 h, plugins not running, a licence near its end. */
function judgeOperations(inputs: HealthInputs, flags: HealthFlag[]): OperationsSection | undefined {
  if (!inputs.jobs && !inputs.plugins && !inputs.license) return undefined;
  const out: OperationsSection = { jobs: { state: 'skipped' }, plugins: { state: 'skipped' }, license: { state: 'skipped' } };
  const j = inputs.jobs;
  if (j && !j.ok) out.jobs = notRead(j);
  else if (j) {
    const since = inputs.checkedAt - FAILED_JOB_WINDOW_MS;
    const failed = j.value.filter((x) => x.status === 'error' && Math.max(x.last_activity_at, x.start_at, x.create_at) >= since);
    out.jobs = { state: failed.length ? 'flagged' : 'ok', failed, checked: j.value.length };
    const byType = new Map<string, number>();
    for (const x of failed) byType.set(x.type, (byType.get(x.type) ?? 0) + 1);
    for (const [type, n] of byType) {
      flags.push({ key: `jobs:${type}:failed`, section: 'jobs', severity: 'degraded', text: `${n} ${type} job${n === 1 ? '' : 's'} failed in the last 24 hours.` });
    }
  }
  const p = inputs.plugins;
  if (p && !p.ok) out.plugins = notRead(p);
  else if (p) {
    // PluginStateRunning = 2 (server/public/model/plugin_status.go); 3 and 4 are failures, 0 not running
    const notRunning = p.value.filter((x) => x.state !== 2);
    out.plugins = { state: notRunning.length ? 'flagged' : 'ok', running: p.value.length - notRunning.length, notRunning };
    for (const x of notRunning) {
      const how = x.state === 3 ? 'failed to start' : x.state === 4 ? 'failed to stay running' : 'is not running';
      const where = x.cluster_id ? ` on ${x.cluster_id}` : '';
      flags.push({ key: `plugins:${x.plugin_id}:${x.cluster_id}`, section: 'plugins', severity: 'degraded', text: `Plugin ${x.name || x.plugin_id} ${how}${where}${x.error ? `: ${x.error}` : ''}.` });
    }
  }
  const l = inputs.license;
  if (l && !l.ok) out.license = notRead(l);
  else if (l) {
    const expiresAt = Number(l.value.ExpiresAt ?? '');
    if (l.value.IsLicensed !== 'true') out.license = { state: 'off', detail: 'No licence.' };
    else if (!Number.isFinite(expiresAt) || expiresAt <= 0) out.license = { state: 'refused', detail: 'The expiry date is not readable.' };
    else {
      const daysLeft = Math.floor((expiresAt - inputs.checkedAt) / 86_400_000);
      const near = daysLeft < LICENSE_EXPIRY_WARN_DAYS;
      out.license = { state: near ? 'flagged' : 'ok', expiresAt, daysLeft };
      if (near) {
        flags.push({ key: 'license:expiry', section: 'license', severity: 'degraded', text: daysLeft >= 0 ? `The licence expires in ${daysLeft} days.` : 'The licence has expired.' });
      }
    }
  }
  return out;
}

/** Judges gathered inputs into a report (pure: same inputs, same report). */
export function buildHealthReport(inputs: HealthInputs): HealthReport {
  const flags: HealthFlag[] = [];
  const server = judgeServer(inputs.ping, flags);
  const serverDown = !inputs.ping.ok;
  const cluster = judgeCluster(inputs.cluster, serverDown, flags);
  const saml = judgeSaml(inputs.saml, serverDown, flags);
  const bot = judgeBot(inputs.bot, flags);
  const operations = judgeOperations(inputs, flags);
  const limited = [inputs.ping, inputs.cluster, inputs.saml].some((p) => !p.ok && p.kind === 'limited');
  const verdict: Verdict = flags.some((f) => f.severity === 'down') ? 'down' : limited ? 'unknown' : flags.length > 0 ? 'degraded' : 'healthy';
  const nodes = inputs.cluster.ok ? [...new Set(cluster.nodes.map(nodeName))].sort() : null;
  return { verdict, checkedAt: inputs.checkedAt, server, cluster, saml, bot, flags, nodes, ...(operations ? { operations } : {}) };
}

/** "🟢 healthy", "🟡 degraded", "🔴 down" */
export const VERDICT_LABEL: Record<Verdict, string> = {
  healthy: '🟢 healthy',
  degraded: '🟡 degraded',
  down: '🔴 down',
  unknown: '⚪ unknown (rate-limited)',
};

/** The name a node goes by in reports (hostname, else IP, else id). */
export const clusterNodeName = nodeName;
