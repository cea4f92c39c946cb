/**
 * The console's pure parts: Markdown → terminal lines, API-call summaries, the metrics
 * counter parser, who-is-who descriptions and the demo's argument parsing.
 */
import { describe, expect, it } from 'vitest';
import { renderReply } from '../../src/render/markdown.js';
import { fields, md, paragraph, reply, table, title } from '../../src/core/reply.js';
import { createMetrics } from '../../src/services/metrics.js';
import { commandCounts } from '../../src/sandbox/console.js';
import { describeUser, slashTriggers } from '../../src/sandbox/console-people.js';
import { collapsePath, displayWidth, renderMarkdown, stripAnsi, summarizeCalls, toneOf } from '../../src/sandbox/console-render.js';
import { parseDemoArgs } from '../../src/sandbox/demo.js';
import { FakeStore } from '../../src/sandbox/store.js';
import { demoSeed, teamIdFor, userIdFor } from '../../src/sandbox/seed.js';

const plain = { color: false, width: 80 };

describe('renderMarkdown', () => {
  it('undoes what exists for Mattermost only: escapes, zero-width spaces, bold, headers', () => {
    const text = renderReply(reply([title(md`Who is ${'@bob'}`), fields([['Position', 'Ops (lead) *now*'], ['Email', 'bob@acme.example']])]));
    expect(text).toContain('\u200b'); // the bot's Markdown really has them
    expect(renderMarkdown(text, plain)).toEqual(['Who is @bob', '', 'Position: Ops (lead) *now*', 'Email: bob@acme.example']);
  });

  it('turns tone markers into symbols', () => {
    const refused = renderReply(reply([paragraph('You may not.')], { tone: 'refused' }));
    const warned = renderReply(reply([title('Health'), paragraph('x')], { tone: 'warning' }));
    expect(renderMarkdown(refused, plain)[0]).toBe('⛔ You may not.');
    expect(renderMarkdown(warned, plain)[0]).toBe('❕ Health');
    expect(toneOf(refused)).toBe('refused');
    expect(toneOf(warned)).toBe('warning');
    expect(toneOf(renderReply(reply([paragraph('boom')], { tone: 'error' })))).toBe('error');
    expect(toneOf('plain text')).toBe('plain');
  });

  it('aligns tables by display width (emoji are two columns, combining marks none)', () => {
    const text = renderReply(reply([table(['Node', 'Version'], [['app-1', '10.5.0'], [md`⚠️ app\\-3`, '10.4.2'], ['Mallory\u0301', 'x']])]));
    const lines = renderMarkdown(text, plain);
    expect(lines[0]).toBe('Node      Version');
    expect(lines[1]).toMatch(/^─+  ─+$/);
    const starts = lines.filter((l) => !l.startsWith('─')).map((l) => displayWidth(l.slice(0, l.search(/\S+$/))));
    expect(new Set(starts).size).toBe(1); // the second column starts at the same column on every row
    expect(displayWidth('🟢')).toBe(2);
    expect(displayWidth('e\u0301')).toBe(1);
  });

  it('wraps cells of a table wider than the terminal instead of losing them', () => {
    const long = 'word '.repeat(30).trim();
    const text = renderReply(reply([table(['A', 'B'], [['short', long]])]));
    const lines = renderMarkdown(text, { color: false, width: 40 });
    for (const l of lines) expect(displayWidth(l)).toBeLessThanOrEqual(40);
    expect(lines.join(' ').match(/word/g)?.length).toBe(30);
  });

  it('keeps pipes escaped in table code cells as pipes, and joins `a`` ``b` code runs', () => {
    const lines = renderMarkdown('| Command |\n| --- |\n| `/mmops status set online\\|away` |\n\n`help`` ``whois`', plain);
    expect(lines[2]).toBe('/mmops status set online|away');
    expect(lines[4]).toBe('`help whois`');
  });

  it('code blocks are shown as is; links show their address; hints lose their underscores', () => {
    const lines = renderMarkdown('```\n**not bold** \\(x\\)\n```\n[profile image](http://x/y)\n_Next page: `/teams --page 2`_', plain);
    expect(lines).toEqual(['  **not bold** \\(x\\)', 'profile image <http://x/y>', 'Next page: `/teams --page 2`']);
  });

  it('colours only when asked, and the text is the same without the codes', () => {
    const text = renderReply(reply([title('Hi'), fields([['A', 'b']])], { tone: 'refused' }));
    const coloured = renderMarkdown(text, { color: true, width: 80 });
    expect(coloured.join('\n')).toMatch(/\x1b\[/);
    expect(coloured.map(stripAnsi)).toEqual(renderMarkdown(text, plain));
  });

  it('wraps long lines at the width', () => {
    const lines = renderMarkdown('**Note:** ' + 'lorem ipsum '.repeat(20), { color: false, width: 40 });
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(displayWidth(l)).toBeLessThanOrEqual(40);
  });
});

describe('API calls', () => {
  it('collapses ids, keeps names, counts repeats and shows failures', () => {
    expect(collapsePath('/api/v4/users/wrd74r7dmtcsf1id7zfc889bhe/status')).toBe('/users/{id}/status');
    expect(collapsePath('/api/v4/teams/name/ops')).toBe('/teams/name/ops');
    expect(collapsePath('/hooks/commands/wrd74r7dmtcsf1id7zfc889bhe')).toBe('/hooks/commands/{id}');
    expect(
      summarizeCalls([
        { method: 'GET', path: '/api/v4/users/wrd74r7dmtcsf1id7zfc889bhe', status: 200 },
        { method: 'POST', path: '/api/v4/roles/names', status: 200 },
        { method: 'GET', path: '/api/v4/users/odp9iqsgokabprm7qp44i81yyf', status: 200 },
        { method: 'GET', path: '/api/v4/teams/tc3erntk77gz4gm4npaiimoano/members/odp9iqsgokabprm7qp44i81yyf', status: 404 },
      ]),
    ).toEqual(['GET /users/{id} ×2', 'POST /roles/names', 'GET /teams/{id}/members/{id} → 404']);
  });

  it('reads command outcomes from the bot\'s /metrics text', () => {
    const metrics = createMetrics();
    metrics.commandServed('whois', 'ok', 12);
    metrics.commandServed('whois', 'ok', 14);
    metrics.commandServed('user', 'refused', 3);
    const counts = commandCounts(metrics.render());
    expect(counts.get('whois\u0000ok')?.count).toBe(2);
    expect(counts.get('user\u0000refused')).toEqual({ command: 'user', outcome: 'refused', count: 1 });
    expect(counts.size).toBe(2);
  });
});

describe('who is who', () => {
  const store = new FakeStore(demoSeed());
  const bot = userIdFor('mmops');
  const about = (name: string): string => describeUser(store, store.requireUser(name), bot);

  it('describes the seeded people from their data', () => {
    expect(about('alice')).toBe('system admin');
    expect(about('bob')).toBe('team admin of ops');
    expect(about('dave')).toBe('plain user, no special role; SAML sign-in');
    expect(about('heidi')).toBe('help desk role; GitLab sign-in');
    expect(about('erin')).toBe('guest in acme');
    expect(about('frank')).toContain('deactivated');
    expect(about('grace')).toBe('channel admin of ops:incidents');
    expect(about('otherbot')).toContain('another bot');
  });

  it('follows changes in the store', () => {
    const m = store.teamMember(teamIdFor('ops'), userIdFor('dave'));
    if (!m) throw new Error('seed: dave is in ops');
    m.scheme_admin = true;
    expect(about('dave')).toContain('team admin of ops');
  });

  it('lists slash triggers with the root trigger first', () => {
    expect(slashTriggers(store, teamIdFor('acme'))).toEqual([]); // nothing registered before the bot starts
  });
});

describe('demo arguments', () => {
  it('parses the options and explains bad ones', () => {
    expect(parseDemoArgs(['--', '--script', 'w.txt', '--as', 'dave', '--timeout', '5'])).toEqual({ script: 'w.txt', as: 'dave', timeout: 5 });
    expect(parseDemoArgs(['--timeout', 'soon'])).toBe('--timeout needs a number of seconds');
    expect(parseDemoArgs(['--timeout=0'])).toBe('--timeout needs a positive number of seconds');
    expect(parseDemoArgs(['--as', 'not a name'])).toBe('--as needs a username, e.g. --as dave');
    expect(parseDemoArgs(['--frobnicate'])).toMatch(/Unknown option '--frobnicate'/);
    expect(parseDemoArgs(['--server-version', '5.37'])).toEqual({ 'server-version': '5.37' });
    expect(parseDemoArgs(['--server-version', 'latest'])).toBe('--server-version needs a release, e.g. --server-version 5.37');
  });
});
