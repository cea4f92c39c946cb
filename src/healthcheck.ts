/**
 * `mmops healthcheck`: asks this host's bot for `GET /healthz` and exits 0 when it answers
 * 200, 1 otherwise (the container image's HEALTHCHECK; see Dockerfile). It reads the same
 * MMOPS_OPS_LISTEN / MMOPS_LISTEN the bot listens on (a wildcard address is asked on
 * loopback) and needs no other setting, so it runs with the bot's environment as it is.
 *
 * @example
 *   MMOPS_LISTEN=0.0.0.0:3978 mmops healthcheck   // GET http://127.0.0.1:3978/healthz
 */
import { listenSchema, type ListenAddress } from './config.js';
import { HEALTHZ_PATH } from './transports/ops-endpoints.js';

const DEFAULT: ListenAddress = { host: '127.0.0.1', port: 3978 };
const WILDCARD = new Set(['0.0.0.0', '::', '']);

/** The URL of /healthz for an environment; a string is the problem to print. */
export function healthzUrl(env: Record<string, string | undefined>): string | { problem: string } {
  const name = env.MMOPS_OPS_LISTEN ? 'MMOPS_OPS_LISTEN' : 'MMOPS_LISTEN';
  const raw = env[name];
  let addr = DEFAULT;
  if (raw) {
    const parsed = listenSchema.safeParse(raw);
    if (!parsed.success) return { problem: `${name}: ${parsed.error.issues[0]?.message ?? 'is invalid'}` };
    addr = parsed.data;
  }
  const host = WILDCARD.has(addr.host) ? (addr.host === '::' ? '[::1]' : '127.0.0.1') : addr.host.includes(':') ? `[${addr.host}]` : addr.host;
  return `http://${host}:${addr.port}${HEALTHZ_PATH}`;
}

/** Runs the check; resolves with the exit code (0 healthy, 1 not, 2 a bad setting). */
export async function runHealthcheck(env: Record<string, string | undefined> = process.env, timeoutMs = 3_000): Promise<number> {
  const url = healthzUrl(env);
  if (typeof url !== 'string') {
    process.stderr.write(`mmops healthcheck: ${url.problem}\n`);
    return 2;
  }
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    if (res.status === 200) {
      process.stdout.write(`healthy: ${url} answered 200\n`);
      return 0;
    }
    process.stderr.write(`unhealthy: ${url} answered ${res.status}\n`);
  } catch (err) {
    process.stderr.write(`unhealthy: ${url}: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  return 1;
}
