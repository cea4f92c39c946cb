/**
 * What comments cite, for test/architecture/comments.test.ts: the comments of a TypeScript
 * file (found by the compiler's own parser, so `//` inside a string or a template is not a
 * comment), the repository paths they name, and references nobody can open.
 *
 * @example
 *   for (const c of commentsOf(path, text)) for (const p of citedPaths(c.text)) p.candidates;
 */
import ts from 'typescript';

export interface Comment {
  line: number;
  text: string;
}

/** Every comment in `text`, in order, each once. */
export function commentsOf(path: string, text: string): Comment[] {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const seen = new Map<number, Comment>();
  const take = (ranges: ts.CommentRange[] | undefined): void => {
    for (const r of ranges ?? []) {
      if (!seen.has(r.pos)) seen.set(r.pos, { line: source.getLineAndCharacterOfPosition(r.pos).line + 1, text: text.slice(r.pos, r.end) });
    }
  };
  const visit = (node: ts.Node): void => {
    take(ts.getLeadingCommentRanges(text, node.pos));
    take(ts.getTrailingCommentRanges(text, node.end));
    node.getChildren(source).forEach(visit);
  };
  visit(source);
  return [...seen.values()].sort((a, b) => a.line - b.line);
}

/** Folders of this repository a comment may cite by path (the short forms are under src/). */
const TOP = ['src', 'commands', 'test', 'docs', 'scripts'];
const SHORT: Record<string, string> = { core: 'src/core', mattermost: 'src/mattermost', services: 'src/services', transports: 'src/transports', render: 'src/render', state: 'src/state', bot: 'src/bot', sandbox: 'src/sandbox', log: 'src/log', lib: 'commands/lib', helpers: 'test/helpers' };
const FOLDERS = [...TOP, ...Object.keys(SHORT)].join('|');
const PATH = new RegExp(`(?<![\\w.:/@$\${-])((?:${FOLDERS})/[\\w./-]*?\\.(?:ts|md|json|js|txt|sh|yml|yaml))(?![\\w/-])`, 'g');
/** `owner/repo ` (optionally with a quote) right before a path: the path is in that repository */
const OTHER_REPO = new RegExp(`(?:^|[\\s(\`'"])(?!(?:${FOLDERS})/)[A-Za-z0-9][\\w.-]*/[\\w.-]+[\\s\`'"]*$`);

/** A path a comment cites. */
export interface CitedPath {
  /** as written */
  path: string;
  /** the repository paths it may mean: a short form (`core/users.ts`) is under src/, a `.js` name is its `.ts` source */
  candidates: string[];
}

/** Paths of this repository cited in a comment (paths after `owner/repo` are another repository's). */
export function citedPaths(comment: string): CitedPath[] {
  const out: CitedPath[] = [];
  for (const m of comment.matchAll(PATH)) {
    const path = m[1] ?? '';
    const lineStart = comment.lastIndexOf('\n', m.index) + 1;
    if (OTHER_REPO.test(comment.slice(lineStart, m.index))) continue;
    const first = path.slice(0, path.indexOf('/'));
    const full = SHORT[first] ? [path, `${SHORT[first]}${path.slice(first.length)}`] : [path];
    out.push({ path, candidates: full.flatMap((p) => (p.endsWith('.js') ? [p, p.replace(/\.js$/, '.ts')] : [p])) });
  }
  return out;
}

/** References a reader cannot open: "issue" or "(style) habit" and a number, as a tracker or a guide once numbered them. */
export const UNRESOLVABLE_REFERENCE = /\b(?:style\s+)?(?:issues?|habits?)\s*#?\d+/gi;

/** The same path twice in a row (only spaces, `*` or `/` between), across a line break too. */
export const DOUBLED_PATH = /((?:[\w.-]+\/)+[\w.-]+\.\w+)[\s*/]+\1(?![\w/])/g;
