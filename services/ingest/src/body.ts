import { createGunzip } from 'node:zlib';
import type { Request } from 'express';
import { HttpError, badRequest } from '@pulsegate/http-kit';
import type { InFlight } from './in-flight';

export interface BodyLimits {
  maxBodyBytes: number;
  maxDecompressedBytes: number;
  retryAfterSeconds: number;
}

/** A body read so far: bytes as received and after gunzip, and what it holds of the budget. */
export interface BodyRead {
  body: Buffer;
  received: number;
  reserved: number;
}

const tooLarge = (what: string, limit: number): HttpError => new HttpError(413, 'PAYLOAD_TOO_LARGE', `request body exceeds the ${what} limit of ${limit} bytes`);

/**
 * Reads the request body, gunzipping on the fly when `gzip`. Stops at the first byte past either
 * limit (so a gzip bomb is never inflated beyond maxDecompressedBytes plus one zlib chunk) and when
 * the in-flight byte budget is spent. `progress` sees every counted byte, even on failure.
 */
export function readBody(
  req: Request,
  gzip: boolean,
  limits: BodyLimits,
  budget: InFlight,
  progress: { received: number; decompressed: number; reserved: number },
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let decompressed = 0;
    let settled = false;
    const gunzip = gzip ? createGunzip() : undefined;

    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      if (gunzip !== undefined) {
        req.unpipe(gunzip);
        gunzip.destroy();
      }
      // The rest of the body is not wanted: pause and let the server close the connection.
      req.pause();
      reject(err);
    };

    const onOutput = (chunk: Buffer): void => {
      if (settled) return;
      decompressed += chunk.length;
      progress.decompressed += chunk.length;
      if (decompressed > limits.maxDecompressedBytes) return fail(tooLarge(gzip ? 'decompressed' : 'size', limits.maxDecompressedBytes));
      if (!budget.tryReserve(chunk.length)) {
        return fail(new HttpError(429, 'OVERLOADED', 'too much data in flight; retry later', { retryAfterSeconds: limits.retryAfterSeconds }));
      }
      progress.reserved += chunk.length;
      chunks.push(chunk);
    };

    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      progress.received += chunk.length;
      if (progress.received > limits.maxBodyBytes) return fail(tooLarge('size', limits.maxBodyBytes));
      if (gunzip === undefined) onOutput(chunk);
    });
    req.on('error', (err) => fail(badRequest(`request body could not be read: ${err.message}`)));
    req.on('aborted', () => fail(badRequest('request aborted by the client')));

    const finish = (): void => {
      if (settled) return;
      settled = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, decompressed));
    };
    if (gunzip === undefined) {
      req.on('end', finish);
    } else {
      gunzip.on('data', onOutput);
      gunzip.on('error', (err) => fail(badRequest(`gzip body could not be decompressed: ${err.message}`)));
      gunzip.on('end', finish);
      req.pipe(gunzip);
    }
  });
}
