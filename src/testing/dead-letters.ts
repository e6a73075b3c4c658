import type { Clock } from '../clock.js';
import { decodeMessage } from '../broker/envelope.js';
import { MemoryTransport } from '../broker/memory-transport.js';
import type { Transport } from '../broker/transport.js';
import { deadQueueName } from '../names.js';
import type { DeadLetter } from './types.js';

/**
 * The harness's view of the dead-letter queues. The in-memory broker holds every dead
 * letter, including those its "dead-letter exchange" routed itself (a rejected
 * delivery), so it is read directly; with another broker, the `deadLetter` calls the
 * processes made are recorded on their way through.
 */
export class DeadLetterLog {
  readonly #transport: Transport;
  readonly #clock: Clock;
  readonly #seen: DeadLetter[] = [];

  constructor(transport: Transport, clock: Clock) {
    this.#transport = transport;
    this.#clock = clock;
  }

  /** The transport the processes get: the same one, with `deadLetter` calls recorded. */
  observe(base: Transport): Transport {
    return new Proxy(base, {
      get: (target, prop, receiver) => {
        if (prop === 'deadLetter') {
          return async (queue: string, body: Buffer, reason: string, headers: Record<string, unknown> = {}, messageId?: string) => {
            await target.deadLetter(queue, body, reason, headers, messageId);
            this.#seen.push(this.#toDeadLetter(deadQueueName(queue), body, reason, headers));
          };
        }
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  /** Dead letters of the given work queues (or of one job), oldest first. */
  list(workQueues: readonly string[], jobId?: string): DeadLetter[] {
    const transport = this.#transport;
    const all =
      transport instanceof MemoryTransport
        ? [...new Set(workQueues)].flatMap((queue) =>
            transport
              .deadLetters(queue)
              .map((m) =>
                this.#toDeadLetter(
                  deadQueueName(queue),
                  m.body,
                  String(m.headers['x-warren-reason'] ?? m.headers['x-first-death-reason'] ?? ''),
                  m.headers,
                ),
              ),
          )
        : this.#seen;
    return all.filter((d) => jobId === undefined || d.jobId === jobId).sort((a, b) => a.at.getTime() - b.at.getTime());
  }

  #toDeadLetter(queue: string, body: Buffer, reason: string, headers: Record<string, unknown>): DeadLetter {
    const decoded = decodeMessage(body);
    const header = headers['x-warren-job'];
    const failedAt = typeof headers['x-warren-failed-at'] === 'string' ? Date.parse(headers['x-warren-failed-at']) : NaN;
    return {
      queue,
      jobId: decoded.ok ? decoded.message.job_id : typeof header === 'string' ? header : null,
      runId: decoded.ok ? decoded.message.run_id : null,
      reason,
      at: new Date(Number.isFinite(failedAt) ? failedAt : this.#clock.now()),
      headers,
      body,
    };
  }
}
