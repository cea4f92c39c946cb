/**
 * Checks over rendered Markdown shared by the renderer tests and the property test.
 */

/**
 * A live mention: `@` at the start or after a character that is neither a word
 * character nor the zero-width space, followed by a mention name. Mattermost would
 * notify for these; every one that reaches a rendered reply is a bug.
 */
export const LIVE_MENTION = /(^|[^\w\u200b])@(channel|all|here|[a-z0-9._-]+)/gi;

/** Every live mention in `text` (empty when safe). */
export function liveMentions(text: string): string[] {
  return [...text.matchAll(LIVE_MENTION)].map((m) => m[0]);
}

/** `|` not escaped by an odd run of backslashes. */
export function unescapedPipes(line: string): number {
  let n = 0;
  let backslashes = 0;
  for (const c of line) {
    if (c === '|' && backslashes % 2 === 0) n++;
    backslashes = c === '\\' ? backslashes + 1 : 0;
  }
  return n;
}

const SEPARATOR = /^\| ---( \| ---)* \|$/;
const FENCE = /^(`{3,})$/;

/**
 * Problems with GFM tables in `text` (outside code fences): a header row followed by
 * a `| --- |` separator, then rows up to a blank line; each row must start and end
 * with a pipe and have as many unescaped pipes as the header.
 */
export function tableProblems(text: string): string[] {
  const problems: string[] = [];
  const lines = text.split('\n');
  let fence: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const f = FENCE.exec(line);
    if (fence !== undefined) {
      if (f && f[1] === fence) fence = undefined;
      continue;
    }
    if (f) {
      fence = f[1];
      continue;
    }
    if (!line.startsWith('|') || !SEPARATOR.test(lines[i + 1] ?? '')) continue;
    const width = unescapedPipes(line);
    if (unescapedPipes(lines[i + 1] ?? '') !== width) problems.push(`separator width differs at line ${i + 2}`);
    let j = i + 2;
    for (; j < lines.length && (lines[j] ?? '') !== ''; j++) {
      const row = lines[j] ?? '';
      if (!row.startsWith('| ') || !row.endsWith(' |')) problems.push(`row ${j + 1} is not enclosed: ${JSON.stringify(row)}`);
      else if (unescapedPipes(row) !== width) problems.push(`row ${j + 1} has ${unescapedPipes(row)} pipes, header ${width}`);
    }
    i = j;
  }
  return problems;
}
