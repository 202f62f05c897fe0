import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { backoffDelay, sleep } from '../src/index';

describe('sleep', () => {
  it('leaves no abort listener behind after many waits on one signal', async () => {
    const controller = new AbortController();
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      for (let i = 0; i < 50; i++) await sleep(0, controller.signal);
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('ends early when the signal aborts, and at once when it already has', async () => {
    const controller = new AbortController();
    const waiting = sleep(60_000, controller.signal);
    controller.abort();
    await waiting;
    await sleep(60_000, controller.signal);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});

describe('backoffDelay', () => {
  it('doubles from the initial delay up to the cap', () => {
    const mid = (): number => 0.5;
    expect([0, 1, 2, 10].map((a) => backoffDelay(a, { random: mid }))).toEqual([100, 200, 400, 10_000]);
  });
});
