/**
 * Comments cite what a reader can open: a file of this repository that exists, or another
 * repository's file after its `owner/repo` (the server source, a framework), never
 * "issue N" or "habit N", and no path written twice in a row.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { citedPaths, commentsOf, DOUBLED_PATH, UNRESOLVABLE_REFERENCE, type Comment } from './comments.js';
import { readSources, REPO_ROOT, type SourceFile } from './layers.js';

const commentsOfAll = (files: readonly SourceFile[]): Comment[][] => files.map((f) => commentsOf(f.path, f.text));

interface Finding {
  at: string;
  what: string;
}

/** Every comment problem in the files; `exists` answers for a repository-relative path. */
function commentProblems(files: readonly SourceFile[], exists: (path: string) => boolean, comments = commentsOfAll(files)): Finding[] {
  const found: Finding[] = [];
  for (const [f, list] of files.map((file, i) => [file, comments[i] ?? []] as const)) {
    for (const c of list) {
      const at = `${f.path}:${c.line}`;
      for (const p of citedPaths(c.text)) if (!p.candidates.some(exists)) found.push({ at, what: `cites ${p.path}, which does not exist` });
      for (const m of c.text.matchAll(UNRESOLVABLE_REFERENCE)) found.push({ at, what: `cites "${m[0]}"` });
      for (const m of c.text.matchAll(DOUBLED_PATH)) found.push({ at, what: `writes ${m[1]} twice` });
    }
  }
  return found;
}

describe('comment references on fake files', () => {
  const exists = (p: string): boolean => ['src/core/users.ts', 'src/transports/callback-endpoint.ts', 'docs/mattermost-notes.md', 'src/main.ts'].includes(p);
  const file = (path: string, text: string): SourceFile => ({ path, text });

  it('reports a cited file that does not exist, and accepts ones that do (short forms under src/)', () => {
    const problems = commentProblems(
      [
        file('src/services/confirmations.ts', '/**\n * A click reaches `POST /actions` (transports/action-endpoint.ts).\n */\nexport {};'),
        file('src/services/dialogs.ts', '// the submission comes back to transports/callback-endpoint.ts; see core/users.ts\nexport {};'),
        file('scripts/a.ts', "/** runs `src/main.js` as `npm start` does */\nconst x = 'src/gone.ts'; // code, not a comment: src/also-gone.ts\n"),
      ],
      exists,
    );
    expect(problems).toEqual([
      { at: 'src/services/confirmations.ts:1', what: 'cites transports/action-endpoint.ts, which does not exist' },
      { at: 'scripts/a.ts:2', what: 'cites src/also-gone.ts, which does not exist' },
    ]);
  });

  it("leaves another repository's paths alone: after owner/repo, or the server's own folders", () => {
    const text = [
      '/**',
      ' * (grammyjs/grammY `src/core/client.ts`: `Transformer`), sapphiredev/framework src/lib/SapphireClient.ts,',
      ' * server/channels/app/post.go CreatePost, api4/websocket.go, ../pacing.ts, MMOPS_STATE_DIR/watches.json',
      ' */',
    ].join('\n');
    expect(commentProblems([file('src/x.ts', text)], () => false)).toEqual([]);
  });

  it('reports "issue N", "habit N" and a doubled path', () => {
    const problems = commentProblems(
      [file('src/bot/startup.ts', '/**\n * Start-up (issue 2, Issue 11 "Large workspaces"), style habits 4 and 7,\n * the rule (docs/mattermost-notes.md\n * docs/mattermost-notes.md §2.3)\n */\nexport {};')],
      exists,
    );
    expect(problems.map((p) => p.what)).toEqual(['cites "issue 2"', 'cites "Issue 11"', 'cites "style habits 4"', 'writes docs/mattermost-notes.md twice']);
  });
});

describe('comment references in this repository', () => {
  const files = readSources(['src', 'commands', 'test', 'scripts']);
  const comments = commentsOfAll(files);

  it('reads comments from every file', () => {
    expect(files.length).toBeGreaterThan(200);
    expect(comments.flat().length).toBeGreaterThan(1000);
  });

  it('cites only files that exist, no "issue N" or "habit N", and no path twice in a row', () => {
    expect(commentProblems(files, (p) => existsSync(join(REPO_ROOT, p)), comments)).toEqual([]);
  });
});
