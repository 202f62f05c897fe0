import type { InvocationEvent } from '../src/index';

/** A valid invocation event; override any field. */
export function anEvent(overrides: Partial<InvocationEvent> = {}): InvocationEvent {
  return {
    schemaVersion: 1,
    tenant: 'contoso',
    connector: 'ContosoSales',
    connectorVersion: '1.2.0',
    action: 'ListInvoices',
    httpMethod: 'GET',
    kind: 'read',
    httpStatus: 200,
    outcome: 'success',
    errorCode: null,
    latencyMs: 120.5,
    eventTime: 1_764_000_000_000,
    correlationId: 'e4c0f3f1-9d9d-4f7c-843e-22f9a6dbe111',
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    sampleWeight: 1,
    ...overrides,
  };
}
