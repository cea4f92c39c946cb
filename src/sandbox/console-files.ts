/**
 * The files on a post, as the console shows them: name and size of each, the first lines of
 * a text file (a CSV export), and for a PNG its size from the IHDR and a copy saved where the
 * person can open it (the path is printed).
 *
 * @example
 *   for (const line of describeFiles(store, post, { dir: '/tmp/mmops-sandbox-files' })) print(line);
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FakeStore } from './store.js';

/** How many lines of a text file are shown. */
const FIRST_LINES = 4;
const MAX_LINE = 110;

const TEXT_TYPES = /^(text\/|application\/(json|csv))/;

function sizeText(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** Lines describing every file of `post` (none when it has none); PNGs are saved into `dir`. */
export function describeFiles(store: FakeStore, post: { file_ids?: string[] }, opts: { dir: string }): string[] {
  const out: string[] = [];
  for (const id of post.file_ids ?? []) {
    const f = store.files.get(id);
    if (!f) {
      out.push(`📎 (file ${id} is gone)`);
      continue;
    }
    out.push(`📎 ${f.name} · ${sizeText(f.size)} · ${f.mime_type}`);
    if (TEXT_TYPES.test(f.mime_type)) {
      const text = new TextDecoder('utf-8', { ignoreBOM: false }).decode(f.data.subarray(0, 8192));
      const lines = text.split(/\r\n|\n|\r/).slice(0, FIRST_LINES);
      for (const l of lines) out.push(`   ${l.length > MAX_LINE ? `${l.slice(0, MAX_LINE - 1)}…` : l}`);
      if (text.split(/\r\n|\n|\r/).filter(Boolean).length > FIRST_LINES) out.push('   …');
    } else if (f.mime_type === 'image/png') {
      mkdirSync(opts.dir, { recursive: true });
      const path = join(opts.dir, `${f.id.slice(0, 6)}-${f.name.replace(/[^\w.-]+/g, '_')}`);
      writeFileSync(path, f.data);
      out.push(`   ${f.width}×${f.height} picture, saved to ${path}`);
    }
  }
  return out;
}
