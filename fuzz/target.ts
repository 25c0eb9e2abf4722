/** A fuzz target: a fast-check property (sync or async) and its share of the time budget.
 *  @module */

export interface Target {
  readonly name: string;
  /** Relative share of the time budget. */
  readonly weight: number;
  /** A fast-check property (`fc.property` or `fc.asyncProperty`). */
  property(): unknown;
}
