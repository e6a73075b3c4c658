import { migrate } from '../../src/store/migrate.js';
import { PgStore } from '../../src/store/pg/index.js';
import { storeContract } from '../contract/store-contract.js';
import { createTestDatabase } from '../helpers/pg.js';

storeContract('PgStore', async () => {
  const db = await createTestDatabase('pg_contract');
  await migrate(db.pool, { schema: db.schema });
  const store = new PgStore({ pool: db.pool, schema: db.schema });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await db.drop();
    },
  };
});
