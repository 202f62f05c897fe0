export { runDemo } from './run';
export type { DemoOptions, DemoSummary } from './run';
export { DEFAULT_TIMELINE, BACKFILL, backfill, liveSecond, newVersionShare, rng } from './scenario';
export type { DemoCall, Timeline } from './scenario';
export { SpanSender } from './spans';
export type { SpanCounts } from './spans';
export { CONNECTOR, OLD_VERSION, NEW_VERSION, catalogEntry, SPEC_OLD, SPEC_NEW } from './contoso';
export { demoTargets } from './urls';
export type { DemoTarget } from './urls';
