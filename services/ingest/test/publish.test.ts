import { describe, expect, it } from 'vitest';
import { PublishTracker, withDeadline } from '../src/publish';

describe('PublishTracker', () => {
  it('reports a stall only while a publish has been pending longer than the threshold', async () => {
    let now = 0;
    const t = new PublishTracker(1_000, () => now);
    let release: () => void = () => undefined;
    const pending = t.track(new Promise<void>((r) => (release = r)));
    expect(t.stalled()).toBe(false);
    now = 1_000;
    expect(t.stalled()).toBe(false);
    now = 1_001;
    expect(t.stalled()).toBe(true);
    release();
    await pending;
    expect(t.stalled()).toBe(false);
  });

  it('forgets failed publishes too', async () => {
    let now = 0;
    const t = new PublishTracker(10, () => now);
    const failing = t.track(Promise.reject(new Error('down')));
    await expect(failing).rejects.toThrow('down');
    now = 1_000;
    expect(t.stalled()).toBe(false);
  });
});

describe('withDeadline', () => {
  it('passes the result through in time and rejects after the deadline', async () => {
    await expect(withDeadline(Promise.resolve(7), 1_000)).resolves.toBe(7);
    await expect(withDeadline(new Promise(() => undefined), 10)).rejects.toThrow(/within 10 ms/);
  });
});
