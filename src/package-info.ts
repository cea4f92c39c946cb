/**
 * Where the package is and what it is called, whether running from a clone (`src/` under tsx)
 * or from the built code of an installed package (`dist/src/`): the nearest `package.json`
 * above this file whose name is `mmops`.
 *
 * @example
 *   packageInfo().version   // "0.1.0"
 *   resolve(packageRoot(), 'docs/walkthrough.txt')
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const packageSchema = z.object({ name: z.string(), version: z.string(), description: z.string().default('') });

export type PackageInfo = z.infer<typeof packageSchema>;

let root: string | undefined;

/** The package's root directory (the folder holding its package.json). */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && readPackage(file)?.name === 'mmops') return (root = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json of mmops above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

function readPackage(file: string): PackageInfo | undefined {
  try {
    const parsed = packageSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Name, version and description from the package's package.json. */
export function packageInfo(): PackageInfo {
  const info = readPackage(join(packageRoot(), 'package.json'));
  if (!info) throw new Error(`${join(packageRoot(), 'package.json')} is not readable`);
  return info;
}
