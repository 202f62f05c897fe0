// The seed guide's ContosoSales finance connector: its catalog entry and the OpenAPI documents of
// versions 1.1.0 and 1.2.0 (1.2.0 adds an optional `dueDate` field and a `dueBefore` filter:
// an additive, MINOR change, as the guide's versioning table prescribes).

export const CONNECTOR = 'ContosoSales';
export const OLD_VERSION = '1.1.0';
export const NEW_VERSION = '1.2.0';

const DAY_MS = 86_400_000;

/**
 * Catalog entry as the risk scorer's `PUT /v1/catalog/connectors/{connector}` takes it. Dates are
 * relative to `nowMs`: 1.2.0 released 40 days ago, 1.1.0 deprecated 35 days ago with a sunset in 25
 * days (the guide's 60-day dual-version window), so the deprecation rules apply to today's traffic.
 */
export function catalogEntry(nowMs: number) {
  return {
    owner: 'finance-solutions@contoso.com',
    classification: 'Confidential' as const,
    authMethod: 'OAuth2' as const,
    scopes: ['invoices.read', 'invoices.write'],
    versions: [
      { version: OLD_VERSION, releasedAt: nowMs - 150 * DAY_MS, deprecatedAt: nowMs - 35 * DAY_MS, sunsetAt: nowMs + 25 * DAY_MS },
      { version: NEW_VERSION, releasedAt: nowMs - 40 * DAY_MS, deprecatedAt: null, sunsetAt: null },
    ],
  };
}

function spec(version: string, withDueDate: boolean): Record<string, unknown> {
  const invoiceProps: Record<string, unknown> = {
    id: { type: 'string' },
    amount: { type: 'number', format: 'double' },
    status: { type: 'string' },
  };
  if (withDueDate) invoiceProps.dueDate = { type: 'string', format: 'date' };
  const listParams: unknown[] = [
    { name: 'status', in: 'query', schema: { type: 'string', enum: ['Open', 'Paid', 'Overdue'] } },
    { name: 'pageSize', in: 'query', schema: { type: 'integer', default: 50 } },
    { name: 'continuationToken', in: 'query', schema: { type: 'string' } },
  ];
  if (withDueDate) listParams.push({ name: 'dueBefore', in: 'query', schema: { type: 'string', format: 'date' } });
  return {
    openapi: '3.0.3',
    info: { title: 'ContosoSales', version },
    servers: [{ url: 'https://api.contoso.com/sales/v1' }],
    paths: {
      '/invoices': {
        get: {
          operationId: 'ListInvoices',
          parameters: listParams,
          responses: {
            '200': { description: 'Paginated invoice list', content: { 'application/json': { schema: { $ref: '#/components/schemas/InvoiceList' } } } },
            '429': { description: 'Rate limited' },
          },
        },
        post: {
          operationId: 'CreateInvoice',
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Invoice' } } } },
          responses: {
            '201': { description: 'Created', content: { 'application/json': { schema: { $ref: '#/components/schemas/Invoice' } } } },
            '429': { description: 'Rate limited' },
          },
        },
      },
    },
    components: {
      schemas: {
        InvoiceList: {
          type: 'object',
          properties: { items: { type: 'array', items: { $ref: '#/components/schemas/Invoice' } }, continuationToken: { type: 'string', nullable: true } },
        },
        Invoice: { type: 'object', properties: invoiceProps, required: ['id', 'amount', 'status'] },
      },
    },
  };
}

/** OpenAPI document of ContosoSales 1.1.0 (the seed's ListInvoices plus CreateInvoice). */
export const SPEC_OLD = spec(OLD_VERSION, false);
/** OpenAPI document of ContosoSales 1.2.0. */
export const SPEC_NEW = spec(NEW_VERSION, true);
