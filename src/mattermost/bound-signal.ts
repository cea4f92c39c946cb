/**
 * An API bound to a deadline, as grammY hands each update its own `Api`: `bindSignal(api,
 * signal)` returns a view of `api` whose calls run under `signal` unless they pass their own
 * `{ signal }` (which still wins). The dispatcher gives each command such a view as
 * `ctx.api`, so a command's requests stop at its invocation's deadline without passing
 * `{ signal: ctx.signal }` to every call.
 *
 * The signal travels beside the arguments, not in them (the options argument sits at a
 * different place in each method, after optional ones): while a view's method runs its
 * synchronous part, {@link callerSignal} returns the view's signal. The REST client reads it
 * as its call begins (rest-api.ts `createExecute`), so an implementation honours a bound
 * signal as long as it starts its request before its first `await` — as every endpoint of
 * rest-api.ts does. Implementations that ignore it (test stubs) simply run unbound.
 *
 * A view costs one small object; its methods are shared by every view of the same API.
 *
 * @example
 *   const api = bindSignal(restApi, ctx.signal);
 *   await api.getUser(id);                       // aborted at the deadline
 *   await api.getUser(id, { signal: shorter });  // its own signal instead
 */
import type { CallOptions } from './api.js';

/** The signal of the view whose method is running right now (synchronously), if any. */
let current: AbortSignal | undefined;

const SIGNAL: unique symbol = Symbol('mmops.boundSignal');

type View = { [SIGNAL]?: AbortSignal };

/** Per API: the prototype of its views (one shared wrapper per method). */
const prototypes = new WeakMap<object, object>();

/** The signal a call runs under: its own, else that of the bound view it was made through. */
export function callerSignal(o: CallOptions | undefined): AbortSignal | undefined {
  return o?.signal ?? current;
}

/** A view of `api` whose calls default to `signal` (see the module comment). */
export function bindSignal<T extends object>(api: T, signal: AbortSignal): T {
  let proto = prototypes.get(api);
  if (proto === undefined) {
    proto = viewPrototype(api);
    prototypes.set(api, proto);
  }
  const view: View = Object.create(proto);
  view[SIGNAL] = signal;
  return view as T;
}

/**
 * Wrappers for the methods `api` has now (own and inherited); anything else reads through
 * to `api` itself. Each wrapper looks the method up when called, so a method replaced later
 * (as tests do) is the one that runs.
 */
function viewPrototype(api: object): object {
  const proto: Record<string, unknown> = Object.create(api);
  const target = api as Record<string, unknown>;
  for (const name of methodNames(api)) {
    proto[name] = function (this: View | undefined, ...args: unknown[]): unknown {
      const saved = current;
      current = this?.[SIGNAL] ?? saved;
      try {
        return Reflect.apply(target[name] as (...a: unknown[]) => unknown, api, args);
      } finally {
        current = saved;
      }
    };
  }
  return proto;
}

function methodNames(api: object): Set<string> {
  const names = new Set<string>();
  for (let o: object | null = api; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (name !== 'constructor' && typeof (api as Record<string, unknown>)[name] === 'function') names.add(name);
    }
  }
  return names;
}
