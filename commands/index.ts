/**
 * Every command the bot knows. The registry, `help`, `manifest.json` and slash
 * registration are all built from this list.
 */
import type { CommandDefinition } from '../src/core/command.js';
import avatar from './avatar.js';
import health from './health.js';
import help from './help.js';
import members from './members.js';
import prefs from './prefs.js';
import report from './report.js';
import status from './status.js';
import team from './team.js';
import teams from './teams.js';
import user from './user.js';
import users from './users.js';
import whois from './whois.js';

export const allCommands: readonly CommandDefinition[] = [
  status,
  whois,
  teams,
  members,
  prefs,
  help,
  health,
  user,
  users,
  team,
  avatar,
  report,
];
