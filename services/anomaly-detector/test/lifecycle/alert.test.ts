import { describe, expect, it } from 'vitest';
import { step, type AlertRecord, type Change, type Evaluation } from '../../src/lifecycle/alert';
import { fingerprint } from '../../src/lifecycle/fingerprint';

const MIN = 60_000;
const ev = (at: number, breach: boolean): Evaluation => ({
  at,
  breach,
  fingerprint: 'f',
  tenant: 't',
  rule: 'R',
  labels: { alertname: 'R' },
  annotations: {},
  value: breach ? 1 : 0,
  threshold: 0.5,
  window: '5m',
  generatorURL: 'http://x',
});

/** Runs a sequence of (minute, breach) evaluations and returns the changes and final record. */
function run(seq: Array<[number, boolean]>, forMs: number, keepFiringForMs: number): { changes: Array<[number, Change]>; last: AlertRecord | null } {
  let r: AlertRecord | null = null;
  const changes: Array<[number, Change]> = [];
  for (const [m, b] of seq) {
    const out = step(r, ev(m * MIN, b), { forMs, keepFiringForMs });
    r = out.next;
    if (out.change !== null) changes.push([m, out.change]);
  }
  return { changes, last: r };
}

describe('alert lifecycle', () => {
  it.each<[string, Array<[number, boolean]>, number, number, Array<[number, Change]>]>([
    ['quiet series: nothing is recorded', [[0, false], [1, false]], 2 * MIN, 0, []],
    ['for 0: fires on the first breach', [[0, true]], 0, 0, [[0, 'firing']]],
    ['pending, then firing once in breach for `for`', [[0, true], [1, true], [2, true], [3, true]], 2 * MIN, 0, [[0, 'pending'], [2, 'firing']]],
    ['a good point while pending drops to inactive', [[0, true], [1, false], [2, true]], 2 * MIN, 0, [[0, 'pending'], [1, 'inactive'], [2, 'pending']]],
    ['keep_firing_for holds a flapping alert', [[0, true], [1, false], [2, true], [3, false], [4, false], [8, false]], 0, 5 * MIN, [[0, 'firing'], [8, 'resolved']]],
    ['resolved then breaching again starts a new episode', [[0, true], [1, false], [2, true]], 0, 0, [[0, 'firing'], [1, 'resolved'], [2, 'firing']]],
  ])('%s', (_name, seq, forMs, keep, expected) => {
    expect(run(seq, forMs, keep).changes).toEqual(expected);
  });

  it('startsAt is the start of the breach; endsAt the resolving evaluation; replays are ignored', () => {
    const { last } = run([[0, true], [2, true], [3, false]], 2 * MIN, 0);
    expect(last).toMatchObject({ state: 'resolved', activeAt: 0, startsAt: 0, endsAt: 3 * MIN });
    const replay = step(last, ev(1 * MIN, true), { forMs: 0, keepFiringForMs: 0 });
    expect(replay).toEqual({ next: last, change: null });
  });

  it('fingerprint depends on the label set, not on its order', () => {
    expect(fingerprint({ a: '1', b: '2' })).toBe(fingerprint({ b: '2', a: '1' }));
    expect(fingerprint({ a: '1', b: '2' })).not.toBe(fingerprint({ a: '1', b: '3' }));
    // Separators cannot be forged by label text.
    expect(fingerprint({ a: '1b2' })).not.toBe(fingerprint({ a: '1', b: '2' }));
    expect(fingerprint({ a: '1' })).toMatch(/^[0-9a-f]{16}$/);
  });
});
