import { createRequire } from 'node:module';

/** The kafkajs release the patches below were written and tested against (package.json pins it). */
export const PATCHED_KAFKAJS_VERSION = '2.2.4';

/** The slice of kafkajs' internal RequestQueue the patch touches. */
export interface RequestQueueInternals {
  pending: unknown[];
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  scheduleCheckPendingRequests(): void;
}

const require = createRequire(import.meta.url);
let applied: boolean | undefined;

/**
 * kafkajs 2.2.4, its latest release, keeps the request queue of every broker connection polling
 * on a 1 ms timer for as long as the connection lives: after any request,
 * `RequestQueue.scheduleCheckPendingRequests` re-arms itself with a negative delay even when no
 * request is waiting (kafkajs issues #1556 and #1704, open). A process with a producer and two
 * consumers wakes up thousands of times a second for nothing, idle or busy.
 *
 * The patch arms the check only while a request is pending. Nothing else relies on the loop:
 * `push()` arms the check when it queues a request (throttled or over the in-flight limit), and
 * every fulfilled or timed-out request checks the queue itself. Applied once, to the pinned version
 * only (another version is left untouched and reported by the return value), unless the environment
 * sets PULSEGATE_KAFKAJS_PATCHES=off. `bench/idle-cpu.ts` measures it.
 */
export function patchKafkajsRequestQueue(): boolean {
  if (applied !== undefined) return applied;
  const { version } = require('kafkajs/package.json') as { version: string };
  if (version !== PATCHED_KAFKAJS_VERSION || process.env.PULSEGATE_KAFKAJS_PATCHES === 'off') return (applied = false);
  const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as { prototype: RequestQueueInternals };
  const original = RequestQueue.prototype.scheduleCheckPendingRequests;
  if (typeof original !== 'function') return (applied = false);
  RequestQueue.prototype.scheduleCheckPendingRequests = function scheduleWhilePending(this: RequestQueueInternals): void {
    if (this.pending.length === 0) return;
    original.call(this);
  };
  return (applied = true);
}
