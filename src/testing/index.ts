/**
 * `warren/testing`: the fake-clock harness and the in-memory store and broker it runs
 * the real scheduler and worker code on. See docs/testing.md.
 */
export { FakeClock } from '../clock.js';
export { MemoryStore } from '../store/memory-store.js';
export { MemoryTransport } from '../broker/memory-transport.js';
export type { MemoryTransportOptions, MemoryMessage } from '../broker/memory-transport.js';
export { createTestHarness, TestHarness } from './harness.js';
export type {
  TestHarnessOptions,
  HarnessJob,
  HarnessQueue,
  HarnessRun,
  HarnessAttempt,
  HarnessAudit,
  DeadLetter,
  WaitForOptions,
  DowntimeOptions,
  CrashOptions,
} from './types.js';
