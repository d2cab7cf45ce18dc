/**
 * Monthly cost before and after a change, like infracost's pull-request comment: both totals,
 * the difference, and every line that changed, largest first. Lines of one resource are
 * matched by URN and price key, so a region change shows each line repriced. Pure.
 *
 * A total with unpriced charges is a lower bound, and the difference of two lower bounds is
 * no figure at all (moving a stack to a region the price table barely covers would "save"
 * nearly everything). So the exact change is given only when both sides are fully priced;
 * otherwise the change is summed over the charges priced on both sides, labelled as such,
 * with the count of charges that cannot be compared.
 */
import { CostEstimate, CostItem, UnpricedCharge } from "./graph";

export interface CostLineChange {
    urn: string;
    type: string;
    name: string;
    description: string;
    /** Undefined: the line did not exist on that side, or (when `comparable` is false) it was not priced there. */
    beforeUsd?: number;
    afterUsd?: number;
    deltaUsd: number;
    /** False when the other side has this resource's charge unpriced: `deltaUsd` is then not a change, only the priced side's amount. */
    comparable: boolean;
}

export interface CostSide {
    monthlyUsd: number;
    region?: string;
    /** Charges that could not be priced: the total is "at least" when any. */
    notPriced: string[];
    /** The same, with the resource and what was not priced (absent in plans made before it existed). */
    unpriced?: UnpricedCharge[];
}

export interface CostDiff {
    before: CostSide;
    after: CostSide;
    /** The change of the monthly total; null when either side has unpriced charges (see `comparable`). */
    deltaUsd: number | null;
    /**
     * The change over the charges that compare: priced on both sides, or added or removed with
     * their resource's charges all priced on the other side. `compared` counts them (unchanged
     * ones too); `notComparable` counts the charges unpriced on one side or both.
     */
    comparable: { deltaUsd: number; compared: number; notComparable: number };
    /** Changed, added and removed lines, by absolute change, largest first. */
    lines: CostLineChange[];
}

const round2 = (n: number) => Math.round(n * 100) / 100;

function keyed(items: CostItem[]): Map<string, CostItem> {
    const out = new Map<string, CostItem>();
    const seen = new Map<string, number>();
    for (const item of items) {
        const base = `${item.urn}|${item.priceKey ?? item.description}`;
        const n = seen.get(base) ?? 0;
        seen.set(base, n + 1);
        out.set(`${base}|${n}`, item);
    }
    return out;
}

export function side(cost: CostEstimate): CostSide {
    return { monthlyUsd: cost.monthlyUsd, region: cost.region, notPriced: cost.notPriced ?? [], ...(cost.unpriced ? { unpriced: cost.unpriced } : {}) };
}

/**
 * True when a line that exists only on the other side may be a charge this side left unpriced
 * (so its amount is no change): this side has an unpriced charge of the same resource, or has
 * unpriced charges without saying whose (a plan from before `unpriced` existed).
 */
function maybeUnpriced(s: CostSide, urn: string): boolean {
    if (s.notPriced.length === 0) return false;
    return s.unpriced ? s.unpriced.some((u) => u.urn === urn) : true;
}

export function costDiff(before: CostEstimate, after: CostEstimate): CostDiff {
    const b = keyed(before.items);
    const a = keyed(after.items);
    // Exact matches first (same resource, same price key); then the rest of one resource's lines
    // pair up by service (`rds.postgres.db.t4g.micro...` → `rds.postgres.db.t4g.small...` is one line repriced).
    const pairs: Array<[CostItem | undefined, CostItem | undefined]> = [];
    for (const [k, x] of b) {
        if (a.has(k)) {
            pairs.push([x, a.get(k)]);
            a.delete(k);
            b.delete(k);
        }
    }
    const family = (i: CostItem) => `${i.urn}|${(i.priceKey ?? i.description).split(".")[0]}|${i.unit}`;
    const rest = [...a.values()];
    for (const x of b.values()) {
        const n = rest.findIndex((y) => family(y) === family(x));
        pairs.push([x, n >= 0 ? rest.splice(n, 1)[0] : undefined]);
    }
    for (const y of rest) pairs.push([undefined, y]);
    const sides = { before: side(before), after: side(after) };
    const lines: CostLineChange[] = [];
    let compared = 0;
    for (const [x, y] of pairs) {
        const delta = round2((y?.monthlyUsd ?? 0) - (x?.monthlyUsd ?? 0));
        const comparable = x && y ? true : x ? !maybeUnpriced(sides.after, x.urn) : !maybeUnpriced(sides.before, y!.urn);
        if (comparable) compared++;
        if (x && y && delta === 0) continue;
        const ref = (y ?? x)!;
        lines.push({ urn: ref.urn, type: ref.type, name: ref.name, description: ref.description, ...(x ? { beforeUsd: x.monthlyUsd } : {}), ...(y ? { afterUsd: y.monthlyUsd } : {}), deltaUsd: delta, comparable });
    }
    // Comparable lines first, each group by the size of its change.
    lines.sort((p, q) => Number(q.comparable) - Number(p.comparable) || Math.abs(q.deltaUsd) - Math.abs(p.deltaUsd) || p.name.localeCompare(q.name));
    const complete = sides.before.notPriced.length === 0 && sides.after.notPriced.length === 0;
    return {
        ...sides,
        deltaUsd: complete ? round2(after.monthlyUsd - before.monthlyUsd) : null,
        comparable: { deltaUsd: round2(lines.filter((l) => l.comparable).reduce((sum, l) => sum + l.deltaUsd, 0)), compared, notComparable: notComparable(sides.before, sides.after) },
        lines,
    };
}

/** How many charges are unpriced on one side or both (one charge of a resource counted once). */
function notComparable(before: CostSide, after: CostSide): number {
    const keys = new Set<string>();
    for (const s of [before, after]) {
        if (s.unpriced) for (const u of s.unpriced) keys.add(`${u.urn}|${u.key}`);
        else for (const reason of s.notPriced) keys.add(`?|${reason}`);
    }
    return keys.size;
}

/**
 * The change, as a reader may take it: `+$12.34` when both sides are fully priced; otherwise
 * the change over the charges priced on both sides, named as such, with the count that
 * cannot be compared, or "unknown" when nothing compares. Never a bare difference of two
 * lower bounds.
 */
export function formatChange(d: Pick<CostDiff, "deltaUsd" | "comparable">): string {
    if (d.deltaUsd !== null) return formatDelta(d.deltaUsd);
    const n = d.comparable.notComparable;
    const items = `${n} item${n === 1 ? "" : "s"} not comparable`;
    if (d.comparable.compared === 0) return `change unknown: ${items}`;
    return `change over items priced in both: ${formatDelta(d.comparable.deltaUsd)}; ${items}`;
}

/** `$12.34`, or `at least $12.34 (N items not priced)` when the estimate is partial; never a bare $0.00 for nothing priced. */
export function formatTotal(s: CostSide): string {
    const usd = `$${s.monthlyUsd.toFixed(2)}`;
    if (s.notPriced.length === 0) return usd;
    const n = `${s.notPriced.length} item${s.notPriced.length === 1 ? "" : "s"} not priced`;
    return s.monthlyUsd === 0 ? `not estimated (${n})` : `at least ${usd} (${n})`;
}

export function formatDelta(n: number): string {
    return `${n < 0 ? "−" : "+"}$${Math.abs(n).toFixed(2)}`;
}
