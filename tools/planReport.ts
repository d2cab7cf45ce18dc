/**
 * Human rendering of an offline plan: the resources as a tree under their components, a
 * count by type, and the policy results grouped by rule.
 */
import { CostEstimate, Graph, GraphResource, PlanWarning, Violation } from "./graph";

function label(r: GraphResource): string {
    const flags = [r.protect ? "protected" : "", r.retainOnDelete ? "retained on delete" : "", r.remote ? "remote component: children created by its provider at deploy time" : ""].filter(Boolean);
    return `${r.type}  ${r.name}${flags.length ? `  [${flags.join(", ")}]` : ""}`;
}

/** The resources as an indented tree, children under their parent, in registration order. */
export function renderTree(graph: Graph): string[] {
    const children = new Map<string | null, GraphResource[]>();
    const urns = new Set(graph.resources.map((r) => r.urn));
    for (const r of graph.resources) {
        const parent = r.parent && urns.has(r.parent) ? r.parent : null;
        children.set(parent, [...(children.get(parent) ?? []), r]);
    }
    const lines: string[] = [];
    const walk = (parent: string | null, prefix: string) => {
        const list = children.get(parent) ?? [];
        list.forEach((r, i) => {
            const last = i === list.length - 1;
            lines.push(`${prefix}${parent === null ? "" : last ? "└─ " : "├─ "}${label(r)}`);
            walk(r.urn, parent === null ? "" : prefix + (last ? "   " : "│  "));
        });
    };
    walk(null, "");
    return lines;
}

/** Resource counts by type, most frequent first (components and providers included). */
export function countByType(graph: Graph): Array<[string, number]> {
    const counts = new Map<string, number>();
    for (const r of graph.resources) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
    return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

export function renderViolations(violations: Violation[]): string[] {
    if (violations.length === 0) return ["Policies: no violations."];
    const byPolicy = new Map<string, Violation[]>();
    for (const v of violations) byPolicy.set(v.policy, [...(byPolicy.get(v.policy) ?? []), v]);
    const lines = [`Policies: ${violations.length} violation(s)`];
    for (const [policy, list] of byPolicy) {
        lines.push(`  ${policy} (${list[0].level}): ${list.length}`);
        for (const v of list) lines.push(`    - ${v.urn ?? "(stack)"}: ${v.message}`);
    }
    return lines;
}

export function renderPlan(graph: Graph): string {
    const remote = graph.resources.filter((r) => r.remote);
    const lines = [`Offline plan: project ${graph.project}, stack ${graph.stack}`, "", ...renderTree(graph), "", "Resources by type:"];
    for (const [type, n] of countByType(graph)) lines.push(`  ${String(n).padStart(4)}  ${type}`);
    lines.push(`  ${String(graph.resources.length).padStart(4)}  total`);
    if (remote.length > 0) {
        lines.push(
            "",
            `Note: ${remote.map((r) => `${r.type} "${r.name}"`).join(", ")} ${remote.length === 1 ? "is a remote component: its" : "are remote components: their"} ` +
                "children (subnets, route tables, NAT gateways, ...) are created by the component's provider at deploy time and are not listed here.",
        );
    }
    if (graph.cost) lines.push("", ...renderCost(graph.cost));
    if (graph.warnings && graph.warnings.length > 0) lines.push("", ...renderWarnings(graph.warnings));
    lines.push("", ...renderViolations(graph.violations));
    return lines.join("\n");
}

/** The cost estimate: one line per priced charge, the total, then what it leaves out. */
export function renderCost(cost: CostEstimate): string[] {
    const usd = (n: number) => `$${n.toFixed(2)}`;
    const rate = (n: number) => `$${Number(n.toFixed(5))}`;
    const lines = ["Estimated monthly cost (USD, on-demand, see tools/prices.ts):"];
    for (const item of cost.items) {
        lines.push(`  ${usd(item.monthlyUsd).padStart(10)}  ${item.description}  [${item.quantity} ${item.unit} × ${rate(item.unitUsd)}]  ${item.type} "${item.name}"`);
    }
    lines.push(`  ${usd(cost.monthlyUsd).padStart(10)}  total per month`);
    if (cost.assumptions.length > 0) {
        lines.push("  Not included / assumed:");
        for (const a of cost.assumptions) lines.push(`    - ${a}`);
    }
    return lines;
}

/** What the program warned about, each once, with the resource it concerns. */
export function renderWarnings(warnings: PlanWarning[]): string[] {
    const unique = [...new Set(warnings.map((w) => `  - ${w.message}${w.urn ? `  (${w.urn.split("::").pop()})` : ""}`))];
    return [`Warnings: ${unique.length}`, ...unique];
}
