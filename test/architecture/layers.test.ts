/**
 * Imports point down the layers (docs/architecture.md): the rule is checked on the real
 * tree, read from the source, and shown to fail on a fake tree that breaks it.
 */
import { describe, expect, it } from 'vitest';
import { checkLayers, importsOf, LAYERS, layerOf, readSources, type SourceFile } from './layers.js';

const file = (path: string, ...lines: string[]): SourceFile => ({ path, text: lines.join('\n') });

describe('the layer rule on a fake tree', () => {
  it('refuses an import that points up, naming both layers', () => {
    const problems = checkLayers([
      file('src/mattermost/rest-api.ts', "import type { Logger } from '../core/command.js';"),
      file('src/services/dialogs.ts', "import { createPrivateAnswers } from '../transports/private-answer.js';", "import type { DialogForm } from '../../commands/lib/forms.js';"),
    ]);
    expect(problems).toEqual([
      'src/mattermost/rest-api.ts imports src/core/command.ts: mattermost (1) may not import core (2)',
      'src/services/dialogs.ts imports src/transports/private-answer.ts: services (4) may not import transports (5)',
      'src/services/dialogs.ts imports commands/lib/forms.ts: services (4) may not import commands (5)',
    ]);
  });

  it('refuses siblings of one rank importing each other', () => {
    expect(checkLayers([file('commands/whois.ts', "import { createSlashEndpoint } from '../src/transports/slash-endpoint.js';")])).toEqual([
      'commands/whois.ts imports src/transports/slash-endpoint.ts: commands (5) may not import transports (5)',
    ]);
    expect(checkLayers([file('src/state/state-store.ts', "import { loadConfig } from '../config.js';")])).toEqual([
      'src/state/state-store.ts imports src/config.ts: state (0) may not import config (0)',
    ]);
  });

  it('allows imports within a layer and down the layers', () => {
    expect(
      checkLayers([
        file('src/core/dispatcher.ts', "import type { MattermostApi } from '../mattermost/api.js';", "import { parse } from './parse.js';", "import { silentLogger } from '../log/logger.js';"),
        file('src/bot/startup.ts', "import { allCommands } from '../../commands/index.js';", "import { createSlashEndpoint } from '../transports/slash-endpoint.js';"),
        file('commands/lib/lookup.ts', "import type { User } from '../../src/mattermost/models.js';", "import { card } from '../../src/core/reply.js';"),
      ]),
    ).toEqual([]);
  });

  it('reads every form of import, and none in comments or strings', () => {
    const text = [
      '/* import { x } from "../core/a.js"; */',
      "// export * from '../core/b.js';",
      "const s = \"import('../core/c.js')\";",
      'import {',
      '  type Logger,',
      "} from '../core/multi-line.js';",
      "export { y } from '../core/re-export.js';",
      "export * from '../core/star.js';",
      "const lazy = await import('../core/lazy.js');",
      "import '../core/side-effect.js';",
    ].join('\n');
    expect(importsOf(text).sort()).toEqual(['../core/lazy.js', '../core/multi-line.js', '../core/re-export.js', '../core/side-effect.js', '../core/star.js']);
    expect(checkLayers([{ path: 'src/mattermost/x.ts', text }])).toHaveLength(5);
  });

  it('refuses a file in no layer, an import of one, and an owned package from elsewhere', () => {
    expect(
      checkLayers([
        file('src/extras/thing.ts', "import { z } from 'zod';"),
        file('src/core/a.ts', "import { h } from '../../test/helpers/context.js';"),
        file('commands/whois.ts', "import { Client4 } from '@mattermost/client';", "import WebSocket from 'ws';", "import { z } from 'zod';"),
        file('src/sandbox/hub.ts', "import { WebSocketServer } from 'ws';"),
      ]),
    ).toEqual([
      'src/extras/thing.ts belongs to no layer (add it to LAYERS in test/architecture/layers.ts and docs/architecture.md)',
      'src/core/a.ts imports test/helpers/context.ts, which belongs to no layer',
      'commands/whois.ts imports @mattermost/client: only mattermost may',
      'commands/whois.ts imports ws: only mattermost, sandbox, contract may',
    ]);
  });
});

describe('the layer rule on this repository', () => {
  const sources = readSources(['src', 'commands']);

  it('places every file of src/ and commands/ in exactly one layer, and every layer holds files', () => {
    expect(sources.length).toBeGreaterThan(100);
    for (const s of sources) expect(LAYERS.filter((l) => l.paths.some((p) => (p.endsWith('/') ? s.path.startsWith(p) : s.path === p))), s.path).toHaveLength(1);
    for (const l of LAYERS) expect(sources.some((s) => layerOf(s.path) === l), l.name).toBe(true);
  });

  it('has no import that points up or sideways', () => {
    expect(checkLayers(sources)).toEqual([]);
  });
});
