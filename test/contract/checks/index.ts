/** Every contract check, in the order they run (reads first, then writes). */
import type { Check } from '../types.js';
import { restChecks } from './rest.js';

export const ALL_CHECKS: readonly Check[] = [...restChecks];
