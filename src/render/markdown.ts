/**
 * Structured reply → Mattermost Markdown.
 *
 * Every plain string in a reply is untrusted and goes through `escapeText` (Markdown
 * punctuation escaped, newlines folded, `@`/`~` broken with a zero-width space so
 * nothing notifies); {@link Markdown} values are the bot's own and pass through.
 * Table cells additionally cannot break their row (pipes escaped, newlines folded)
 * and very long cells are shortened with `…` (and a note says so).
 *
 * `renderPosts` splits a long reply into several posts: only between lines (a line
 * is cut only when it alone is longer than a post), a split table repeats its
 * header, a split code block is closed and reopened, and every line of the single
 * rendering appears in one of the parts.
 *
 * @example
 *   renderReply(reply([title('Who is ann'), fields([['Position', user.position]])]))
 *   // '#### Who is ann\n\n**Position:** Head of ops'
 */
import { escapeText, ZWSP, type Block, type Reply, type ReplyTone, type Text } from '../core/reply.js';

/** Mattermost's post length limit (runes; counting UTF-16 units stays below it). */
export const MAX_POST_LENGTH = 16383;
/** Longest table cell (characters of the original text) before it is shortened. */
export const MAX_CELL_LENGTH = 300;
/** Longest trusted-Markdown cell before it is shortened. */
export const MAX_MARKDOWN_CELL_LENGTH = 1000;

const TONE_MARK: Record<ReplyTone, string> = {
  ok: '',
  info: '',
  warning: ':grey_exclamation:',
  error: ':warning:',
  refused: ':no_entry:',
};

// eslint-disable-next-line no-control-regex
const UNSAFE_CONTROLS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;
/** An `@` where Mattermost would start a mention (start or after a non-word character). */
const MENTION_START = /(^|[^\w\u200b])@(?=[a-z0-9._-])/gim;

/** A rendered block: lines, plus lines to repeat (`head`) or close (`tail`) when split. */
interface Section {
  head: string[];
  body: string[];
  tail: string[];
  /** whether a tone mark may prefix its first line */
  prefixable: boolean;
}

/** Untrusted text → escaped inline Markdown; trusted Markdown as is. */
const inline = (t: Text): string => (typeof t === 'string' ? escapeText(t) : t.value);
/** Inline text on one line (titles, fields, list items, cells). */
const oneLine = (t: Text): string => inline(t).replace(/\r\n|\r|\n/g, ' ');

/** Escapes `|` that are not already escaped, so a trusted Markdown cell cannot add a column. */
function escapePipes(s: string): string {
  let out = '';
  let backslashes = 0;
  for (const c of s) {
    if (c === '|' && backslashes % 2 === 0) out += '\\';
    out += c;
    backslashes = c === '\\' ? backslashes + 1 : 0;
  }
  return out;
}

/** Removes a trailing odd backslash, so an appended `…` or a cell border is not escaped by accident. */
const dropDanglingBackslash = (s: string): string => {
  const m = /\\+$/.exec(s);
  return m && m[0].length % 2 === 1 ? s.slice(0, -1) : s;
};

/** Cuts at most `max` code points, never inside a surrogate pair. */
const cutCodePoints = (s: string, max: number): string => Array.from(s).slice(0, max).join('');

function cell(t: Text, note: { shortened: boolean }): string {
  if (typeof t === 'string') {
    const chars = Array.from(t.trim());
    if (chars.length > MAX_CELL_LENGTH) {
      note.shortened = true;
      return escapeText(`${chars.slice(0, MAX_CELL_LENGTH - 1).join('')}`) + '…';
    }
    return escapeText(t.trim());
  }
  let v = t.value.replace(/\r\n|\r|\n/g, ' ').trim();
  if (Array.from(v).length > MAX_MARKDOWN_CELL_LENGTH) {
    note.shortened = true;
    v = `${dropDanglingBackslash(cutCodePoints(v, MAX_MARKDOWN_CELL_LENGTH - 1))}…`;
  }
  return escapePipes(v);
}

const row = (cells: string[]): string => `| ${cells.map((c) => (c === '' ? ' ' : c)).join(' | ')} |`;

/**
 * Shortens the longest cells (with `…`, at safe cut points) until the row fits in
 * `budget` characters. Cells are already escaped, so cuts avoid escapes, disarmed
 * mentions and surrogate pairs.
 */
function fitCells(cells: string[], budget: number, note: { shortened: boolean }): string[] {
  const out = [...cells];
  for (let guard = 0; guard < 10_000 && row(out).length > budget; guard++) {
    let longest = 0;
    out.forEach((c, i) => {
      if (c.length > (out[longest] ?? '').length) longest = i;
    });
    const c = out[longest] ?? '';
    if (c.length <= 2) break; // nothing left to shorten
    const excess = row(out).length - budget;
    // level the longest cells rather than wiping out one of them
    const tied = out.filter((x) => x.length >= c.length - 1).length;
    let cut = Math.max(1, c.length - Math.ceil(excess / tied) - 1);
    if (tied === 1) {
      const second = Math.max(0, ...out.filter((_, i) => i !== longest).map((x) => x.length));
      cut = Math.max(cut, Math.min(c.length - 2, second));
    }
    while (cut > 1 && !safeCut(c, cut)) cut--;
    out[longest] = `${c.slice(0, cut)}…`;
    note.shortened = true;
  }
  return out;
}

/** Preformatted text: fence longer than any backtick run inside; mention starts broken. */
function codeSection(text: string): Section {
  const clean = text.replace(UNSAFE_CONTROLS, '').replace(/\r\n|\r/g, '\n').replace(MENTION_START, `$1@${ZWSP}`);
  const longest = Math.max(0, ...(clean.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return { head: [fence], body: clean.split('\n'), tail: [fence], prefixable: false };
}

function blockSections(block: Block, maxLen: number): Section[] {
  const plain = (body: string[], prefixable = true): Section[] =>
    body.length === 0 ? [] : [{ head: [], body, tail: [], prefixable }];
  switch (block.kind) {
    case 'title':
      return plain([`#### ${oneLine(block.text).trim()}`]);
    case 'paragraph': {
      const text = inline(block.text).trim();
      return text === '' ? [] : plain(text.split(/\r\n|\r|\n/));
    }
    case 'fields':
      return plain(block.fields.map((f) => `**${escapeText(f.label)}:** ${oneLine(f.value).trim()}`));
    case 'list':
      return plain(
        block.items.map((i) => `- ${oneLine(i).trim()}`),
        false,
      );
    case 'hint': {
      const lines = inline(block.text)
        .split(/\r\n|\r|\n/)
        .map((l) => l.trim())
        .filter((l) => l !== '');
      return plain(lines.map((l) => `_${l}_`));
    }
    case 'code':
      return [codeSection(block.text)];
    case 'table': {
      if (block.columns.length === 0) return [];
      const width = block.columns.length;
      const note = { shortened: false };
      const headCells = fitCells(block.columns.map((c) => escapeText(c.trim())), Math.floor(maxLen / 3), note);
      const head = [row(headCells), row(block.columns.map(() => '---'))];
      // a row must fit in one post next to the repeated header, so it is never cut
      const budget = maxLen - head.reduce((n, l) => n + l.length + 1, 0) - 2;
      const body = block.rows.map((r) => {
        const cells = r.map((c) => cell(c, note));
        // A row with more cells than columns keeps them in the last column (nothing is lost).
        const fixed = cells.length > width ? [...cells.slice(0, width - 1), cells.slice(width - 1).join(' · ')] : cells;
        while (fixed.length < width) fixed.push('');
        return row(fitCells(fixed, budget, note));
      });
      const out: Section[] = [{ head, body, tail: [], prefixable: false }];
      if (note.shortened) out.push(...plain([`_Some cells were shortened (…)._`]));
      return out;
    }
  }
}

function sectionsOf(r: Reply, maxLen: number): Section[] {
  const sections = r.blocks.flatMap((b) => blockSections(b, maxLen));
  const mark = TONE_MARK[r.tone];
  const first = sections[0];
  if (mark && first) {
    if (first.prefixable && first.body[0] !== undefined) {
      const line = first.body[0];
      first.body[0] = line.startsWith('#### ') ? `#### ${mark} ${line.slice(5)}` : `${mark} ${line}`;
    } else sections.unshift({ head: [], body: [mark], tail: [], prefixable: false });
  }
  return sections;
}

/** The whole reply as one Markdown message (no length limit). */
export function renderReply(r: Reply): string {
  return sectionsOf(r, Infinity)
    .map((s) => [...s.head, ...s.body, ...s.tail].join('\n'))
    .join('\n\n');
}

/**
 * The reply as one or more posts of at most `maxLen` characters each. Returns [] for
 * an empty reply.
 */
export function renderPosts(r: Reply, maxLen: number = MAX_POST_LENGTH): string[] {
  if (!(maxLen >= 40)) throw new RangeError(`maxLen must be at least 40 (got ${maxLen})`);
  const posts: string[] = [];
  let cur: string[] = [];
  let curLen = 0; // length of cur.join('\n')
  const add = (line: string): void => {
    curLen += (cur.length > 0 ? 1 : 0) + line.length;
    cur.push(line);
  };
  const flush = (): void => {
    while (cur.length > 0 && cur[cur.length - 1] === '') cur.pop();
    if (cur.length > 0) posts.push(cur.join('\n'));
    cur = [];
    curLen = 0;
  };
  const linesLen = (ls: string[]): number => ls.reduce((n, l) => n + l.length + 1, 0);
  const fits = (extra: number): boolean => curLen + extra <= maxLen;

  for (const s of sectionsOf(r, maxLen)) {
    const headLen = linesLen(s.head);
    const tailLen = linesLen(s.tail);
    const room = Math.max(20, maxLen - headLen - tailLen - 1);
    const pieces = s.body.flatMap((l) => (l.length > room ? hardSplit(l, room) : [l]));
    const firstLen = (pieces[0]?.length ?? 0) + 1;
    const sep = cur.length > 0 ? 1 : 0; // the blank line between sections
    if (cur.length > 0 && !fits(sep + headLen + firstLen + tailLen)) flush();
    if (cur.length > 0) add('');
    s.head.forEach(add);
    for (const piece of pieces) {
      if (!fits(piece.length + 1 + tailLen) && cur.length > s.head.length) {
        s.tail.forEach(add);
        flush();
        s.head.forEach(add);
      }
      add(piece);
    }
    s.tail.forEach(add);
  }
  flush();
  return posts;
}

/**
 * Cuts one over-long line into pieces of at most `width`, preferring spaces, and never
 * between a backslash and the character it escapes, between `@`/`~` and the zero-width
 * space that disarms it, just before an `@`, or inside a surrogate pair.
 */
export function hardSplit(line: string, width: number): string[] {
  const out: string[] = [];
  let rest = line;
  while (rest.length > width) {
    let cut = width;
    const space = rest.lastIndexOf(' ', width);
    if (space > width / 2) cut = space + 1;
    while (cut > 1 && !safeCut(rest, cut)) cut--;
    if (cut <= 1) cut = Math.max(1, Math.min(width, rest.length)); // no safe point: accept
    out.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  out.push(rest);
  return out;
}

function safeCut(s: string, at: number): boolean {
  const before = s.charCodeAt(at - 1);
  const after = s[at];
  if (before >= 0xd800 && before <= 0xdbff) return false; // high surrogate
  if (after === ZWSP) return false;
  if (after === '@') return false; // a line must not start with a mention the previous character disarmed
  let backslashes = 0;
  for (let i = at - 1; i >= 0 && s[i] === '\\'; i--) backslashes++;
  return backslashes % 2 === 0;
}
