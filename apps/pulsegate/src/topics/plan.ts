import type { TopicSpec } from './config';

/** A topic as the cluster has it. */
export interface ExistingTopic {
  partitions: number;
  /** retention.ms the broker reports; undefined = not known (the broker did not say). */
  retentionMs?: number;
}

/** What `pulsegate topics` does (or would do) with one topic. */
export type TopicStep =
  | { topic: string; action: 'create'; partitions: number; retentionMs: number }
  | { topic: string; action: 'ok'; partitions: number }
  | { topic: string; action: 'add-partitions'; from: number; to: number }
  /** The topic has fewer partitions than wanted and growing it was not allowed: the run fails. */
  | { topic: string; action: 'too-few-partitions'; has: number; wants: number };

export interface TopicPlan {
  steps: TopicStep[];
  /** Differences that are reported but left alone (more partitions than wanted, other retention). */
  notes: string[];
  /** True when the plan cannot reach the wanted shape (a too-few-partitions step). */
  blocked: boolean;
}

export interface PlanOptions {
  /** Grow topics that have fewer partitions than wanted. Default false: report and fail. */
  addPartitions?: boolean;
}

/** "24 h", "14 d" or "forever" for a retention.ms. */
export function retentionText(ms: number): string {
  if (ms < 0) return 'forever';
  const hours = ms / 3_600_000;
  return hours >= 48 && hours % 24 === 0 ? `${hours / 24} d` : `${Number(hours.toFixed(3))} h`;
}

/**
 * What it takes to get from `existing` to `wanted`: create what is missing, leave what is right,
 * grow (only with addPartitions) what has too few partitions. Kafka cannot shrink a topic, and
 * retention is the operator's to change on a live topic, so both are notes, never changes.
 */
export function planTopics(wanted: readonly TopicSpec[], existing: ReadonlyMap<string, ExistingTopic>, options: PlanOptions = {}): TopicPlan {
  const steps: TopicStep[] = [];
  const notes: string[] = [];
  for (const w of wanted) {
    const has = existing.get(w.name);
    if (has === undefined) {
      steps.push({ topic: w.name, action: 'create', partitions: w.partitions, retentionMs: w.retentionMs });
      continue;
    }
    if (has.partitions < w.partitions) {
      steps.push(options.addPartitions === true ? { topic: w.name, action: 'add-partitions', from: has.partitions, to: w.partitions } : { topic: w.name, action: 'too-few-partitions', has: has.partitions, wants: w.partitions });
    } else {
      steps.push({ topic: w.name, action: 'ok', partitions: has.partitions });
      if (has.partitions > w.partitions) notes.push(`${w.name} has ${has.partitions} partitions, more than the ${w.partitions} wanted (Kafka cannot remove partitions; left as is)`);
    }
    if (has.retentionMs !== undefined && has.retentionMs !== w.retentionMs) {
      notes.push(`${w.name} keeps records ${retentionText(has.retentionMs)}, wanted ${retentionText(w.retentionMs)} (not changed on a live topic: kafka-configs.sh --alter --add-config retention.ms=${w.retentionMs})`);
    }
  }
  return { steps, notes, blocked: steps.some((s) => s.action === 'too-few-partitions') };
}

/** One line per step, then the notes. */
export function planText(plan: TopicPlan, dryRun: boolean): string {
  const verb = (s: TopicStep): string => {
    switch (s.action) {
      case 'create':
        return `${dryRun ? 'would create' : 'create'} (${s.partitions} partitions, retention ${retentionText(s.retentionMs)})`;
      case 'ok':
        return `exists (${s.partitions} partitions)`;
      case 'add-partitions':
        return `${dryRun ? 'would add' : 'add'} partitions ${s.from} -> ${s.to}`;
      case 'too-few-partitions':
        return `has ${s.has} partitions, wants ${s.wants}: rerun with --add-partitions to grow it (keys then move to other partitions; stop the producers first)`;
    }
  };
  const width = Math.max(...plan.steps.map((s) => s.topic.length));
  const lines = plan.steps.map((s) => `  ${s.topic.padEnd(width)}  ${verb(s)}`);
  for (const n of plan.notes) lines.push(`  note: ${n}`);
  return lines.join('\n') + '\n';
}
