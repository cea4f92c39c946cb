/**
 * `/prefs [category] [@user]`: stored preferences. `/prefs set <category> <name>
 * <value>` and `/prefs delete <category> <name>` change them. Someone else's need
 * `edit_other_users` (SessionHasPermissionToUser, docs/mattermost-notes.md §5.7), and the bot needs
 * it too, since it reads and writes them with its own token even for the caller.
 */
import { z } from 'zod';
import { defineCommand, defineSubcommand, type Access, type CommandContext, type Requirement } from '../src/core/command.js';
import { invalidInput } from '../src/core/errors.js';
import { code, fields, hint, md, paragraph, reply, table, title, type Block } from '../src/core/reply.js';
import type { Preference, User } from '../src/mattermost/models.js';
import { pageFlag, rawWord, rawWords, word, words } from './lib/args.js';
import { nextPageHint, usageLine } from './lib/command-line.js';
import { actingOn, orAmbiguity } from './lib/lookup.js';
import { clip, userLabel } from './lib/people.js';

/** Preferences per page of `/prefs`. */
export const PREFS_PER_PAGE = 40;
/** Server limits (docs/mattermost-notes.md §5.7). */
const MAX_KEY = 32;
const MAX_VALUE = 20_000;
/** Shown value length in the list (full values can be long JSON). */
const SHOWN_VALUE = 60;

const EDIT_OTHERS: Requirement = { permission: 'edit_other_users', scope: 'system' };
const ACCESS: Access = { self: null, other: EDIT_OTHERS, adminTargetNeedsManageSystem: true };
const LIST_USAGE = 'prefs [category] [@user] [--page N]';
const SET_USAGE = 'prefs set <category> <name> <value> [--user @user]';
const DELETE_USAGE = 'prefs delete <category> <name> [--user @user]';

/** A person reference among positional words: `@name` or an email. */
const isUserWord = (w: string): boolean => w.startsWith('@') || /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(w);

/** `--user` wins, else an `@name` word (list only). */
const listTarget = (r: Record<string, unknown>): string | undefined => rawWord(r, 'user') ?? rawWords(r, 'words').find(isUserWord);

const KEY = /^[A-Za-z0-9_.\-:]+$/;
function checkKey(what: string, v: string, usage: string): string {
  if (!v || v.length > MAX_KEY) throw invalidInput(`The ${what} must be 1 to ${MAX_KEY} characters.`, usage);
  if (!KEY.test(v)) throw invalidInput(`The ${what} may only hold letters, digits and _ . - :`, usage);
  return v;
}

const whose = (ctx: CommandContext, user: User): string => (user.id === ctx.caller.id ? 'you' : userLabel(user));

const list = defineSubcommand({
  name: '',
  summary: 'Your stored preferences (or someone else\u2019s), optionally one category',
  usage: LIST_USAGE,
  examples: ['prefs', 'prefs display_settings', 'prefs display_settings @ann', 'prefs --page 2'],
  positional: ['words...'],
  args: z.object({ words, user: word.optional(), page: pageFlag }),
  access: ACCESS,
  target: listTarget,
  botNeeds: [EDIT_OTHERS],
  sensitive: true,
  async execute(ctx) {
    const userRef = ctx.args.user ?? ctx.args.words.find(isUserWord);
    const rest = ctx.args.words.filter((w) => w !== userRef);
    const usage = usageLine(ctx, 'prefs', LIST_USAGE);
    if (rest.length > 1) throw invalidInput('Name at most one category.', usage);
    const category = rest[0] !== undefined ? checkKey('category', rest[0], usage) : undefined;
    return orAmbiguity(ctx, userRef ?? '', 'prefs', category ? [category] : [], async () => {
      const user = await actingOn(ctx, userRef, ACCESS);
      const prefs = await ctx.api.getPreferences(user.id, category);
      const sorted = [...prefs].sort((a, b) => a.category.localeCompare(b.category) || a.name.localeCompare(b.name));
      const page = ctx.args.page;
      const shown = sorted.slice((page - 1) * PREFS_PER_PAGE, page * PREFS_PER_PAGE);
      const heading = user.id === ctx.caller.id ? 'Your preferences' : md`Preferences of ${userLabel(user)}`;
      if (!shown.length) {
        const none = page > 1 ? md`No preferences on page ${page}.` : category ? md`No preferences in ${code(category)}.` : 'No stored preferences.';
        return reply([title(heading), paragraph(none)], { tone: 'info' });
      }
      const blocks: Block[] = [
        title(heading),
        paragraph(md`${(page - 1) * PREFS_PER_PAGE + 1}–${(page - 1) * PREFS_PER_PAGE + shown.length} of ${sorted.length}`),
        table(
          ['Category', 'Name', 'Value'],
          shown.map((p) => [clip(p.category, 40), clip(p.name, 40), clip(p.value, SHOWN_VALUE)]),
        ),
      ];
      if (sorted.length > page * PREFS_PER_PAGE) {
        const args = [...(category ? [category] : []), ...(user.id === ctx.caller.id ? [] : [`@${user.username}`])];
        blocks.push(hint(nextPageHint(ctx, 'prefs', args, page + 1)));
      }
      return reply(blocks);
    });
  },
});

const set = defineSubcommand({
  name: 'set',
  summary: 'Store one preference (yours, or someone else\u2019s)',
  usage: SET_USAGE,
  examples: ['prefs set display_settings use_military_time true', 'prefs set display_settings name_format username --user @ann'],
  positional: ['category', 'name', 'value...'],
  args: z.object({ category: word, name: word, value: words, user: word.optional() }),
  access: ACCESS,
  target: (r) => rawWord(r, 'user'),
  botNeeds: [EDIT_OTHERS],
  sensitive: true,
  async execute(ctx) {
    const usage = usageLine(ctx, 'prefs', SET_USAGE);
    const category = checkKey('category', ctx.args.category, usage);
    const name = checkKey('name', ctx.args.name, usage);
    const value = ctx.args.value.join(' ');
    if (!ctx.args.value.length) throw invalidInput('Give a value to store.', usage);
    if (value.length > MAX_VALUE) throw invalidInput(`The value is too long (${MAX_VALUE} characters at most).`, usage);
    if (category === 'flagged_post') {
      // The server also checks read_channel on the flagged post's channel, which the bot cannot check for the caller.
      throw invalidInput('Flag posts in Mattermost itself; the bot does not store flagged_post preferences.', usage);
    }
    const ref = ctx.args.user;
    return orAmbiguity(ctx, ref ?? '', 'prefs', ['set', category, name, value, '--user'], async () => {
      const user = await actingOn(ctx, ref, ACCESS);
      const pref: Preference = { user_id: user.id, category, name, value };
      await ctx.api.savePreferences(user.id, [pref]);
      return reply(
        [
          paragraph(md`Saved for ${whose(ctx, user)}:`),
          fields([
            ['Category', code(category)],
            ['Name', code(name)],
            ['Value', clip(value, 200)],
          ]),
        ],
        { tone: 'ok' },
      );
    });
  },
});

const del = defineSubcommand({
  name: 'delete',
  summary: 'Remove one stored preference (yours, or someone else\u2019s)',
  usage: DELETE_USAGE,
  examples: ['prefs delete display_settings use_military_time', 'prefs delete display_settings name_format --user @ann'],
  positional: ['category', 'name'],
  args: z.object({ category: word, name: word, user: word.optional() }),
  access: ACCESS,
  target: (r) => rawWord(r, 'user'),
  botNeeds: [EDIT_OTHERS],
  sensitive: true,
  async execute(ctx) {
    const usage = usageLine(ctx, 'prefs', DELETE_USAGE);
    const category = checkKey('category', ctx.args.category, usage);
    const name = checkKey('name', ctx.args.name, usage);
    const ref = ctx.args.user;
    return orAmbiguity(ctx, ref ?? '', 'prefs', ['delete', category, name, '--user'], async () => {
      const user = await actingOn(ctx, ref, ACCESS);
      const existing = (await ctx.api.getPreferences(user.id, category)).find((p) => p.name === name);
      if (!existing) {
        return reply([paragraph(md`Nothing to delete: ${code(`${category} ${name}`)} is not set for ${whose(ctx, user)}.`)], { tone: 'info' });
      }
      await ctx.api.deletePreferences(user.id, [existing]);
      return reply([paragraph(md`Deleted ${code(`${category} ${name}`)} for ${whose(ctx, user)} (it was ${code(clip(existing.value, 80))}).`)], {
        tone: 'ok',
      });
    });
  },
});

export default defineCommand({
  name: 'prefs',
  summary: 'See and change stored preferences',
  hint: '[category] [@user] | set <category> <name> <value> | delete <category> <name>',
  ownTrigger: true,
  subcommands: [list, set, del],
});
