/**
 * Delayed slash-command answers through `response_url` (docs/mattermost-notes.md §4.4),
 * on a leash.
 *
 * The form field is not signed, so a forged request can name any URL. The bot only ever
 * POSTs to the shape the server itself hands out: `{SiteURL}/hooks/commands/{hook id}`
 * (`server/channels/app/command.go` tryExecuteCustomCommand builds it from the configured
 * SiteURL and a `model.NewId()` hook id; `server/channels/web/webhook.go` InitWebhooks
 * routes `/hooks/commands/{id}`). SiteURL comes from `GET /config/client?format=old`; the
 * origin and path of MM_URL are accepted too. Anything else is refused, and the caller
 * answers some other way (an ephemeral post).
 *
 * The POST goes through its own small HTTP client, never the Mattermost API client: its
 * failures, slowness and headers (`X-RateLimit-*`) cannot pace, trip the circuit breaker
 * of, or take concurrency slots from the bot's API calls. It carries no token, follows no
 * redirect, and has its own timeout and in-flight cap (the timeout and concurrency layers of
 * transport/, with their own settings).
 *
 * @example
 *   const hooks = createHookUrlCheck({ mmUrl: config.mmUrl, siteUrl: async () => (await api.getClientConfig()).SiteURL ?? '' });
 *   if (await hooks.allows(form.response_url)) await createResponseUrlClient().post(form.response_url, body);
 */
import type { Logger } from '../log/logger.js';
import { concurrency } from './transport/concurrency.js';
import { type Send, compose } from './transport/layer.js';
import { timeout } from './transport/timeout.js';

/** Why a POST to a response_url did not succeed. */
export class ResponseUrlError extends Error {
  override readonly name = 'ResponseUrlError';
  constructor(
    readonly code: 'busy' | 'timeout' | 'network' | 'status',
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** A Mattermost id (`model.NewId()`): 26 lowercase base32 characters. */
const HOOK_ID = /^[a-z0-9]{26}$/;

/** `scheme://host[:port]/path` without a trailing slash, or undefined when not an http(s) base URL. */
function normalizeBase(base: string): { origin: string; path: string } | undefined {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  return { origin: url.origin, path: url.pathname.replace(/\/+$/, '') };
}

/**
 * True when `candidate` is exactly `{base}/hooks/commands/{26-char id}` for one of
 * `bases`: same scheme, host and port, no credentials, query or fragment.
 */
export function isCommandHookUrl(candidate: string, bases: readonly string[]): boolean {
  // Only the canonical form the server writes: no escapes or dot segments for a parser
  // (or a proxy) to read differently, nothing for `new URL` to normalize away.
  if (candidate.length > 2048 || /[%\\\s]|\/\.\.?(?:\/|$)/.test(candidate)) return false;
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (url.username || url.password || url.search || url.hash) return false;
  if (!/^[A-Za-z0-9/_.-]+$/.test(url.pathname) || url.pathname.includes('//') || url.href !== candidate) return false;
  for (const base of bases) {
    const b = normalizeBase(base);
    if (!b || b.origin !== url.origin) continue;
    const prefix = `${b.path}/hooks/commands/`;
    if (url.pathname.startsWith(prefix) && HOOK_ID.test(url.pathname.slice(prefix.length))) return true;
  }
  return false;
}

/** The origin of a URL for a log line (never its path: the hook id is a capability). */
export function originForLog(candidate: string): string {
  try {
    return new URL(candidate).origin.slice(0, 100);
  } catch {
    return '(not a URL)';
  }
}

export interface HookUrlCheck {
  /** whether a POST to `candidate` is allowed (reads SiteURL the first time) */
  allows(candidate: string): Promise<boolean>;
  /** reads SiteURL now (start-up); failures are logged, not thrown */
  load(): Promise<void>;
}

/**
 * The leash: MM_URL always, plus SiteURL once known. If reading SiteURL fails, it is
 * tried again at most once a minute, and meanwhile only MM_URL is accepted.
 */
export function createHookUrlCheck(opts: {
  mmUrl: string;
  siteUrl: () => Promise<string>;
  logger: Logger;
  now?: () => number;
  retryMs?: number;
}): HookUrlCheck {
  const log = opts.logger.child({ component: 'response-url' });
  const now = opts.now ?? Date.now;
  const retryMs = opts.retryMs ?? 60_000;
  let site: string | undefined;
  let triedAt = -Infinity;
  let loading: Promise<void> | undefined;

  async function load(): Promise<void> {
    triedAt = now();
    try {
      const value = (await opts.siteUrl()).trim();
      if (value && normalizeBase(value)) {
        site = value;
        log.debug({ siteUrl: value }, 'SiteURL read: delayed answers go to its /hooks/commands/ URLs');
      } else {
        site = '';
        log.warn({}, 'the server reports no SiteURL; delayed answers are accepted only for MM_URL');
      }
    } catch (err) {
      log.warn({ err }, 'could not read SiteURL from GET /config/client; delayed answers are accepted only for MM_URL for now');
    }
  }

  function ensure(): Promise<void> {
    if (site !== undefined || now() - triedAt < retryMs) return Promise.resolve();
    loading ??= load().finally(() => {
      loading = undefined;
    });
    return loading;
  }

  return {
    async allows(candidate) {
      if (isCommandHookUrl(candidate, [opts.mmUrl])) return true;
      await ensure();
      return site ? isCommandHookUrl(candidate, [site]) : false;
    },
    load: () => {
      loading ??= load().finally(() => {
        loading = undefined;
      });
      return loading;
    },
  };
}

export interface ResponseUrlClient {
  /** POSTs a CommandResponse as JSON; resolves on HTTP 200, else throws ResponseUrlError */
  post(url: string, body: Record<string, unknown>, o?: { signal?: AbortSignal }): Promise<void>;
  /** POSTs in flight (for tests and metrics) */
  inFlight(): number;
}

/** What the response_url client's layers carry: the URL and the JSON text to POST. */
interface HookPost {
  url: string;
  body: string;
}

/**
 * Creates the separate client (see the module comment): its own in-flight cap (refusing,
 * never queueing) and timeout, the same layers as the REST client's (transport/), over one
 * plain `fetch`.
 */
export function createResponseUrlClient(opts: { timeoutMs?: number; maxInFlight?: number; fetch?: typeof fetch } = {}): ResponseUrlClient {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const maxInFlight = opts.maxInFlight ?? 32;
  const doFetch = opts.fetch ?? fetch;

  const postOnce: Send<HookPost, number> = async (req, signal) => {
    const res = await doFetch(req.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'User-Agent': 'mmops' },
      body: req.body,
      // a redirect could point anywhere: it counts as a failure
      redirect: 'manual',
      signal,
    });
    // the body ("ok" or an AppError) is not needed; do not keep the socket busy reading it
    await res.body?.cancel().catch(() => {});
    return res.status;
  };
  const slots = concurrency<HookPost, number>({
    limit: maxInFlight,
    whenFull: () => new ResponseUrlError('busy', `more than ${maxInFlight} delayed answers in flight`),
  });
  const send = compose(postOnce, [
    slots,
    timeout({ ms: timeoutMs, timedOut: () => new ResponseUrlError('timeout', `no answer within ${timeoutMs} ms`) }),
  ]);

  return {
    inFlight: () => slots.inFlight(),
    async post(url, body, o = {}) {
      let status: number;
      try {
        status = await send({ url, body: JSON.stringify(body) }, o.signal);
      } catch (err) {
        if (err instanceof ResponseUrlError) throw err;
        throw new ResponseUrlError('network', `request failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (status !== 200) throw new ResponseUrlError('status', `HTTP ${status}`, status);
    },
  };
}
