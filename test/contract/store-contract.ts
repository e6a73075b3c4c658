/**
 * The one store contract suite: every behaviour `src/store/port.ts` documents, run against
 * each implementation (test/store/memory-contract.test.ts, test/store/pg-contract.test.ts).
 * Where port.ts is ambiguous the suite picks the obvious reading and says so in a comment
 * ("Reading: ..."). Time is always passed in (fixed instants around T0), never the wall
 * clock; each test works in its own scope, so one store serves the whole suite.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import type { Store } from '../../src/store/port.js';
import { claimsContract } from './store-contract-claims.js';
import { completeContract } from './store-contract-complete.js';
import { inputContract } from './store-contract-input.js';
import { jobsContract } from './store-contract-jobs.js';
import { livenessContract } from './store-contract-liveness.js';
import { retentionContract, retentionMarksContract } from './store-contract-retention.js';
import { sharedContract } from './store-contract-shared.js';
import { slotsContract } from './store-contract-slots.js';
import { type ContractContext, freshScope } from './store-fixtures.js';

export interface ContractStore {
  store: Store;
  cleanup(): Promise<void>;
}

export function storeContract(name: string, makeStore: () => Promise<ContractStore>): void {
  describe(`store contract: ${name}`, () => {
    let made: ContractStore | undefined;
    const context: ContractContext = {
      store() {
        if (!made) throw new Error('the contract store is not ready');
        return made.store;
      },
      scope: (label) => freshScope(label),
    };

    beforeAll(async () => {
      made = await makeStore();
    });
    afterAll(async () => {
      await made?.cleanup();
    });

    jobsContract(context);
    slotsContract(context);
    claimsContract(context);
    completeContract(context);
    sharedContract(context);
    inputContract(context);
    livenessContract(context);
    retentionContract(context);
    retentionMarksContract(context);
  });
}
