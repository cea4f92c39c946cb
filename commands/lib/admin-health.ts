/**
 * How a health report reads in chat (`/health`), and the `--every 5m` interval
 * syntax of `/health watch`. The report itself is built in src/services/health-check.ts.
 */
import type { BotStatus } from '../../src/services/bot-status.js';
import { fields, list, md, paragraph, raw, table, title, type Block, type Text } from '../../src/core/reply.js';
import {
  VERDICT_LABEL,
  type BotSection,
  type ClusterSection,
  type HealthReport,
  type SamlSection,
  type OperationsSection,
  type ServerSection,
} from '../../src/services/health-check.js';
import { MAX_WATCH_INTERVAL_MS, MIN_WATCH_INTERVAL_MS } from '../../src/services/health-watch.js';
import { clip } from './people.js';
import { relativeTime, spanPhrase } from './time.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/**
 * `5m`, `90s`, `1h`, `1h30m`, or a bare number of minutes (`30`). Returns ms, or
 * undefined when the text is not an interval.
 */
export function parseInterval(text: string): number | undefined {
  const t = text.trim().toLowerCase().replace(/\s+/g, '');
  if (/^\d{1,5}$/.test(t)) return Number(t) * MINUTE;
  const m = /^(?:(\d{1,3})h)?(?:(\d{1,5})m(?:in)?)?(?:(\d{1,6})s)?$/.exec(t);
  if (!m || (!m[1] && !m[2] && !m[3])) return undefined;
  return Number(m[1] ?? 0) * HOUR + Number(m[2] ?? 0) * MINUTE + Number(m[3] ?? 0) * SECOND;
}

/** "5 min", "1 h 30 min", "45 s" */
export function formatInterval(ms: number): string {
  if (ms < MINUTE) return `${Math.round(ms / SECOND)} s`;
  const h = Math.floor(ms / HOUR);
  const m = Math.round((ms % HOUR) / MINUTE);
  return [h ? `${h} h` : '', m ? `${m} min` : ''].filter(Boolean).join(' ') || '0 min';
}

/** The allowed range, in words, for messages. */
export const INTERVAL_RANGE = `between ${formatInterval(MIN_WATCH_INTERVAL_MS)} and ${formatInterval(MAX_WATCH_INTERVAL_MS)}`;

const mark = (ok: boolean): string => (ok ? '✅' : '⚠️');

function stateLine(state: string, detail: string | undefined): Text {
  const words: Record<string, string> = {
    refused: 'Not checked',
    off: 'Not in use',
    failed: 'Check failed',
    unreachable: 'No answer',
    skipped: 'Not shown',
    limited: 'Unknown',
  };
  return md`${words[state] ?? state}: ${detail ?? ''}`;
}

function serverBlocks(s: ServerSection): Block[] {
  const head = paragraph(raw('**Server**'));
  if (s.state === 'unreachable' || s.state === 'failed') return [head, paragraph(md`⚠️ ${stateLine(s.state, s.detail)}`)];
  if (s.state === 'limited') return [head, paragraph(stateLine(s.state, s.detail))];
  const health = (v: string | undefined): string | undefined => (v === undefined ? undefined : `${mark(v.toUpperCase() === 'OK')} ${clip(v, 40)}`);
  return [
    head,
    fields([
      ['Status', health(s.status)],
      ['Database', health(s.database)],
      ['File store', health(s.filestore)],
      ['Search backend', s.searchBackend ? clip(s.searchBackend, 40) : undefined],
      ['API round trip', s.roundTripMs !== undefined ? `${s.roundTripMs} ms` : undefined],
    ]),
  ];
}

function clusterBlocks(c: ClusterSection): Block[] {
  const head = paragraph(raw('**Cluster**'));
  if (c.nodes.length === 0) return [head, paragraph(stateLine(c.state === 'ok' ? 'off' : c.state, c.detail))];
  const cell = (v: string, bad: boolean): Text => (bad ? md`⚠️ ${clip(v || '(none)', 40)}` : clip(v || '(none)', 40));
  const rows = c.nodes.map((n) => [
    clip(n.hostname || n.id, 60),
    clip(n.ipaddress, 45),
    cell(n.version, n.mismatches.includes('version')),
    cell(n.schema_version, n.mismatches.includes('schema_version')),
    cell(n.config_hash, n.mismatches.includes('config_hash')),
  ]);
  const summary =
    c.state === 'flagged'
      ? paragraph(md`${c.nodes.length} nodes; ⚠️ marks values that differ from the others.`)
      : paragraph(md`${c.nodes.length} nodes, all on the same version, schema and configuration.`);
  return [head, summary, table(['Node', 'IP', 'Version', 'Schema', 'Config hash'], rows)];
}

function samlBlocks(s: SamlSection): Block[] {
  const head = paragraph(raw('**SAML certificates**'));
  if (s.state !== 'ok' && s.state !== 'flagged') return [head, paragraph(stateLine(s.state, s.detail))];
  const present = (v: boolean | undefined): string => (v ? '✅ present' : '⚠️ missing');
  return [
    head,
    fields([
      ['Identity provider certificate', present(s.idpCertificate)],
      ['Public certificate', present(s.publicCertificate)],
      ['Private key', present(s.privateKey)],
    ]),
  ];
}

const SIGNATURE_LABEL: Record<NonNullable<BotStatus['slashSignatures']>, string> = {
  verified: "✅ verified by the server's signature",
  unsigned: '⚠️ not signed by the server (privileged commands only by DM)',
  unsigned_allowed: '⚠️ not signed by the server, and MMOPS_ALLOW_UNSIGNED_SLASH=true trusts them anyway (unsafe)',
  unknown: "⚠️ the server's signing key could not be read yet",
};

function botBlocks(b: BotSection, now: number): Block[] {
  const head = paragraph(raw('**This bot**'));
  const s = b.status;
  if (!s) return [head, paragraph('Not known yet (the bot is still starting).')];
  const ws = s.websocket.connected
    ? `✅ connected${s.websocket.since ? ` (for ${spanPhrase(Math.max(0, now - s.websocket.since))})` : ''}`
    : '⚠️ disconnected';
  return [
    head,
    fields([
      ['Account', `@${s.user.username}`],
      ['WebSocket', ws],
      ['Reconnects', String(s.websocket.reconnects)],
      ['Running for', spanPhrase(Math.max(0, now - s.startedAt))],
      ['Commands served', String(s.commandsServed)],
      ['Last error', s.lastError ? `${clip(s.lastError.message, 200)} (${relativeTime(s.lastError.at, now)})` : 'none'],
      ['Server version', s.serverVersion ? clip(s.serverVersion, 40) : undefined],
      ['Slash commands in', s.slashTeams ? (s.slashTeams.length > 0 ? clip(s.slashTeams.join(', '), 300) : 'no team (DMs and mentions only)') : undefined],
      ['Slash requests', s.slashSignatures ? SIGNATURE_LABEL[s.slashSignatures] : undefined],
    ]),
  ];
}

function operationsBlocks(o: OperationsSection | undefined, now: number): Block[] {
  if (!o) return [];
  const jobs: Text =
    o.jobs.state === 'ok' || o.jobs.state === 'flagged'
      ? o.jobs.failed?.length
        ? md`⚠️ ${o.jobs.failed.length} failed in the last 24 h (${clip([...new Set(o.jobs.failed.map((j) => j.type))].join(', '), 120)})`
        : raw('✅ none failed in the last 24 h')
      : stateLine(o.jobs.state, o.jobs.detail);
  const plugins: Text =
    o.plugins.state === 'ok' || o.plugins.state === 'flagged'
      ? o.plugins.notRunning?.length
        ? md`⚠️ ${o.plugins.notRunning.length} not running (${clip(o.plugins.notRunning.map((p) => p.name || p.plugin_id).join(', '), 120)}); ${o.plugins.running ?? 0} running`
        : md`✅ all ${o.plugins.running ?? 0} running`
      : stateLine(o.plugins.state, o.plugins.detail);
  const license: Text =
    (o.license.state === 'ok' || o.license.state === 'flagged') && o.license.expiresAt !== undefined
      ? md`${o.license.state === 'flagged' ? '⚠️' : '✅'} expires ${new Date(o.license.expiresAt).toISOString().slice(0, 10)} (${relativeTime(o.license.expiresAt, now)})`
      : stateLine(o.license.state, o.license.detail);
  return [paragraph(raw('**Jobs, plugins and licence**')), fields([['Jobs', jobs], ['Plugins', plugins], ['Licence', license]])];
}

/** The `/health` reply body for a report. */
export function healthReportBlocks(report: HealthReport, now: number): Block[] {
  const blocks: Block[] = [title(md`Health: ${VERDICT_LABEL[report.verdict]}`)];
  if (report.flags.length) {
    blocks.push(paragraph(raw('Needs attention:')), list(report.flags.map((f) => f.text)));
  } else {
    blocks.push(paragraph(raw('Nothing needs attention.')));
  }
  blocks.push(...serverBlocks(report.server), ...clusterBlocks(report.cluster), ...samlBlocks(report.saml), ...botBlocks(report.bot, now), ...operationsBlocks(report.operations, now));
  return blocks;
}

/** "`/health watch ~ops --every 5m`"-style code for hints. */
export const intervalArg = (ms: number): string => {
  if (ms % HOUR === 0) return `${ms / HOUR}h`;
  if (ms % MINUTE === 0) return `${ms / MINUTE}m`;
  return `${Math.round(ms / SECOND)}s`;
};
