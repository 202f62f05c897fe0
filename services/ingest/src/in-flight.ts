/**
 * Admission control: at most `maxRequests` requests and `maxBytes` bytes (bodies, packed events) held at
 * once. Beyond either the service answers 429 instead of queueing, which bounds memory under
 * overload (the sender's exporter retries after Retry-After).
 */
export class InFlight {
  requests = 0;
  bytes = 0;
  constructor(
    private readonly maxRequests: number,
    private readonly maxBytes: number,
  ) {}

  tryEnter(): boolean {
    if (this.requests >= this.maxRequests) return false;
    this.requests++;
    return true;
  }

  /** Reserves `n` more bytes; false (nothing reserved) when over the budget. */
  tryReserve(n: number): boolean {
    if (this.bytes + n > this.maxBytes) return false;
    this.bytes += n;
    return true;
  }

  leave(reservedBytes: number): void {
    this.requests--;
    this.bytes -= reservedBytes;
  }
}
