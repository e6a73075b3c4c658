import { isWarrenError, type WarrenError } from '../../src/errors.js';

/** What `fn` threw, as a WarrenError's code, field and message; fails when it throws nothing or something else. */
export function thrownBy(fn: () => unknown): { code: string; field: string | undefined; message: string } {
  try {
    fn();
  } catch (err) {
    if (isWarrenError(err)) return { code: err.code, field: err.field, message: err.message };
    throw err;
  }
  throw new Error('expected a throw');
}

/** What `call` rejected with, as a WarrenError; fails when it resolves or rejects with something else. */
export async function rejectionOf(call: () => Promise<unknown>): Promise<WarrenError> {
  try {
    await call();
  } catch (err) {
    if (isWarrenError(err)) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}
