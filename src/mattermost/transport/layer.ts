/**
 * A transport as a stack of small layers, after grammY's API transformers
 * (grammyjs/grammY `src/core/client.ts`: `Transformer`, `concatTransformer`, `api.config.use`)
 * and Octokit's request hooks (`octokit.hook.wrap('request', …)` in octokit/plugin-retry.js).
 *
 * A {@link Send} makes one request; a {@link Layer} takes the next `Send` down the stack and
 * returns a `Send` that does its one job around it (wait for a slot, give up after a while,
 * count, try again). Layers are composed once, when the client is built, so a request pays
 * for no closures but its own.
 *
 * @example
 *   const send = compose(fetchOnce, [retry(…), timeout(…)]); // retry wraps timeout wraps fetchOnce
 *   const res = await send(request, signal);
 */

/** Performs a request; `signal` is the caller's (it may be undefined: no deadline). */
export type Send<Req, Res> = (req: Req, signal: AbortSignal | undefined) => Promise<Res>;

/** Wraps the next `Send` of the stack in one concern. */
export type Layer<Req, Res> = (next: Send<Req, Res>) => Send<Req, Res>;

/** `send` wrapped in `layers`, the first one outermost (the order a request passes them). */
export function compose<Req, Res>(send: Send<Req, Res>, layers: ReadonlyArray<Layer<Req, Res>>): Send<Req, Res> {
  return layers.reduceRight<Send<Req, Res>>((next, layer) => layer(next), send);
}

/**
 * Sleeps `ms`, but rejects with `onAbort()` as soon as `signal` aborts, and leaves no timer
 * behind. `sleep` replaces the timer (tests drive a fake clock with it).
 */
export async function sleepUnlessAborted(
  ms: number,
  signal: AbortSignal | undefined,
  onAbort: () => Error,
  sleep?: (ms: number) => Promise<void>,
): Promise<void> {
  if (ms <= 0) return;
  if (signal?.aborted) throw onAbort();
  let timer: NodeJS.Timeout | undefined;
  let stop: () => void = () => {};
  const slept = sleep
    ? sleep(ms)
    : new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
      });
  const aborted = new Promise<never>((_, reject) => {
    stop = () => reject(onAbort());
    signal?.addEventListener('abort', stop, { once: true });
  });
  try {
    await Promise.race([slept, aborted]);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', stop);
  }
}

/** The logger the layers write to (structurally the bot's `Logger`). */
export interface LayerLog {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}
