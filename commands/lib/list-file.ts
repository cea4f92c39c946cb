/**
 * Lists from a file: a batch command sent by DM with an attached `.csv` or `.txt` takes its
 * people from it (docs/batch.md, "Lists from a file"). One person per row (username,
 * `@username`, email or user id); a header row is recognised (a `username`, `email` or `id`
 * column is then the one read); blank lines and lines starting with `#` are skipped; a row
 * that names no one is reported by its line number and the rest go on.
 *
 * The file is read as `avatar` reads its image (commands/avatar.ts): `GET /files/{id}/info`
 * first, and the download (`GET /files/{id}`, with the bot's token) only for a file the caller
 * uploaded with this very post, in this channel (`user_id`, `post_id`, `channel_id`): the
 * server lets the bot read any file of a channel it is in (api4/file.go getFileInfo, getFile:
 * the creator, or read_channel_content on the file's channel), so those checks are the bot's.
 * CSV syntax is csv-parse's (the same project as the writer, src/render/csv.ts).
 */
import { parse } from 'csv-parse/sync';
import type { CommandContext } from '../../src/core/command.js';
import { UserError } from '../../src/core/errors.js';
import { serverSays } from './admin-users.js';

/** Largest list file accepted (bytes). */
export const MAX_LIST_BYTES = 1024 * 1024;
/** Most rows one file may hold (people, after blank lines and comments). */
export const MAX_LIST_ROWS = 10_000;

const USERNAME = /^@?[a-z0-9][a-z0-9._-]{0,63}$/i;
const EMAIL = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]{2,}$/;
const USER_ID = /^[a-z0-9]{26}$/;
/** Header cells, by preference: the first of these a header has is the column read. */
const HEADERS: RegExp[] = [/^(username|user ?name|user|login)$/i, /^(e-?mail|email address)$/i, /^(id|user ?id|user_id)$/i];
const ANY_HEADER = /^(username|user ?name|user|login|e-?mail|email address|id|user ?id|user_id|name|full ?name|first ?name|last ?name|display ?name|nickname)$/i;

/** A row that names nobody, by its line in the file. */
export interface BadRow {
  line: number;
  why: string;
}

export interface ListFromFile {
  name: string;
  refs: string[];
  bad: BadRow[];
}

const shown = (s: string): string => (s.length > 40 ? `${s.slice(0, 40)}…` : s);

/** Whether `cell` names one person as a list row may (username, `@username`, email, id). */
export const isPersonCell = (cell: string): boolean => USERNAME.test(cell) || EMAIL.test(cell) || USER_ID.test(cell);

/**
 * The people of a list file's text: `refs` in file order, and the rows that name no one.
 * Throws a UserError with a sentence for a file that is no list at all (too many rows).
 */
export function parseList(text: string): { refs: string[]; bad: BadRow[] } {
  const bad: BadRow[] = [];
  const records = parse(text, {
    bom: true,
    comment: '#',
    comment_no_infix: true,
    skip_empty_lines: true,
    relax_column_count: true,
    relax_quotes: true,
    trim: true,
    info: true,
    skip_records_with_error: true,
    on_skip: (err: { lines?: number; message?: string } | undefined) => {
      bad.push({ line: err?.lines ?? 0, why: 'not readable as CSV (a stray quote?)' });
    },
  }) as unknown as Array<{ record: string[]; info: { lines: number } }>;
  const rows = records.filter((r) => r.record.some((c) => c !== ''));
  let column = 0;
  let start = 0;
  const first = rows[0];
  if (first && first.record.some((c) => ANY_HEADER.test(c)) && !first.record.some((c) => EMAIL.test(c) || USER_ID.test(c) || c.startsWith('@'))) {
    start = 1;
    const pick = HEADERS.map((h) => first.record.findIndex((c) => h.test(c))).find((i) => i >= 0);
    if (pick === undefined) throw new UserError('invalid_input', `The file's header (line ${first.info.lines}) has no username, email or id column; put one person's username, email or id on each row.`);
    column = pick;
  }
  const people = rows.slice(start);
  if (people.length > MAX_LIST_ROWS) throw new UserError('invalid_input', `The file has ${people.length.toLocaleString('en-US')} rows; the limit is ${MAX_LIST_ROWS.toLocaleString('en-US')}. Split it into smaller files.`);
  const refs: string[] = [];
  for (const r of people) {
    const cell = (r.record[column] ?? '').trim();
    if (!cell) bad.push({ line: r.info.lines, why: 'empty' });
    else if (!isPersonCell(cell)) bad.push({ line: r.info.lines, why: `"${shown(cell)}" is not a username, email or user id` });
    else refs.push(cell.startsWith('@') || EMAIL.test(cell) || USER_ID.test(cell) ? cell : `@${cell}`);
  }
  bad.sort((a, b) => a.line - b.line);
  return { refs, bad };
}

type Ctx = Pick<CommandContext, 'api' | 'signal' | 'invocation' | 'caller' | 'log'>;

const mb = (n: number): string => `${(n / (1024 * 1024)).toFixed(1)} MB`;

/**
 * The list attached to this command, or undefined when none is (a slash command cannot
 * carry one). Checks the file before downloading it (see the module comment).
 */
export async function listFromAttachment(ctx: Ctx): Promise<ListFromFile | undefined> {
  const files = ctx.invocation.fileIds ?? [];
  if (files.length === 0) return undefined;
  if (ctx.invocation.source !== 'dm') throw new UserError('invalid_input', 'Send a list file to me in a direct message; I read attached lists only there.');
  if (files.length > 1) throw new UserError('invalid_input', `Attach one list file (this message has ${files.length}).`);
  const fileId = files[0] ?? '';
  const info = await serverSays('read the attached file', () => ctx.api.getFileInfo(fileId));
  const post = ctx.invocation.postId;
  if (info.user_id !== ctx.caller.id || !post || info.post_id !== post || info.channel_id !== ctx.invocation.channelId) {
    ctx.log.warn({ fileId, fileUser: info.user_id, filePost: info.post_id, fileChannel: info.channel_id, post }, 'list file refused: not attached by the caller to this post in this channel');
    throw new UserError('forbidden', 'That attachment is not one you sent with this message; nothing was read from it.');
  }
  const ext = (info.extension || info.name.split('.').pop() || '').toLowerCase();
  if (ext !== 'csv' && ext !== 'txt') throw new UserError('invalid_input', `${shown(info.name) || 'The file'} is not a .csv or .txt list; attach one with one username, email or id per row.`);
  if (info.size > MAX_LIST_BYTES) throw new UserError('invalid_input', `The file is ${mb(info.size)}; the limit is ${mb(MAX_LIST_BYTES)}. Split it into smaller files.`);
  const data = await serverSays('download the attached file', () => ctx.api.getFile(fileId));
  if (data.byteLength > MAX_LIST_BYTES) throw new UserError('invalid_input', `The file is ${mb(data.byteLength)}; the limit is ${mb(MAX_LIST_BYTES)}. Split it into smaller files.`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    throw new UserError('invalid_input', `${shown(info.name)} is not UTF-8 text; save it as CSV UTF-8 or plain text and attach it again.`);
  }
  if (text.includes('\u0000')) throw new UserError('invalid_input', `${shown(info.name)} is not a text file; attach a .csv or .txt list.`);
  const { refs, bad } = parseList(text);
  ctx.log.info({ fileId, rows: refs.length, bad: bad.length }, 'list file read');
  if (refs.length === 0) throw new UserError('invalid_input', `${shown(info.name)} names nobody${bad.length ? ` (${bad.length} unreadable ${bad.length === 1 ? 'row' : 'rows'}, first on line ${bad[0]?.line})` : ''}; put one username, email or id on each row.`);
  return { name: info.name, refs, bad };
}

/** "Skipped rows of ann.csv (2): line 4: "x y" is not …; line 9: empty" (first 10). */
export function badRowsLine(list: ListFromFile): string | undefined {
  if (list.bad.length === 0) return undefined;
  const first = list.bad.slice(0, 10).map((b) => `line ${b.line}: ${b.why}`).join('; ');
  return `Skipped rows of ${shown(list.name)} (${list.bad.length}): ${first}${list.bad.length > 10 ? ` … and ${list.bad.length - 10} more` : ''}.`;
}
