/**
 * `warren/telegram`: the `/job` bot commands. `createTelegramBot()` runs a grammY bot with
 * long polling; `warrenCommands()` is the same commands as middleware for a grammY bot of
 * your own; `createTelegramCommands()` is the library-neutral function underneath. grammy
 * is an optional peer dependency, loaded only by `createTelegramBot().start()`.
 * See docs/adapters.md.
 */
export { createTelegramCommands } from './commands.js';
export type { TelegramCommands, TelegramMessage } from './commands.js';
export type { TelegramCommandsOptions, TelegramBotOptions, TelegramLogger } from './options.js';
export { warrenCommands } from './grammy.js';
export type { WarrenCommandsMiddleware, GrammyContextLike, GrammyMessageLike, GrammyReplyOptionsLike } from './grammy.js';
export { createTelegramBot } from './bot.js';
export type { TelegramBot } from './bot.js';
export type { TelegramControl, TelegramJobStatus, TelegramRun } from './control.js';
