import { Attr, type AttrValues } from './attributes';

const TWO_56 = 2 ** 56;
const TH = /^[0-9a-f]{1,14}$/;
const P = /^\d{1,2}$/;

/**
 * How many calls a sampled span stands for, from the OpenTelemetry `ot` tracestate entry
 * (https://opentelemetry.io/docs/specs/otel/trace/tracestate-probability-sampling/):
 * `th:<hex>` is the 56-bit rejection threshold T, adjusted count = 2^56 / (2^56 − T);
 * legacy `p:<n>` is the power-of-two exponent, adjusted count = 2^n (p = 63 means "not sampled").
 * Returns undefined when the tracestate carries neither (or an invalid one, which the spec says to
 * treat as unknown), NaN when it states a zero probability.
 */
export function adjustedCountFromTraceState(traceState: string): number | undefined {
  const at = traceState.indexOf('ot=');
  if (at < 0) return undefined;
  for (const member of traceState.split(',')) {
    const m = member.trim();
    if (!m.startsWith('ot=')) continue;
    let legacy: number | undefined;
    for (const part of m.slice(3).split(';')) {
      if (part.startsWith('th:')) {
        const hex = part.slice(3);
        if (!TH.test(hex)) return undefined;
        // th is the most significant digits of T; missing trailing digits are zeros.
        const t = parseInt(hex.padEnd(14, '0'), 16);
        return TWO_56 / (TWO_56 - t);
      }
      if (part.startsWith('p:')) {
        const p = part.slice(2);
        if (P.test(p) && Number(p) <= 63) legacy = Number(p) === 63 ? NaN : 2 ** Number(p);
      }
    }
    return legacy;
  }
  return undefined;
}

// A plain decimal number: Number() alone would also read "0x10", "0b1", "Infinity" and " 5 ".
const DECIMAL = /^\+?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function positive(v: unknown): number {
  if (typeof v === 'string' && !DECIMAL.test(v)) return NaN;
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : NaN;
}

/**
 * Sample weight of a span, first source present wins: tracestate `ot=th:` (current spec), then
 * `ot=p:` (legacy), then a `sampling.adjusted_count` span attribute, then a `SampleRate` span
 * attribute (the Honeycomb / Refinery convention, also "1 in N"); 1 when none is present.
 * NaN when the chosen source is unusable (zero, negative, not a number): the span is rejected.
 */
export function sampleWeight(traceState: string, attrs: AttrValues): number {
  if (traceState !== '') {
    const w = adjustedCountFromTraceState(traceState);
    if (w !== undefined) return w;
  }
  const adjusted = attrs[Attr.adjustedCount];
  if (adjusted !== undefined) return positive(adjusted);
  const rate = attrs[Attr.sampleRate];
  if (rate !== undefined) return positive(rate);
  return 1;
}
