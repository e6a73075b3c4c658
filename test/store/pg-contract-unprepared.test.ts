/** The store contract again with `preparedStatements: false` (every statement as plain text). */
import { migrate } from '../../src/store/migrate.js';
import { PgStore } from '../../src/store/pg/index.js';
import { storeContract } from '../contract/store-contract.js';
import { createTestDatabase } from '../helpers/pg.js';

storeContract('PgStore (preparedStatements: false)', async () => {
  const db = await createTestDatabase('pg_contract_text');
  await migrate(db.pool, { schema: db.schema });
  const store = new PgStore({ pool: db.pool, schema: db.schema, preparedStatements: false });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await db.drop();
    },
  };
});
