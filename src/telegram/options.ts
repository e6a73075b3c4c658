/**
 * The options of `createTelegramCommands()` and `createTelegramBot()`: one zod schema each,
 * the bot's a superset of the commands', so both validate (and default) alike.
 */
import { z } from 'zod';
import { timeZoneOption } from '../define/time-zone.js';
import { hasFunctions, integer } from '../util/options.js';
import type { TelegramControl } from './control.js';

/** Where refusals and unexpected errors go besides `debug('warren:telegram')`: any pino/winston-like object. */
export interface TelegramLogger {
  error(message: string, fields?: Record<string, unknown>): void;
  /** Refused chats; without it they are only in `debug('warren:telegram')`. */
  warn?(message: string, fields?: Record<string, unknown>): void;
}

const chatId = z.union([z.number().int(), z.string().min(1)], { error: 'chat ids (numbers, or strings such as "@channel")' });

export const commandsOptionsSchema = z
  .object({
    /** The control API: a `createScheduler()` instance (any role but `scheduler-only`) or `createAdminClient()`. */
    control: z.custom<TelegramControl>(
      hasFunctions('list', 'get', 'pause', 'resume', 'runNow', 'runs'),
      'a control API (a scheduler or admin client, with list/get/pause/resume/runNow/runs)',
    ),
    /** The chats allowed to use the commands; every other chat is refused. */
    allowedChatIds: z.array(chatId, { error: 'a non-empty array of chat ids' }).min(1, 'a non-empty array of chat ids'),
    /**
     * The command word, without the slash.
     * @default 'job'
     */
    command: z
      .string({ error: 'a word of a-z, 0-9 or _' })
      .regex(/^[a-z0-9_]{1,32}$/, 'a word of a-z, 0-9 or _')
      .default('job'),
    /**
     * The reply to a chat not in `allowedChatIds`; `null` answers nothing at all.
     * @default 'This chat is not allowed to control jobs.'
     */
    refusal: z.string({ error: 'a string or null' }).nullable().default('This chat is not allowed to control jobs.'),
    /**
     * The IANA time zone every time in a reply is shown in (and named after).
     * @default 'UTC'
     */
    timezone: timeZoneOption,
    /**
     * Replies are cut (at a line) to this many characters; Telegram's limit is 4096.
     * @default 4000
     */
    maxReplyLength: integer(200, 4096).default(4000),
    /** Receives refusals (`warn`) and unexpected errors (`error`) besides `debug('warren:telegram')`. */
    logger: z.custom<TelegramLogger>(hasFunctions('error'), 'a logger with error() (and optionally warn())').optional(),
  })
  .strict();

export type TelegramCommandsOptions = z.input<typeof commandsOptionsSchema>;
export type ResolvedTelegramCommandsOptions = z.output<typeof commandsOptionsSchema>;

export const botOptionsSchema = commandsOptionsSchema
  .extend({
    /** The bot token from @BotFather (`123456:ABC-…`). */
    token: z
      .string({ error: 'a bot token such as "123456:ABC-DEF"' })
      .regex(/^\d+:[A-Za-z0-9_-]+$/, 'a bot token such as "123456:ABC-DEF"'),
    /**
     * The Bot API server (a local `telegram-bot-api`, or a test double).
     * @default 'https://api.telegram.org'
     */
    apiRoot: z
      .string({ error: 'an http(s) URL without a trailing slash' })
      .regex(/^https?:\/\/[^\s/]+(\/[^\s]*[^\s/])?$/, 'an http(s) URL without a trailing slash')
      .default('https://api.telegram.org'),
    /**
     * Seconds each long-polling `getUpdates` may wait for a message (Telegram allows up to 50).
     * @default 30
     */
    pollingTimeout: integer(0, 50).default(30),
  })
  .strict();

export type TelegramBotOptions = z.input<typeof botOptionsSchema>;
