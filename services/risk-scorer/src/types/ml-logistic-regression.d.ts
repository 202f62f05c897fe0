// The package ships no types; this covers the part Pulsegate uses (src/logreg.js, v2.0.0).
declare module 'ml-logistic-regression' {
  import type { Matrix } from 'ml-matrix';

  /** One binary classifier: P(target = 1) = sigmoid(features · weights), no intercept of its own. */
  export interface TwoClassClassifier {
    numSteps: number;
    learningRate: number;
    /** 1 × columns row of learned weights; null before training. */
    weights: Matrix | null;
    train(features: Matrix, target: Matrix): void;
    testScores(features: Matrix): number[];
  }

  /** One-vs-all logistic regression trained by plain gradient ascent on the summed log-likelihood. */
  export default class LogisticRegression {
    constructor(options?: { numSteps?: number; learningRate?: number; classifiers?: unknown[]; numberClasses?: number });
    numSteps: number;
    learningRate: number;
    numberClasses: number;
    classifiers: TwoClassClassifier[];
    train(X: Matrix, Y: Matrix): void;
    predict(X: Matrix): number[];
    static load(model: unknown): LogisticRegression;
    toJSON(): unknown;
  }
}
