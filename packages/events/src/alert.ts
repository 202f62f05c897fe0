/** Alert lifecycle event published on the alerts topic. */
export interface AlertEvent {
  schemaVersion: 1;
  tenant: string;
  fingerprint: string;
  rule: string;
  state: 'firing' | 'resolved';
  labels: Record<string, string>;
  value: number | null;
  threshold: number | null;
  window: string;
  startsAt: number;
  endsAt: number | null;
  at: number;
}
