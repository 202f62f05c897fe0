/** One tenant's share of the in-flight budget. */
interface TenantUse {
  requests: number;
  bytes: number;
}

/**
 * Admission control: at most `maxRequests` requests and `maxBytes` bytes (bodies, packed events)
 * held at once, and of those at most `tenantRequests` / `tenantBytes` by any one tenant, so a
 * tenant holding its share (slow uploads that never finish, huge bodies) leaves the rest to the
 * others. Beyond any limit the service answers 429 instead of queueing, which bounds memory under
 * overload (the sender's exporter retries after Retry-After).
 */
export class InFlight {
  requests = 0;
  bytes = 0;
  private readonly tenants = new Map<string, TenantUse>();
  private readonly tenantRequests: number;
  private readonly tenantBytes: number;
  constructor(
    private readonly maxRequests: number,
    private readonly maxBytes: number,
    /** Per-tenant quota; default the whole budget (no fairness, e.g. one anonymous tenant). */
    tenantQuota: { requests?: number; bytes?: number } = {},
  ) {
    this.tenantRequests = Math.min(maxRequests, tenantQuota.requests ?? maxRequests);
    this.tenantBytes = Math.min(maxBytes, tenantQuota.bytes ?? maxBytes);
  }

  private use(tenant: string): TenantUse {
    let u = this.tenants.get(tenant);
    if (u === undefined) this.tenants.set(tenant, (u = { requests: 0, bytes: 0 }));
    return u;
  }

  /** Takes a request slot for `tenant`; false when the global or the tenant's slots are taken. */
  tryEnter(tenant: string): boolean {
    const u = this.use(tenant);
    if (this.requests >= this.maxRequests || u.requests >= this.tenantRequests) {
      if (u.requests === 0) this.tenants.delete(tenant);
      return false;
    }
    this.requests++;
    u.requests++;
    return true;
  }

  /** Reserves `n` more bytes for `tenant` (which holds a slot); false (nothing reserved) when over either budget. */
  tryReserve(tenant: string, n: number): boolean {
    const u = this.use(tenant);
    if (this.bytes + n > this.maxBytes || u.bytes + n > this.tenantBytes) return false;
    this.bytes += n;
    u.bytes += n;
    return true;
  }

  /** Gives back `tenant`'s slot and the bytes it reserved. */
  leave(tenant: string, reservedBytes: number): void {
    this.requests--;
    this.bytes -= reservedBytes;
    const u = this.use(tenant);
    u.requests--;
    u.bytes -= reservedBytes;
    // Only tenants with work in flight are kept: the map is bounded by the request slots.
    if (u.requests <= 0) this.tenants.delete(tenant);
  }

  /** Requests `tenant` has in flight. */
  requestsOf(tenant: string): number {
    return this.tenants.get(tenant)?.requests ?? 0;
  }
}
