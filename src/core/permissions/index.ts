/**
 * Permission gating: effective Mattermost permissions of a caller (resolve.ts), the cached
 * service (service.ts), caller-bound checks (caller.ts), the operator's policy file
 * (policy.ts) and the bot's own rights (bot-rights.ts).
 */
export { createPermissionService, type PermissionServiceOptions } from './service.js';
export { createCallerPermissions } from './caller.js';
export { placeWords, refusalSentence, refusalText, type RefusalPlace } from './refusal.js';
export { loadPolicy, parsePolicy, emptyPolicy, PolicyError, isPolicyError, type LoadedPolicy } from './policy.js';
export { resolveBotRights, commandLabel, BotRightsError, type BotRights } from './bot-rights.js';
export * from './resolve.js';
