/**
 * Group assignment: the first rule whose every given field matches the unit's product and work
 * order wins; a unit matching none gets the default group (config `enroll.groups`).
 */

/** One rule of `enroll.groups`. */
export interface GroupRule {
  match: { product?: string | undefined; workOrder?: string | undefined };
  group: string;
  config: Record<string, unknown>;
}

/** A group and its configuration document. */
export interface GroupAssignment {
  group: string;
  config: Record<string, unknown>;
}

/** The assignment for a unit of `product` built on `workOrder`. */
export function assignGroup(rules: readonly GroupRule[], fallback: GroupAssignment, unit: { product: string; workOrder: string }): GroupAssignment {
  for (const r of rules) {
    if (r.match.product !== undefined && r.match.product !== unit.product) continue;
    if (r.match.workOrder !== undefined && r.match.workOrder !== unit.workOrder) continue;
    return { group: r.group, config: r.config };
  }
  return fallback;
}
