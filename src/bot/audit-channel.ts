/** MMOPS_AUDIT_CHANNEL: where refusal summaries and alarms are posted. */
import type { MattermostApi } from '../mattermost/api.js';
import type { BotRuntime } from './runtime.js';

/** Posts a line to the audit channel, resolved on first use (undefined without a channel). */
export function auditPoster(api: MattermostApi, target: { team: string; channel: string } | null | undefined): ((line: string) => Promise<void>) | undefined {
  if (!target) return undefined;
  let channelId: Promise<string> | undefined;
  const resolve = async (): Promise<string> => {
    const team = await api.getTeamByName(target.team);
    const channel = await api.getChannelByName(team.id, target.channel);
    return channel.id;
  };
  return async (line) => {
    channelId ??= resolve().catch((err: unknown) => {
      channelId = undefined; // try again next time (the bot may be added later)
      throw err;
    });
    await api.createPost({ channel_id: await channelId, message: line });
  };
}

/** Start-up step: says in the log whether the audit channel can be reached (never fails). */
export async function checkAuditChannel(rt: BotRuntime): Promise<void> {
  const target = rt.config.auditChannel;
  if (!target) return;
  const where = `${target.team}:${target.channel}`;
  try {
    const team = await rt.api.getTeamByName(target.team);
    await rt.api.getChannelByName(team.id, target.channel);
    rt.log.info({ auditChannel: where }, 'audit summaries go to the audit channel');
  } catch (err) {
    rt.log.warn(
      { err, auditChannel: where },
      `MMOPS_AUDIT_CHANNEL: the bot cannot see channel "${target.channel}" in team "${target.team}"; audit lines are logged only until it can (add the bot to the channel)`,
    );
  }
}
