/**
 * Commands over several people at once (`team remove`, `channel add|remove`,
 * `user activate|deactivate` with more than one name): every row is resolved and checked
 * with the server's own rule for that row before anything changes, the preview counts
 * each group (will change, already so, not found, not allowed, ambiguous) and names the
 * first rows of each, and the confirmed run acts on the people the preview resolved, by
 * id. Confirmation is askFirst's (commands/lib/admin-users.ts), with the pins and subjects
 * built here (`rowPins`, `rowSubjects`). One call per row where the server has no batch endpoint, through `ctx.api`, so
 * the client's pacing and retry layers apply as to any call (src/mattermost/rest-api.ts).
 * Described for users in docs/batch.md.
 */
import type { CommandContext } from '../../src/core/command.js';
import { invalidInput } from '../../src/core/errors.js';
import { list, md, paragraph, reply, title, type Block, type Reply, type ReplyFile } from '../../src/core/reply.js';
import { csvText, datedFileName } from '../../src/render/csv.js';
import { isApiError } from '../../src/mattermost/errors.js';
import type { User } from '../../src/mattermost/models.js';
import { WHO_THE_NAMES_ARE } from './admin-users.js';
import { badRowsLine, listFromAttachment, MAX_LIST_ROWS, type ListFromFile } from './list-file.js';
import { resolveBatch, uniqueRefs } from './lookup.js';
import { clip, userLabel } from './people.js';

/** Most people one command takes (the team batch endpoint's own limit, api4/team.go addTeamMembers). */
export const MAX_ROWS = 256;
/** Rows of each group the preview and the answer name; the rest are counted. */
export const ROWS_SHOWN = 10;
/**
 * The longest command text a confirmation can carry: the buttons' signed payload keeps
 * the text (src/services/confirmations.ts `actionPayloadSchema`, 4,000 characters).
 */
export const MAX_TEXT = 3_900;

export type RowGroup = 'change' | 'already' | 'not_found' | 'not_allowed' | 'ambiguous';

/** One person named in the command and what the preview decided for them. */
export interface Row {
  ref: string;
  user?: User;
  group: RowGroup;
  /** why (not allowed, already so, ambiguous candidates), plain text */
  why?: string;
}

/** What a row-checking function returns for a resolved person. */
export type Decision = { group: 'change' } | { group: 'already' | 'not_allowed'; why: string };

type Ctx = Pick<CommandContext, 'users' | 'api' | 'signal' | 'invocation' | 'services' | 'mustConfirm'>;

/**
 * The rows for `refs`: names resolved in batches (commands/lib/lookup.ts resolveBatch),
 * then everyone found read again from the server in one call, so the checks decide on
 * current roles and states (never the directory cache, docs/mattermost-notes.md §6 item 24).
 */
export async function resolveRows(ctx: Ctx, words: string[], usage: string, max = MAX_ROWS): Promise<Row[]> {
  const refs = uniqueRefs(words);
  if (refs.length === 0) throw invalidInput('Name the people, e.g. @ann @bob (or attach a .csv or .txt list in a DM).', usage);
  if (refs.length > max) throw invalidInput(`That is ${refs.length} people; name at most ${max} at a time${max === MAX_ROWS ? ' (or attach them as a list file in a DM)' : ''}.`, usage);
  if (ctx.invocation.text.length > MAX_TEXT) throw invalidInput(`That command is too long to confirm (${ctx.invocation.text.length} characters, at most ${MAX_TEXT}); split the list.`, usage);
  const resolved = await resolveBatch(ctx, refs);
  const fresh = new Map((await ctx.api.getUsersByIds(resolved.found.map((f) => f.user.id))).map((u) => [u.id, u]));
  const rows: Row[] = [];
  const byRef = new Map(resolved.found.map((f) => [f.ref, f.user]));
  const ambiguous = new Map(resolved.ambiguous.map((a) => [a.ref, a.candidates]));
  const notFound = new Set(resolved.notFound);
  for (const ref of refs) {
    const found = byRef.get(ref);
    const user = found ? fresh.get(found.id) : undefined;
    if (user) rows.push({ ref, user, group: 'change' });
    else if (ambiguous.has(ref)) rows.push({ ref, group: 'ambiguous', why: `matches ${(ambiguous.get(ref) ?? []).map((c) => `@${c}`).join(', ')}` });
    else if (notFound.has(ref) || found) rows.push({ ref, group: 'not_found' });
    // a second name for someone already listed (resolveBatch keeps one row per person)
  }
  return rows;
}

/**
 * The names typed and, when the command came by DM with a list file attached, the file's
 * rows after them (commands/lib/list-file.ts): up to MAX_LIST_ROWS then instead of MAX_ROWS.
 */
export async function namesAndFile(ctx: Ctx & Pick<CommandContext, 'caller' | 'log'>, typed: string[]): Promise<{ words: string[]; file?: ListFromFile; max: number }> {
  const file = await listFromAttachment(ctx);
  return file ? { words: [...typed, ...file.refs], file, max: MAX_LIST_ROWS } : { words: typed, max: MAX_ROWS };
}

/** What the preview and the answer say about a list file: where the rows came from, and the rows skipped. */
export function fileLines(file: ListFromFile | undefined): string[] {
  if (!file) return [];
  const skipped = badRowsLine(file);
  return [`From ${clip(file.name, 64)}: ${file.refs.length} ${file.refs.length === 1 ? 'row' : 'rows'}.`, ...(skipped ? [skipped] : [])];
}

/** The rows a list file skipped, as result-file records (after the people). */
export const skippedRecords = (file: ListFromFile | undefined): string[][] => (file?.bad ?? []).map((b) => [`line ${b.line}`, '', '', 'skipped', b.why]);

/**
 * The command that confirms a batch: the names the preview resolved, or for a list file the
 * command alone (the names come from the file; retyped, it needs the file attached again).
 */
export const confirmArgs = (file: ListFromFile | undefined, args: string[], names: string[]): string[] => (file ? args : [...args, ...names]);

/** Applies `decide` to every resolved row, in order (one decision per person). */
export async function decideRows(rows: Row[], decide: (user: User) => Promise<Decision> | Decision): Promise<Row[]> {
  const out: Row[] = [];
  for (const row of rows) {
    if (!row.user || row.group !== 'change') {
      out.push(row);
      continue;
    }
    const d = await decide(row.user);
    out.push(d.group === 'change' ? row : { ...row, group: d.group, why: d.why });
  }
  return out;
}

export const rowsIn = (rows: readonly Row[], group: RowGroup): Row[] => rows.filter((r) => r.group === group);

/** Words for one batch command: "remove" / "removed" / "already not members". */
export interface BatchWords {
  /** "Will remove" */
  will: string;
  /** "Removed" */
  done: string;
  /** "Not members anyway" */
  already: string;
}

const rowText = (r: Row): string => {
  const who = r.user ? userLabel(r.user) : clip(r.ref, 64);
  return r.why ? `${who} (${clip(r.why, 160)})` : who;
};

/** "Ann Lee (@ann), @bob … and 3 more" */
function firstRows(rows: readonly Row[]): string {
  const shown = rows.slice(0, ROWS_SHOWN).map(rowText).join(', ');
  return rows.length > ROWS_SHOWN ? `${shown} … and ${rows.length - ROWS_SHOWN} more` : shown;
}

/** The groups as lines: "Will remove (3): …", then already, not allowed, not found, ambiguous. */
export function groupLines(rows: readonly Row[], words: BatchWords): string[] {
  const groups: Array<[RowGroup, string]> = [
    ['change', words.will],
    ['already', words.already],
    ['not_allowed', 'Not allowed'],
    ['not_found', 'Not found'],
    ['ambiguous', 'Ambiguous'],
  ];
  return groups.flatMap(([g, label]) => {
    const rs = rowsIn(rows, g);
    return rs.length ? [`${label} (${rs.length}): ${firstRows(rs)}`] : [];
  });
}

/** "3 will change, 1 already so, 0 not found, 2 not allowed, 0 ambiguous" */
export function countsLine(rows: readonly Row[]): string {
  const n = (g: RowGroup): number => rowsIn(rows, g).length;
  return `${n('change')} will change, ${n('already')} already so, ${n('not_found')} not found, ${n('not_allowed')} not allowed, ${n('ambiguous')} ambiguous.`;
}

/**
 * The preview's first line and groups, one per line, for the preview's `what` (askFirst in
 * commands/lib/admin-users.ts); it ends with a line break so that "Nothing has been changed
 * yet" comes on a line of its own.
 */
export function previewWhat(headline: string, rows: readonly Row[], words: BatchWords, file?: ListFromFile): string {
  return `${[headline, ...fileLines(file), countsLine(rows), ...groupLines(rows, words)].join('\n')}\n`;
}

/** The pin whose refusal says that the preview's groups (who will change, who is left as is, and why) moved. */
export const THE_GROUPS = 'who the preview listed in each group';

/**
 * The pins every batch shares (askFirst compares them at Confirm or Approve): who each name
 * is now, and the group the preview put each row in. A row that moved between groups (someone
 * left the team, lost a right, was deactivated) means the set of people to change is not what
 * was shown.
 */
export function rowPins(rows: readonly Row[]): Record<string, unknown> {
  return {
    [WHO_THE_NAMES_ARE]: rows.map((r) => [r.ref.toLowerCase(), r.user?.id ?? null]),
    [THE_GROUPS]: rows.map((r) => [r.user?.id ?? r.ref.toLowerCase(), r.group]).sort(([x], [y]) => (String(x) < String(y) ? -1 : String(x) > String(y) ? 1 : 0)),
  };
}

/**
 * Everyone a batch is done to, for askFirst's `people` (the payload's `subjects`): every row
 * that names a person, whatever its group, so that nobody listed in the preview approves it.
 */
export const rowSubjects = (rows: readonly Row[]): string[] => [...new Set(rows.flatMap((r) => (r.user ? [r.user.id] : [])))];

/** How one row's change ended. */
export interface RowOutcome {
  user: User;
  ok: boolean;
  why?: string;
}

/**
 * Runs `act` for each person, in order. A refusal the server gives for that row (a 4xx)
 * is that row's failure; anything else (the network, a 5xx after retries, the deadline)
 * stops the batch, and the rows not reached are reported as not done.
 */
export async function runRows(users: readonly User[], act: (u: User) => Promise<unknown>): Promise<{ outcomes: RowOutcome[]; notDone: User[]; stopped?: string }> {
  const outcomes: RowOutcome[] = [];
  for (let i = 0; i < users.length; i++) {
    const u = users[i] as User;
    try {
      await act(u);
      outcomes.push({ user: u, ok: true });
    } catch (err) {
      if (isApiError(err) && err.status >= 400 && err.status < 500 && err.status !== 401 && err.status !== 429) {
        outcomes.push({ user: u, ok: false, why: err.serverMessage ? clip(err.serverMessage.replace(/\s+/g, ' '), 200) : `refused (${err.status})` });
        continue;
      }
      const why = err instanceof Error ? err.message : String(err);
      return { outcomes, notDone: users.slice(i), stopped: clip(why.replace(/\s+/g, ' '), 200) };
    }
  }
  return { outcomes, notDone: [] };
}

/** The result file's columns, one record per row of the command. */
export const RESULT_HEADER = ['input', 'user', 'user id', 'outcome', 'reason'] as const;

const GROUP_OUTCOME: Record<Exclude<RowGroup, 'change'>, string> = {
  already: 'already so',
  not_allowed: 'not allowed',
  not_found: 'not found',
  ambiguous: 'ambiguous',
};

/**
 * Every row of a run as CSV records (input, resolved user, outcome, reason), in the order
 * the rows were given: a row that was to change is done, failed (the server's reason) or
 * not done (the batch stopped before it); the others keep the preview's group and reason.
 */
export function resultRecords(rows: readonly Row[], run: { outcomes: RowOutcome[]; notDone: User[]; stopped?: string }, words: BatchWords): string[][] {
  const outcome = new Map(run.outcomes.map((o) => [o.user.id, o]));
  const notDone = new Set(run.notDone.map((u) => u.id));
  return rows.map((r) => {
    const user = r.user ? [r.user.username, r.user.id] : ['', ''];
    if (r.group !== 'change') return [r.ref, ...user, GROUP_OUTCOME[r.group], r.why ?? ''];
    const o = r.user ? outcome.get(r.user.id) : undefined;
    if (o?.ok) return [r.ref, ...user, words.done.toLowerCase(), ''];
    if (o) return [r.ref, ...user, 'failed', o.why ?? 'refused'];
    if (r.user && notDone.has(r.user.id)) return [r.ref, ...user, 'not done', `the batch stopped before this row (${run.stopped ?? 'an error'})`];
    return [r.ref, ...user, 'not done', ''];
  });
}

/**
 * The result file of a batch, e.g. `ops-team-remove-2026-12-07.csv` (the team or channel,
 * the command, the day): the CSV writer's formula guard applies to every cell
 * (src/render/csv.ts), so a hostile name stays text. Delivered privately like any reply's
 * files (src/render/file-answer.ts).
 */
export function resultFile(name: string, records: readonly (readonly string[])[], at: number): ReplyFile {
  const bytes = new TextEncoder().encode(`\ufeff${csvText([RESULT_HEADER, ...records])}`);
  return { name: datedFileName(name, at, 'csv'), mimeType: 'text/csv', body: () => bytes };
}

/** The answer after a run: counts, each group's first rows, failures and what was not reached; `file`: the result CSV's name (scope and command). */
export function resultReply(
  heading: string,
  rows: readonly Row[],
  run: { outcomes: RowOutcome[]; notDone: User[]; stopped?: string },
  words: BatchWords,
  file?: { name: string; at: number; list?: ListFromFile },
): Reply {
  const done = run.outcomes.filter((o) => o.ok);
  const failed = run.outcomes.filter((o) => !o.ok);
  const blocks: Block[] = [title(md`${heading}: ${done.length} ${words.done.toLowerCase()}`)];
  const fromFile = fileLines(file?.list);
  if (fromFile.length) blocks.push(paragraph(fromFile.join('\n')));
  const asRows = (us: User[]): Row[] => us.map((u) => ({ ref: u.username, user: u, group: 'change' }));
  if (done.length) blocks.push(paragraph(`${words.done} (${done.length}): ${firstRows(asRows(done.map((o) => o.user)))}`));
  const others = groupLines(
    rows.filter((r) => r.group !== 'change'),
    words,
  );
  if (others.length) blocks.push(paragraph(others.join('\n')));
  if (failed.length) blocks.push(paragraph(`Failed (${failed.length}):`), list(failed.slice(0, ROWS_SHOWN * 2).map((f) => `${userLabel(f.user)}: ${f.why ?? 'refused'}`)));
  if (run.notDone.length) {
    blocks.push(paragraph(`Stopped before ${run.notDone.length} more (${run.stopped ?? 'an error'}); not done: ${firstRows(asRows(run.notDone))}. Run the command again for them.`));
  }
  const clean = failed.length === 0 && run.notDone.length === 0 && rows.every((r) => r.group === 'change' || r.group === 'already');
  return reply(blocks, { tone: clean ? 'ok' : 'warning', ...(file ? { files: [resultFile(file.name, [...resultRecords(rows, run, words), ...skippedRecords(file.list)], file.at)] } : {}) });
}

/** The answer when nothing would change: each group, and no question. */
export function nothingToDo(heading: string, rows: readonly Row[], words: BatchWords, file?: ListFromFile): Reply {
  const clean = rows.every((r) => r.group === 'already') && !file?.bad.length;
  return reply([title(md`${heading}: nothing to change`), paragraph([...fileLines(file), countsLine(rows), ...groupLines(rows, words)].join('\n'))], { tone: clean ? 'info' : 'warning' });
}

/**
 * One audit line per batch (who, what, where, counts, reference id); the rows go to the log
 * only. The dispatcher audits privileged subcommands by their declared requirement, which a
 * batch checks per row instead, so the batch writes its own line.
 */
export function auditRun(
  ctx: Pick<CommandContext, 'services' | 'caller' | 'ref' | 'invocation' | 'log'>,
  command: string,
  scope: string,
  rows: readonly Row[],
  run: { outcomes: RowOutcome[]; notDone: User[] },
): void {
  const n = (g: RowGroup): number => rowsIn(rows, g).length;
  const ok = run.outcomes.filter((o) => o.ok).length;
  const failed = run.outcomes.length - ok;
  const c = ctx.invocation.confirmed;
  for (const o of run.outcomes) ctx.log.info({ command, scope, user: o.user.id, ok: o.ok, ...(o.why ? { why: o.why } : {}) }, 'batch row');
  try {
    ctx.services.audit({
      who: { id: ctx.caller.id, username: ctx.caller.username },
      command,
      scope,
      outcome: failed || run.notDone.length ? 'failed' : 'succeeded',
      ref: ctx.ref,
      detail: `batch: ${ok} done, ${failed} failed, ${run.notDone.length} not reached, ${n('already')} already so, ${n('not_allowed')} not allowed, ${n('not_found')} not found, ${n('ambiguous')} ambiguous`,
      ...(c ? { confirmedBy: c.approver ? `approval by @${c.approver.username}` : c.by } : {}),
    });
  } catch (err) {
    ctx.log.warn({ err }, 'batch audit failed');
  }
}
