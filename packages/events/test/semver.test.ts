import { describe, expect, it } from 'vitest';
import { coerceSemver, compareSemver, parseSemver } from '../src/index';

describe('parseSemver', () => {
  it.each(['1.2.0', '0.0.1', '10.20.30', '1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-0.3.7', '1.0.0+build.5', '1.0.0-rc.1+build.1'])('accepts %s', (v) => {
    expect(parseSemver(v)?.raw).toBe(v);
  });
  it.each(['1.2', 'v1.2.0', '01.2.3', '1.02.3', '1.2.3-', '1.2.3-01', '1.2.3+', '', ' 1.2.3', '1.2.3.4', '../1.2.3', '1.2.3; rm -rf /'])('rejects %j', (v) => {
    expect(parseSemver(v)).toBeNull();
  });
  it('orders by precedence (semver.org §11)', () => {
    const ordered = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '1.1.0', '2.0.0'];
    for (let i = 1; i < ordered.length; i++) {
      expect(compareSemver(parseSemver(ordered[i - 1]!)!, parseSemver(ordered[i]!)!)).toBeLessThan(0);
    }
    expect(compareSemver(parseSemver('1.0.0+a')!, parseSemver('1.0.0+b')!)).toBe(0);
  });
});

describe('coerceSemver', () => {
  it('reads the short forms connectors report', () => {
    expect(coerceSemver('1.2')?.raw).toBe('1.2.0');
    expect(coerceSemver('v2')?.raw).toBe('2.0.0');
    expect(coerceSemver('1.2.3')?.raw).toBe('1.2.3');
    expect(coerceSemver('latest')).toBeNull();
  });
});
