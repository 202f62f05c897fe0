/** Good / total event counts of one SLI over some window. */
export interface SliCounts {
  total: number;
  bad: number;
}

/** Share of good events, 0–1; null without events. */
export function attainment(c: SliCounts): number | null {
  return c.total > 0 ? 1 - c.bad / c.total : null;
}

/** The error budget of an objective: the share of events allowed to be bad (0.99 → 0.01). */
export function errorBudget(objective: number): number {
  return 1 - objective;
}

/**
 * Burn rate: bad share / error budget (1 = spending the budget exactly over the SLO window,
 * 14.4 = spending it 14.4 times as fast). Null without events.
 */
export function burnRate(c: SliCounts, objective: number): number | null {
  if (c.total <= 0) return null;
  return c.bad / c.total / errorBudget(objective);
}

/**
 * Share of the budget left over the SLO window, 1 − bad / (budget × total); below 0 once the
 * budget is overspent. 1 without events (nothing spent).
 */
export function budgetRemaining(c: SliCounts, objective: number): number {
  if (c.total <= 0) return 1;
  return 1 - c.bad / (errorBudget(objective) * c.total);
}

/**
 * Time until the remaining budget is gone at burn rate `rate`, ms: a burn rate b spends the whole
 * budget in windowMs / b, so a remaining share r lasts r × windowMs / b. 0 when already spent,
 * null when nothing burns (rate 0 or unknown).
 */
export function timeToExhaustion(remaining: number, rate: number | null, windowMs: number): number | null {
  if (remaining <= 0) return 0;
  if (rate === null || rate <= 0) return null;
  return (remaining * windowMs) / rate;
}
