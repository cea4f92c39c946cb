/**
 * What a `/report watch` posts (src/services/report-watch.ts schedules it): the `report`
 * command, run through the dispatcher as the person who set the watch up — so at every
 * slot the server decides again whether they may (`get_analytics`, plus the optional
 * lines' own rights) — and only while they may still post in that channel
 * (`create_post`). The answer goes to the watch's channel as one post with the chart
 * attached (`POST /files` into that channel, then `POST /posts` with `file_ids`, tagged
 * with REPORT_WATCH_PROP and a `pending_post_id` so a repeat within 30 s is one post:
 * server/channels/app/post.go deduplicateCreatePost).
 */
import type { Requirement, Services } from '../core/command.js';
import { paragraph, raw, type ReplyFile } from '../core/reply.js';
import { createDispatcher } from '../core/dispatcher.js';
import type { PermissionService } from '../core/permission-service.js';
import type { VisibilityService } from '../core/permissions/visibility.js';
import type { Registry } from '../core/registry.js';
import type { MattermostApi } from '../mattermost/api.js';
import type { User } from '../mattermost/models.js';
import { renderReply } from '../render/markdown.js';
import { REPORT_WATCH_PROP, type ReportWatch } from '../services/report-watch.js';
import type { Logger } from '../core/command.js';

const CREATE_POST: Requirement = { permission: 'create_post', scope: 'channel' };

export interface ReportPosterParts {
  api: MattermostApi;
  logger: Logger;
  registry: Registry;
  permissions: PermissionService;
  visibility: VisibilityService;
  /** the services every command sees (read when a report is posted, so it may be filled in later) */
  services: () => Services;
  me: User;
  now: () => number;
}

/** `post` for createReportWatchService: posts the report, or logs why not (and posts nothing). */
export function reportWatchPoster(parts: ReportPosterParts): (watch: ReportWatch, tag: string) => Promise<void> {
  const log = parts.logger.child({ component: 'report-watch' });
  return async (watch, tag) => {
    const allowed = await parts.permissions.check(watch.createdBy, CREATE_POST, { channelId: watch.channelId, ...(watch.teamId ? { teamId: watch.teamId } : {}) });
    if (!allowed.allowed) {
      log.warn({ watch: watch.id, channelId: watch.channelId, createdBy: watch.createdBy }, 'scheduled report not posted: the person who set it up may no longer post in that channel');
      return;
    }
    const files: ReplyFile[] = [];
    const dispatcher = createDispatcher({
      registry: parts.registry,
      api: parts.api,
      permissions: parts.permissions,
      services: parts.services(),
      logger: parts.logger,
      botUserId: parts.me.id,
      visibility: parts.visibility,
      now: parts.now,
      // the chart goes with the report into the watch's channel, not to a DM
      files: {
        async deliver(req) {
          files.push(...req.files);
          return { channelId: watch.channelId, postId: '', names: req.files.map((f) => f.name) };
        },
        pointer: () => paragraph(raw('')), // dropped below
      },
    });
    const result = await dispatcher.dispatch({ source: 'dm', receivedAt: parts.now(), text: 'report', userId: watch.createdBy, channelId: watch.channelId, teamId: watch.teamId, rootId: '' });
    if (result.outcome !== 'ok') {
      log.warn({ watch: watch.id, channelId: watch.channelId, createdBy: watch.createdBy, outcome: result.outcome, ref: result.ref }, 'scheduled report not posted: the report was refused or failed for the person who set it up');
      return;
    }
    const { blocks } = result.reply;
    const message = renderReply({ ...result.reply, blocks: blocks.slice(0, Math.max(0, blocks.length - (files.length ? 1 : 0))) });
    const ids: string[] = [];
    for (const f of files) ids.push((await parts.api.uploadFile(watch.channelId, f)).id);
    await parts.api.createPost({
      channel_id: watch.channelId,
      message,
      ...(ids.length ? { file_ids: ids } : {}),
      props: { [REPORT_WATCH_PROP]: tag },
      pending_post_id: `${REPORT_WATCH_PROP}:${tag}`,
    });
  };
}
