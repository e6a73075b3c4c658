import createDebug from 'debug';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { Channel, ChannelModel } from 'amqplib';
import type { Backoff } from '../../util/backoff.js';

const log = createDebug('warren:broker');

export interface ManagedChannelOptions {
  name: string;
  confirm: boolean;
  backoff: Backoff;
  /** Runs on every new channel (each reconnect and each recovery): declare, consume. */
  setup(channel: Channel): Promise<void>;
  onError(err: Error): void;
}

/**
 * An amqp-connection-manager ChannelWrapper that also recovers a channel the server
 * closed while the connection lives (a 406/404 channel error, a forced close). Version
 * 5 of the wrapper only re-opens channels after a full reconnect, so such a channel would
 * otherwise stay dead, its consumers silent, until the whole connection dropped.
 */
export class ManagedChannel {
  readonly wrapper: ChannelWrapper;
  #manager: AmqpConnectionManager;
  #options: ManagedChannelOptions;
  #current: Channel | undefined;
  #closedChannels = new WeakSet<Channel>();
  #closed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(manager: AmqpConnectionManager, options: ManagedChannelOptions) {
    this.#manager = manager;
    this.#options = options;
    this.wrapper = manager.createChannel({
      name: options.name,
      confirm: options.confirm,
      setup: (channel: Channel) => this.#setup(channel),
    });
    // An EventEmitter 'error' without a listener would throw and crash the host.
    this.wrapper.on('error', (err: Error) => {
      log('channel %s: %s', options.name, err.message);
      options.onError(err);
    });
    this.wrapper.on('connect', () => options.backoff.reset());
  }

  /** The open channel, if any. */
  get channel(): Channel | undefined {
    return this.#current;
  }

  /** False once `channel` has closed: an ack on it must be dropped, never re-sent elsewhere. */
  isOpen(channel: Channel): boolean {
    return !this.#closedChannels.has(channel) && !this.#closed;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.wrapper.close().catch((err: Error) => log('closing channel %s: %s', this.#options.name, err.message));
  }

  async #setup(channel: Channel): Promise<void> {
    this.#current = channel;
    channel.on('error', (err: Error) => {
      log('channel %s closed by the server: %s', this.#options.name, err.message);
      this.#options.onError(err);
    });
    channel.once('close', () => this.#onClose(channel));
    try {
      await this.#options.setup(channel);
    } catch (err) {
      // A setup that failed on a channel still open (another channel's declaration failed
      // under it, a consume refused) would leave it half set up and never retried: close it
      // so the recovery path reruns the whole setup with backoff.
      if (this.isOpen(channel)) await channel.close().catch(() => {});
      throw err;
    }
  }

  #onClose(channel: Channel): void {
    this.#closedChannels.add(channel);
    if (this.#current === channel) this.#current = undefined;
    if (this.#closed) return;
    this.#scheduleRecovery(channel);
  }

  #scheduleRecovery(closed: Channel): void {
    if (this.#timer || this.#closed) return;
    const delay = this.#options.backoff.next();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#recover(closed);
    }, delay);
    this.#timer.unref?.();
  }

  async #recover(closed: Channel): Promise<void> {
    if (this.#closed || this.#current) return;
    const model: ChannelModel | undefined = this.#manager.connection;
    // Only a channel lost on a connection that is still current: after a connection loss the
    // manager's reconnect re-opens the channel itself (doing it here too would open two).
    if (!model || model.connection !== closed.connection) return;
    const reopen = (this.wrapper as unknown as { _onConnect?: (arg: { connection: ChannelModel }) => Promise<void> })._onConnect;
    if (typeof reopen !== 'function') {
      log('channel %s: wrapper cannot reopen a channel; forcing a reconnect', this.#options.name);
      this.#manager.reconnect();
      return;
    }
    log('reopening channel %s', this.#options.name);
    await reopen.call(this.wrapper, { connection: model });
    const current = this.#current as Channel | undefined;
    if (!current && !this.#closed && this.#manager.connection === model) this.#scheduleRecovery(closed);
  }
}
