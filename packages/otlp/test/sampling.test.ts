import { describe, expect, it } from 'vitest';
import { Attr, adjustedCountFromTraceState, sampleWeight } from '../src/index';

describe('adjustedCountFromTraceState', () => {
  it.each([
    ['ot=th:0', 1],
    ['ot=th:8', 2],
    ['ot=th:c', 4],
    ['ot=th:f', 16],
    ['ot=th:ff', 256],
    ['ot=th:fffff', 2 ** 20],
    ['congo=t61rcWkgMzE, ot=rv:abcdef01234567;th:e', 8],
    ['ot=p:0', 1],
    ['ot=p:10', 1024],
  ])('%s → %d', (ts, want) => {
    expect(adjustedCountFromTraceState(ts)).toBe(want);
  });

  it.each([['vendor=x'], ['ot=th:xyz'], ['ot=th:123456789abcdef'], ['ot=rv:abc'], ['ot=p:64'], ['']])('%s carries no usable count', (ts) => {
    expect(adjustedCountFromTraceState(ts)).toBeUndefined();
  });

  it('p:63 (zero probability) is unusable', () => {
    expect(adjustedCountFromTraceState('ot=p:63')).toBeNaN();
  });
});

describe('sampleWeight', () => {
  it('falls back from tracestate to sampling.adjusted_count to SampleRate to 1', () => {
    const attrs: Array<number | string | undefined> = [];
    expect(sampleWeight('', attrs)).toBe(1);
    attrs[Attr.sampleRate] = '20';
    expect(sampleWeight('', attrs)).toBe(20);
    attrs[Attr.adjustedCount] = 2.5;
    expect(sampleWeight('', attrs)).toBe(2.5);
    expect(sampleWeight('ot=th:8', attrs)).toBe(2);
    attrs[Attr.adjustedCount] = -1;
    expect(sampleWeight('', attrs)).toBeNaN();
  });

  it.each([['0x10'], ['0b1'], ['0o7'], ['Infinity'], [' 5 '], ['1_000'], ['']])('SampleRate %j is not a decimal number: the span is rejected', (rate) => {
    const attrs: Array<number | string | undefined> = [];
    attrs[Attr.sampleRate] = rate;
    expect(sampleWeight('', attrs)).toBeNaN();
  });

  it.each([['16', 16], ['2.5', 2.5], ['1e3', 1000], ['+4', 4], ['.5', 0.5]])('SampleRate %j reads as %d', (rate, want) => {
    const attrs: Array<number | string | undefined> = [];
    attrs[Attr.sampleRate] = rate;
    expect(sampleWeight('', attrs)).toBe(want);
  });
});
