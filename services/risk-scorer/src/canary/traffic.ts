import { addToBuckets, type SketchBuckets } from '@pulsegate/windows';
import { binomial, lognormal, seededRandom } from '@pulsegate/random';
import type { ActionTelemetry } from './verdict';

/** Shape of generated traffic for one side of a canary. */
export interface TrafficShape {
  calls: number;
  /** Median latency, ms. Default 200. */
  medianMs?: number;
  /** Lognormal shape σ. Default 0.5. */
  sigma?: number;
  /** Every latency multiplied by this (1.2 = +20 % at every quantile, P95 included). Default 1. */
  scale?: number;
  /** Error probability per call. Default 0.002. */
  errorRate?: number;
  /** Throttle probability per call. Default 0.001. */
  throttleRate?: number;
}

/** Generated telemetry of one action with known effects, from a seed (the same seed gives the same calls). */
export function generateTraffic(shape: TrafficShape, seed: number): ActionTelemetry {
  const random = seededRandom(seed);
  const latency: SketchBuckets = {};
  const median = shape.medianMs ?? 200;
  const sigma = shape.sigma ?? 0.5;
  const scale = shape.scale ?? 1;
  for (let i = 0; i < shape.calls; i++) addToBuckets(latency, lognormal(random, median, sigma) * scale);
  return {
    calls: shape.calls,
    errors: binomial(random, shape.calls, shape.errorRate ?? 0.002),
    throttled: binomial(random, shape.calls, shape.throttleRate ?? 0.001),
    latency,
  };
}
