/** Start-up step: who the bot is (`GET /users/me`), retried while the server is unreachable. */
import type { User } from '../mattermost/models.js';
import { isApiError, isNetworkError } from '../mattermost/errors.js';
import type { BotRuntime } from './runtime.js';
import { StartupError, stoppedDuringStartup } from './startup-error.js';

/** Identifies the bot account (401 → "the server rejected MM_BOT_TOKEN"). */
export async function identify(rt: BotRuntime): Promise<User> {
  const user = await getMeWithRetry(rt);
  rt.status.setUser(user);
  if (!user.is_bot) {
    rt.log.warn({ username: user.username }, 'MM_BOT_TOKEN belongs to a regular user, not a bot account; it works, but a bot account is recommended');
  }
  return user;
}

async function getMeWithRetry(rt: BotRuntime): Promise<User> {
  const { minMs, maxMs } = rt.deps.startupBackoff ?? { minMs: 1_000, maxMs: 30_000 };
  for (let attempt = 0; ; attempt++) {
    try {
      return await rt.api.getMe({ signal: rt.stopping.signal });
    } catch (err) {
      throwIfFinal(rt, err);
      const delay = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 16));
      const jittered = Math.round(delay / 2 + Math.random() * (delay / 2));
      rt.log.warn(
        { err, attempt: attempt + 1, retryInMs: jittered },
        `Mattermost at ${rt.config.mmUrl} is unreachable; retrying in ${Math.round(jittered / 1000)} s`,
      );
      await pause(rt.stopping.signal, jittered);
    }
  }
}

/** Throws the StartupError for a failure that retrying cannot fix (or for stop()). */
function throwIfFinal(rt: BotRuntime, err: unknown): void {
  const { mmUrl } = rt.config;
  if (rt.stopping.signal.aborted) throw stoppedDuringStartup();
  if (isApiError(err) && err.isTokenRejected) {
    throw new StartupError(
      'token_rejected',
      `the server rejected MM_BOT_TOKEN (401 from ${mmUrl}): check that the token is current and that its bot account is enabled`,
      1,
    );
  }
  const transient = isNetworkError(err) || (isApiError(err) && (err.status >= 500 || err.status === 429));
  if (transient) return;
  const what = isApiError(err) ? `${err.status} ${err.serverErrorId || err.serverMessage}` : err instanceof Error ? err.message : String(err);
  throw new StartupError('failed', `GET /api/v4/users/me on ${mmUrl} failed: ${what}`, 1);
}

/** Sleeps `ms`, or throws StartupError('stopped') as soon as stop() is called. */
function pause(signal: AbortSignal, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(stoppedDuringStartup());
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(stoppedDuringStartup());
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
