/**
 * `createTelegramCommands(options)`: the `/job status|run|pause|resume|runs` bot commands
 * as a function from an incoming message to a plain-text reply. No bot library: the host
 * passes each message's chat id and text and sends back what is returned (the grammY
 * middleware in grammy.ts is one such host).
 */
import createDebug from 'debug';
import { isWarrenError } from '../errors.js';
import { parseOptions } from '../util/options.js';
import { fitReply, formatTime, runLine, statusDetails, statusLine } from './format.js';
import { commandsOptionsSchema, type TelegramCommandsOptions } from './options.js';
import { parseRunParams } from './params.js';
import { createLog } from '../util/logger.js';

const debug = createDebug('warren:telegram');

export type { TelegramCommandsOptions } from './options.js';

export interface TelegramMessage {
  /** The chat the message came from (`message.chat.id`). */
  chatId: number | string;
  /** The message text; anything that is not a command for this handler is answered `null`. */
  text: string | null | undefined;
  /** Who sent it (`message.from.username` or id), for the audit; defaults to the chat. */
  user?: number | string | null;
  /**
   * This bot's username. With it, `/job@OtherBot …` (a group command addressed to another
   * bot) is answered `null`; without it any `/job@Name` is taken.
   */
  botUsername?: string | null;
}

export interface TelegramCommands {
  /** The reply to send, or `null` when the message is not for this handler. Never throws. */
  handle(message: TelegramMessage): Promise<string | null>;
}

const RUNS_SHOWN = 10;
const VERBS = ['status', 'run', 'pause', 'resume', 'runs'];

const HELP = (c: string) =>
  [
    'Job commands:',
    `/${c} status - every job: state, schedule, next and last run`,
    `/${c} status <id> - one job, with its recent runs`,
    `/${c} run <id> [params] - run now; params as JSON or key=value, e.g. /${c} run buy-scanner scan_mode=swing`,
    `/${c} pause <id> [note] - stop scheduling it`,
    `/${c} resume <id> - schedule it again`,
    `/${c} runs <id> - its last ${RUNS_SHOWN} runs`,
    `/${c} help - this text`,
  ].join('\n');

export function createTelegramCommands(options: TelegramCommandsOptions): TelegramCommands {
  const o = parseOptions(commandsOptionsSchema, options ?? {}, { label: 'telegram option' });
  const allowed = new Set(o.allowedChatIds.map(String));
  // `/job`, `/job@MyBot` (groups address commands to one bot), any case.
  const head = new RegExp(`^/${o.command}(?:@([A-Za-z0-9_]+))?(?=\\s|$)`, 'i');
  const control = o.control;
  const tz = o.timezone;
  const log = createLog({ debug, logger: o.logger });

  const failure = (error: unknown, what: string): string => {
    if (isWarrenError(error)) {
      if (error.code === 'ERR_JOB_NOT_FOUND')
        return `No such job${typeof error.details?.jobId === 'string' ? ` "${error.details.jobId}"` : ''}. Try /${o.command} status for the list.`;
      if (error.code.startsWith('ERR_INVALID_')) return `Could not ${what}: ${error.message}`;
      if (error.code === 'ERR_CLOSED') return `Could not ${what}: the scheduler is shutting down; try again shortly.`;
    }
    log.error(`warren telegram: ${what} failed: ${(error as Error)?.message ?? String(error)}`, { err: error });
    return `Could not ${what}: internal error (details are in the server log).`;
  };

  const run = async (id: string, rest: string, actor: string): Promise<string> => {
    const parsed = parseRunParams(rest);
    if (!parsed.ok) return `Could not run ${id}: ${parsed.problem}.`;
    const { params } = parsed;
    const record = await control.runNow(id, params === undefined ? { actor } : { params, actor });
    const when = new Date(record.availableAt).getTime() > Date.now() + 1000 ? `, not before ${formatTime(record.availableAt, tz)}` : '';
    return `Run of ${id} requested (run ${record.runId}${when}).`;
  };

  const dispatch = async (words: string[], rest: (n: number) => string, actor: string): Promise<string> => {
    const [sub, id] = words;
    const verb = (sub ?? 'help').toLowerCase();
    if (verb === 'help') return HELP(o.command);
    if (verb === 'status' && id === undefined) {
      const jobs = await control.list();
      if (jobs.length === 0) return 'No jobs.';
      return [`Jobs (${jobs.length}):`, ...jobs.map((job) => statusLine(job, tz))].join('\n');
    }
    if (!VERBS.includes(verb)) return `Unknown command "${sub}".\n${HELP(o.command)}`;
    if (id === undefined) return `Which job? Usage: /${o.command} ${verb} <id>`;
    switch (verb) {
      case 'status': {
        const job = await control.get(id);
        return statusDetails(job, await control.runs(id, { limit: 5 }), tz);
      }
      case 'runs': {
        const runs = await control.runs(id, { limit: RUNS_SHOWN });
        return runs.length === 0
          ? `${id} has no runs yet.`
          : [`Last runs of ${id} (newest first):`, ...runs.map((r) => runLine(r, tz))].join('\n');
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
        return `Resumed ${job.id}; next run ${job.nextDueAt ? formatTime(job.nextDueAt, tz) : 'on demand only'}.`;
      }
    }
  };

  return {
    async handle(message) {
      const text = typeof message?.text === 'string' ? message.text.trim() : '';
      const match = head.exec(text);
      if (match === null) return null;
      const addressee = match[1];
      const me = message.botUsername;
      // Telegram usernames are case-insensitive.
      if (addressee !== undefined && typeof me === 'string' && me !== '' && addressee.toLowerCase() !== me.toLowerCase()) return null;
      if (!allowed.has(String(message.chatId))) {
        const fields = { chatId: message.chatId, user: message.user ?? null, text: text.slice(0, 200) };
        log.warn(`warren telegram: refused /${o.command} from chat ${String(message.chatId)} (not in allowedChatIds)`, fields);
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
      const of = words[1] ? ` of ${words[1]}` : '';
      const what =
        verb === 'status' ? `get the status${of}` : verb === 'runs' ? `list the runs${of}` : `${verb}${words[1] ? ` ${words[1]}` : ''}`;
      try {
        return fitReply(await dispatch(words, rest, actor), o.maxReplyLength);
      } catch (error) {
        return fitReply(failure(error, what), o.maxReplyLength);
      }
    },
  };
}
