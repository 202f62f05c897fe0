import { diffSpecs, type DiffOptions, type SpecDiff } from './diff';
import { lintSpec, type LintReport } from './lint';
import { SpecError } from './load';
import { Budget } from './resolve';

/** The comparison of two OpenAPI documents and the model inputs derived from it. */
export interface SpecFeatures extends SpecDiff {
  /** The Pulsegate connector ruleset on the new document. */
  lint: LintReport;
  features: {
    /** Lint findings (errors and warnings) on the new document. */
    lintWarnings: number;
    /** modified actions / actions present in both documents, 0–1 (0 when none in common). */
    operationsModifiedShare: number;
    /** Count of newScopes. */
    newScopesAdded: number;
    /** (new size − old size) / old size, ratio (new size when old is 0; may be negative). */
    payloadSizeIncrease: number;
    /** Findings of error severity (breaking changes). */
    breakingChanges: number;
  };
}

/**
 * Compares two OpenAPI 3.0/3.1 documents (objects, JSON or YAML text) and derives the risk
 * features (lint included). Throws SpecError naming `oldSpec` or `newSpec` when one cannot be read or analysed.
 */
export function computeSpecFeatures(oldDoc: unknown, newDoc: unknown, options: DiffOptions = {}): SpecFeatures {
  const budget = options.budget ?? new Budget('newSpec');
  const d = diffSpecs(oldDoc, newDoc, { ...options, budget });
  const lint = lintSpec(newDoc, 'newSpec', budget);
  const common = d.actions.old - d.actions.removed.length;
  const { old: sizeOld, new: sizeNew } = d.responseSchemaSize;
  return {
    ...d,
    lint,
    features: {
      lintWarnings: lint.counts.error + lint.counts.warning,
      operationsModifiedShare: common <= 0 ? 0 : d.actions.modified.length / common,
      newScopesAdded: d.newScopes.length,
      payloadSizeIncrease: sizeOld === 0 ? sizeNew : (sizeNew - sizeOld) / sizeOld,
      breakingChanges: d.counts.error,
    },
  };
}

export { SpecError };
