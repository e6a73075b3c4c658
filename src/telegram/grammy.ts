/**
 * `warrenCommands(options)`: the `/job` commands as grammY middleware, built on
 * `createTelegramCommands()`. The grammY types are described structurally (as
 * warren/prometheus does for prom-client), so nothing here needs grammy installed, not
 * even its types: `bot.use(warrenCommands({ … }))` type-checks against grammY's own.
 */
import { createTelegramCommands } from './commands.js';
import type { TelegramCommandsOptions } from './options.js';

/** The parts of an incoming grammY message the middleware reads. */
export interface GrammyMessageLike {
  message_id: number;
  text?: string;
  chat: { id: number; type: string };
  from?: { id: number; username?: string };
}

/** The send options the middleware passes to `ctx.reply`. */
export interface GrammyReplyOptionsLike {
  reply_parameters?: { message_id: number; allow_sending_without_reply?: boolean };
  link_preview_options?: { is_disabled?: boolean };
}

/** The parts of a grammY `Context` the middleware uses. */
export interface GrammyContextLike {
  readonly message?: GrammyMessageLike | undefined;
  /** The bot's own account, known once `bot.init()` (or `bot.start()`) has run. */
  readonly me: { username: string };
  reply(text: string, other?: GrammyReplyOptionsLike): Promise<unknown>;
}

/** A grammY middleware function (grammY's `MiddlewareFn`), for `bot.use(…)` or `composer.use(…)`. */
export type WarrenCommandsMiddleware = (ctx: GrammyContextLike, next: () => Promise<void>) => Promise<void>;

/**
 * Answers the `/job` commands of allowed chats; passes every other update on (`next()`).
 * Replies are plain text (no `parse_mode`), so whatever they echo (job ids, pause notes,
 * params, errors) is shown as written, never read as markup. In a group a reply quotes
 * the command it answers; `/job@OtherBot …` is left to the other bot.
 */
export function warrenCommands(options: TelegramCommandsOptions): WarrenCommandsMiddleware {
  const commands = createTelegramCommands(options);
  return async (ctx, next) => {
    const message = ctx.message;
    if (message === undefined || typeof message.text !== 'string') return next();
    const reply = await commands.handle({
      chatId: message.chat.id,
      text: message.text,
      user: message.from?.username ?? message.from?.id ?? null,
      botUsername: ctx.me.username,
    });
    if (reply === null) return next();
    const inGroup = message.chat.type !== 'private';
    await ctx.reply(reply, {
      link_preview_options: { is_disabled: true },
      ...(inGroup ? { reply_parameters: { message_id: message.message_id, allow_sending_without_reply: true } } : {}),
    });
  };
}
