import { SpecError, type Json } from './load';

/** Most nodes one analysis may visit (both documents together). */
export const MAX_NODES_VISITED = 2_000_000;
/** Longest one analysis may run, ms; checked every 1024 nodes. */
export const MAX_ANALYSIS_MS = 1500;

/** Work budget of one analysis: nodes visited and wall time; throws SpecError (tooComplex) when spent. */
export class Budget {
  private visited = 0;
  private readonly deadline: number;
  constructor(
    private readonly field: string,
    private readonly maxNodes = MAX_NODES_VISITED,
    maxMs = MAX_ANALYSIS_MS,
    private readonly clock: () => number = Date.now,
  ) {
    this.deadline = clock() + maxMs;
  }
  /** Nodes visited so far. */
  get used(): number {
    return this.visited;
  }
  /** Counts one node visited. */
  tick(): void {
    this.visited++;
    if (this.visited > this.maxNodes) throw new SpecError(this.field, `analysis visited more than ${this.maxNodes} nodes; the document is too complex`, true);
    if ((this.visited & 1023) === 0 && this.clock() > this.deadline) throw new SpecError(this.field, 'analysis took longer than its time budget; the document is too complex', true);
  }
}

/**
 * Resolves local `$ref`s by name, each once: the target object is returned as is (never copied or
 * inlined), so a schema used a thousand times is one object, and reference cycles are harmless
 * to callers that remember which objects they have seen.
 */
export class Resolver {
  private readonly cache = new Map<string, unknown>();
  constructor(
    private readonly doc: Json,
    private readonly budget: Budget,
  ) {}

  /** The node a (chain of) `$ref` points at; unresolvable or external references give undefined. */
  deref(node: unknown): unknown {
    let current = node;
    for (let hops = 0; hops < 32; hops++) {
      if (typeof current !== 'object' || current === null || typeof (current as Json).$ref !== 'string') return current;
      current = this.lookup((current as Json).$ref as string);
    }
    return undefined; // a chain of 32 references, or a reference to itself
  }

  private lookup(ref: string): unknown {
    if (this.cache.has(ref)) return this.cache.get(ref);
    this.budget.tick();
    let target: unknown;
    if (ref.startsWith('#/')) {
      target = this.doc;
      for (const raw of ref.slice(2).split('/')) {
        const part = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
        target = typeof target === 'object' && target !== null && Object.prototype.hasOwnProperty.call(target, part) ? (target as Json)[part] : undefined;
      }
    }
    this.cache.set(ref, target);
    return target;
  }
}
