/**
 * The seed's Telegram bot: `/job status`, `/job run <id>`, `/job pause <id>`, `/job resume <id>`.
 * It steers the scheduler through its REST API (warren/http's admin client) and holds no
 * database or broker credentials.
 *
 *   SCHEDULER_URL=http://127.0.0.1:9095 WARREN_ADMIN_TOKEN=… TELEGRAM_BOT_TOKEN=… \
 *   TELEGRAM_CHAT_IDS=123456789 npx tsx examples/fleet/telegram-bot.ts --scope mock
 */
import { createAdminClient } from 'warren/http';
import { createTelegramBot } from 'warren/telegram';
import { ConfigError, adminToken, basePort, required } from './lib/config.js';
import { runService } from './lib/service.js';

/** `TELEGRAM_CHAT_IDS=123,-100456`: the chats allowed to steer jobs; every other chat is refused. */
function chatIds(env: NodeJS.ProcessEnv): number[] {
  const text = required(
    env,
    'TELEGRAM_CHAT_IDS',
    'the chat ids allowed to use the bot, comma-separated (message the bot, then read chat.id from getUpdates)',
  );
  const ids = text.split(',').map((s) => s.trim());
  const bad = ids.find((id) => !/^-?\d+$/.test(id));
  if (bad !== undefined)
    throw new ConfigError(`TELEGRAM_CHAT_IDS: expected numeric chat ids, comma-separated, got ${JSON.stringify(bad)}.`);
  return ids.map(Number);
}

await runService({
  name: 'telegram-bot',
  portOffset: 0,
  async start({ profile, log, env }) {
    if (env.DATABASE_URL) log.warn('DATABASE_URL is set but unused: the bot only talks to the scheduler API');
    const url = env.SCHEDULER_URL ?? `http://127.0.0.1:${basePort(profile, env)}`;
    const bot = createTelegramBot({
      token: required(env, 'TELEGRAM_BOT_TOKEN', 'the token @BotFather gave your bot'),
      // A local Bot API server (or a test's fake one); Telegram's by default.
      ...(env.TELEGRAM_API_ROOT ? { apiRoot: env.TELEGRAM_API_ROOT } : {}),
      control: createAdminClient({ url, token: adminToken(env) }),
      allowedChatIds: chatIds(env),
      timezone: 'Asia/Seoul',
      logger: log,
    });
    let closing = false;
    // Telegram unreachable is retried by grammY; a refused token ends the service.
    bot.start().then(
      () => log.info({ bot: `@${bot.username}`, scheduler: url }, 'polling Telegram'),
      (error: unknown) => {
        if (closing) return;
        log.error({ err: error }, 'the bot cannot start');
        process.exit(1);
      },
    );
    return {
      close() {
        closing = true;
        return bot.close();
      },
    };
  },
});
