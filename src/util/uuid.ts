import { createHash, randomUUID } from 'node:crypto';

// RFC 4122 §4.3 name-based UUID (SHA-1, version 5). The namespace is warren's own.
const WARREN_NAMESPACE = '5d1c4bd8-3c1f-4a59-9a9c-0f4e2b7f3a61';

function toBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

export function uuidv5(name: string, namespace: string = WARREN_NAMESPACE): string {
  const hash = createHash('sha1').update(toBytes(namespace)).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The deterministic id of a scheduled slot: `uuidv5(scope|job_id|scheduled_for)`. */
export function slotRunId(scope: string, jobId: string, scheduledFor: Date): string {
  return uuidv5(`${scope}|${jobId}|${scheduledFor.toISOString()}`);
}

export { randomUUID };
