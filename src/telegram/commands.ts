/**
 * `createTelegramCommands(options)`: the seed's `/job status|run|pause|resume` bot commands
 * (§7) as a function from an incoming message to a plain-text reply. No bot library: the
 * host passes each message's chat id and text and sends back what is returned.
 */
import createDebug from 'debug';
import { z } from 'zod';
import { isWarrenError } from '../errors.js';
import { parseWith } from '../http/validate.js';
import type { TelegramControl } from './control.js';
import { fitReply, formatTime, statusDetails, statusLine } from './format.js';

const debug = createDebug('warren:telegram');

const hasFunctions = (...names: string[]) => (value: unknown) =>
  typeof value === 'object' && value !== null && names.every((n) => typeof (value as Record<string, unknown>)[n] === 'function');

const chatId = z.union([z.number().int(), z.string().min(1)], { error: 'chat ids (numbers, or strings such as "@channel")' });

const optionsSchema = z
  .object({
    /** The control API: a `createScheduler()` instance (any role but `scheduler-only`). */
    control: z.custom<TelegramControl>(hasFunctions('list', 'get', 'pause', 'resume', 'runNow', 'runs'), 'a control API (a scheduler, with list/get/pause/resume/runNow/runs)'),
    /** The chats allowed to use the commands; every other chat is refused. */
    allowedChatIds: z.array(chatId, { error: 'a non-empty array of chat ids' }).min(1, 'a non-empty array of chat ids'),
    /**
     * The command word, without the slash.
     * @default 'job'
     */
    command: z.string({ error: 'a word of a-z, 0-9 or _' }).regex(/^[a-z0-9_]{1,32}$/, 'a word of a-z, 0-9 or _').default('job'),
    /**
     * The reply to a chat not in `allowedChatIds`; `null` answers nothing at all.
     * @default 'This chat is not allowed to control jobs.'
     */
    refusal: z.string({ error: 'a string or null' }).nullable().default('This chat is not allowed to control jobs.'),
    /**
     * Replies are cut (at a line) to this many characters; Telegram's limit is 4096.
     * @default 4000
     */
    maxReplyLength: z.number({ error: 'an integer in 200..4096' }).int('an integer in 200..4096').min(200, 'an integer in 200..4096').max(4096, 'an integer in 200..4096').default(4000),
    /** Receives unexpected errors besides `debug('warren:telegram')`. */
    logger: z.custom<{ error(message: string, fields?: Record<string, unknown>): void }>(hasFunctions('error'), 'a logger with error()').optional(),
  })
  .strict();

export type TelegramCommandsOptions = z.input<typeof optionsSchema>;

export interface TelegramMessage {
  /** The chat the message came from (`message.chat.id`). */
  chatId: number | string;
  /** The message text; anything that is not a command for this handler is answered `null`. */
  text: string | null | undefined;
  /** Who sent it (`message.from.username` or id), for the audit; defaults to the chat. */
  user?: number | string | null;
}

export interface TelegramCommands {
  /** The reply to send, or `null` when the message is not for this handler. Never throws. */
  handle(message: TelegramMessage): Promise<string | null>;
}

const HELP = (c: string) =>
  [
    'Job commands:',
    `/${c} status - every job: state, schedule, next and last run`,
    `/${c} status <id> - one job, with its recent runs`,
    `/${c} run <id> [json params] - run now, e.g. /${c} run buy-scanner {"scan_mode":"swing"}`,
    `/${c} pause <id> [note] - stop scheduling it`,
    `/${c} resume <id> - schedule it again`,
    `/${c} help - this text`,
  ].join('\n');

/** iOS and macOS keyboards turn quotes into curly ones: accept them in JSON params. */
const straightQuotes = (text: string): string => text.replace(/[\u201C\u201D\u201E\u201F\u2033]/g, '"').replace(/[\u2018\u2019\u201A\u201B\u2032]/g, "'");

export function createTelegramCommands(options: TelegramCommandsOptions): TelegramCommands {
  const o = parseWith(optionsSchema, options ?? {}, 'ERR_INVALID_OPTION', 'telegram option');
  const allowed = new Set(o.allowedChatIds.map(String));
  // `/job`, `/job@MyBot` (groups address commands to one bot), any case.
  const head = new RegExp(`^/${o.command}(?:@[A-Za-z0-9_]+)?(?=\\s|$)`, 'i');
  const control = o.control;

  const failure = (error: unknown, what: string): string => {
    if (isWarrenError(error)) {
      if (error.code === 'ERR_JOB_NOT_FOUND') return `No such job${typeof error.details?.jobId === 'string' ? ` "${error.details.jobId}"` : ''}. Try /${o.command} status for the list.`;
      if (error.code.startsWith('ERR_INVALID_')) return `Could not ${what}: ${error.message}`;
      if (error.code === 'ERR_CLOSED') return `Could not ${what}: the scheduler is shutting down; try again shortly.`;
    }
    debug('%s failed: %O', what, error);
    o.logger?.error(`warren telegram: ${what} failed: ${(error as Error)?.message ?? String(error)}`, { error });
    return `Could not ${what}: internal error (details are in the server log).`;
  };

  const run = async (id: string, rest: string, actor: string): Promise<string> => {
    let params: Record<string, unknown> | undefined;
    if (rest !== '') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(straightQuotes(rest));
      } catch (error) {
        return `Could not run ${id}: the params are not valid JSON (${(error as Error).message}). Example: /${o.command} run ${id} {"key":"value"}`;
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return `Could not run ${id}: the params must be a JSON object, like {"key":"value"}.`;
      params = parsed as Record<string, unknown>;
    }
    const record = await control.runNow(id, params === undefined ? { actor } : { params, actor });
    const when = new Date(record.availableAt).getTime() > Date.now() + 1000 ? `, not before ${formatTime(record.availableAt)}` : '';
    return `Run of ${id} requested (run ${record.runId}${when}).`;
  };

  const dispatch = async (words: string[], rest: (n: number) => string, actor: string): Promise<string> => {
    const [sub, id] = words;
    const verb = (sub ?? 'help').toLowerCase();
    if (verb === 'help') return HELP(o.command);
    if (verb === 'status' && id === undefined) {
      const jobs = await control.list();
      if (jobs.length === 0) return 'No jobs.';
      return [`Jobs (${jobs.length}):`, ...jobs.map(statusLine)].join('\n');
    }
    if (!['status', 'run', 'pause', 'resume'].includes(verb)) return `Unknown command "${sub}".\n${HELP(o.command)}`;
    if (id === undefined) return `Which job? Usage: /${o.command} ${verb} <id>`;
    switch (verb) {
      case 'status': {
        const job = await control.get(id);
        return statusDetails(job, await control.runs(id, { limit: 5 }));
      }
      case 'run':
        return run(id, rest(2), actor);
      case 'pause': {
        const note = rest(2);
        const job = await control.pause(id, { note: note === '' ? null : note, actor });
        return `Paused ${job.id}${job.pauseNote ? ` (note: ${job.pauseNote})` : ''}. Resume with /${o.command} resume ${job.id}`;
      }
      default: {
        const job = await control.resume(id, { actor });
        return `Resumed ${job.id}; next run ${job.nextDueAt ? formatTime(job.nextDueAt) : 'on demand only'}.`;
      }
    }
  };

  return {
    async handle(message) {
      const text = typeof message?.text === 'string' ? message.text.trim() : '';
      const match = head.exec(text);
      if (match === null) return null;
      if (!allowed.has(String(message.chatId))) {
        debug('refused /%s from chat %s', o.command, String(message.chatId));
        return o.refusal;
      }
      const body = text.slice(match[0].length).trim();
      const words = body === '' ? [] : body.split(/\s+/);
      // The text after the first n words, spacing kept (notes and JSON params may hold spaces).
      const rest = (n: number): string => {
        let remaining = body;
        for (let i = 0; i < n; i++) remaining = remaining.replace(/^\S+\s*/, '');
        return remaining.trim();
      };
      const who = message.user === undefined || message.user === null || message.user === '' ? message.chatId : message.user;
      const actor = `telegram:${String(who)}`;
      const verb = (words[0] ?? 'help').toLowerCase();
      const what = verb === 'status' ? `get the status${words[1] ? ` of ${words[1]}` : ''}` : `${verb}${words[1] ? ` ${words[1]}` : ''}`;
      try {
        return fitReply(await dispatch(words, rest, actor), o.maxReplyLength);
      } catch (error) {
        return fitReply(failure(error, what), o.maxReplyLength);
      }
    },
  };
}
