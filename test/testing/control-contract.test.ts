import { createTestHarness } from '../../src/testing/index.js';
import { controlContract } from '../contract/control-contract.js';

controlContract('TestHarness (fake clock, in memory)', async () => {
  // No worker: the contract's runs stay as created, as on the other implementations.
  const harness = createTestHarness({ jobs: [], workers: 0, scope: 'contract' });
  await harness.start();
  return { control: harness, scope: harness.scope, now: () => harness.now(), close: () => harness.close() };
});
