import type { Request } from 'express';
import { HttpError, badRequest } from '@pulsegate/http-kit';
import type { InFlight } from './in-flight';

export interface BodyLimits {
  /** Largest body as sent, bytes. */
  maxBodyBytes: number;
  /** Largest body after gunzip, bytes (for an identity body: its size). */
  maxDecompressedBytes: number;
  retryAfterSeconds: number;
}

const tooLarge = (what: string, limit: number): HttpError => new HttpError(413, 'PAYLOAD_TOO_LARGE', `request body exceeds the ${what} limit of ${limit} bytes`);

/**
 * Reads the request body as sent (gzip stays compressed: it is inflated, bounded, where it is
 * decoded). Stops at the first byte past the size limit and when the in-flight byte budget is
 * spent (the global or the tenant's). `progress` sees every counted byte, even on failure.
 */
export function readBody(req: Request, gzip: boolean, limits: BodyLimits, budget: InFlight, tenant: string, progress: { received: number; reserved: number }): Promise<Buffer> {
  const limit = gzip ? limits.maxBodyBytes : Math.min(limits.maxBodyBytes, limits.maxDecompressedBytes);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      // The rest of the body is not wanted: pause and let the server close the connection.
      req.pause();
      reject(err);
    };
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      progress.received += chunk.length;
      if (progress.received > limit) return fail(tooLarge('size', limit));
      if (!budget.tryReserve(tenant, chunk.length)) {
        return fail(new HttpError(429, 'OVERLOADED', 'too much data in flight; retry later', { retryAfterSeconds: limits.retryAfterSeconds }));
      }
      progress.reserved += chunk.length;
      chunks.push(chunk);
    });
    req.on('error', (err) => fail(badRequest(`request body could not be read: ${err.message}`)));
    req.on('aborted', () => fail(badRequest('request aborted by the client')));
    // A connection cut by a timeout (or the client) before the body ended frees the slot at once.
    req.on('close', () => fail(badRequest('connection closed before the request body ended')));
    req.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, progress.received));
    });
  });
}
