/**
 * The pure health judgement (verdict, flags, cluster majority, SAML pairs) and the
 * probes that gather its inputs.
 */
import { describe, expect, it } from 'vitest';
import type { BotStatus } from '../../src/services/bot-status.js';
import { ApiError, NetworkError, ProtocolError } from '../../src/mattermost/errors.js';
import type { ClusterInfo, Ping, SamlCertificateStatus } from '../../src/mattermost/models.js';
import {
  buildHealthReport,
  classifyFailure,
  gatherHealthInputs,
  type HealthInputs,
  type Probe,
} from '../../src/services/health-check.js';
import { makeUser } from '../helpers/context.js';

const ok = <T>(value: T, ms = 12): Probe<T> => ({ ok: true, value, ms });
const node = (i: number, version = '10.5.0', schema = '128', hash = 'aaa'): ClusterInfo => ({
  id: `node${i}`,
  hostname: `app-${i}`,
  ipaddress: `10.0.1.${10 + i}`,
  version,
  schema_version: schema,
  config_hash: hash,
});
const PING: Ping = { status: 'OK', database_status: 'OK', filestore_status: 'OK', ActiveSearchBackend: 'database' };
const SAML_ALL: SamlCertificateStatus = { idp_certificate_file: true, public_certificate_file: true, private_key_file: true };
const bot = (connected = true): BotStatus => ({
  user: makeUser({ username: 'mmops', is_bot: true }),
  startedAt: 1_000,
  websocket: { connected, since: connected ? 2_000 : null, reconnects: 1 },
  commandsServed: 7,
  lastError: null,
  serverVersion: '10.5.0',
});

function inputs(over: Partial<HealthInputs> = {}): HealthInputs {
  return {
    ping: ok(PING),
    cluster: ok([node(1), node(2), node(3)]),
    saml: ok(SAML_ALL),
    bot: bot(),
    checkedAt: 5_000,
    ...over,
  };
}

const keys = (r: ReturnType<typeof buildHealthReport>): string[] => r.flags.map((f) => f.key);

describe('buildHealthReport', () => {
  it('a rate-limited read (429) is "unknown", never "down", and raises no flag', () => {
    const limited = classifyFailure(new ApiError(429, '', 'Too many requests', 'r', 'GET /system/ping', 2));
    expect(limited.kind).toBe('limited');
    const r = buildHealthReport(inputs({ ping: limited }));
    expect(r.verdict).toBe('unknown');
    expect(r.server.state).toBe('limited');
    expect(r.flags).toEqual([]);
    // a rate-limited cluster read alone: unknown too (the node set cannot be compared)
    const c = buildHealthReport(inputs({ cluster: limited }));
    expect(c.verdict).toBe('unknown');
    expect(c.nodes).toBeNull();
    // a real outage still wins
    const down = buildHealthReport(inputs({ ping: classifyFailure(new NetworkError('GET /system/ping', 'ECONNREFUSED')), cluster: limited }));
    expect(down.verdict).toBe('down');
  });

  it('is healthy when every check passes, with the measured round trip', () => {
    const r = buildHealthReport(inputs());
    expect(r.verdict).toBe('healthy');
    expect(r.flags).toEqual([]);
    expect(r.server).toMatchObject({ state: 'ok', database: 'OK', filestore: 'OK', searchBackend: 'database', roundTripMs: 12 });
    expect(r.cluster.state).toBe('ok');
    expect(r.cluster.expected).toEqual({ version: '10.5.0', schema_version: '128', config_hash: 'aaa' });
    expect(r.nodes).toEqual(['app-1', 'app-2', 'app-3']);
    expect(r.saml.state).toBe('ok');
    expect(r.bot.state).toBe('ok');
  });

  it('flags the node whose version, schema and config hash differ from the majority', () => {
    const r = buildHealthReport(inputs({ cluster: ok([node(1), node(2), node(3, '10.4.2', '126', 'bbb')]) }));
    expect(r.verdict).toBe('degraded');
    expect(keys(r)).toEqual(['cluster:app-3:version', 'cluster:app-3:schema_version', 'cluster:app-3:config_hash']);
    expect(r.flags[0]?.text).toBe('app-3 has version 10.4.2; the others have 10.5.0.');
    expect(r.cluster.nodes.map((n) => n.mismatches)).toEqual([[], [], ['version', 'schema_version', 'config_hash']]);
    expect(r.cluster.state).toBe('flagged');
  });

  it('flags only the field that differs (config drift on one node)', () => {
    const r = buildHealthReport(inputs({ cluster: ok([node(1), node(2, '10.5.0', '128', 'zzz'), node(3)]) }));
    expect(keys(r)).toEqual(['cluster:app-2:config_hash']);
  });

  it('names a split with no majority once instead of blaming every node', () => {
    const r = buildHealthReport(inputs({ cluster: ok([node(1, '10.5.0'), node(2, '10.4.2')]) }));
    expect(keys(r)).toEqual(['cluster:split:version']);
    expect(r.flags[0]?.text).toContain('10.5.0 on app-1; 10.4.2 on app-2');
    expect(r.cluster.expected.version).toBeUndefined();
  });

  it('treats an empty cluster list as not clustered (no flag)', () => {
    const r = buildHealthReport(inputs({ cluster: ok([]) }));
    expect(r.verdict).toBe('healthy');
    expect(r.cluster.state).toBe('off');
    expect(r.nodes).toEqual([]);
  });

  it('flags a missing SAML private key when the public certificate is there', () => {
    const r = buildHealthReport(inputs({ saml: ok({ ...SAML_ALL, private_key_file: false }) }));
    expect(r.verdict).toBe('degraded');
    expect(keys(r)).toEqual(['saml:private_key']);
    expect(r.saml).toMatchObject({ state: 'flagged', idpCertificate: true, publicCertificate: true, privateKey: false });
  });

  it('flags a missing IdP certificate, and not an absent optional key pair', () => {
    expect(keys(buildHealthReport(inputs({ saml: ok({ idp_certificate_file: false, public_certificate_file: true, private_key_file: true }) })))).toEqual(['saml:idp_certificate']);
    const pairless = buildHealthReport(inputs({ saml: ok({ idp_certificate_file: true, public_certificate_file: false, private_key_file: false }) }));
    expect(pairless.flags).toEqual([]);
  });

  it('treats SAML with no certificate at all as not set up, and 501 as off (no flags)', () => {
    const none = buildHealthReport(inputs({ saml: ok({ idp_certificate_file: false, public_certificate_file: false, private_key_file: false }) }));
    expect(none.saml.state).toBe('off');
    expect(none.verdict).toBe('healthy');
    const off = buildHealthReport(inputs({ saml: classifyFailure(new ApiError(501, 'api.admin.saml.not_available.app_error', 'SAML 2.0 is not configured or supported on this server.', 'r', 'GET /saml/certificate/status')) }));
    expect(off.saml).toMatchObject({ state: 'off', detail: 'SAML 2.0 is not configured or supported on this server.' });
    expect(off.verdict).toBe('healthy');
  });

  it('shows a refused check as refused without changing the verdict', () => {
    const refused = classifyFailure(new ApiError(403, 'api.context.permissions.app_error', 'no', 'r', 'GET /cluster/status'), 'sysconsole_read_environment_high_availability');
    const r = buildHealthReport(inputs({ cluster: refused }));
    expect(r.verdict).toBe('healthy');
    expect(r.cluster).toMatchObject({ state: 'refused', detail: 'the bot account lacks sysconsole_read_environment_high_availability.' });
    expect(r.nodes).toBeNull();
  });

  it('is down when the server does not answer, with one flag rather than one per section', () => {
    const gone = classifyFailure(new NetworkError('GET /system/ping', 'ECONNREFUSED'));
    const r = buildHealthReport(inputs({ ping: gone, cluster: classifyFailure(new NetworkError('GET /cluster/status', 'x')), saml: classifyFailure(new NetworkError('GET /saml', 'x')) }));
    expect(r.verdict).toBe('down');
    expect(keys(r)).toEqual(['server:unreachable']);
    expect(r.server.state).toBe('unreachable');
    expect(r.cluster.state).toBe('unreachable');
    expect(r.saml.state).toBe('unreachable');
    expect(r.bot.state).toBe('ok');
  });

  it('flags a failing cluster read while the server answers', () => {
    const r = buildHealthReport(inputs({ cluster: classifyFailure(new ApiError(500, 'x', 'boom', 'r', 'GET /cluster/status')) }));
    expect(keys(r)).toEqual(['cluster:check']);
    expect(r.verdict).toBe('degraded');
  });

  it('is down on an unhealthy database, degraded on an unhealthy file store', () => {
    const db = buildHealthReport(inputs({ ping: ok({ ...PING, status: 'UNHEALTHY', database_status: 'UNHEALTHY' }) }));
    expect(db.verdict).toBe('down');
    expect(keys(db)).toEqual(['server:database']);
    const fs = buildHealthReport(inputs({ ping: ok({ ...PING, status: 'UNHEALTHY', filestore_status: 'UNHEALTHY' }) }));
    expect(fs.verdict).toBe('degraded');
    expect(keys(fs)).toEqual(['server:filestore']);
    const other = buildHealthReport(inputs({ ping: ok({ status: 'UNHEALTHY' }) }));
    expect(keys(other)).toEqual(['server:status']);
  });

  it('flags the bot when its WebSocket is disconnected, and skips an unknown bot', () => {
    expect(keys(buildHealthReport(inputs({ bot: bot(false) })))).toEqual(['bot:websocket']);
    const { bot: _omit, ...rest } = inputs();
    expect(buildHealthReport(rest).bot.state).toBe('skipped');
  });
});

describe('classifyFailure', () => {
  it('maps each error to a kind and a sentence', () => {
    expect(classifyFailure(new ApiError(403, '', '', '', 'GET /x'), 'perm_x')).toMatchObject({ kind: 'refused', permission: 'perm_x' });
    expect(classifyFailure(new ApiError(401, 'api.context.session_expired.app_error', '', '', 'GET /x')).detail).toContain('token was rejected');
    // another 401 is a refusal with the server's words, not a bad token
    const other = classifyFailure(new ApiError(401, 'api.user.update_active.not_enable.app_error', 'Not enabled.', '', 'GET /x'));
    expect(other.detail).toContain('Not enabled.');
    expect(other.detail).not.toContain('token');
    expect(classifyFailure(new ApiError(502, '', '', '', 'GET /x'))).toMatchObject({ kind: 'failed', detail: 'The server answered with an error (HTTP 502).' });
    expect(classifyFailure(new NetworkError('GET /x', 'timeout', true))).toMatchObject({ kind: 'unreachable', detail: 'No answer in time.' });
    expect(classifyFailure(new ProtocolError('GET /x', 'bad'))).toMatchObject({ kind: 'failed' });
    expect(classifyFailure(new Error('weird'))).toMatchObject({ kind: 'failed' });
  });
});

describe('gatherHealthInputs', () => {
  it('runs each probe independently and measures the ping round trip with the clock', async () => {
    let t = 1_000;
    const now = (): number => t;
    const got = await gatherHealthInputs({
      api: {
        ping: async () => {
          await Promise.resolve();
          t += 40; // the server took 40 ms
          return PING;
        },
        getClusterStatus: async () => {
          throw new ApiError(403, 'api.context.permissions.app_error', 'no', 'r', 'GET /cluster/status');
        },
        getSamlCertificateStatus: async () => SAML_ALL,
      },
      now,
      botStatus: () => {
        throw new Error('not started');
      },
    });
    expect(got.ping).toEqual({ ok: true, value: PING, ms: 40 });
    expect(got.cluster).toMatchObject({ ok: false, kind: 'refused', permission: 'sysconsole_read_environment_high_availability' });
    expect(got.saml.ok).toBe(true);
    expect(got.bot).toBeUndefined();
  });

  it('skips probes it is told to, without calling them', async () => {
    const called: string[] = [];
    const got = await gatherHealthInputs({
      api: {
        ping: async () => (called.push('ping'), PING),
        getClusterStatus: async () => (called.push('cluster'), []),
        getSamlCertificateStatus: async () => (called.push('saml'), SAML_ALL),
      },
      now: () => 0,
      skip: { cluster: 'you need X' },
    });
    expect(called.sort()).toEqual(['ping', 'saml']);
    expect(got.cluster).toEqual({ ok: false, kind: 'skipped', detail: 'you need X' });
  });
});
