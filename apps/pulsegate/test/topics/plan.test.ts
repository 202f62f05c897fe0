import { describe, expect, it } from 'vitest';
import { planText, planTopics, retentionText, type ExistingTopic } from '../../src/topics/plan';
import type { TopicSpec } from '../../src/topics/config';

const DAY = 86_400_000;
const wanted: TopicSpec[] = [
  { name: 'a', partitions: 12, retentionMs: DAY },
  { name: 'b', partitions: 4, retentionMs: -1 },
];
const has = (entries: Array<[string, ExistingTopic]>): Map<string, ExistingTopic> => new Map(entries);

describe('planTopics', () => {
  const cases: Array<{ name: string; existing: Map<string, ExistingTopic>; addPartitions?: boolean; steps: unknown[]; notes: string[]; blocked: boolean }> = [
    {
      name: 'empty cluster: create both with their partitions and retention',
      existing: has([]),
      steps: [
        { topic: 'a', action: 'create', partitions: 12, retentionMs: DAY },
        { topic: 'b', action: 'create', partitions: 4, retentionMs: -1 },
      ],
      notes: [],
      blocked: false,
    },
    {
      name: 'both as wanted: nothing to do (a second run changes nothing)',
      existing: has([
        ['a', { partitions: 12, retentionMs: DAY }],
        ['b', { partitions: 4, retentionMs: -1 }],
      ]),
      steps: [
        { topic: 'a', action: 'ok', partitions: 12 },
        { topic: 'b', action: 'ok', partitions: 4 },
      ],
      notes: [],
      blocked: false,
    },
    {
      name: 'fewer partitions without --add-partitions: blocked, nothing grown',
      existing: has([['a', { partitions: 4 }]]),
      steps: [
        { topic: 'a', action: 'too-few-partitions', has: 4, wants: 12 },
        { topic: 'b', action: 'create', partitions: 4, retentionMs: -1 },
      ],
      notes: [],
      blocked: true,
    },
    {
      name: 'fewer partitions with --add-partitions: grown',
      existing: has([['a', { partitions: 4 }], ['b', { partitions: 4 }]]),
      addPartitions: true,
      steps: [
        { topic: 'a', action: 'add-partitions', from: 4, to: 12 },
        { topic: 'b', action: 'ok', partitions: 4 },
      ],
      notes: [],
      blocked: false,
    },
    {
      name: 'more partitions and other retention: left alone, reported',
      existing: has([['a', { partitions: 24, retentionMs: 7 * DAY }], ['b', { partitions: 4, retentionMs: DAY }]]),
      steps: [
        { topic: 'a', action: 'ok', partitions: 24 },
        { topic: 'b', action: 'ok', partitions: 4 },
      ],
      notes: [
        'a has 24 partitions, more than the 12 wanted (Kafka cannot remove partitions; left as is)',
        'a keeps records 7 d, wanted 24 h (not changed on a live topic: kafka-configs.sh --alter --add-config retention.ms=86400000)',
        'b keeps records 24 h, wanted forever (not changed on a live topic: kafka-configs.sh --alter --add-config retention.ms=-1)',
      ],
      blocked: false,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = planTopics(wanted, c.existing, { addPartitions: c.addPartitions });
      expect(plan.steps).toEqual(c.steps);
      expect(plan.notes).toEqual(c.notes);
      expect(plan.blocked).toBe(c.blocked);
    });
  }

  it('planText: one aligned line per topic, dry runs say "would"', () => {
    const plan = planTopics(wanted, has([['b', { partitions: 2 }]]));
    expect(planText(plan, true)).toBe(
      '  a  would create (12 partitions, retention 24 h)\n' +
        '  b  has 2 partitions, wants 4: rerun with --add-partitions to grow it (keys then move to other partitions; stop the producers first)\n',
    );
    expect(planText(planTopics(wanted, has([['b', { partitions: 2 }]]), { addPartitions: true }), false)).toBe('  a  create (12 partitions, retention 24 h)\n  b  add partitions 2 -> 4\n');
  });

  it('retentionText', () => {
    expect([retentionText(-1), retentionText(DAY), retentionText(14 * DAY), retentionText(1_800_000), retentionText(50 * 3_600_000)]).toEqual(['forever', '24 h', '14 d', '0.5 h', '50 h']);
  });
});
