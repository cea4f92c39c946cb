/**
 * Tracks work in progress so shutdown can stop taking new work and wait, bounded, for
 * what already started (a command, a delayed slash answer, a reply being posted).
 *
 * @example
 *   const work = createInFlight();
 *   if (!work.accepting) return refuse();
 *   work.track(handle(request));
 *   ...
 *   work.close(); await work.drain(10_000);
 */
export interface InFlight {
  /** false once {@link close} was called */
  readonly accepting: boolean;
  /** number of tracked tasks still running */
  readonly size: number;
  /** Tracks a task until it settles (its rejection is the caller's to handle). */
  track<T>(task: Promise<T>): Promise<T>;
  /** Stops accepting new work. */
  close(): void;
  /** Resolves true when all tracked work settled, false when `timeoutMs` passed first. */
  drain(timeoutMs: number): Promise<boolean>;
}

/** Creates a tracker (see the module comment). */
export function createInFlight(): InFlight {
  const tasks = new Set<Promise<unknown>>();
  let accepting = true;
  return {
    get accepting() {
      return accepting;
    },
    get size() {
      return tasks.size;
    },
    track(task) {
      const settled = task.then(
        () => undefined,
        () => undefined,
      );
      tasks.add(settled);
      void settled.then(() => tasks.delete(settled));
      return task;
    },
    close() {
      accepting = false;
    },
    async drain(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
        timer.unref();
      });
      // New tasks may be tracked while draining (a reply after its command): loop.
      const all = (async () => {
        while (tasks.size > 0) await Promise.all([...tasks]);
        return true as const;
      })();
      try {
        return await Promise.race([all, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
