// Small-cell suppression of the released tables. Primary: a cell counting 1 to minGroupSize − 1 is
// suppressed. Secondary (complementary) suppression: wherever released cells add up to a released total
// (a partition), a lone hidden cell could be recovered by subtraction, so the smallest other non-zero cell
// of that partition (or, failing one, its total) is hidden as well; repeated until no partition has exactly
// one hidden member. A hidden cell also hides the cells nested in its statistics (a patient cell's events).
// Tables whose sums carry noise are protected the same way (the noise is not counted on).

export type SuppressionReason = 'primary' | 'secondary' | 'parent';

export class Cell {
  /** Where the cell is released in the findings, e.g. `cohort.byDiagnosis.C34`. */
  readonly path: string;
  /** Non-negative integer. */
  readonly value: number;
  hidden: SuppressionReason | null;

  constructor(path: string, value: number, minGroupSize: number) {
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`cell ${path}: value must be a non-negative integer`);
    this.path = path;
    this.value = value;
    this.hidden = value > 0 && value < minGroupSize ? 'primary' : null;
  }
}

/** `total` = Σ `parts`. */
export interface Partition {
  readonly total: Cell;
  readonly parts: readonly Cell[];
}

/**
 * Hides cells until no partition has exactly one hidden member and no child of a hidden parent is shown.
 * One repair at a time, nested cells propagated before the next: the first partition (in the order given)
 * with a lone hidden member hides one more of its cells, preferring a cell whose other partitions already
 * hide something (hiding it opens no new lone-hidden partition), then the smallest; its total only when
 * no part can go.
 */
export function protectCells(partitions: readonly Partition[], nested: readonly (readonly [parent: Cell, child: Cell])[]): void {
  const memberOf = new Map<Cell, Partition[]>();
  for (const p of partitions) for (const c of [p.total, ...p.parts]) memberOf.set(c, [...(memberOf.get(c) ?? []), p]);
  const hiddenIn = (p: Partition): number => [p.total, ...p.parts].filter((c) => c.hidden !== null).length;
  const opens = (c: Cell, except: Partition): number => (memberOf.get(c) ?? []).filter((p) => p !== except && hiddenIn(p) === 0).length;
  const stuck = new Set<Partition>();
  for (;;) {
    for (let changed = true; changed; ) {
      changed = false;
      for (const [parent, child] of nested) {
        if (parent.hidden !== null && child.hidden === null) {
          child.hidden = 'parent';
          changed = true;
        }
      }
    }
    const lone = partitions.find((p) => hiddenIn(p) === 1 && !stuck.has(p));
    if (lone === undefined) return;
    let pick: Cell | undefined;
    let pickOpens = Infinity;
    for (const c of lone.parts) {
      if (c.hidden !== null || c.value === 0) continue;
      const o = opens(c, lone);
      if (o < pickOpens || (o === pickOpens && c.value < pick!.value)) {
        pick = c;
        pickOpens = o;
      }
    }
    if (pick === undefined && lone.total.hidden === null && lone.total.value > 0) pick = lone.total;
    // Nothing left to hide (the lone cell's partners are all zero): the partition cannot be protected further.
    if (pick === undefined) stuck.add(lone);
    else pick.hidden = 'secondary';
  }
}
