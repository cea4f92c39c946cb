/**
 * People as CSV files (`users export`, `teams members --csv`, `members --csv`): the rows are
 * read a page at a time (200 people, one status batch each) while the file is being
 * uploaded, so memory stays bounded whatever the size of the workspace.
 *
 * Visibility is the same as everywhere else: the bot reads with its own token, so each
 * page is cut to the people the caller may see (`ctx.users.visible`, the server's rule), and
 * email and sign-in method are filled only for callers who may see them
 * (`mayReadOthersPrivateFields`, as `whois` decides) — or for the caller's own row.
 */
import type { CommandContext } from '../../src/core/command.js';
import type { ReplyFile } from '../../src/core/reply.js';
import type { User } from '../../src/mattermost/models.js';
import { csvStream, datedFileName } from '../../src/render/csv.js';
import { mayReadOthersPrivateFields } from '../whois.js';
import { authMethod } from './people.js';

/**
 * The deadline of an export (instead of the dispatcher's 25 s): 100,000 people are 500
 * pages and 500 status batches, paced by the server's rate limit.
 */
export const EXPORT_DEADLINE_MS = 10 * 60_000;
/** `deadlineMs` of a list subcommand whose `--csv` makes it an export. */
export const exportDeadlineWithCsv = (words: readonly string[]): number | undefined => (words.includes('--csv') ? EXPORT_DEADLINE_MS : undefined);

/** Page size when reading people for an export (the server's maximum for these lists). */
export const EXPORT_PAGE = 200;

/** The columns of every people export, in order; an extra membership column may follow. */
export const PEOPLE_COLUMNS = ['username', 'name', 'nickname', 'email', 'roles', 'created', 'last activity', 'deactivated', 'sign-in method', 'bot'] as const;

const iso = (ms: number): string => (ms > 0 ? new Date(ms).toISOString() : '');

/** One page of people with what a row needs besides the user. */
export interface ExportPage<M = undefined> {
  users: Array<{ user: User; extra?: M }>;
}

/** Counts what an export wrote, readable once the file has been sent. */
export interface ExportTally {
  rows: number;
}

/**
 * A CSV file of the people `pages` yields (already cut to the caller's view), with
 * `extraColumn` from each entry's `extra` when given.
 */
export async function peopleFile<M>(
  ctx: CommandContext,
  what: string,
  pages: () => AsyncIterable<ExportPage<M>>,
  extraColumn?: { name: string; value: (extra: M | undefined) => string },
  tally: ExportTally = { rows: 0 },
): Promise<ReplyFile> {
  const privateOk = await mayReadOthersPrivateFields(ctx);
  const header = [...PEOPLE_COLUMNS, ...(extraColumn ? [extraColumn.name] : [])];
  async function* rows(): AsyncIterable<string[][]> {
    for await (const page of pages()) {
      const ids = page.users.map((e) => e.user.id);
      const statuses = ids.length ? await ctx.api.getStatusesByIds(ids) : [];
      const lastActive = new Map(statuses.map((s) => [s.user_id, s.last_activity_at]));
      tally.rows += page.users.length;
      yield page.users.map(({ user: u, extra }) => {
        const mine = privateOk || u.id === ctx.caller.id;
        const last = Math.max(lastActive.get(u.id) ?? 0, u.last_activity_at);
        return [
          u.username,
          [u.first_name, u.last_name].filter(Boolean).join(' '),
          u.nickname,
          mine ? u.email : '',
          u.roles,
          iso(u.create_at),
          iso(last),
          iso(u.delete_at),
          mine ? authMethod(u.auth_service) : '',
          u.is_bot ? 'yes' : '',
          ...(extraColumn ? [extraColumn.value(extra)] : []),
        ];
      });
    }
  }
  return { name: datedFileName(what, ctx.now(), 'csv'), mimeType: 'text/csv', body: () => csvStream(header, rows()) };
}

/** Pages of `GET /users` with the given filters, each cut to the people the caller may see. */
export function userListPages(
  ctx: CommandContext,
  q: { role?: string; inactive?: boolean; inTeam?: string },
): () => AsyncIterable<ExportPage> {
  return async function* () {
    for (let page = 0; ; page++) {
      const batch = await ctx.api.listUsers({ ...q, page, perPage: EXPORT_PAGE });
      const seen = await ctx.users.visible(batch, (u) => u.id);
      if (seen.length) yield { users: seen.map((user) => ({ user })) };
      if (batch.length < EXPORT_PAGE) return;
    }
  };
}

/**
 * Pages of a membership list (`GET /teams/{id}/members`, `GET /channels/{id}/members`), cut
 * to the caller's view, with each member's profile (one batch per page).
 */
export function memberPages<M extends { user_id: string }>(
  ctx: CommandContext,
  read: (page: number) => Promise<M[]>,
  keep: (m: M) => boolean = () => true,
): () => AsyncIterable<ExportPage<M>> {
  return async function* () {
    for (let page = 0; ; page++) {
      const batch = await read(page);
      const seen = (await ctx.users.visible(batch, (m) => m.user_id)).filter(keep);
      const profiles = await ctx.users.byIds(seen.map((m) => m.user_id));
      const users = seen.flatMap((m) => {
        const user = profiles.get(m.user_id);
        return user ? [{ user, extra: m }] : [];
      });
      if (users.length) yield { users };
      if (batch.length < EXPORT_PAGE) return;
    }
  };
}
