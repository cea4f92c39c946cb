/** Every contract check, in the order they run (reads first, then writes). */
import type { Check } from '../types.js';
import { restChecks } from './rest.js';
import { wsChecks } from './ws.js';
import { slashChecks, slashReadChecks } from './slash.js';
import { scratchChecks } from './scratch.js';
import { permChecks } from './perms.js';
import { catchupChecks } from './catchup.js';
import { actionChecks, actionReadChecks } from './actions.js';
import { visibilityChecks } from './visibility.js';

/**
 * Written, but not yet run: the sandbox does not behave like the server here yet (the work is
 * under way on another branch). A check joins ALL_CHECKS once the sandbox on main passes it.
 */
export const PENDING = new Set<string>([]);

const written: readonly Check[] = [
  ...restChecks,
  ...catchupChecks,
  ...slashReadChecks,
  ...permChecks,
  ...visibilityChecks,
  ...actionReadChecks,
  ...wsChecks,
  ...slashChecks,
  ...scratchChecks,
  ...actionChecks,
];

export const ALL_CHECKS: readonly Check[] = written.filter((c) => !PENDING.has(c.id));

/** The pending ones, for running by hand: npm run contract -- --only … does not include them. */
export const PENDING_CHECKS: readonly Check[] = written.filter((c) => PENDING.has(c.id));
