export { createDashboardApp, PROXY_PREFIXES } from './app';
export type { DashboardOptions, ProxyPrefix } from './app';
