/**
 * `warren/testing`: the fake-clock harness and the in-memory store and broker it runs
 * the real scheduler and worker code on. See docs/testing.md.
 */
export { FakeClock } from '../clock.js';
export { MemoryStore } from '../store/memory-store.js';
export { MemoryTransport } from '../broker/memory-transport.js';
export type { MemoryTransportOptions, MemoryMessage } from '../broker/memory-transport.js';
export { createTestHarness, TestHarness } from './harness.js';
// The harness implements the one control type: code written against it runs here unchanged.
export type { Control } from '../scheduler/control-types.js';
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
