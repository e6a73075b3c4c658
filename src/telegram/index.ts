/**
 * `warren/telegram`: the seed's `/job` bot commands as a plain function, for any bot
 * library. See docs/adapters.md.
 */
export { createTelegramCommands } from './commands.js';
export type { TelegramCommands, TelegramCommandsOptions, TelegramMessage } from './commands.js';
export type { TelegramControl, TelegramJobStatus, TelegramRun } from './control.js';
