// docs/adapters.md "Running the bot", type-checked with the project
// (test/adapters/telegram-docs-sync.test.ts keeps the doc's copy identical). Run it with:
// DATABASE_URL=… TELEGRAM_BOT_TOKEN=… OPS_CHAT_ID=… npx tsx examples/telegram-bot.ts
import pg from 'pg';
import { createScheduler } from 'warren';
import { createTelegramBot } from 'warren/telegram';

// --- docs ---
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
// This service never leads: it only steers the jobs the other services run.
const scheduler = createScheduler({ pool, scope: 'real', role: 'control-only' });
await scheduler.start();

const bot = createTelegramBot({
  token: process.env.TELEGRAM_BOT_TOKEN!,
  control: scheduler,
  allowedChatIds: [Number(process.env.OPS_CHAT_ID)],
  timezone: 'Asia/Seoul',
  logger: console,
});
await bot.start(); // resolves once it long-polls; rejects on a token Telegram refuses
console.log(`@${bot.username} is answering /job`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    await bot.close(); // stops polling, confirms the updates it handled
    await scheduler.close();
    await pool.end();
  });
}
// --- /docs ---
