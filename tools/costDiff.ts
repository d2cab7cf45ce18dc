/**
 * Monthly cost before and after a change, like infracost's pull-request comment: both totals,
 * the difference, and every line that changed, largest first. Lines of one resource are
 * matched by URN and price key, so a region change shows each line repriced. Pure.
 */
import { CostEstimate, CostItem } from "./graph";

export interface CostLineChange {
    urn: string;
    type: string;
    name: string;
    description: string;
    /** Undefined: the line did not exist on that side. */
    beforeUsd?: number;
    afterUsd?: number;
    deltaUsd: number;
}

export interface CostSide {
    monthlyUsd: number;
    region?: string;
    /** Charges that could not be priced: the total is "at least" when any. */
    notPriced: string[];
}

export interface CostDiff {
    before: CostSide;
    after: CostSide;
    deltaUsd: number;
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
    return { monthlyUsd: cost.monthlyUsd, region: cost.region, notPriced: cost.notPriced ?? [] };
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
    const lines: CostLineChange[] = [];
    for (const [x, y] of pairs) {
        const delta = round2((y?.monthlyUsd ?? 0) - (x?.monthlyUsd ?? 0));
        if (x && y && delta === 0) continue;
        const ref = (y ?? x)!;
        lines.push({ urn: ref.urn, type: ref.type, name: ref.name, description: ref.description, ...(x ? { beforeUsd: x.monthlyUsd } : {}), ...(y ? { afterUsd: y.monthlyUsd } : {}), deltaUsd: delta });
    }
    lines.sort((p, q) => Math.abs(q.deltaUsd) - Math.abs(p.deltaUsd) || p.name.localeCompare(q.name));
    return { before: side(before), after: side(after), deltaUsd: round2(after.monthlyUsd - before.monthlyUsd), lines };
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
