import { describe, expect, it } from 'vitest';
import { FakeClock, settle } from '../../src/clock.js';
import { MemoryTransport } from '../../src/broker/memory-transport.js';
import type { Delivery } from '../../src/broker/transport.js';
import { isWarrenError } from '../../src/errors.js';

const Q = 'mem.jobs.q';

describe('MemoryTransport on a FakeClock', () => {
  it('delivers a delayed message when the clock reaches its delay, not before', async () => {
    const clock = new FakeClock(0);
    const transport = new MemoryTransport({ clock });
    await transport.assertQueue(Q);
    const got: Array<{ id: string | undefined; at: number }> = [];
    await transport.consume(
      Q,
      (d) => {
        got.push({ id: d.messageId, at: clock.now() });
        d.ack();
      },
      { prefetch: 1 },
    );
    await transport.publish(Q, Buffer.from('x'), { messageId: 'late', delaySec: 2.5 });
    await transport.publish(Q, Buffer.from('y'), { messageId: 'soon', delaySec: 1 });
    expect(transport.delayedCount()).toBe(2);
    await clock.advance(999);
    expect(got).toEqual([]);
    await clock.advance(1);
    expect(got).toEqual([{ id: 'soon', at: 1000 }]);
    await clock.advance(1999);
    expect(got.map((g) => g.id)).toEqual(['soon']);
    await clock.advance(1); // 2.5 s rounds up to 3 s: "not before"
    expect(got).toEqual([
      { id: 'soon', at: 1000 },
      { id: 'late', at: 3000 },
    ]);
    await transport.close();
    expect(clock.pendingTimers()).toBe(0);
  });

  it('requeues unacked deliveries on a simulated disconnect and drops their stale acks', async () => {
    const transport = new MemoryTransport({ clock: new FakeClock(0) });
    await transport.assertQueue(Q);
    const deliveries: Delivery[] = [];
    await transport.consume(
      Q,
      (d) => {
        deliveries.push(d);
      },
      { prefetch: 1 },
    );
    await transport.publish(Q, Buffer.from('a'), { messageId: 'a' });
    await settle();
    expect(deliveries).toHaveLength(1);
    const events: string[] = [];
    transport.on('disconnect', () => events.push('disconnect')).on('connect', () => events.push('connect'));
    transport.simulateDisconnect();
    expect(transport.isConnected()).toBe(false);
    expect(transport.size(Q)).toBe(1);
    const buffered = transport.publish(Q, Buffer.from('b'), { messageId: 'b' });
    deliveries[0]!.ack();
    expect(transport.staleSettles).toBe(1);
    transport.reconnect();
    await buffered;
    await settle();
    expect(events).toEqual(['disconnect', 'connect']);
    expect(deliveries[1]).toMatchObject({ messageId: 'a', redelivered: true });
    deliveries[1]!.ack();
    await settle();
    expect(deliveries[2]).toMatchObject({ messageId: 'b', redelivered: false });
    deliveries[2]!.ack();
    expect(transport.size(Q)).toBe(0);
    expect(transport.unackedCount(Q)).toBe(0);
    await transport.close();
  });

  it('bounds what it buffers while disconnected', async () => {
    const transport = new MemoryTransport({ maxBufferedPublishes: 2 });
    await transport.assertQueue(Q);
    transport.simulateDisconnect();
    const held = [transport.publish(Q, Buffer.from('1')), transport.publish(Q, Buffer.from('2'))];
    const err = await transport.publish(Q, Buffer.from('3')).catch((e: unknown) => e);
    expect(isWarrenError(err, 'ERR_BUFFER_FULL')).toBe(true);
    await transport.close();
    for (const result of await Promise.all(held.map((p) => p.catch((e: unknown) => e))))
      expect(isWarrenError(result, 'ERR_CLOSED')).toBe(true);
  });

  it('dead-letters a nack without requeue and exposes the dead-letter queue', async () => {
    const transport = new MemoryTransport();
    await transport.assertQueue(Q);
    await transport.consume(Q, (d) => d.nack(false), { prefetch: 1 });
    await transport.publish(Q, Buffer.from('poison'), { messageId: 'p', headers: { 'x-death': [1], keep: 'yes' } });
    await settle();
    const dead = transport.deadLetters(Q);
    expect(dead).toHaveLength(1);
    expect(dead[0]!.messageId).toBe('p');
    expect(dead[0]!.headers).toMatchObject({ keep: 'yes', 'x-first-death-reason': 'rejected' });
    expect(dead[0]!.headers['x-death']).toBeUndefined();
    await transport.close();
  });

  it('rejects an invalid option and prefetch with typed errors', async () => {
    expect(() => new MemoryTransport({ maxBufferedPublishes: 0 })).toThrow(/maxBufferedPublishes/);
    const transport = new MemoryTransport();
    const err = await transport.consume(Q, () => {}, { prefetch: 0 }).catch((e: unknown) => e);
    expect(isWarrenError(err, 'ERR_INVALID_ARGUMENT')).toBe(true);
    await transport.close();
  });
});
