/** A minimal protobuf writer for hand-made (often hostile) test bodies. */
export function varint(n: number | bigint): number[] {
  let v = BigInt(n);
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

export function tag(field: number, wire: number): number[] {
  return varint(field * 8 + wire);
}

export function len(field: number, body: number[] | Uint8Array): number[] {
  return [...tag(field, 2), ...varint(body.length), ...body];
}

export function str(field: number, s: string): number[] {
  return len(field, [...Buffer.from(s, 'utf8')]);
}

export function fixed64(field: number, v: bigint): number[] {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return [...tag(field, 1), ...b];
}

export function kv(key: string, value: number[]): number[] {
  return [...str(1, key), ...len(2, value)];
}

/** A whole request with one resource and one span built from the given span fields. */
export function request(resourceAttrs: number[][], spanFields: number[]): Buffer {
  const resource = resourceAttrs.flatMap((a) => len(1, a));
  const scopeSpans = len(2, len(2, spanFields));
  return Buffer.from(len(1, [...len(1, resource), ...scopeSpans]));
}
