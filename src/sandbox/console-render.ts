/**
 * Terminal rendering for the sandbox console (`npm run demo`): the bot's Mattermost
 * Markdown made readable in a terminal, and the list of API calls behind a reply.
 *
 * Nothing here changes what the bot sent; it only undoes what exists for Mattermost's
 * renderer: zero-width spaces that disarm mentions are dropped, backslash escapes
 * are resolved, `**bold**` and `#### headers` become terminal bold (or plain text),
 * tables are aligned, tone markers (`:no_entry:` …) become symbols. Colours are used
 * only when asked for (the console asks when stdout is a TTY and NO_COLOR is unset).
 *
 * @example
 *   const lines = renderMarkdown('#### Who is bob\n\n**Position:** Ops lead', { color: false, width: 80 });
 *   // ['Who is bob', '', 'Position: Ops lead']
 */

/** A piece of a terminal line with one style. */
export interface Seg {
  text: string;
  style?: Style;
}

export type Style = 'bold' | 'code' | 'dim' | 'italic' | 'red' | 'yellow' | 'green' | 'cyan' | 'boldRed' | 'boldYellow';

export interface RenderOptions {
  /** ANSI colours and bold */
  color: boolean;
  /** columns available for the text (the caller's gutter already subtracted) */
  width: number;
}

const ANSI: Record<Style, [string, string]> = {
  bold: ['\x1b[1m', '\x1b[22m'],
  dim: ['\x1b[2m', '\x1b[22m'],
  italic: ['\x1b[3m', '\x1b[23m'],
  code: ['\x1b[36m', '\x1b[39m'],
  cyan: ['\x1b[36m', '\x1b[39m'],
  red: ['\x1b[31m', '\x1b[39m'],
  yellow: ['\x1b[33m', '\x1b[39m'],
  green: ['\x1b[32m', '\x1b[39m'],
  boldRed: ['\x1b[1;31m', '\x1b[22;39m'],
  boldYellow: ['\x1b[1;33m', '\x1b[22;39m'],
};

/** Wraps `text` in the ANSI codes of `style` when `color` is on. */
export function paint(text: string, style: Style | undefined, color: boolean): string {
  if (!color || !style || text === '') return text;
  const [open, close] = ANSI[style];
  return `${open}${text}${close}`;
}

// eslint-disable-next-line no-control-regex
const ANSI_RE = /\x1b\[[0-9;]*m/g;
/** The text without ANSI colour codes. */
export const stripAnsi = (s: string): string => s.replace(ANSI_RE, '');

const ZERO_WIDTH = /[\u200b-\u200d\u2060\ufe0e\ufe0f]/;
const COMBINING = /\p{M}/u;
const PICTOGRAPHIC = /\p{Extended_Pictographic}/u;

/** Terminal columns of one code point (0, 1 or 2): combining marks 0, emoji and East Asian wide 2. */
function charWidth(ch: string): number {
  const cp = ch.codePointAt(0) ?? 0;
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 0;
  if (ZERO_WIDTH.test(ch) || COMBINING.test(ch)) return 0;
  if (cp >= 0x1f1e6 && cp <= 0x1f1ff) return 1; // regional indicators pair up into one flag
  if (cp >= 0x2190 && cp <= 0x21ff) return 1; // arrows (→) are narrow
  if (PICTOGRAPHIC.test(ch) && cp > 0x2000 && cp !== 0x2122 && cp !== 0x2139) return 2;
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

/** Terminal columns a string takes (ANSI codes ignored). */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of stripAnsi(s)) w += charWidth(ch);
  return w;
}

/** The segments as a terminal string. Inline code keeps its backticks when there is no colour. */
export function segsToString(segs: readonly Seg[], color: boolean): string {
  return segs.map((s) => (s.style === 'code' && !color ? `\`${s.text}\`` : paint(s.text, s.style, color))).join('');
}

const segText = (s: Seg, color: boolean): string => (s.style === 'code' && !color ? `\`${s.text}\`` : s.text);
const segsWidth = (segs: readonly Seg[], color: boolean): number => segs.reduce((n, s) => n + displayWidth(segText(s, color)), 0);

/** Cuts segments to at most `width` columns, ending with `…` when something was cut. */
export function truncateSegs(segs: readonly Seg[], width: number, color: boolean): Seg[] {
  if (segsWidth(segs, color) <= width) return [...segs];
  const out: Seg[] = [];
  let used = 0;
  const budget = Math.max(0, width - 1);
  for (const s of segs) {
    // code loses its backticks when cut, so the count stays simple
    const plain = s.style === 'code' && !color ? `\`${s.text}\`` : s.text;
    const style = s.style === 'code' && !color ? undefined : s.style;
    let piece = '';
    for (const ch of plain) {
      const cw = charWidth(ch);
      if (used + cw > budget) break;
      piece += ch;
      used += cw;
    }
    if (piece) out.push({ text: piece, ...(style ? { style } : {}) });
    if (piece.length < plain.length) break;
  }
  out.push({ text: '…' });
  return out;
}

/** Tone markers and the symbols shown for them. */
const SHORTCODES: Record<string, { symbol: string; style: Style }> = {
  no_entry: { symbol: '⛔', style: 'boldRed' },
  warning: { symbol: '⚠️', style: 'boldRed' },
  grey_exclamation: { symbol: '❕', style: 'boldYellow' },
};

const ESCAPABLE = /[\\`*_{}[\]()#+\-.!|<>:~@"'&]/;

/**
 * One line of Mattermost Markdown → styled segments: backslash escapes resolved,
 * `**bold**`, `` `code` ``, `[text](url)` → `text <url>`, tone shortcodes → symbols.
 * Zero-width characters are dropped.
 */
export function inlineSegs(line: string, base?: Style, opts: { inTable?: boolean } = {}): Seg[] {
  const text = line.replace(/[\u200b\u2060\ufeff]/g, '');
  const out: Seg[] = [];
  let buf = '';
  let bold = false;
  const style = (): Style | undefined => (bold ? 'bold' : base);
  const flush = (): void => {
    if (buf) {
      const st = style();
      out.push(st ? { text: buf, style: st } : { text: buf });
    }
    buf = '';
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i] ?? '';
    if (c === '\\' && i + 1 < text.length && ESCAPABLE.test(text[i + 1] ?? '')) {
      buf += text[i + 1];
      i += 2;
      continue;
    }
    if (c === '`') {
      const fence = /^`+/.exec(text.slice(i))?.[0] ?? '`';
      const end = text.indexOf(fence, i + fence.length);
      if (end > 0) {
        flush();
        let inner = text.slice(i + fence.length, end);
        if (inner.startsWith(' ') && inner.endsWith(' ') && inner.trim() !== '') inner = inner.slice(1, -1);
        // in a table cell an escaped pipe is a pipe, also inside code (GFM)
        if (opts.inTable) inner = inner.replace(/\\\|/g, '|');
        // `a`` ``b` is one piece of code to the eye
        const prev = out[out.length - 1];
        if (prev?.style === 'code' && !buf) prev.text += inner;
        else out.push({ text: inner, style: 'code' });
        i = end + fence.length;
        continue;
      }
    }
    if (c === '*' && text[i + 1] === '*') {
      flush();
      bold = !bold;
      i += 2;
      continue;
    }
    if (c === ':') {
      const m = /^:([a-z_]+):/.exec(text.slice(i));
      const code = m?.[1] ? SHORTCODES[m[1]] : undefined;
      if (m && code) {
        flush();
        out.push({ text: code.symbol, style: code.style });
        i += m[0].length;
        continue;
      }
    }
    if (c === '[') {
      const m = /^\[((?:\\.|[^\]\\])*)\]\(([^)\s]+)\)/.exec(text.slice(i));
      if (m) {
        flush();
        out.push(...inlineSegs(m[1] ?? '', base, opts).map((s) => (bold && !s.style ? { ...s, style: 'bold' as const } : s)));
        out.push({ text: ` <${m[2] ?? ''}>`, style: 'dim' });
        i += m[0].length;
        continue;
      }
    }
    buf += c;
    i += 1;
  }
  flush();
  return out;
}

/** Splits a table row on unescaped pipes (code spans may hold escaped ones too). */
export function splitRow(line: string): string[] {
  let body = line.trim();
  if (body.startsWith('|')) body = body.slice(1);
  if (body.endsWith('|') && !body.endsWith('\\|')) body = body.slice(0, -1);
  const cells: string[] = [];
  let cur = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i] ?? '';
    if (c === '\\' && i + 1 < body.length) {
      cur += c + (body[i + 1] ?? '');
      i += 1;
      continue;
    }
    if (c === '|') {
      cells.push(cur.trim());
      cur = '';
      continue;
    }
    cur += c;
  }
  cells.push(cur.trim());
  return cells;
}

const SEPARATOR_ROW = /^\|?(\s*:?-{3,}:?\s*\|)+\s*(:?-{3,}:?\s*)?$/;

/**
 * Aligned table lines. When the table is wider than `width`, the widest columns are
 * narrowed and their cells wrapped onto more lines (a single word too long for its
 * column is cut with `…`).
 */
export function renderTable(rows: readonly string[], opts: RenderOptions): string[] {
  const [headLine, ...rest] = rows;
  if (headLine === undefined) return [];
  const bodyLines = rest.filter((l) => !SEPARATOR_ROW.test(l.trim()));
  // without colour, backticks around whole cells are noise: the column already sets them apart
  const plainCode = (segs: Seg[]): Seg[] => (opts.color ? segs : segs.map((x) => (x.style === 'code' ? { text: x.text } : x)));
  const head = splitRow(headLine).map((c) => plainCode(inlineSegs(c, 'bold', { inTable: true })));
  const body = bodyLines.map((l) => splitRow(l).map((c) => plainCode(inlineSegs(c, undefined, { inTable: true }))));
  const cols = Math.max(head.length, ...body.map((r) => r.length));
  const all = [head, ...body];
  const widths = Array.from({ length: cols }, (_, i) => Math.max(1, ...all.map((r) => segsWidth(r[i] ?? [], opts.color))));
  const gap = 2;
  const total = (): number => widths.reduce((a, b) => a + b, 0) + gap * (cols - 1);
  // narrow the widest column until the table fits (no column below 8)
  for (let guard = 0; guard < 10_000 && total() > opts.width; guard++) {
    let widest = 0;
    widths.forEach((w, i) => {
      if (w > (widths[widest] ?? 0)) widest = i;
    });
    if ((widths[widest] ?? 0) <= 8) break;
    widths[widest] = (widths[widest] ?? 0) - 1;
  }
  const lines = (cells: Seg[][]): string[] => {
    const wrapped = widths.map((w, i) => wrapSegs(cells[i] ?? [], w, opts.color, '  ').map((l) => truncateSegs(l, w, opts.color)));
    const height = Math.max(1, ...wrapped.map((c) => c.length));
    const out: string[] = [];
    for (let k = 0; k < height; k++) {
      out.push(
        widths
          .map((w, i) => {
            const segs = wrapped[i]?.[k] ?? [];
            const pad = i === cols - 1 ? '' : ' '.repeat(Math.max(0, w - segsWidth(segs, opts.color)));
            return segsToString(segs, opts.color) + pad;
          })
          .join(' '.repeat(gap))
          .trimEnd(),
      );
    }
    return out;
  };
  const rule = paint(widths.map((w) => '─'.repeat(w)).join(' '.repeat(gap)), 'dim', opts.color);
  return [...lines(head), rule, ...body.flatMap(lines)];
}

/** Breaks segments into lines of at most `width` columns at spaces; continuation lines get `indent`. */
export function wrapSegs(segs: readonly Seg[], width: number, color: boolean, indent = ''): Seg[][] {
  if (width <= 0 || segsWidth(segs, color) <= width) return [[...segs]];
  // words keep their style; spaces are the break points
  const words: Seg[][] = [];
  let word: Seg[] = [];
  const spaces: Seg[][] = [];
  let space: Seg[] = [];
  for (const s of segs) {
    const parts = s.text.split(/( +)/);
    for (const p of parts) {
      if (p === '') continue;
      const piece: Seg = s.style ? { text: p, style: s.style } : { text: p };
      if (/^ +$/.test(p) && s.style !== 'code') {
        if (word.length > 0) {
          words.push(word);
          spaces.push(space);
          word = [];
          space = [];
        }
        space.push(piece);
      } else {
        word.push(piece);
      }
    }
  }
  if (word.length > 0) {
    words.push(word);
    spaces.push(space);
  }
  const lines: Seg[][] = [];
  let cur: Seg[] = [];
  let curWidth = 0;
  words.forEach((w, i) => {
    const lead = i === 0 ? (spaces[0] ?? []) : (spaces[i] ?? []);
    const ww = segsWidth(w, color);
    const lw = segsWidth(lead, color);
    if (cur.length > 0 && curWidth + lw + ww > width) {
      lines.push(cur);
      cur = indent ? [{ text: indent }] : [];
      curWidth = displayWidth(indent);
      cur.push(...w);
      curWidth += ww;
      return;
    }
    cur.push(...lead, ...w);
    curWidth += lw + ww;
  });
  if (cur.length > 0) lines.push(cur);
  return lines;
}

/**
 * A Mattermost Markdown message → terminal lines: headers in bold, `_hints_` dimmed,
 * tables aligned, code blocks indented as is, long lines wrapped at `width`.
 */
export function renderMarkdown(message: string, opts: RenderOptions): string[] {
  const lines = message.replace(/\r\n|\r/g, '\n').split('\n');
  const out: string[] = [];
  const emit = (segs: Seg[], indent = ''): void => {
    for (const l of wrapSegs(segs, opts.width, opts.color, indent)) out.push(segsToString(l, opts.color));
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const fence = /^(`{3,}|~{3,})/.exec(line.trim());
    if (fence?.[1]) {
      const close = fence[1];
      const block: string[] = [];
      i += 1;
      while (i < lines.length && (lines[i] ?? '').trim() !== close) block.push(lines[i++] ?? '');
      for (const b of block) out.push(`  ${paint(b.replace(/\u200b/g, ''), 'cyan', opts.color)}`);
      continue;
    }
    if (line.trim().startsWith('|')) {
      const rows: string[] = [];
      while (i < lines.length && (lines[i] ?? '').trim().startsWith('|')) rows.push(lines[i++] ?? '');
      i -= 1;
      out.push(...renderTable(rows, opts));
      continue;
    }
    const header = /^#{1,6}\s+(.*)$/.exec(line);
    if (header) {
      emit(inlineSegs(header[1] ?? '', 'bold'));
      continue;
    }
    const hintLine = /^_(.+)_$/.exec(line.trim());
    // a whole-line `_hint_`, not `_a_ b _c_` (escaped underscores inside are fine)
    if (hintLine && !/(^|[^\\])_/.test(hintLine[1] ?? '')) {
      emit(inlineSegs(hintLine[1] ?? '', 'dim'));
      continue;
    }
    const bullet = /^(\s*)[-*] (.*)$/.exec(line);
    if (bullet) {
      emit([{ text: `${bullet[1] ?? ''}• ` }, ...inlineSegs(bullet[2] ?? '')], `${bullet[1] ?? ''}  `);
      continue;
    }
    emit(inlineSegs(line), '  ');
  }
  // no run of blank lines, none at the ends
  const tidy: string[] = [];
  for (const l of out) if (!(l.trim() === '' && (tidy.length === 0 || tidy[tidy.length - 1]?.trim() === ''))) tidy.push(l);
  while (tidy.length > 0 && tidy[tidy.length - 1]?.trim() === '') tidy.pop();
  return tidy;
}

/** The tone of a rendered reply, from the marker the bot's renderer puts first. */
export function toneOf(message: string): 'refused' | 'error' | 'warning' | 'plain' {
  const first = message.trimStart().replace(/^#{1,6}\s+/, '');
  if (first.startsWith(':no_entry:')) return 'refused';
  if (first.startsWith(':warning:')) return 'error';
  if (first.startsWith(':grey_exclamation:')) return 'warning';
  return 'plain';
}

// ---------------------------------------------------------------------------
// API calls

/** One REST request the bot made, as the fake server recorded it. */
export interface CallRecord {
  method: string;
  path: string;
  status: number;
}

const ID_SEGMENT = /^[a-z0-9]{26}$/;

/** `/api/v4/users/4xp…/status` → `/users/{id}/status`; hook ids too. Names (usernames, team names) stay. */
export function collapsePath(path: string): string {
  const short = path.startsWith('/api/v4/') ? path.slice('/api/v4'.length) : path;
  return short
    .split('/')
    .map((seg) => (ID_SEGMENT.test(seg) ? '{id}' : seg))
    .join('/');
}

/**
 * The bot's calls in order of first appearance: `GET /users/{id}/status`, repeated calls
 * as `×N`, non-2xx answers with their status (`GET /users/{id} → 404`).
 */
export function summarizeCalls(calls: readonly CallRecord[]): string[] {
  const order: string[] = [];
  const counts = new Map<string, number>();
  for (const c of calls) {
    const failed = c.status === 0 ? ' → no answer' : c.status >= 300 ? ` → ${c.status}` : '';
    const key = `${c.method} ${collapsePath(c.path)}${failed}`;
    if (!counts.has(key)) order.push(key);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return order.map((k) => {
    const n = counts.get(k) ?? 1;
    return n > 1 ? `${k} ×${n}` : k;
  });
}
