/**
 * The only attribute keys the invocation mapping reads. Decoders keep these and drop every other
 * attribute without allocating it, which is most of the per-span saving on large bodies.
 * Semantic conventions: https://opentelemetry.io/docs/specs/semconv/http/http-spans/
 */
export const Attr = {
  operationId: 0,
  connectorName: 1,
  connectorVersion: 2,
  errorCode: 3,
  correlationId: 4,
  headerCorrelationId: 5,
  httpRoute: 6,
  httpStatus: 7,
  httpStatusLegacy: 8,
  httpMethod: 9,
  httpMethodLegacy: 10,
  adjustedCount: 11,
  sampleRate: 12,
  serviceName: 13,
  serviceVersion: 14,
  serviceNamespace: 15,
} as const;

/** Attribute key for each slot of `Attr`, in slot order. */
export const ATTRIBUTE_KEYS: readonly string[] = [
  'connector.operation_id',
  'connector.name',
  'connector.version',
  'connector.error_code',
  'connector.correlation_id',
  'http.request.header.x-correlation-id',
  'http.route',
  'http.response.status_code',
  'http.status_code',
  'http.request.method',
  'http.method',
  'sampling.adjusted_count',
  'SampleRate',
  'service.name',
  'service.version',
  'service.namespace',
];

/** A kept attribute value: scalars as decoded, arrays only as their string elements. */
export type AttrValue = string | number | boolean | string[];

/** Kept attributes of a span or resource, indexed by the slots of `Attr` (holes = absent). */
export type AttrValues = Array<AttrValue | undefined>;

const SLOT_BY_KEY = new Map<string, number>(ATTRIBUTE_KEYS.map((k, i) => [k, i]));

/** Slot of a key, or -1 when the mapping does not read it. */
export function slotOf(key: string): number {
  return SLOT_BY_KEY.get(key) ?? -1;
}

const KEY_BYTES = ATTRIBUTE_KEYS.map((k) => Buffer.from(k, 'utf8'));
const SLOTS_BY_LENGTH: number[][] = [];
KEY_BYTES.forEach((b, slot) => {
  (SLOTS_BY_LENGTH[b.length] ??= []).push(slot);
});

/** Slot of the UTF-8 key in `buf[start, end)`, or -1; compares bytes so unused keys cost no string. */
export function slotOfBytes(buf: Uint8Array, start: number, end: number): number {
  const slots = SLOTS_BY_LENGTH[end - start];
  if (slots === undefined) return -1;
  for (const slot of slots) {
    const key = KEY_BYTES[slot]!;
    let i = 0;
    while (i < key.length && buf[start + i] === key[i]) i++;
    if (i === key.length) return slot;
  }
  return -1;
}
