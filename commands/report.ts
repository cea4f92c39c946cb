/**
 * `/report`: the workspace at a glance, with a PNG chart of the last 30 days.
 *
 * Each part comes from the endpoint the server has for it, behind the permission the
 * server checks there (the caller's own right, checked before the bot reads anything):
 *
 * - counts and activity: `GET /analytics/old` `standard`, `post_counts_day`,
 *   `user_counts_with_posts_day` — `get_analytics` (server/channels/api4/system.go
 *   getAnalytics); the command needs it;
 * - guests and bots: `GET /users/stats/filtered` — `sysconsole_read_user_management_users`
 *   (api4/user.go getFilteredUsersStats); without it those lines say what is missing;
 * - the licence: `GET /license/client?format=old` (api4/license.go getClientLicense) — seats
 *   for anyone, its expiry only with `read_license_information` (else sanitized);
 * - the server version: what the bot read at start-up.
 */
import { z } from 'zod';
import { defineCommand, defineSubcommand, type CommandContext, type Requirement } from '../src/core/command.js';
import { code, fields, hint, md, paragraph, raw, reply, title, type Markdown, type Text } from '../src/core/reply.js';
import type { AnalyticsRow } from '../src/mattermost/models.js';
import { activityChartPng, CHART_SIZE, type DailyActivity } from '../src/render/chart.js';
import { datedFileName } from '../src/render/csv.js';
import { UserError, invalidInput } from '../src/core/errors.js';
import type { Channel } from '../src/mattermost/models.js';
import { describeSchedule, parseSchedule, type ReportWatchService } from '../src/services/report-watch.js';
import { say, table } from '../src/core/reply.js';
import { usageFor } from './lib/admin-users.js';
import { rawWord, word } from './lib/args.js';
import { commandCode } from './lib/command-line.js';
import { userLabel } from './lib/people.js';
import { channelInScope } from './lib/scope.js';
import { formatDateTime, userTimeZone } from './lib/time.js';

const GET_ANALYTICS: Requirement = { permission: 'get_analytics', scope: 'system' };
const READ_USERS: Requirement = { permission: 'sysconsole_read_user_management_users', scope: 'system' };
const READ_LICENSE: Requirement = { permission: 'read_license_information', scope: 'system' };
const CREATE_POST: Requirement = { permission: 'create_post', scope: 'channel' };
const UPLOAD_FILE: Requirement = { permission: 'upload_file', scope: 'channel' };
const DAY_MS = 86_400_000;
/** A licence expiring within this many days is called out (here and in `health`). */
export const LICENSE_WARN_DAYS = 30;

const dayName = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** The last `n` days ending yesterday … today (UTC), with 0 where the server has no row. */
export function dailySeries(posts: AnalyticsRow[], people: AnalyticsRow[], now: number, n = 30): DailyActivity {
  const days = Array.from({ length: n }, (_, i) => dayName(now - (n - 1 - i) * DAY_MS));
  const byDay = (rows: AnalyticsRow[]): Map<string, number> => new Map(rows.filter((r) => r.value >= 0).map((r) => [r.name, r.value]));
  const p = byDay(posts);
  const u = byDay(people);
  return { days, posts: days.map((d) => p.get(d) ?? 0), people: days.map((d) => u.get(d) ?? 0) };
}

const value = (rows: AnalyticsRow[], name: string): number | undefined => rows.find((r) => r.name === name)?.value;
const count = (n: number | undefined): string => (n === undefined || n < 0 ? 'not counted' : n.toLocaleString('en-US'));

async function peopleLines(ctx: CommandContext, standard: AnalyticsRow[]): Promise<Array<[string, Text]>> {
  const active = value(standard, 'unique_user_count');
  const deactivated = value(standard, 'inactive_user_count');
  const lines: Array<[string, Text]> = [
    ['Active people', count(active)],
    ['Deactivated', count(deactivated)],
  ];
  if (await ctx.perms.can(READ_USERS)) {
    const [guests, withBots] = await Promise.all([
      ctx.api.getFilteredUserStats({ roles: ['system_guest'] }),
      ctx.api.getFilteredUserStats({ includeBots: true }),
    ]);
    const humans = await ctx.api.getFilteredUserStats({});
    lines.push(['Guests', count(guests.total_users_count)], ['Bots', count(withBots.total_users_count - humans.total_users_count)]);
  } else {
    const missing = md`needs ${code(READ_USERS.permission)}`;
    lines.push(['Guests', missing], ['Bots', missing]);
  }
  return lines;
}

async function licenseLines(ctx: CommandContext, active: number | undefined): Promise<{ lines: Array<[string, Text]>; warning?: Markdown }> {
  const full = await ctx.api.getClientLicense();
  // the bot's token reads the whole licence: a caller without read_license_information gets
  // what the server would give them (server/channels/utils/license.go GetSanitizedClientLicense)
  const lic = (await ctx.perms.can(READ_LICENSE)) ? full : sanitizedLicense(full);
  if (lic.IsLicensed !== 'true') return { lines: [['Licence', 'none (Team Edition or unlicensed)']] };
  const seats = Number(lic.Users ?? '');
  const used = active ?? 0;
  const lines: Array<[string, Text]> = [
    ['Licence', lic.SkuShortName || lic.SkuName || 'licensed'],
    ['Seats', Number.isFinite(seats) && seats > 0 ? `${used.toLocaleString('en-US')} used of ${seats.toLocaleString('en-US')} (${Math.round((used / seats) * 100)}%)` : 'not stated'],
  ];
  let warning: Markdown | undefined;
  if (lic.ExpiresAt !== undefined) {
    const at = Number(lic.ExpiresAt);
    const left = Math.floor((at - ctx.now()) / DAY_MS);
    lines.push(['Expires', `${dayName(at)} (${left >= 0 ? `in ${left} days` : `${-left} days ago`})`]);
    if (left < LICENSE_WARN_DAYS) warning = left >= 0 ? md`The licence expires in ${left} days.` : raw('The licence has expired.');
  } else {
    lines.push(['Expires', md`needs ${code(READ_LICENSE.permission)}`]);
  }
  if (Number.isFinite(seats) && seats > 0 && used > seats) warning = md`${used - seats} more active people than licensed seats.`;
  return { lines, ...(warning ? { warning } : {}) };
}

/** The licence map without what GetSanitizedClientLicense removes. */
export function sanitizedLicense(l: Record<string, string>): Record<string, string> {
  const out = { ...l };
  for (const k of ['Id', 'Name', 'Email', 'IssuedAt', 'StartsAt', 'ExpiresAt', 'SkuName']) delete out[k];
  return out;
}

const report = defineSubcommand({
  name: '',
  summary:
    'The workspace at a glance: people, teams, channels, posts per day (with a chart), licence seats and expiry, server version. Guests and bots also need sysconsole_read_user_management_users; the licence expiry read_license_information',
  usage: 'report',
  examples: ['report'],
  args: z.object({}),
  // GET /analytics/old: get_analytics (api4/system.go getAnalytics). Guests and bots need
  // sysconsole_read_user_management_users, the licence expiry read_license_information.
  access: { self: GET_ANALYTICS },
  botNeeds: [GET_ANALYTICS],
  fresh: true,
  async execute(ctx) {
    const [standard, postsDay, peopleDay] = await Promise.all([
      ctx.api.getAnalytics('standard'),
      ctx.api.getAnalytics('post_counts_day'),
      ctx.api.getAnalytics('user_counts_with_posts_day'),
    ]);
    const active = value(standard, 'unique_user_count');
    const [people, licence] = await Promise.all([peopleLines(ctx, standard), licenseLines(ctx, active)]);
    const series = dailySeries(postsDay, peopleDay, ctx.now());
    const skipped = postsDay.some((r) => r.value < 0);
    const total30 = series.posts.reduce((a, b) => a + b, 0);
    const half = (xs: number[], from: number, to: number): number => xs.slice(from, to).reduce((a, b) => a + b, 0);
    const recent = half(series.posts, 15, 30);
    const before = half(series.posts, 0, 15);
    const trend = before > 0 ? Math.round(((recent - before) / before) * 100) : undefined;
    const open = value(standard, 'channel_open_count') ?? 0;
    const priv = value(standard, 'channel_private_count') ?? 0;
    const version = ctx.services.botStatus().serverVersion;
    const blocks = [
      title(raw('Workspace report')),
      fields([
        ...people,
        ['Teams', count(value(standard, 'team_count'))],
        ['Channels', `${count(open + priv)} (${count(open)} public, ${count(priv)} private)`],
        ['Posts, all time', count(value(standard, 'post_count'))],
        ['Posts, last 30 days', skipped ? 'not counted (too many users for statistics)' : `${total30.toLocaleString('en-US')}${trend !== undefined ? ` (last 15 days ${trend >= 0 ? '+' : ''}${trend}% on the 15 before)` : ''}`],
        ['Active today / this month', `${count(value(standard, 'daily_active_users'))} / ${count(value(standard, 'monthly_active_users'))}`],
        ...licence.lines,
        ['Server version', version || undefined],
      ]),
      ...(licence.warning ? [paragraph(md`:warning: ${licence.warning}`)] : []),
      hint(raw(`Chart: posts and people who posted per day, last 30 days (PNG, ${CHART_SIZE.width}×${CHART_SIZE.height}).`)),
    ];
    const png = await activityChartPng(series);
    // the report itself succeeded: a licence warning is a line in it, not the answer's tone
    return reply(blocks, {
      files: [{ name: datedFileName('activity', ctx.now(), 'png'), mimeType: 'image/png', body: () => png }],
    });
  },
});

// ---------------------------------------------------------------------------
// scheduled reports (src/services/report-watch.ts; what is posted: src/bot/report-watches.ts)

function watchService(ctx: Pick<CommandContext, 'services'>): ReportWatchService {
  const w = ctx.services.reportWatches;
  if (!w) throw new UserError('unavailable', 'Scheduled reports are not available in this bot.');
  return w;
}

/** `~town-square` or "this direct message". */
function channelText(c: Channel, dm = 'this direct message'): Text {
  if (c.type === 'D') return raw(dm);
  if (c.type === 'G') return raw('this group message');
  return md`~${c.name}`;
}

const channelRefOf = (args: Record<string, unknown>): { channel?: string } => {
  const c = rawWord(args, 'channel', 0);
  return c ? { channel: c } : {};
};

/** `9:00`, `17`: the time of `--every monday 9:00` (yargs-parser leaves it among the positionals). */
const TIME_WORD = /^\d{1,2}(:\d{2})?$/;

/** `report watch`'s words: the channel (not a time), and any time, for --every. */
function watchWords(args: Record<string, unknown>): { channel?: string; times: string[]; extra: string[] } {
  const c = args['channel'];
  const rest = args['_'];
  const words = [...(typeof c === 'string' || typeof c === 'number' ? [String(c)] : []), ...(Array.isArray(rest) ? rest.map(String) : [])];
  const others = words.filter((w) => !TIME_WORD.test(w));
  return { ...(others[0] !== undefined ? { channel: others[0] } : {}), times: words.filter((w) => TIME_WORD.test(w)), extra: others.slice(1) };
}

const watchRefOf = (args: Record<string, unknown>): { channel?: string } => {
  const { channel } = watchWords(args);
  return channel ? { channel } : {};
};

const WATCH_USAGE = 'report watch [~channel] [--every monday 9:00]';
const watch = defineSubcommand({
  name: 'watch',
  summary: 'Post the report (with its chart) to a channel on a schedule: a weekday or every day, at a time in UTC (default Mondays 9:00)',
  usage: WATCH_USAGE,
  examples: ['report watch', 'report watch ~leads --every monday 9:00', 'report watch ~ops --every daily 7:30'],
  positional: ['channel'],
  // `--every monday 9:00`: the words after --every up to the next option
  args: z.object({ channel: word.optional(), every: z.union([z.string(), z.number()]).optional(), _: z.array(z.union([z.string(), z.number()])).optional() }),
  // what `report` needs: the report is run as you at every slot, so losing the right stops it
  access: { self: GET_ANALYTICS },
  // changes what the bot posts: decided on current roles, never the cache
  fresh: true,
  scope: watchRefOf,
  // the bot posts there itself, with the chart attached
  botNeeds: [GET_ANALYTICS, CREATE_POST, UPLOAD_FILE],
  async execute(ctx) {
    const service = watchService(ctx);
    const usage = usageFor(ctx, 'report', WATCH_USAGE);
    const words = watchWords(ctx.args);
    if (words.extra.length) throw invalidInput(`I don't know what "${words.extra.join(' ')}" means here: name one channel, and the schedule after --every.`, usage);
    if (words.times.length && ctx.args.every === undefined) throw invalidInput(`A time goes after --every, such as --every monday ${words.times[0]}.`, usage);
    const text = ctx.args.every !== undefined ? [String(ctx.args.every), ...words.times].join(' ') : 'monday 9:00';
    const schedule = parseSchedule(text);
    if (!schedule) throw invalidInput(`--every takes a weekday or "daily" and a time in UTC, such as "monday 9:00" or "daily 7:30"; not "${text}".`, usage);
    // the caller must be able to post there themself: the report is their message, sent later
    const channel = await channelInScope(ctx, words.channel, CREATE_POST, usage);
    const botId = ctx.services.botStatus().user.id;
    if (channel.type === 'G' || (channel.type === 'D' && !channel.name.split('__').includes(botId))) {
      throw invalidInput('A scheduled report posts to a channel, or to your direct message with me; not into a conversation between other people.', usage);
    }
    const prior = (await service.list()).find((w) => w.channelId === channel.id);
    const added = await service.add({ channelId: channel.id, teamId: channel.team_id, schedule, createdBy: ctx.caller.id });
    const next = await service.nextRunAt(channel.id);
    const where = channelText(channel);
    return reply(
      [
        paragraph(
          prior
            ? md`Updated the scheduled report in ${where}: now ${describeSchedule(added.schedule)} (was ${describeSchedule(prior.schedule)}).`
            : md`I'll post the workspace report with its chart in ${where} ${describeSchedule(added.schedule)}, as you: if you lose ${code(GET_ANALYTICS.permission)} or the right to post there, it stops.`,
        ),
        ...(next !== undefined ? [paragraph(md`Next: ${formatDateTime(next, userTimeZone(ctx.caller))}.`)] : []),
        hint(md`Stop with ${commandCode(ctx, 'report', ['unwatch', ...(channel.type === 'D' ? [] : [`~${channel.name}`])])}`),
      ],
      { tone: 'ok' },
    );
  },
});

const UNWATCH_USAGE = 'report unwatch [~channel]';
const unwatch = defineSubcommand({
  name: 'unwatch',
  summary: 'Stop the scheduled report in a channel',
  usage: UNWATCH_USAGE,
  examples: ['report unwatch', 'report unwatch ~leads'],
  positional: ['channel'],
  args: z.object({ channel: word.optional() }),
  access: { self: GET_ANALYTICS },
  fresh: true,
  scope: channelRefOf,
  async execute(ctx) {
    const service = watchService(ctx);
    const channel = await channelInScope(ctx, ctx.args.channel, null, usageFor(ctx, 'report', UNWATCH_USAGE));
    const removed = await service.remove(channel.id);
    if (!removed) return say(md`There is no scheduled report in ${channelText(channel)}.`);
    return reply([paragraph(md`Stopped the scheduled report in ${channelText(channel)} (it posted ${describeSchedule(removed.schedule)}).`)], { tone: 'ok' });
  },
});

const watches = defineSubcommand({
  name: 'watches',
  summary: 'List the scheduled reports',
  usage: 'report watches',
  examples: ['report watches'],
  args: z.object({}),
  access: { self: GET_ANALYTICS },
  async execute(ctx) {
    const service = watchService(ctx);
    const all = await service.list();
    if (all.length === 0) {
      return reply([paragraph('No scheduled reports.'), hint(md`Start one with ${commandCode(ctx, 'report', ['watch', '~channel', '--every', 'monday', '9:00'])}`)]);
    }
    const people = await ctx.users.byIds([...new Set(all.map((w) => w.createdBy))]);
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
      const next = await service.nextRunAt(w.channelId);
      rows.push([where, describeSchedule(w.schedule), by ? userLabel(by) : w.createdBy, next !== undefined ? formatDateTime(next, tz) : '']);
    }
    return reply([paragraph(md`${all.length} scheduled ${all.length === 1 ? 'report' : 'reports'}:`), table(['Channel', 'When', 'Posted as', 'Next'], rows)]);
  },
});

export default defineCommand({
  name: 'report',
  summary: 'The workspace at a glance, with a chart of the last 30 days; posted on a schedule with watch',
  hint: '[watch [~channel] [--every monday 9:00] | unwatch [~channel] | watches]',
  ownTrigger: true,
  subcommands: [report, watch, unwatch, watches],
});
