import { describe, expect, it } from 'vitest';
import { code, fields, hint, list, md, paragraph, raw, reply, say, table, title, ZWSP, type Block, type Reply } from '../../src/core/reply.js';
import { hardSplit, MAX_CELL_LENGTH, renderPosts, renderReply } from '../../src/render/markdown.js';
import { liveMentions, tableProblems } from './checks.js';

const one = (...blocks: Block[]): Reply => reply(blocks);

describe('renderReply: blocks', () => {
  it('renders titles, fields, lists, hints and paragraphs', () => {
    const text = renderReply(
      one(
        title('Who is ann'),
        fields([
          ['Position', 'Ops'],
          ['Nickname', undefined],
        ]),
        list(['a', md`b ${code('c')}`]),
        hint(raw('next page: `/teams --page 2`')),
        paragraph('plain'),
      ),
    );
    expect(text).toBe(['#### Who is ann', '', '**Position:** Ops', '', '- a', '- b `c`', '', '_next page: `/teams --page 2`_', '', 'plain'].join('\n'));
  });

  it('escapes every plain string and keeps trusted Markdown', () => {
    const text = renderReply(one(paragraph('**bold** [x](http://evil) <b> # h'), paragraph(raw('**mine**'))));
    expect(text).toBe('\\*\\*bold\\*\\* \\[x\\]\\(http\\://evil\\) \\<b\\> \\# h\n\n**mine**');
  });

  it('neutralises @channel, @all, @here, @user and ~channel everywhere user text goes', () => {
    const evil = '@channel @all @here @bob ~town-square';
    const text = renderReply(
      one(
        title(evil),
        paragraph(evil),
        fields([['Nick', evil]]),
        table(['Who'], [[evil], [md`${evil}`], [code(evil)]]),
        list([evil]),
        hint(evil),
        { kind: 'code', text: evil },
      ),
    );
    expect(liveMentions(text)).toEqual([]);
    expect(text).toContain(`@${ZWSP}channel`);
    expect(text).toContain(`~${ZWSP}town`);
  });

  it('strips bidi overrides and control characters from user text', () => {
    const text = renderReply(one(paragraph('Chief \u202egnp.exe\u0007 officer')));
    expect(text).toBe('Chief gnp\\.exe officer');
  });

  it('folds newlines so user text cannot start a heading, list or quote', () => {
    const text = renderReply(one(fields([['Position', 'x\n# heading\n- item\n> quote']])));
    expect(text.split('\n')).toHaveLength(1);
  });

  it('adds a subtle tone mark', () => {
    expect(renderReply(say('no', 'refused'))).toBe(':no_entry: no');
    expect(renderReply(reply([title('Oops')], { tone: 'error' }))).toBe('#### :warning: Oops');
    expect(renderReply(say('fine', 'ok'))).toBe('fine');
    // never inside a table or list: on its own line
    expect(renderReply(reply([list(['x'])], { tone: 'warning' }))).toBe(':grey_exclamation:\n\n- x');
  });

  it('renders nothing for an empty reply', () => {
    expect(renderReply(reply([]))).toBe('');
    expect(renderPosts(reply([]))).toEqual([]);
  });
});

describe('renderReply: tables', () => {
  it('escapes | and folds newlines in cells so rows stay whole', () => {
    const text = renderReply(one(table(['A|B', 'C'], [['x|y', 'line1\nline2'], [md`${'p|q'}`, raw('a | b')], [code('c|d'), '']])));
    expect(text.split('\n')).toEqual([
      '| A\\|B | C |',
      '| --- | --- |',
      '| x\\|y | line1 line2 |',
      '| p\\|q | a \\| b |',
      '| `c\\|d` |   |',
    ]);
    expect(tableProblems(text)).toEqual([]);
  });

  it('does not double-escape an already escaped pipe in trusted Markdown', () => {
    expect(renderReply(one(table(['A'], [[raw('a \\| b')]])))).toContain('| a \\| b |');
  });

  it('pads short rows and keeps the cells of long rows in the last column', () => {
    const text = renderReply(one(table(['A', 'B'], [['1'], ['1', '2', '3']])));
    expect(text).toContain('| 1 |   |');
    expect(text).toContain('| 1 | 2 · 3 |');
    expect(tableProblems(text)).toEqual([]);
  });

  it('shortens very long cells with … and says so', () => {
    const text = renderReply(one(table(['A'], [['x'.repeat(MAX_CELL_LENGTH + 50)]])));
    expect(text).toContain(`${'x'.repeat(MAX_CELL_LENGTH - 1)}…`);
    expect(text).not.toContain('x'.repeat(MAX_CELL_LENGTH));
    expect(text).toContain('_Some cells were shortened (…)._');
  });

  it('never cuts a shortened cell inside a surrogate pair or a disarmed mention', () => {
    const cellText = `${'😀'.repeat(MAX_CELL_LENGTH - 2)}@channel`;
    const text = renderReply(one(table(['A'], [[cellText]])));
    expect(text).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
    expect(liveMentions(text)).toEqual([]);
  });
});

describe('renderReply: code blocks', () => {
  it('uses a fence longer than any backtick run inside', () => {
    const text = renderReply(one({ kind: 'code', text: 'a ``` b\n`````' }));
    const lines = text.split('\n');
    expect(lines[0]).toBe('``````');
    expect(lines.at(-1)).toBe('``````');
  });

  it('keeps emails and passwords intact but disarms mentions', () => {
    const text = renderReply(one({ kind: 'code', text: 'mail ann@example.com\npw: Xy@z9!\n@here hi' }));
    expect(text).toContain('ann@example.com');
    expect(text).toContain('Xy@z9!');
    expect(text).toContain(`@${ZWSP}here`);
  });
});

describe('renderPosts: splitting', () => {
  const bigTable = (n: number): Reply =>
    reply([title('Members'), table(['User', 'Role'], Array.from({ length: n }, (_, i) => [`user${i}`, i % 2 ? 'admin' : 'member'])), hint('end')]);

  it('returns the single rendering when it fits', () => {
    const r = bigTable(3);
    expect(renderPosts(r)).toEqual([renderReply(r)]);
  });

  it('splits between rows, repeats the table header and keeps every row exactly once', () => {
    const r = bigTable(500);
    const posts = renderPosts(r, 1000);
    expect(posts.length).toBeGreaterThan(5);
    for (const p of posts) {
      expect(p.length).toBeLessThanOrEqual(1000);
      expect(tableProblems(p)).toEqual([]);
    }
    const rows = posts.flatMap((p) => p.split('\n')).filter((l) => /^\| user\d+ \|/.test(l));
    expect(rows).toEqual(Array.from({ length: 500 }, (_, i) => `| user${i} | ${i % 2 ? 'admin' : 'member'} |`));
    const headed = posts.filter((p) => p.includes('| User | Role |\n| --- | --- |'));
    expect(headed).toHaveLength(posts.filter((p) => p.includes('| user')).length);
  });

  it('loses no line of the single rendering', () => {
    const r = reply([title('T'), paragraph(raw(Array.from({ length: 300 }, (_, i) => `line ${i}`).join('\n'))), list(Array.from({ length: 200 }, (_, i) => `item ${i}`))]);
    const all = renderReply(r).split('\n').filter((l) => l !== '');
    const parts = renderPosts(r, 500).flatMap((p) => p.split('\n'));
    for (const line of all) expect(parts).toContain(line);
  });

  it('closes and reopens a split code block', () => {
    const r = reply([{ kind: 'code', text: Array.from({ length: 200 }, (_, i) => `log line ${i}`).join('\n') }]);
    const posts = renderPosts(r, 300);
    expect(posts.length).toBeGreaterThan(1);
    for (const p of posts) {
      expect(p.startsWith('```\n')).toBe(true);
      expect(p.endsWith('\n```')).toBe(true);
    }
  });

  it('cuts an over-long line only when it cannot fit, and loses no character', () => {
    const long = 'word '.repeat(2000).trim();
    const posts = renderPosts(reply([paragraph(long)]), 1000);
    expect(posts.every((p) => p.length <= 1000)).toBe(true);
    expect(posts.join('')).toBe(long);
  });

  it('shortens a row that could not fit in one post instead of cutting it', () => {
    const wide = reply([table(['A', 'B', 'C'], [['a'.repeat(250), 'b'.repeat(250), 'c'.repeat(250)], ['short', 'row', 'ok']])]);
    const posts = renderPosts(wide, 400);
    for (const p of posts) {
      expect(p.length).toBeLessThanOrEqual(400);
      expect(tableProblems(p)).toEqual([]);
    }
    const text = posts.join('\n');
    expect(text).toContain('| short | row | ok |');
    expect(text).toMatch(/a+… \| b+… \| c+… \|/);
    expect(text).toContain('_Some cells were shortened (…)._');
  });

  it('rejects an unusable limit', () => {
    expect(() => renderPosts(say('x'), 10)).toThrow(RangeError);
  });
});

describe('hardSplit', () => {
  it('never separates an escape or a disarmed mention', () => {
    const line = `${'a'.repeat(9)}\\*@${ZWSP}channel`;
    for (let w = 5; w < line.length; w++) {
      const parts = hardSplit(line, w);
      expect(parts.join('')).toBe(line);
      for (const p of parts.slice(1)) {
        expect(p.startsWith(ZWSP)).toBe(false);
        expect(p.startsWith('*')).toBe(false);
      }
    }
  });
});
