/**
 * `/health`: one report on the server (ping with database, file store and search
 * backend, and the round trip the bot measured), the cluster (nodes whose version,
 * schema or configuration differ from the others), SAML certificates, and the bot
 * itself, with a verdict (healthy / degraded / down). Each check stands alone: one
 * that fails or is refused says so and the rest still comes.
 *
 * `/health watch [~channel] [--every 5m]`, `/health unwatch [~channel]`,
 * `/health watches`: scheduled checks that post to a channel only on a change (see
 * src/services/health-watch.ts, which also says where watches are stored).
 *
 * All of it needs `manage_system`. The cluster section also needs
 * `sysconsole_read_environment_high_availability` and the SAML section
 * `get_saml_cert_status` (what the server checks on those endpoints); a caller
 * without them gets the rest of the report.
 */
import { z } from 'zod';
import { defineCommand, defineSubcommand, type CommandContext, type Requirement } from '../src/core/command.js';
import { UserError, invalidInput } from '../src/core/errors.js';
import { code, hint, md, paragraph, raw, reply, say, table, type Text } from '../src/core/reply.js';
import type { Channel } from '../src/mattermost/models.js';
import { PROBE_PERMISSIONS, runHealthCheck, VERDICT_LABEL } from '../src/services/health-check.js';
import { DEFAULT_WATCH_INTERVAL_MS, isHealthWatchScheduler, MAX_WATCH_INTERVAL_MS, MIN_WATCH_INTERVAL_MS, type HealthWatchService, type WatchSnapshot } from '../src/services/health-watch.js';
import { formatInterval, healthReportBlocks, intervalArg, INTERVAL_RANGE, parseInterval } from './lib/admin-health.js';
import { MANAGE_SYSTEM, usageFor } from './lib/admin-users.js';
import { rawWord, word } from './lib/args.js';
import { commandCode } from './lib/command-line.js';
import { userLabel } from './lib/people.js';
import { channelInScope } from './lib/scope.js';
import { formatDateTime, relativeTime, userTimeZone } from './lib/time.js';

const CREATE_POST: Requirement = { permission: 'create_post', scope: 'channel' };

// ---------------------------------------------------------------------------
// /health

const report = defineSubcommand({
  name: '',
  summary: 'Server, cluster, SAML, failed jobs, plugins, licence expiry and bot health with a verdict',
  usage: 'health',
  examples: ['health'],
  args: z.object({}),
  access: { self: MANAGE_SYSTEM },
  // not `fresh`: health must answer when the server does not (the rights cached from
  // before decide then); it reads and shows, it changes nothing
  async execute(ctx) {
    const skip: Partial<Record<'cluster' | 'saml' | 'jobs' | 'plugins' | 'license', string>> = {};
    // the bot could read these with its own rights; show them only to callers the server would
    if (!(await ctx.perms.can({ permission: PROBE_PERMISSIONS.cluster, scope: 'system' }))) {
      skip.cluster = `you need ${PROBE_PERMISSIONS.cluster} to see the cluster.`;
    }
    if (!(await ctx.perms.can({ permission: PROBE_PERMISSIONS.saml, scope: 'system' }))) {
      skip.saml = `you need ${PROBE_PERMISSIONS.saml} to see the SAML certificates.`;
    }
    if (!(await ctx.perms.can({ permission: PROBE_PERMISSIONS.plugins, scope: 'system' }))) {
      skip.plugins = `you need ${PROBE_PERMISSIONS.plugins} to see the plugins.`;
    }
    if (!(await ctx.perms.can({ permission: PROBE_PERMISSIONS.license, scope: 'system' }))) {
      skip.license = `you need ${PROBE_PERMISSIONS.license} to see the licence expiry.`;
    }
    // jobs: this command needs manage_system, and a system admin may read every job type
    const result = await runHealthCheck({ api: ctx.api, now: ctx.now, botStatus: () => ctx.services.botStatus(), signal: ctx.signal, skip, operations: true });
    const tone = result.verdict === 'healthy' ? 'ok' : result.verdict === 'down' ? 'error' : 'warning';
    return reply(healthReportBlocks(result, ctx.now()), { tone });
  },
});

// ---------------------------------------------------------------------------
// watches

function watchService(ctx: Pick<CommandContext, 'services'>): HealthWatchService {
  const w = ctx.services.watches;
  if (!w) throw new UserError('unavailable', 'Health watches are not available in this bot (it runs without a state directory).');
  return w;
}

/** The last state the service announced, when it can tell. */
function lastStateOf(service: HealthWatchService, channelId: string): WatchSnapshot | undefined {
  return isHealthWatchScheduler(service) ? service.lastState(channelId) : undefined;
}

/** `~town-square` or "this direct message". */
function channelText(c: Channel, dm = 'this direct message'): Text {
  if (c.type === 'D') return raw(dm);
  if (c.type === 'G') return raw('this group message');
  return md`~${c.name}`;
}

const channelRefOf = (raw: Record<string, unknown>): { channel?: string } => {
  const c = rawWord(raw, 'channel', 0);
  return c ? { channel: c } : {};
};

const WATCH_USAGE = 'health watch [~channel] [--every 5m]';
const watch = defineSubcommand({
  name: 'watch',
  summary: 'Check on a schedule and post to a channel when something changes',
  usage: WATCH_USAGE,
  examples: ['health watch', 'health watch ~ops-alerts --every 10m'],
  positional: ['channel'],
  args: z.object({ channel: word.optional(), every: z.string().optional() }),
  access: { self: MANAGE_SYSTEM },
  // changes what the bot posts: decided on current roles, never the cache
  fresh: true,
  scope: channelRefOf,
  // the bot posts there itself
  botNeeds: [CREATE_POST],
  async execute(ctx) {
    const service = watchService(ctx);
    const usage = usageFor(ctx, 'health', WATCH_USAGE);
    let everyMs = DEFAULT_WATCH_INTERVAL_MS;
    if (ctx.args.every !== undefined) {
      const parsed = parseInterval(ctx.args.every);
      if (parsed === undefined) throw invalidInput(`--every takes an interval such as 5m, 30m or 1h, not "${ctx.args.every}".`, usage);
      if (parsed < MIN_WATCH_INTERVAL_MS || parsed > MAX_WATCH_INTERVAL_MS) throw invalidInput(`--every must be ${INTERVAL_RANGE}.`, usage);
      everyMs = parsed;
    }
    // the caller must be able to post there themself: a watch is their message, sent later
    const channel = await channelInScope(ctx, ctx.args.channel, CREATE_POST, usage);
    const botId = ctx.services.botStatus().user.id;
    if (channel.type === 'G' || (channel.type === 'D' && !channel.name.split('__').includes(botId))) {
      throw invalidInput('A watch posts to a channel, or to your direct message with me; not into a conversation between other people.', usage);
    }
    const prior = service.list().find((w) => w.channelId === channel.id);
    await service.add({ channelId: channel.id, teamId: channel.team_id, everyMs, createdBy: ctx.caller.id });
    const where = channelText(channel);
    return reply(
      [
        paragraph(
          prior
            ? md`Updated the health watch in ${where}: now every ${formatInterval(everyMs)} (was ${formatInterval(prior.everyMs)}).`
            : md`Watching health every ${formatInterval(everyMs)}. I'll post in ${where} when the verdict or a flagged item changes, and again when it recovers; not on every check.`,
        ),
        hint(md`Stop with ${commandCode(ctx, 'health', ['unwatch', ...(channel.type === 'D' ? [] : [`~${channel.name}`])])}`),
      ],
      { tone: 'ok' },
    );
  },
});

const UNWATCH_USAGE = 'health unwatch [~channel]';
const unwatch = defineSubcommand({
  name: 'unwatch',
  summary: 'Stop the health watch in a channel',
  usage: UNWATCH_USAGE,
  examples: ['health unwatch', 'health unwatch ~ops-alerts'],
  positional: ['channel'],
  args: z.object({ channel: word.optional() }),
  access: { self: MANAGE_SYSTEM },
  // changes what the bot posts: decided on current roles, never the cache
  fresh: true,
  scope: channelRefOf,
  async execute(ctx) {
    const service = watchService(ctx);
    const channel = await channelInScope(ctx, ctx.args.channel, null, usageFor(ctx, 'health', UNWATCH_USAGE));
    const removed = await service.remove(channel.id);
    if (!removed) return say(md`There is no health watch in ${channelText(channel)}.`);
    return reply([paragraph(md`Stopped the health watch in ${channelText(channel)} (it checked every ${formatInterval(removed.everyMs)}).`)], { tone: 'ok' });
  },
});

const watches = defineSubcommand({
  name: 'watches',
  summary: 'List the health watches',
  usage: 'health watches',
  examples: ['health watches'],
  args: z.object({}),
  access: { self: MANAGE_SYSTEM },
  async execute(ctx) {
    const service = watchService(ctx);
    const all = service.list();
    if (all.length === 0) {
      return reply([paragraph('No health watches.'), hint(md`Start one with ${commandCode(ctx, 'health', ['watch', '~channel', '--every', intervalArg(DEFAULT_WATCH_INTERVAL_MS)])}`)]);
    }
    const people = await ctx.users.byIds([...new Set(all.map((w) => w.createdBy))]);
    const now = ctx.now();
    const tz = userTimeZone(ctx.caller);
    const rows: Text[][] = [];
    for (const w of all) {
      let where: Text = code(w.channelId);
      try {
        where = channelText(await ctx.api.getChannel(w.channelId), 'a direct message with me');
      } catch {
        where = md`${code(w.channelId)} (channel not readable)`;
      }
      const by = people.get(w.createdBy);
      const last = lastStateOf(service, w.channelId);
      rows.push([
        where,
        formatInterval(w.everyMs),
        by ? userLabel(by) : w.createdBy,
        formatDateTime(w.createdAt, tz),
        last ? `${VERDICT_LABEL[last.verdict]} (${relativeTime(last.at, now)})` : 'not checked yet',
      ]);
    }
    return reply([paragraph(md`${all.length} health ${all.length === 1 ? 'watch' : 'watches'}:`), table(['Channel', 'Every', 'Started by', 'Since', 'Last verdict'], rows)]);
  },
});

export default defineCommand({
  name: 'health',
  summary: 'Health checks of the Mattermost server, cluster, SAML and this bot',
  hint: '[watch [~channel] [--every 5m] | unwatch [~channel] | watches]',
  ownTrigger: true,
  subcommands: [report, watch, unwatch, watches],
});
