/**
 * One-line notices about when a command was handled: late after an outage, not run
 * because it is too old, or cut short by a restart. Plain text: they quote nothing the
 * user typed, so there is nothing to escape.
 */

/** "3 min" / "45 s" / "2 h" */
export function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m} min`;
  return `${Math.round(m / 60)} h`;
}

/** Put above the answer to a command that ran after the bot caught up with it. */
export function lateAnswerNote(ageMs: number): string {
  return `_You sent this ${ago(ageMs)} ago while I was reconnecting; here is the answer._`;
}

/** The whole answer to a missed command too old to run now. */
export function notRunNotice(ageMs: number): string {
  return `Not run: you sent this ${ago(ageMs)} ago while I was offline; send it again if you still need it.`;
}

/** The whole answer to a command dated ahead of the bot's clock: its age cannot be judged. */
export function aheadNotice(aheadMs: number): string {
  return `Not run: this message is dated ${ago(aheadMs)} ahead of my clock (the server\u2019s clock and mine disagree), so I cannot tell when it was sent; send it again.`;
}

/** The answer to a command cut short by a restart. */
export function restartingNotice(): string {
  return 'I am restarting and could not finish this; please send it again in a moment.';
}
