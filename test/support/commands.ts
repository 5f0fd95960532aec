/**
 * The command modules an in-process test runs (runInProcess), loaded lazily as cli.ts loads them: one
 * map for every test file instead of a copy per file.
 */
export const commands = {
  preflight: () => import('../../src/commands/preflight.js'),
  deploy: () => import('../../src/commands/deploy.js'),
  render: () => import('../../src/commands/render.js'),
  status: () => import('../../src/commands/status.js'),
  logs: () => import('../../src/commands/logs.js'),
  chat: () => import('../../src/commands/chat.js'),
  bench: () => import('../../src/commands/bench.js'),
  stop: () => import('../../src/commands/stop.js'),
};

export type CommandName = keyof typeof commands;
