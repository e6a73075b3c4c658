import type { Clock, Timer } from '../clock.js';
import type { Consumer, Delivery, DeliveryHandler, Transport } from '../broker/transport.js';
import type { LivenessHandle, Store } from '../store/port.js';
import type { Activity } from './activity.js';

/** A promise that never settles: what a dead process's pending calls turn into. */
function never<T>(): Promise<T> {
  return new Promise<T>(() => {});
}

/**
 * One simulated process (a scheduler or a worker instance). The component under test
 * gets this sandbox's views of the shared clock, store and transport instead of the
 * originals, so the harness can kill the process the way a crash does, without any hook
 * in the component: its timers never fire again, its pending store calls and publishes
 * never answer, its handlers' results are dropped, its consumers are cancelled and the
 * deliveries it had not acked are requeued (what RabbitMQ does when a channel closes).
 * What the process already wrote stays written; its run leases are left to expire, and its
 * liveness locks are released (the server closes a dead process's sessions).
 */
export class ProcessSandbox {
  readonly name: string;
  readonly clock: Clock;
  readonly store: Store;
  readonly transport: Transport;
  #dead = false;
  readonly #death = new AbortController();
  #timers = new Set<Timer>();
  #consumers = new Set<Consumer>();
  /** Deliveries handed to the process and not yet acked, to their originals. */
  #unacked = new Map<Delivery, Delivery>();
  #listeners: Array<{ event: string; listener: (...args: never[]) => void }> = [];
  #unsubscribes = new Set<() => Promise<void>>();
  /** Liveness locks the process holds: its dedicated connections, closed by its death. */
  #liveness = new Set<LivenessHandle>();

  constructor(name: string, base: { clock: Clock; store: Store; transport: Transport }, activity: Activity) {
    this.name = name;
    this.clock = this.#clockView(base.clock, activity);
    this.store = this.#storeView(base.store, activity);
    this.transport = this.#transportView(base.transport, activity);
  }

  get dead(): boolean {
    return this.#dead;
  }

  /**
   * Aborted when the process is killed. The harness links each handler's signal to it, so
   * handler code awaiting signal-aware work stops as it would with the process gone
   * (JavaScript cannot be halted from outside; code ignoring its signal runs on, unseen).
   */
  get deathSignal(): AbortSignal {
    return this.#death.signal;
  }

  /** Crash: everything this process had in motion stops here. */
  async kill(): Promise<void> {
    if (this.#dead) return;
    this.#dead = true;
    this.#death.abort(new Error(`${this.name} crashed (simulated)`));
    for (const timer of this.#timers) timer.cancel();
    this.#timers.clear();
    const consumers = [...this.#consumers];
    this.#consumers.clear();
    await Promise.all(consumers.map((c) => c.cancel().catch(() => {})));
    // The broker requeues what a closed channel had not acked.
    for (const original of this.#unacked.values()) {
      try {
        original.nack(true);
      } catch {
        // the delivery's channel is gone already: the broker requeued it itself
      }
    }
    this.#unacked.clear();
    await Promise.all([...this.#unsubscribes].map((u) => u().catch(() => {})));
    this.#unsubscribes.clear();
    const locks = [...this.#liveness];
    this.#liveness.clear();
    await Promise.all(locks.map((handle) => handle.close().catch(() => {})));
  }

  /** Detaches the event listeners the process registered on the shared transport. */
  detach(base: Transport): void {
    for (const { event, listener } of this.#listeners) base.off(event as never, listener as never);
    this.#listeners = [];
  }

  /** Drops a result the dead process would never have seen. */
  guard<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      promise.then(
        (value) => {
          if (!this.#dead) resolve(value);
        },
        (error) => {
          if (!this.#dead) reject(error);
        },
      );
    });
  }

  /** A call of the process into a shared backend: counted as in flight, its answer dropped if the process died meanwhile. */
  #call<T>(activity: Activity, start: () => T): T {
    if (this.#dead) return never() as T;
    const result = start();
    if (!(result instanceof Promise)) return result;
    activity.begin();
    return new Promise((resolve, reject) => {
      result.then(
        (value) => {
          activity.end();
          if (!this.#dead) resolve(value);
        },
        (error) => {
          activity.end();
          if (!this.#dead) reject(error);
        },
      );
    }) as T;
  }

  #clockView(base: Clock, activity: Activity): Clock {
    const view: Clock = {
      now: () => base.now(),
      setTimer: (fn, ms) => {
        if (this.#dead) return { cancel() {} };
        activity.bump();
        const timer = base.setTimer(() => {
          this.#timers.delete(timer);
          if (this.#dead) return;
          activity.bump();
          fn();
        }, ms);
        this.#timers.add(timer);
        return {
          cancel: () => {
            this.#timers.delete(timer);
            timer.cancel();
          },
        };
      },
      sleep: (ms, signal) =>
        new Promise<void>((resolve, reject) => {
          if (signal?.aborted) return reject(signal.reason);
          const onAbort = () => {
            timer.cancel();
            reject(signal?.reason);
          };
          const timer = view.setTimer(() => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          }, ms);
          signal?.addEventListener('abort', onAbort, { once: true });
        }),
    };
    return view;
  }

  #storeView(base: Store, activity: Activity): Store {
    const methods = new Map<PropertyKey, unknown>();
    return new Proxy(base, {
      get: (target, prop, receiver) => {
        const cached = methods.get(prop);
        if (cached !== undefined) return cached;
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        let method: unknown;
        if (prop === 'close') {
          method = async () => {}; // the store is shared: a process closing it closes only itself
        } else if (prop === 'holdLiveness') {
          method = (...args: unknown[]) => {
            if (this.#dead) return null;
            const handle = (value as (...a: unknown[]) => LivenessHandle | null).apply(target, args);
            if (handle === null) return null;
            this.#liveness.add(handle);
            return {
              get held() {
                return handle.held;
              },
              // Not counted as in flight: a wait on a live leader lasts as long as that leader.
              awaitRelease: (...a: Parameters<LivenessHandle['awaitRelease']>) =>
                this.#dead ? never() : this.guard(handle.awaitRelease(...a).finally(() => activity.bump())),
              close: async () => {
                this.#liveness.delete(handle);
                await handle.close();
              },
            } satisfies LivenessHandle;
          };
        } else if (prop === 'onJobChange') {
          method = async (scope: string, listener: (change: { scope: string; jobId: string }) => void) => {
            if (this.#dead) return never();
            const unsubscribe = await target.onJobChange(scope, (change) => {
              if (!this.#dead) listener(change);
            });
            this.#unsubscribes.add(unsubscribe);
            return async () => {
              this.#unsubscribes.delete(unsubscribe);
              await unsubscribe();
            };
          };
        } else {
          method = (...args: unknown[]) => this.#call(activity, () => (value as (...a: unknown[]) => unknown).apply(target, args));
        }
        methods.set(prop, method);
        return method;
      },
    });
  }

  #transportView(base: Transport, activity: Activity): Transport {
    const wrapDelivery = (delivery: Delivery): Delivery => {
      let settled = false;
      const done = () => {
        settled = true;
        this.#unacked.delete(wrapped);
        activity.bump();
      };
      const wrapped: Delivery = {
        queue: delivery.queue,
        body: delivery.body,
        messageId: delivery.messageId,
        headers: delivery.headers,
        redelivered: delivery.redelivered,
        ack: () => {
          if (this.#dead || settled) return;
          done();
          delivery.ack();
        },
        nack: (requeue: boolean) => {
          if (this.#dead || settled) return;
          done();
          delivery.nack(requeue);
        },
      };
      this.#unacked.set(wrapped, delivery);
      return wrapped;
    };

    const view: Transport = {
      kind: base.kind,
      assertQueue: (queue) => this.#call(activity, () => base.assertQueue(queue)),
      publish: (queue, body, options) => this.#call(activity, () => base.publish(queue, body, options)),
      deadLetter: (queue, body, reason, headers, messageId) =>
        this.#call(activity, () => base.deadLetter(queue, body, reason, headers, messageId)),
      consume: async (queue: string, handler: DeliveryHandler, options) => {
        if (this.#dead) return never();
        const consumer = await base.consume(
          queue,
          (delivery) => {
            if (this.#dead) {
              delivery.nack(true);
              return;
            }
            activity.bump();
            const wrapped = wrapDelivery(delivery);
            const result = handler(wrapped);
            if (result instanceof Promise) return this.guard(result.finally(() => activity.bump()));
            return result;
          },
          options,
        );
        this.#consumers.add(consumer);
        return {
          cancel: async () => {
            this.#consumers.delete(consumer);
            await consumer.cancel();
          },
        };
      },
      isConnected: () => !this.#dead && base.isConnected(),
      waitForConnect: (signal) => (this.#dead ? never() : base.waitForConnect(signal)),
      on: (event, listener) => {
        this.#listeners.push({ event, listener: listener as (...args: never[]) => void });
        base.on(event, listener);
        return view;
      },
      off(event, listener) {
        base.off(event, listener);
        return view;
      },
      // The transport is shared: a process closing it only stops its own consumers.
      close: async () => {
        const consumers = [...this.#consumers];
        this.#consumers.clear();
        await Promise.all(consumers.map((c) => c.cancel().catch(() => {})));
      },
    };
    return view;
  }
}
