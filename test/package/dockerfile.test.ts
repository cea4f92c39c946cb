/**
 * The Dockerfile and compose.yaml, checked without a Docker engine (none runs in CI): every
 * COPY source exists in the build context (and is not ignored by .dockerignore), the final
 * stage runs as a user other than root, its CMD is the packaged entry point in exec form (so
 * node is PID 1 and gets SIGTERM), its HEALTHCHECK asks /healthz, and the image name the
 * Dockerfile documents is the one compose.yaml and the docs' Kubernetes example use.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { healthzUrl } from '../../src/healthcheck.js';

const ROOT = resolve(import.meta.dirname, '../..');
const read = (f: string) => readFileSync(join(ROOT, f), 'utf8');
const pkg = z.object({ version: z.string(), bin: z.object({ mmops: z.string() }) }).parse(JSON.parse(read('package.json')));

interface Instruction {
  op: string;
  args: string;
  stage: number;
}

/** The Dockerfile's instructions (continuations joined, comments dropped), each with its stage. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  const joined = text.replace(/\\\n/g, ' ');
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([A-Z]+)\s+(.*)$/.exec(line);
    if (!m?.[1] || m[2] === undefined) throw new Error(`not an instruction: ${line}`);
    if (m[1] === 'FROM') stage += 1;
    out.push({ op: m[1], args: m[2].replace(/\s+/g, ' ').trim(), stage });
  }
  return out;
}

const dockerfile = read('Dockerfile');
const all = instructions(dockerfile);
const last = Math.max(...all.map((i) => i.stage));
const final = all.filter((i) => i.stage === last);
const ignored = read('.dockerignore')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

/** The JSON array of an exec-form instruction, or undefined for the shell form. */
function execForm(args: string): string[] | undefined {
  const body = args.replace(/^(--\S+\s+)*/, '').replace(/^CMD\s+/, '');
  if (!body.startsWith('[')) return undefined;
  return z.array(z.string()).parse(JSON.parse(body));
}

describe('Dockerfile', () => {
  it('is multi-stage: a build stage, then a runtime stage with production dependencies only', () => {
    expect(all.filter((i) => i.op === 'FROM').length).toBeGreaterThanOrEqual(2);
    const runs = final.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runs.some((r) => /npm ci\b.*--omit=dev/.test(r))).toBe(true);
    expect(runs.some((r) => /npm (ci|install)\b(?!.*--omit=dev)/.test(r))).toBe(false);
    expect(runs.some((r) => /npm run build|tsc/.test(r))).toBe(false); // built in the first stage, copied over
  });

  it('copies only what exists in the context and is not ignored; from the build stage only what the build makes', () => {
    const copies = all.filter((i) => i.op === 'COPY' || i.op === 'ADD');
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) {
      expect(c.op, 'COPY, not ADD').toBe('COPY');
      const from = /--from=(\S+)/.exec(c.args)?.[1];
      const parts = c.args.split(' ').filter((p) => !p.startsWith('--'));
      const sources = parts.slice(0, -1);
      expect(sources.length, c.args).toBeGreaterThan(0);
      for (const src of sources) {
        if (from) {
          // the build stage's WORKDIR is the repository root of the context: /src/dist/x ↔ dist/x here (after npm run build)
          const workdir = all.find((i) => i.op === 'WORKDIR' && i.stage === 0)?.args ?? '/';
          const rel = posix.relative(workdir, src);
          expect(rel.startsWith('..'), src).toBe(false);
          expect(rel.startsWith('dist/'), `${src}: only built code comes from the build stage`).toBe(true);
          expect(existsSync(join(ROOT, rel)), `${src} (${rel} after npm run build)`).toBe(true);
        } else {
          expect(existsSync(join(ROOT, src)), src).toBe(true);
          const top = src.replace(/^\.\//, '').split('/')[0] ?? '';
          expect(ignored, `${src} is in .dockerignore`).not.toContain(top);
        }
      }
    }
  });

  it('runs as a user other than root, set before the CMD', () => {
    const users = final.filter((i) => i.op === 'USER');
    expect(users.length).toBeGreaterThan(0);
    const user = users.at(-1)?.args ?? '';
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(final.findIndex((i) => i.op === 'USER')).toBeLessThan(final.findIndex((i) => i.op === 'CMD'));
  });

  it('starts the packaged entry point in exec form, with no shell or ENTRYPOINT wrapper between it and SIGTERM', () => {
    const cmds = final.filter((i) => i.op === 'CMD');
    expect(cmds).toHaveLength(1);
    expect(execForm(cmds[0]?.args ?? '')).toEqual(['node', pkg.bin.mmops]);
    expect(all.some((i) => i.op === 'ENTRYPOINT')).toBe(false);
    const stop = final.find((i) => i.op === 'STOPSIGNAL');
    if (stop) expect(stop.args).toBe('SIGTERM');
    // the entry point is where the runtime stage's WORKDIR puts it
    const workdir = final.filter((i) => i.op === 'WORKDIR').at(-1)?.args;
    expect(workdir).toBe('/app');
    const copiedTo = final.filter((i) => i.op === 'COPY' && i.args.includes('/dist/src')).map((i) => i.args.split(' ').at(-1));
    expect(copiedTo).toContain(`./${posix.dirname(pkg.bin.mmops)}`);
  });

  it('has a HEALTHCHECK on /healthz through the packaged entry point', () => {
    const checks = final.filter((i) => i.op === 'HEALTHCHECK');
    expect(checks).toHaveLength(1);
    const cmd = execForm((checks[0]?.args ?? '').replace(/^.*?CMD /, ''));
    expect(cmd).toEqual(['node', pkg.bin.mmops, 'healthcheck']);
    // what `mmops healthcheck` asks, for the address the image listens on
    const listen = /MMOPS_LISTEN=(\S+)/.exec(final.filter((i) => i.op === 'ENV').map((i) => i.args).join(' '))?.[1];
    expect(listen).toBe('0.0.0.0:3978');
    expect(healthzUrl({ MMOPS_LISTEN: listen })).toBe('http://127.0.0.1:3978/healthz');
    expect(healthzUrl({ MMOPS_LISTEN: listen, MMOPS_OPS_LISTEN: '[::]:9090' })).toBe('http://[::1]:9090/healthz');
    expect(healthzUrl({ MMOPS_LISTEN: 'nonsense' })).toEqual({ problem: 'MMOPS_LISTEN: "nonsense" is not host:port (port 0-65535)' });
  });

  it('documents one image name, the one compose.yaml and the Kubernetes example use', () => {
    const documented = [...dockerfile.matchAll(/docker build -t (\S+) \./g)].map((m) => m[1]);
    expect(documented).toEqual([`mmops:${pkg.version}`]);
    const image = documented[0] ?? '';
    expect(dockerfile).toContain(`Image name: ${image}`);
    const compose = read('compose.yaml');
    expect(compose).toMatch(new RegExp(`\\n  mmops:\\n    build: \\.\\n    image: ${image.replace(/[.]/g, '\\.')}\\n`));
    // every mmops image in the user docs (README, docs/*.md) is that one
    const docs = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    const images = docs.flatMap((f) => [...read(f).matchAll(/image:\s*(\S*mmops\S*)/g)].map((m) => `${f}: ${m[1]}`));
    expect(images.length).toBeGreaterThan(0);
    for (const line of images) expect(line.replace(/^[^:]+: /, ''), line).toBe(image);
  });
});

describe('compose.yaml', () => {
  const compose = read('compose.yaml');
  const services = [...compose.matchAll(/^ {2}([a-z][a-z0-9_-]*):$/gm)].map((m) => m[1]);

  it('starts Mattermost, PostgreSQL, Redis and two mmops replicas sharing Redis', () => {
    expect(services).toEqual(['postgres', 'mattermost', 'redis', 'mmops']);
    const mmops = compose.slice(compose.indexOf('\n  mmops:'));
    expect(mmops).toMatch(/replicas: 2\n/);
    expect(mmops).toContain('MMOPS_REDIS_URL=redis://redis:6379/0');
    expect(mmops).toContain('MM_URL=http://mattermost:8065');
    // replicas register one address, never their own (src/config.ts requires it with Redis)
    expect(mmops).toMatch(/MMOPS_PUBLIC_URL=http:\/\/mmops:3978/);
  });

  it('takes every ${VARIABLE} it uses from env.example', () => {
    const defined = new Set([...read('env.example').matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1]));
    const used = new Set([...compose.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1]));
    expect([...used].filter((v) => !defined.has(v))).toEqual([]);
  });
});
