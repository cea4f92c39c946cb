/**
 * The console's view of files on an answer: name, size and first lines of a CSV, and a
 * PNG saved where the printed path says.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeFiles } from '../../src/sandbox/console-files.js';
import { createHarness, type Harness } from '../helpers/harness.js';

let h: Harness;
let dir: string;
beforeAll(async () => {
  h = await createHarness();
  dir = mkdtempSync(join(tmpdir(), 'mmops-console-files-'));
});
afterAll(async () => {
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

const lastFilePost = () => [...h.fake.posts].reverse().find((p) => p.user_id === h.botUserId && (p.file_ids?.length ?? 0) > 0);

describe('describeFiles', () => {
  it('shows a CSV by name, size and first lines', async () => {
    await h.run('alice', 'users export');
    const post = lastFilePost();
    const lines = describeFiles(h.fake.store, post ?? {}, { dir });
    expect(lines[0]).toMatch(/^📎 users-\d{4}-\d{2}-\d{2}\.csv · [\d.]+ (B|KB) · text\/csv$/);
    expect(lines[1]).toBe('   username,name,nickname,email,roles,created,last activity,deactivated,sign-in method,bot');
    expect(lines.length).toBeGreaterThan(2);
  });

  it('saves a PNG and prints where, with its size', async () => {
    await h.run('alice', 'report');
    const post = lastFilePost();
    const lines = describeFiles(h.fake.store, post ?? {}, { dir });
    const saved = /saved to (.+)$/.exec(lines[1] ?? '')?.[1];
    expect(lines[1]).toContain('960×420 picture');
    expect(saved?.startsWith(dir)).toBe(true);
    const file = h.fake.store.files.get(post?.file_ids?.[0] ?? '');
    expect(new Uint8Array(readFileSync(saved ?? ''))).toEqual(file?.data);
  });
});
