import { isWarrenError } from '../../src/errors.js';

/** The WarrenError a promise rejects with (code, field, message); fails when it resolves or rejects otherwise. */
export async function rejects(promise: Promise<unknown>): Promise<{ code: string; field: string | undefined; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (!isWarrenError(error)) throw error;
    return { code: error.code, field: error.field, message: error.message };
  }
  throw new Error('expected a rejection');
}
