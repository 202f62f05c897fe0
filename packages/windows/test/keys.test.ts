import { describe, expect, it } from 'vitest';
import { connectorTag, escapeLabel, parseSeriesField, redisKey, seriesField, unescapeLabel } from '../src/keys';
import { rng } from './random';

const HOSTILE = ['p\ud800x', '\udc00', 'a\ud800\ud800b', '\udc00\ud800', 'x\u0000y\nz', 'a|b:c', '{tag}', '%uD800', '%41', '😀\u{10FFFF}', 'x'.repeat(10_000), ''];

describe('escapeLabel', () => {
  it.each(HOSTILE.map((h) => [JSON.stringify(h).slice(0, 40), h]))('never throws and round-trips %s', (_n, label) => {
    const text = escapeLabel(label);
    expect(text).toMatch(/^[A-Za-z0-9%_.!~*'()-]*$/);
    expect(unescapeLabel(text)).toBe(label);
  });

  it('keeps encodeURIComponent output for well-formed labels (the stored key layout)', () => {
    for (const label of ['ListInvoices', 'a|b', 'Grüße', '😀']) expect(escapeLabel(label)).toBe(encodeURIComponent(label));
  });

  it('is one-to-one over random UTF-16 strings, lone surrogates included', () => {
    const random = rng(14);
    const units = [0x41, 0x25, 0x75, 0x7c, 0x7b, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe9, 0x0];
    const seen = new Map<string, string>();
    for (let i = 0; i < 5_000; i++) {
      const length = Math.floor(random() * 6);
      const label = String.fromCharCode(...Array.from({ length }, () => units[Math.floor(random() * units.length)]!));
      const text = escapeLabel(label);
      const before = seen.get(text);
      if (before !== undefined) expect(before).toBe(label);
      seen.set(text, label);
      expect(unescapeLabel(text)).toBe(label);
    }
    expect(seen.size).toBeGreaterThan(1_000);
  });

  it('builds every key kind from poison labels without throwing', () => {
    const series = { action: 'p\ud800x', version: '1\udfff', kind: 'read' as const };
    expect(connectorTag('t\ud800', 'c\udc00')).toBe('{t%uD800|c%uDC00}');
    expect(parseSeriesField(seriesField(series))).toEqual(series);
    expect(redisKey({ type: 'bucket', tenant: 't\ud800', connector: 'c', resolution: 'm', start: 0, series })).toContain('p%uD800x|1%uDFFF|read');
    expect(redisKey({ type: 'connectors', tenant: '\ud800' })).toMatch(/%uD800$/);
  });

  it('reads a malformed stored field as it is rather than throwing', () => {
    expect(unescapeLabel('%E0%A4%A')).toBe('%E0%A4%A');
    expect(parseSeriesField('%ZZ|%uD800%|read')).toEqual({ action: '%ZZ', version: '\ud800%', kind: 'read' });
  });
});
