export { PgStore, type PgStoreOptions } from './pg-store.js';
export type { Queryable, PoolLike } from './db.js';
