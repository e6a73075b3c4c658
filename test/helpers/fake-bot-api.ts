/**
 * A fake Telegram Bot API server on loopback (node:http) for grammY's `client.apiRoot`:
 * `getMe`, `deleteWebhook`, `getUpdates` with real long polling (the request is held until
 * an update is queued or its `timeout` passes; an offset confirms, and forgets, the
 * updates below it, as Telegram does) and `sendMessage` (recorded). Anything else is
 * answered 404 and recorded, so a test sees what it did not expect.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeChat {
  id: number;
  type: 'private' | 'group' | 'supergroup';
}

export interface FakeUser {
  id: number;
  username?: string;
}

export interface ApiCall {
  method: string;
  body: Record<string, unknown>;
}

export interface SentMessage {
  chatId: number;
  text: string;
  /** The message it answers (`reply_parameters.message_id`), if any. */
  replyTo: number | undefined;
  body: Record<string, unknown>;
}

export interface FakeBotApi {
  readonly apiRoot: string;
  readonly token: string;
  readonly username: string;
  /** Every call, in arrival order. */
  readonly calls: ApiCall[];
  readonly sent: SentMessage[];
  /** `getUpdates` requests being held open right now. */
  readonly polling: number;
  /** Updates queued and not yet confirmed by an offset. */
  readonly unconfirmed: number;
  /** How many `getUpdates` calls arrived so far. */
  readonly getUpdatesCalls: number;
  /** Queues a text message from `from` in `chat`; returns its `message_id`. */
  message(chat: FakeChat, text: string, from?: FakeUser): number;
  /** `sendMessage` to this chat fails with a Bot API error until cleared (`null`). */
  failSendTo(chatId: number | null): void;
  /** Answers the held and the next `getUpdates` 409 Conflict, as Telegram does when a second process polls. */
  conflict(): void;
  close(): Promise<void>;
}

interface Waiter {
  offset: number;
  limit: number;
  respond(updates: unknown[]): void;
  refuse(status: number, body: unknown): void;
}

const CONFLICT = {
  ok: false,
  error_code: 409,
  description: 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
};

export async function startFakeBotApi({ token = '123456:TEST-fake-token', username = 'WarrenTestBot' } = {}): Promise<FakeBotApi> {
  const botUser = {
    id: Number(token.split(':')[0]),
    is_bot: true,
    first_name: 'Warren',
    username,
    can_join_groups: true,
    can_read_all_group_messages: false,
    supports_inline_queries: false,
  };
  const calls: ApiCall[] = [];
  const sent: SentMessage[] = [];
  let queue: Array<{ update_id: number; message: Record<string, unknown> }> = [];
  let waiters: Waiter[] = [];
  let nextUpdateId = 1;
  let nextMessageId = 1;
  let getUpdatesCalls = 0;
  let failingChat: number | null = null;
  let conflict = false;

  const ok = (res: http.ServerResponse, result: unknown) => reply(res, 200, { ok: true, result });
  const reply = (res: http.ServerResponse, status: number, body: unknown) => {
    if (res.writableEnded || res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  // Telegram forgets an update once a getUpdates arrives with a higher offset.
  const pending = (offset: number, limit: number) => {
    queue = queue.filter((u) => u.update_id >= offset);
    return queue.slice(0, limit);
  };

  const wake = () => {
    const ready = waiters;
    waiters = [];
    for (const w of ready) {
      const updates = pending(w.offset, w.limit);
      if (updates.length > 0) w.respond(updates);
      else waiters.push(w);
    }
  };

  const getUpdates = (body: Record<string, unknown>, res: http.ServerResponse) => {
    getUpdatesCalls++;
    if (conflict) {
      conflict = false;
      return reply(res, 409, CONFLICT);
    }
    const offset = typeof body.offset === 'number' ? body.offset : 0;
    const limit = typeof body.limit === 'number' ? body.limit : 100;
    const timeout = typeof body.timeout === 'number' ? body.timeout : 0;
    const updates = pending(offset, limit);
    if (updates.length > 0 || timeout <= 0) return ok(res, updates);
    const settle = (send: () => void) => {
      clearTimeout(timer);
      waiters = waiters.filter((w) => w !== waiter);
      send();
    };
    const waiter: Waiter = {
      offset,
      limit,
      respond: (result) => settle(() => ok(res, result)),
      refuse: (status, body) => settle(() => reply(res, status, body)),
    };
    const timer = setTimeout(() => waiter.respond([]), timeout * 1000);
    // A client that gives up (grammY aborts its poll on stop) takes nothing with it.
    res.on('close', () => {
      clearTimeout(timer);
      waiters = waiters.filter((w) => w !== waiter);
    });
    waiters.push(waiter);
  };

  const sendMessage = (body: Record<string, unknown>, res: http.ServerResponse) => {
    const chatId = Number(body.chat_id);
    if (failingChat !== null && chatId === failingChat)
      return reply(res, 400, { ok: false, error_code: 400, description: 'Bad Request: chat not found' });
    const params = body.reply_parameters as { message_id?: number } | undefined;
    sent.push({ chatId, text: String(body.text), replyTo: params?.message_id, body });
    ok(res, {
      message_id: nextMessageId++,
      date: Math.floor(Date.now() / 1000),
      chat: { id: chatId, type: chatId < 0 ? 'group' : 'private' },
      from: botUser,
      text: body.text,
    });
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(req.url ?? '');
      const raw = Buffer.concat(chunks).toString('utf8');
      const body = (raw === '' ? {} : JSON.parse(raw)) as Record<string, unknown>;
      const method = match?.[2] ?? '(bad path)';
      calls.push({ method, body });
      if (match === null) return reply(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
      if (match[1] !== token) return reply(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
      switch (method) {
        case 'getMe':
          return ok(res, botUser);
        case 'deleteWebhook':
          return ok(res, true);
        case 'getUpdates':
          return getUpdates(body, res);
        case 'sendMessage':
          return sendMessage(body, res);
        default:
          return reply(res, 404, { ok: false, error_code: 404, description: 'Not Found: method not found' });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    apiRoot: `http://127.0.0.1:${port}`,
    token,
    username,
    calls,
    sent,
    get polling() {
      return waiters.length;
    },
    get unconfirmed() {
      return queue.length;
    },
    get getUpdatesCalls() {
      return getUpdatesCalls;
    },
    message(chat, text, from = { id: chat.id > 0 ? chat.id : 1001, username: 'alice' }) {
      const messageId = nextMessageId++;
      const command = /^\/\S+/.exec(text)?.[0];
      queue.push({
        update_id: nextUpdateId++,
        message: {
          message_id: messageId,
          date: Math.floor(Date.now() / 1000),
          chat:
            chat.type === 'private'
              ? { id: chat.id, type: 'private', first_name: 'Ops' }
              : { id: chat.id, type: chat.type, title: 'Ops group' },
          from: { id: from.id, is_bot: false, first_name: 'Someone', ...(from.username ? { username: from.username } : {}) },
          text,
          ...(command ? { entities: [{ type: 'bot_command', offset: 0, length: command.length }] } : {}),
        },
      });
      wake();
      return messageId;
    },
    failSendTo(chatId) {
      failingChat = chatId;
    },
    conflict() {
      if (waiters.length === 0) conflict = true;
      for (const w of [...waiters]) w.refuse(409, CONFLICT);
    },
    async close() {
      for (const w of [...waiters]) w.respond([]);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
