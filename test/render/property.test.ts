/**
 * Property tests: random text through the tokenizer, the argument parser and the
 * renderer never throws (except UserError for bad input), never produces a live
 * mention, and never produces a broken table row — in one post or split in many.
 *
 * The only `@` in the fixed parts of these replies is none: every `@` in the output
 * came from generated user text, so the mention check can scan the whole output.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/core/errors.js';
import { parseArgs, tokenize } from '../../src/core/parse.js';
import { code, fields, hint, list, md, paragraph, reply, table, title, type Block, type Reply, type ReplyTone, type Text } from '../../src/core/reply.js';
import { renderPosts, renderReply } from '../../src/render/markdown.js';
import { liveMentions, tableProblems } from './checks.js';

/** Fragments that attack Markdown, mentions, tables and fences. */
const nasty = fc.constantFrom(
  '@channel', '@all', '@here', '@bob', '@a.b-c_d', '@', '@@', 'x@channel', '.@here', '(@all)', '\\@channel',
  '~town-square', '|', '||', '\\|', '\\', '\\\\', '\n', '\r\n', '\t', '`', '```', '````', '~~~', '**', '_', '#', '- ', '> ',
  '[x](http://evil)', '<script>', '\u200b', '\u202e', '\u2066', '\u0000', '\u0007', '\ufeff', '😀', '\ud83d', 'é', ' ', '"', '“', ':no_entry:',
);
const userText = fc
  .array(fc.oneof({ weight: 3, arbitrary: nasty }, { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) }, { weight: 2, arbitrary: fc.string({ maxLength: 12 }) }), {
    maxLength: 12,
  })
  .map((parts) => parts.join(''));

/** User text as it reaches a reply: plain, interpolated into md``, or as inline code. */
const asText: fc.Arbitrary<Text> = fc.oneof(
  userText,
  userText.map((s) => md`Name: ${s}`),
  userText.map((s) => code(s)),
  fc.tuple(userText, userText).map(([a, b]) => md`${a} and ${code(b)}`),
);

const block: fc.Arbitrary<Block> = fc.oneof(
  asText.map((t) => title(t)),
  asText.map((t) => paragraph(t)),
  fc.array(fc.tuple(fc.constantFrom('Name', 'Position', 'Email'), asText), { maxLength: 4 }).map((pairs) => fields(pairs)),
  fc
    .tuple(fc.integer({ min: 1, max: 3 }), fc.array(fc.array(asText, { maxLength: 4 }), { maxLength: 30 }), fc.array(userText.map((s) => s.slice(0, 8)), { minLength: 3, maxLength: 3 }))
    .map(([n, rows, cols]) => table(cols.slice(0, n), rows)),
  fc.array(asText, { maxLength: 6 }).map((items) => list(items)),
  asText.map((t) => hint(t)),
  userText.map((t): Block => ({ kind: 'code', text: t })),
);

const replyArb: fc.Arbitrary<Reply> = fc
  .tuple(fc.array(block, { maxLength: 8 }), fc.constantFrom<ReplyTone>('ok', 'info', 'warning', 'error', 'refused'))
  .map(([blocks, tone]) => reply(blocks, { tone }));

describe('property: parse', () => {
  it('tokenize + parseArgs never throw anything but a UserError', () => {
    fc.assert(
      fc.property(fc.oneof(userText, fc.string({ unit: 'binary', maxLength: 200 }), fc.array(userText, { maxLength: 40 }).map((a) => a.join(' '))), (text) => {
        let words: string[];
        try {
          words = tokenize(text, { rootTrigger: 'mmops' });
        } catch (e) {
          expect(e).toBeInstanceOf(UserError);
          return;
        }
        for (const w of words) expect(w).not.toMatch(/[\u0000-\u0008\u200b\u202a-\u202e]/);
        const raw = parseArgs(words, { positional: ['first', 'rest...'] });
        expect(Array.isArray(raw._)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('property: render', () => {
  it('never throws, leaves no live mention and no broken table row (one post)', () => {
    fc.assert(
      fc.property(replyArb, (r) => {
        const text = renderReply(r);
        expect(liveMentions(text)).toEqual([]);
        expect(tableProblems(text)).toEqual([]);
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps those guarantees, the size limit and every line when split', () => {
    fc.assert(
      fc.property(replyArb, fc.integer({ min: 400, max: 3000 }), (r, maxLen) => {
        const posts = renderPosts(r, maxLen);
        const lines = new Set(posts.flatMap((p) => p.split('\n')));
        for (const p of posts) {
          expect(p.length).toBeLessThanOrEqual(maxLen);
          expect(p.trim()).not.toBe('');
          expect(liveMentions(p)).toEqual([]);
          expect(tableProblems(p)).toEqual([]);
        }
        for (const line of renderReply(r).split('\n')) {
          if (line !== '' && line.length <= 200) expect(lines.has(line)).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('words that went through the tokenizer render safely too', () => {
    fc.assert(
      fc.property(fc.array(userText, { maxLength: 20 }).map((a) => a.join(' ')), (text) => {
        let words: string[] = [];
        try {
          words = tokenize(text);
        } catch (e) {
          if (!(e instanceof UserError)) throw e;
          words = [e.message];
        }
        const out = renderReply(reply([title(md`Echo ${words[0] ?? ''}`), list(words), table(['Word'], words.map((w) => [w]))]));
        expect(liveMentions(out)).toEqual([]);
        expect(tableProblems(out)).toEqual([]);
      }),
      { numRuns: 2000 },
    );
  });
});
