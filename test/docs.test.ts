/**
 * The users' docs hold together: the README is the front page (short, linking every file of
 * docs/), and every relative link in README.md, docs/*.md, SECURITY.md and CHANGELOG.md
 * points to a file that exists and, with a #fragment, to a heading in it (GitHub's anchor
 * rule: lowercase, punctuation dropped, spaces as dashes).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const DOCS = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);
const FILES = ['README.md', 'SECURITY.md', 'CHANGELOG.md', ...DOCS];
const read = (f: string) => readFileSync(join(ROOT, f), 'utf8');

/** The anchors of a Markdown file's headings (outside code blocks). */
function anchors(text: string): Set<string> {
  const out = new Set<string>();
  let fence = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) fence = !fence;
    const m = fence ? null : /^#{1,6} (.*)$/.exec(line);
    if (m?.[1]) out.add(m[1].trim().toLowerCase().replace(/[^\p{L}\p{N}_\- ]/gu, '').replace(/ /g, '-'));
  }
  return out;
}

/** The [label](target) links of a Markdown file, outside code blocks. */
function links(text: string): string[] {
  const prose = text.replace(/```[\s\S]*?```/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] ?? '');
}

describe('the users\' docs', () => {
  it('the README is the front page: under 250 lines, the two-command quick start, every docs/*.md linked', () => {
    const readme = read('README.md');
    expect(readme.split('\n').length).toBeLessThan(250);
    expect(readme).toMatch(/## Quick start\n[\s\S]*?```sh\nnpm install && npm run demo[^\n]*\nnpm test[^\n]*\n```/);
    const linked = new Set(links(readme));
    expect(DOCS.filter((d) => !linked.has(d))).toEqual([]);
  });

  it('every relative link points to a file that exists, and every #fragment to a heading there', () => {
    const broken: string[] = [];
    for (const file of FILES) {
      const text = read(file);
      for (const target of links(text)) {
        if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
        const [path = '', fragment] = target.split('#');
        const to = path === '' ? file : normalize(join(dirname(file), path));
        if (!existsSync(join(ROOT, to))) {
          broken.push(`${file}: ${target} (no ${to})`);
          continue;
        }
        if (fragment && to.endsWith('.md') && !anchors(read(to)).has(fragment)) broken.push(`${file}: ${target} (no heading #${fragment} in ${to})`);
      }
    }
    expect(broken).toEqual([]);
  });
});
