/**
 * `createTelegramBot(options)`: a bot that runs on its own. It long-polls Telegram with
 * grammY's `bot.start()` and answers the `/job` commands through `warrenCommands()`.
 * grammy is an optional peer dependency, imported when `start()` runs: importing
 * warren/telegram (or using `createTelegramCommands()` with another library) never needs it.
 */
import createDebug from 'debug';
import type { Bot } from 'grammy';
import { WarrenError } from '../errors.js';
import { parseOptions } from '../util/options.js';
import { createLog } from '../util/logger.js';
import { warrenCommands } from './grammy.js';
import { botOptionsSchema, type TelegramBotOptions } from './options.js';

const debug = createDebug('warren:telegram');

export type { TelegramBotOptions } from './options.js';

export interface TelegramBot {
  /**
   * Loads grammy, checks the token (`getMe`), removes any webhook and starts long
   * polling; resolves once updates are being fetched. Rejects with `ERR_UNAUTHORIZED`
   * when Telegram refuses the token. Calling it again returns the same promise.
   */
  start(): Promise<void>;
  /** The bot's username (without `@`), known once `start()` has resolved. */
  readonly username: string | undefined;
  /**
   * Stops polling: the pending `getUpdates` is cancelled, the updates handled so far are
   * confirmed to Telegram (so they are not delivered again), and the command being
   * answered, if any, finishes first. Idempotent.
   */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const closedError = () => new WarrenError('ERR_CLOSED', 'The Telegram bot was closed before it started');

export function createTelegramBot(options: TelegramBotOptions): TelegramBot {
  const o = parseOptions(botOptionsSchema, options ?? {}, { label: 'telegram bot option' });
  const { token, apiRoot, pollingTimeout, ...commandOptions } = o;
  const middleware = warrenCommands(commandOptions);
  // grammY retries getMe on network errors for as long as it takes; close() cuts that short.
  const initAbort = new AbortController();
  let bot: Bot | undefined;
  let username: string | undefined;
  let starting: Promise<void> | undefined;
  let polling: Promise<void> | undefined;
  let closing: Promise<void> | undefined;

  const log = createLog({ debug, logger: o.logger });
  const logError = (what: string, error: unknown) => {
    log.error(`warren telegram: ${what}: ${(error as Error)?.message ?? String(error)}`, { err: error });
  };

  const boot = async (): Promise<void> => {
    const { Bot: BotClass, GrammyError } = await import('grammy');
    if (closing) throw closedError();
    const b = new BotClass(token, { client: { apiRoot } });
    b.use(middleware);
    // Without a handler of its own grammY stops polling at the first reply that fails to send.
    b.catch((err) => logError(`answering update ${err.ctx.update.update_id} failed`, err.error));
    bot = b;
    try {
      // grammY's Node types name the abort-controller shim's AbortSignal; Node's is the same thing.
      await b.init(initAbort.signal as Parameters<Bot['init']>[0]);
    } catch (error) {
      if (closing) throw closedError();
      if (error instanceof GrammyError && error.error_code === 401) {
        throw new WarrenError('ERR_UNAUTHORIZED', 'Telegram refused the bot token (401 Unauthorized)', { field: 'token', cause: error });
      }
      throw error;
    }
    username = b.botInfo.username;
    debug('started as @%s', username);
    await new Promise<void>((resolve, reject) => {
      let started = false;
      const onStart = () => {
        started = true;
        resolve();
      };
      // bot.start() settles only when polling ends: stopped (close), or a fatal error such
      // as 409 Conflict (another process polls with this token) or a revoked token.
      polling = b.start({ timeout: pollingTimeout, allowed_updates: ['message'], onStart }).then(
        () => {
          if (!started) reject(closedError());
        },
        (error: unknown) => {
          if (!started) reject(closing ? closedError() : error);
          else logError('long polling stopped', error);
        },
      );
    });
  };

  const close = (): Promise<void> =>
    (closing ??= (async () => {
      initAbort.abort();
      if (bot?.isRunning()) await bot.stop().catch((error: unknown) => debug('confirming the last updates failed: %O', error));
      await starting?.catch(() => {});
      await polling;
    })());

  return {
    start: () => (starting ??= closing ? Promise.reject(closedError()) : boot()),
    get username() {
      return username;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
