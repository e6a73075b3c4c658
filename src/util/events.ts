import createDebug from 'debug';

const log = createDebug('warren:events');

type Listener = (...args: unknown[]) => void;

/**
 * A typed event emitter whose `emit` never throws: a listener that throws is logged and
 * the loop that emitted carries on.
 */
export class SafeEmitter<Events extends { [K in keyof Events]: unknown[] }> {
  #listeners = new Map<keyof Events, Set<Listener>>();

  on<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): this {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener as unknown as Listener);
    return this;
  }

  once<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): this {
    const wrapped = (...args: Events[E]) => {
      this.off(event, wrapped);
      listener(...args);
    };
    return this.on(event, wrapped);
  }

  off<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): this {
    this.#listeners.get(event)?.delete(listener as unknown as Listener);
    return this;
  }

  emit<E extends keyof Events>(event: E, ...args: Events[E]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as unknown as (...a: Events[E]) => void)(...args);
      } catch (err) {
        log('listener for %s threw: %O', String(event), err);
      }
    }
  }

  listenerCount(event: keyof Events): number {
    return this.#listeners.get(event)?.size ?? 0;
  }
}
