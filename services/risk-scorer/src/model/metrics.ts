/**
 * Area under the ROC curve by the Mann-Whitney rank statistic (tied scores get their average
 * rank). Null when `labels` holds only one class.
 */
export function auc(scores: readonly number[], labels: readonly number[]): number | null {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  const ranks = new Array<number>(n);
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]!] = avg;
    i = j + 1;
  }
  let pos = 0;
  let rankSum = 0;
  for (let i = 0; i < n; i++) {
    if (labels[i] === 1) {
      pos++;
      rankSum += ranks[i]!;
    }
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return null;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Share of predictions (probability ≥ 0.5 → 1) equal to the label, 0–1. */
export function accuracy(probabilities: readonly number[], labels: readonly number[]): number {
  let right = 0;
  for (let i = 0; i < probabilities.length; i++) if ((probabilities[i]! >= 0.5 ? 1 : 0) === labels[i]) right++;
  return probabilities.length === 0 ? 0 : right / probabilities.length;
}

/** Mean squared difference between probability and label (Brier score), 0–1, lower is better. */
export function brier(probabilities: readonly number[], labels: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < probabilities.length; i++) sum += (probabilities[i]! - labels[i]!) ** 2;
  return probabilities.length === 0 ? 0 : sum / probabilities.length;
}

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}
