import { commentsOf } from './test/architecture/comments.js';
import { readSources } from './test/architecture/layers.js';
for (const f of readSources(['src','commands','test','scripts'])) for (const c of commentsOf(f.path, f.text)) {
  for (const m of c.text.matchAll(/[\w.@-]*(?:\/[\w.@-]+)+\.(?:ts|md|json|go|js|tsx|txt|yml|yaml|sh)\b/g)) console.log(`${f.path}:${c.line}\t${m[0]}`);
  for (const m of c.text.matchAll(/\b(?:style\s+)?(?:issues?|habits?)\s*#?\d+/gi)) console.log(`NUM ${f.path}:${c.line}\t${m[0]}`);
}
