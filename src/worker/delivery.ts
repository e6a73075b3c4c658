import { decodeMessage, notBeforeOf, type JobMessage } from '../broker/envelope.js';
import type { Delivery } from '../broker/transport.js';
import type { ClaimResult } from '../store/port.js';
import { retryUntil, type WorkerCore } from './core.js';
import type { Registration } from './handlers.js';
import { loseLease } from './lease.js';
import { clip, deadLetterReason, errorText } from './dead-letter.js';
import { workerDebug } from './job-logger.js';
import { startRun } from './finish-run.js';

/**
 * The per-message state machine (docs/worker.md):
 *
 *   received ─ decode/scope check fails, or no handler (job definition or queue handler) ─► dead-letter ─► ack
 *      │
 *   sent before its instant (header x-warren-not-before)? wait for it (unacked meanwhile)
 *      │
 *   take a window place (prefetch; unacked meanwhile) ─► claim (batched; retried while the store is down)
 *      ├ claimed ─► ack ─► take a handler slot (concurrency) ─► run ─► record result (batched, in the background)
 *      ├ not_found ────────────────────────► dead-letter ─► ack
 *      ├ duplicate/stale_epoch/expired/skipped ─► ack (dropped, counted)
 *      └ busy (1 s) / early (remaining delay) ─► republish delayed ─► ack
 *
 * Anything that cannot finish (broker down, closing) leaves the delivery unacked: the
 * broker requeues it when the channel goes, so nothing is lost and nothing hot-loops.
 */
/** The longest a delivery waits for its not-before instant (the leader claims at most 4 × `lookAhead` ahead). */
export const MAX_HOLD_MS = 5 * 60_000;

export function onDelivery(core: WorkerCore, delivery: Delivery): void {
  core.count('received');
  // Not awaited: the transport may serialise deliveries on its handler, and claims must batch.
  processDelivery(core, delivery).catch((err: unknown) => {
    workerDebug('delivery on %s failed: %O', delivery.queue, err);
    core.events.emit('error', err instanceof Error ? err : new Error(errorText(err)));
  });
}

async function processDelivery(core: WorkerCore, delivery: Delivery): Promise<void> {
  const decoded = decodeMessage(delivery.body);
  if (!decoded.ok) return deadLetterAndAck(core, delivery, deadLetterReason.malformed(decoded.reason));
  const message = decoded.message;
  const expectedScope = core.handlers.scopeOf(delivery.queue);
  if (expectedScope !== undefined && message.scope !== expectedScope) {
    return deadLetterAndAck(core, delivery, deadLetterReason.wrongScope(message.scope, expectedScope));
  }
  const registration = core.handlers.find(message.job_id, delivery.queue);
  if (!registration) return deadLetterAndAck(core, delivery, deadLetterReason.unknownJob(message.job_id, delivery.queue));
  if (registration.scope !== message.scope) {
    return deadLetterAndAck(core, delivery, deadLetterReason.wrongScope(message.scope, registration.scope));
  }
  if (isLocalDuplicate(core, message)) return dropDuplicate(core, delivery, message);

  // A slot the leader claimed ahead arrives before its instant. It waits here until just
  // before it (the time a claim takes, measured), is claimed to start at the instant, and
  // starts then, not before. Beyond MAX_HOLD_MS (a clock far off) it is not held: the claim
  // decides, and an early run is re-sent through the delay topology.
  const notBefore = notBeforeOf(delivery.headers);
  let startAt: Date | undefined;
  const wait = notBefore === null ? 0 : notBefore - core.clock.now();
  if (notBefore !== null && wait > 0 && wait <= MAX_HOLD_MS) {
    core.count('held');
    startAt = new Date(notBefore);
    if (!(await core.book.untilInstant(notBefore, core.claimLeadMs()))) return; // closing: stays unacked, the broker requeues it
  }

  // The window (prefetch) bounds the runs held; the handler slot is taken only after the
  // claim, so claims of many deliveries batch while handlers run.
  let release = core.book.tryEnterWindow(delivery.queue);
  if (release === null) {
    try {
      release = await core.book.enterWindow(delivery.queue);
    } catch {
      return; // closing: stays unacked, the broker requeues it
    }
  }
  // Backpressure: while too many results wait to be written, claim no more.
  if (core.completions.size >= core.completionBacklog) await core.completions.room(core.completionBacklog);
  if (isLocalDuplicate(core, message)) {
    release();
    return dropDuplicate(core, delivery, message);
  }
  let result: ClaimResult;
  core.book.beginClaim(message.run_id, message.attempt);
  try {
    result = await core.claims.submit({ runId: message.run_id, attempt: message.attempt, ...(startAt === undefined ? {} : { startAt }) });
  } catch (err) {
    release();
    workerDebug('claim of %s abandoned (%s); left unacked', message.run_id, errorText(err));
    return;
  } finally {
    core.book.endClaim(message.run_id, message.attempt);
  }
  if (result.outcome === 'claimed') {
    delivery.ack();
    core.track(startRun(core, registration, delivery, result, release, startAt?.getTime()));
    return;
  }
  release();
  await onNotClaimed(core, delivery, message, registration, result);
}

async function onNotClaimed(
  core: WorkerCore,
  delivery: Delivery,
  message: JobMessage,
  registration: Registration,
  result: ClaimResult,
): Promise<void> {
  switch (result.outcome) {
    case 'not_found':
      return deadLetterAndAck(core, delivery, deadLetterReason.unknownRun(message.run_id));
    case 'duplicate':
    case 'stale_epoch':
    case 'expired':
    case 'skipped': {
      const counter = ({ duplicate: 'duplicates', stale_epoch: 'staleEpoch', expired: 'expired', skipped: 'skipped' } as const)[
        result.outcome
      ];
      core.count(counter);
      delivery.ack();
      core.events.emit('message:dropped', { queue: delivery.queue, runId: message.run_id, outcome: result.outcome });
      workerDebug('dropped %s (%s) on %s', message.run_id, result.outcome, delivery.queue);
      return;
    }
    case 'busy':
      // The job is at maxParallel and its policy buffers: look again in a second.
      core.count('busy');
      return republishAndAck(core, delivery, message, 1);
    case 'early': {
      core.count('early');
      const availableAt = result.run?.availableAt.getTime() ?? core.clock.now() + 1000;
      const delaySec = Math.max(1, Math.ceil((availableAt - core.clock.now()) / 1000));
      return republishAndAck(core, delivery, message, delaySec);
    }
    default:
      workerDebug('unexpected claim outcome %s for %s (%s)', String(result.outcome), message.run_id, registration.label);
  }
}

/**
 * The same attempt already held or being claimed here: a duplicate. A newer attempt means
 * the store moved the run on (the leader's reaper retried it after this worker's lease
 * lapsed, e.g. during a database hiccup): the local execution has lost its lease, so it is
 * stopped and the new attempt goes to the claim, which decides.
 */
function isLocalDuplicate(core: WorkerCore, message: JobMessage): boolean {
  if (core.book.isClaiming(message.run_id, message.attempt)) return true;
  const entry = core.book.get(message.run_id);
  if (!entry) return false;
  if (message.attempt <= entry.run.attempt) return true;
  loseLease(core, entry, `attempt ${message.attempt} of the run was delivered`);
  return false;
}

function dropDuplicate(core: WorkerCore, delivery: Delivery, message: JobMessage): void {
  core.count('duplicates');
  delivery.ack();
  core.events.emit('message:dropped', { queue: delivery.queue, runId: message.run_id, outcome: 'duplicate' });
}

async function republishAndAck(core: WorkerCore, delivery: Delivery, message: JobMessage, delaySec: number): Promise<void> {
  const done = await retryUntil(
    `republish ${message.run_id}`,
    async () => {
      // Headers built from scratch: a copied x-death makes RabbitMQ drop it as a cycle.
      await core.transport.publish(delivery.queue, delivery.body, {
        messageId: delivery.messageId ?? message.run_id,
        headers: { 'x-warren-job': message.job_id, 'x-warren-attempt': message.attempt },
        delaySec,
      });
      return true;
    },
    { clock: core.clock, signal: core.closing },
  );
  if (done) delivery.ack();
}

export async function deadLetterAndAck(core: WorkerCore, delivery: Delivery, reason: string): Promise<void> {
  const text = clip(reason);
  const done = await retryUntil(
    `dead-letter on ${delivery.queue}`,
    async () => {
      // Transport.deadLetter does not carry the AMQP messageId over; a header keeps it.
      await core.transport.deadLetter(
        delivery.queue,
        delivery.body,
        text,
        delivery.messageId !== undefined ? { 'x-warren-message-id': delivery.messageId } : {},
        delivery.messageId,
      );
      return true;
    },
    { clock: core.clock, signal: core.closing },
  );
  if (!done) return;
  delivery.ack();
  core.count('deadLettered');
  core.events.emit('message:dead-lettered', { queue: delivery.queue, reason: text, messageId: delivery.messageId });
  workerDebug('dead-lettered a message on %s: %s', delivery.queue, text);
}
