import type { Channel } from 'amqplib';
import { WarrenError, describeValue } from '../../errors.js';
import { assertScope, deadQueueName, delayPrefix } from '../../names.js';
import { delayTopology, type DelayQueueType, type DelayTopology } from '../delay-topology.js';

/**
 * Declares work queues and their scope's delay topology. A scope's topology (28 queues,
 * 30 exchanges, 57 bindings) is asserted once per connection, whichever channel gets there
 * first; every (re)connect declares it again, since the broker may have lost it.
 */
export class TopologyRegistry {
  #queueType: DelayQueueType;
  #defaultScope: string | undefined;
  #topologies = new Map<string, DelayTopology>();
  #asserted = new WeakMap<object, Map<string, { channel: Channel; done: Promise<void> }>>();

  constructor(queueType: DelayQueueType, defaultScope: string | undefined) {
    this.#queueType = queueType;
    this.#defaultScope = defaultScope;
  }

  /** The scope of a work queue: the part before `.jobs.` (or the transport's scope). */
  scopeOf(queue: string): string {
    const at = queue.indexOf('.jobs.');
    if (at > 0) return assertScope(queue.slice(0, at), 'queue', 'ERR_INVALID_ARGUMENT');
    if (this.#defaultScope !== undefined) return this.#defaultScope;
    throw new WarrenError(
      'ERR_INVALID_ARGUMENT',
      `Invalid \`queue\`: expected a work queue name "{scope}.jobs.{queue}" (or a transport \`scope\`), got ${describeValue(queue)}`,
      { field: 'queue' },
    );
  }

  topology(scope: string): DelayTopology {
    let topology = this.#topologies.get(scope);
    if (!topology) {
      topology = delayTopology({ prefix: delayPrefix(scope), queueType: this.#queueType });
      this.#topologies.set(scope, topology);
    }
    return topology;
  }

  /** Asserts the scope's delay topology unless this connection already has. */
  async ensureScope(channel: Channel, scope: string): Promise<void> {
    const key = channel.connection as object;
    let byScope = this.#asserted.get(key);
    if (!byScope) this.#asserted.set(key, (byScope = new Map()));
    const known = byScope.get(scope);
    if (known) {
      try {
        await known.done;
        return;
      } catch (err) {
        // The assertion ran on a channel that died under it: redo it on ours.
        if (known.channel === channel) throw err;
      }
    }
    const entry = { channel, done: this.topology(scope).assert(channel) };
    byScope.set(scope, entry);
    try {
      await entry.done;
    } catch (err) {
      if (byScope.get(scope) === entry) byScope.delete(scope);
      throw err;
    }
  }

  /**
   * Declares `{queue}.dead`, the work queue (rejected messages dead-letter to `.dead`), and
   * binds it to its scope's delivery exchange. The arguments never change: tunables such as
   * a delivery limit go in a policy, since a redeclaration with new arguments fails (406).
   */
  async declareWorkQueue(channel: Channel, queue: string): Promise<void> {
    const scope = this.scopeOf(queue);
    await this.ensureScope(channel, scope);
    const dead = deadQueueName(queue);
    await channel.assertQueue(dead, { durable: true, arguments: { 'x-queue-type': this.#queueType } });
    await channel.assertQueue(queue, {
      durable: true,
      arguments: { 'x-queue-type': this.#queueType, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dead },
    });
    await this.topology(scope).bindTarget(channel, queue);
  }
}
