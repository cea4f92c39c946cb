/**
 * End-to-end harness for commands: the fake Mattermost server on loopback, the real
 * REST client with the bot's token, the real permission service, and a dispatcher
 * over every command. `run` types a command as a seeded user and returns the
 * dispatch result and its rendered Markdown.
 *
 * @example
 *   const h = await createHarness();
 *   const { result, text } = await h.run('alice', 'whois @bob');
 *   expect(result.outcome).toBe('ok');
 *   expect(text).toContain('Bob');
 *   await h.close();
 */
import type { AuditEntry, CommandDefinition, Invocation, Logger, Policy, Services } from '../../src/core/command.js';
import type { BotStatus } from '../../src/services/bot-status.js';
import { createAuditTrail } from '../../src/core/audit.js';
import { createDispatcher, type Dispatcher, type DispatchResult } from '../../src/core/dispatcher.js';
import { silentLogger } from '../../src/log/logger.js';
import type { PermissionService } from '../../src/core/permission-service.js';
import { createPermissionService } from '../../src/core/permissions/service.js';
import { createRegistry, type Registry } from '../../src/core/registry.js';
import type { MattermostApi } from '../../src/mattermost/api.js';
import type { User } from '../../src/mattermost/models.js';
import { createRestApi } from '../../src/mattermost/rest-api.js';
import { renderReply } from '../../src/render/markdown.js';
import { createFileResponder } from '../../src/render/file-answer.js';
import { startFakeMattermost, type FakeMattermost, type StartOptions } from '../../src/sandbox/fake-server.js';
import { channelIdFor, SANDBOX_BOT_TOKEN, teamIdFor, userIdFor } from '../../src/sandbox/seed.js';

export interface HarnessOptions {
  /** fake server seed (default: the demo seed: alice admin, bob, dave, the mmops bot, …) */
  seed?: StartOptions['seed'];
  /** commands to serve (default: every command in commands/index.ts) */
  commands?: readonly CommandDefinition[];
  /** the operator policy (default: none) */
  policy?: Policy;
  deadlineMs?: number;
  allowBots?: boolean;
  logger?: Logger;
  /** the team and channel `run` types in by default (default `acme` / `town-square`) */
  team?: string;
  channel?: string;
  /** the server release the sandbox plays (src/sandbox/versions.ts), default a current one */
  version?: string;
}

export interface Harness {
  fake: FakeMattermost;
  api: MattermostApi;
  permissions: PermissionService;
  registry: Registry;
  dispatcher: Dispatcher;
  /** the services every command sees (a test may add one, such as `reportWatches`) */
  services: Services;
  /** the bot account */
  me: User;
  /** audit entries written so far */
  audits: AuditEntry[];
  botUserId: string;
  /** runs `text` as `username` (a seeded user); `inv` overrides invocation fields */
  run(username: string, text: string, inv?: Partial<Invocation>): Promise<{ result: DispatchResult; text: string }>;
  close(): Promise<void>;
}

/** Starts the fake server and wires the real pipeline to it. */
export async function createHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const fake = await startFakeMattermost({ seed: opts.seed ?? 'demo', ...(opts.version ? { version: opts.version } : {}) });
  try {
    const logger = opts.logger ?? silentLogger;
    const api = createRestApi({ url: fake.url, token: SANDBOX_BOT_TOKEN, logger, readRetries: 0 });
    const me = await api.getMe();
    const permissions = createPermissionService({ api, selfUserId: me.id, logger, ...(opts.allowBots ? { allowBots: true } : {}) });
    // loaded lazily so a harness over a few commands works while others are being written
    const commands = opts.commands ?? (await import('../../commands/index.js')).allCommands;
    const registry = createRegistry(commands, logger);
    const audits: AuditEntry[] = [];
    const writeAudit = createAuditTrail(logger);
    const startedAt = Date.now();
    let dispatcher: Dispatcher | undefined;
    const services: Services = {
      audit(entry) {
        audits.push(entry);
        writeAudit(entry);
      },
      botStatus: (): BotStatus => ({
        user: me,
        startedAt,
        websocket: { connected: false, since: null, reconnects: 0 },
        commandsServed: dispatcher?.stats().served ?? 0,
        lastError: null,
        serverVersion: '',
      }),
      commands: () => registry.all(),
      policy: opts.policy ?? { extraRequirements: () => [] },
      siteUrl: fake.url,
      triggers: { root: 'mmops', prefix: '' },
      botCan: async (req, where) => (await permissions.check(me.id, req, where ?? {})).allowed,
    };
    dispatcher = createDispatcher({
      registry,
      api,
      permissions,
      services,
      logger,
      botUserId: me.id,
      rootTrigger: 'mmops',
      files: createFileResponder({ api, botUserId: me.id, logger }),
      ...(opts.deadlineMs !== undefined ? { deadlineMs: opts.deadlineMs } : {}),
      ...(opts.allowBots ? { allowBots: true } : {}),
    });
    const d = dispatcher;
    const teamName = opts.team ?? 'acme';
    const channelName = opts.channel ?? 'town-square';
    return {
      fake,
      api,
      permissions,
      registry,
      dispatcher: d,
      services,
      me,
      audits,
      botUserId: me.id,
      async run(username, text, inv = {}) {
        const result = await d.dispatch({
          source: 'slash',
          text,
          userId: userIdFor(username),
          teamId: teamIdFor(teamName),
          channelId: channelIdFor(teamName, channelName),
          rootId: '',
          receivedAt: Date.now(),
          ...inv,
        });
        return { result, text: renderReply(result.reply) };
      },
      close: () => fake.close(),
    };
  } catch (e) {
    await fake.close();
    throw e;
  }
}
