/**
 * `npm run manifest`: writes `manifest.json` from the command registry (src/manifest.ts, the
 * text `mmops manifest` prints). `npm run manifest -- --check` exits 1 when the file on disk
 * is stale, so CI catches a command change without a manifest update.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { MANIFEST_PATH, manifestText } from '../src/manifest.js';

const text = manifestText();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(MANIFEST_PATH, 'utf8');
  } catch {
    /* missing counts as stale */
  }
  if (current !== text) {
    process.stderr.write('manifest.json is stale: run `npm run manifest` and commit the result\n');
    process.exit(1);
  }
  process.stdout.write('manifest.json is current\n');
} else {
  writeFileSync(MANIFEST_PATH, text);
  process.stdout.write(`wrote ${MANIFEST_PATH}\n`);
}
