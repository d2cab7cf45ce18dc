/**
 * Human rendering of an offline plan: first a summary a person can scan (resources per
 * component, monthly cost, public endpoints, violations, warnings, stack outputs), then the
 * resources as a tree under their components, a count by type, the cost lines (largest
 * first) and the policy results grouped by rule.
 */
import { formatTotal } from "./costDiff";
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

/** Resources under each top-level component (the component itself excluded), in registration order. */
export function resourcesPerComponent(graph: Graph): Array<{ component: string; type: string; count: number }> {
    const byUrn = new Map(graph.resources.map((r) => [r.urn, r]));
    const top = (r: GraphResource): GraphResource | undefined => {
        let cur: GraphResource | undefined = r;
        while (cur && cur.parent && byUrn.get(cur.parent) && byUrn.get(cur.parent)!.type !== "pulumi:pulumi:Stack") cur = byUrn.get(cur.parent);
        return cur;
    };
    const rows = new Map<string, { component: string; type: string; count: number }>();
    for (const r of graph.resources) {
        if (r.type === "pulumi:pulumi:Stack" || r.type.startsWith("pulumi:providers:")) continue;
        const t = top(r);
        if (!t || t.urn === r.urn) {
            if (!rows.has(r.urn)) rows.set(r.urn, { component: r.name, type: r.type, count: 0 });
            continue;
        }
        const row = rows.get(t.urn) ?? { component: t.name, type: t.type, count: 0 };
        row.count++;
        rows.set(t.urn, row);
    }
    return [...rows.values()].filter((r) => r.count > 0 || !r.type.startsWith("platform:"));
}

/** What the stack exposes to the internet: load balancer listeners, Elastic IPs, CloudFront, public instances and databases. */
export function publicEndpoints(graph: Graph): string[] {
    const byUrn = new Map(graph.resources.map((r) => [r.urn, r]));
    const out: string[] = [];
    for (const r of graph.resources) {
        const i = r.inputs;
        switch (r.type) {
            case "aws:lb/listener:Listener": {
                const lb = byUrn.get((r.propertyDependencies.loadBalancerArn ?? [])[0] ?? "");
                if (!lb || lb.inputs.internal !== true) {
                    const actions = Array.isArray(i.defaultActions) ? (i.defaultActions as Array<{ type?: string }>).map((a) => a?.type) : [];
                    out.push(`${String(i.protocol ?? "HTTP")}:${String(i.port ?? "")} on load balancer "${lb?.name ?? "?"}"${actions.length && actions.every((a) => a === "redirect") ? " (redirects)" : ""}`);
                }
                break;
            }
            case "aws:ec2/eip:Eip":
                out.push(`Elastic IP "${r.name}"`);
                break;
            case "aws:cloudfront/distribution:Distribution":
                out.push(`CloudFront distribution "${r.name}"`);
                break;
            case "aws:ec2/instance:Instance":
                if (i.associatePublicIpAddress === true) out.push(`EC2 instance "${r.name}" (public IPv4)`);
                break;
            case "aws:rds/instance:Instance":
                if (i.publiclyAccessible === true) out.push(`RDS instance "${r.name}" (publicly accessible)`);
                break;
        }
    }
    return out;
}

function outputLine(key: string, value: unknown): string {
    const text = typeof value === "string" ? value : JSON.stringify(value);
    return `  ${key}: ${text.length > 160 ? `${text.slice(0, 160)}… (${text.length} chars)` : text}`;
}

/** The summary block that opens the human plan. */
export function renderSummary(graph: Graph): string[] {
    const mandatory = graph.violations.filter((v) => v.level === "mandatory").length;
    const warnings = graph.warnings ?? [];
    const endpoints = publicEndpoints(graph);
    const lines = [`Offline plan: project ${graph.project}, stack ${graph.stack}`, "", "Summary"];
    lines.push(`  Resources: ${graph.resources.length} (${resourcesPerComponent(graph).map((c) => `${c.component} ${c.count || 1}`).join(", ")})`);
    if (graph.cost) {
        const total = formatTotal({ monthlyUsd: graph.cost.monthlyUsd, region: graph.cost.region, notPriced: graph.cost.notPriced ?? [] });
        lines.push(`  Monthly cost: ${total}${graph.cost.region ? ` in ${graph.cost.region}` : ""} (on-demand list prices; usage-based charges excluded)`);
    }
    lines.push(`  Public endpoints: ${endpoints.length === 0 ? "none" : endpoints.join("; ")}`);
    lines.push(`  Policy violations: ${graph.violations.length === 0 ? "none" : `${mandatory} mandatory, ${graph.violations.length - mandatory} other`}`);
    lines.push(`  Warnings: ${warnings.length === 0 ? "none" : `${uniqueWarnings(warnings).length} (listed at the end)`}`);
    const outputs = Object.entries(graph.outputs ?? {});
    lines.push(`  Stack outputs: ${outputs.length === 0 ? "none" : ""}`.trimEnd());
    for (const [k, v] of outputs) lines.push(`  ${outputLine(k, v)}`);
    return lines;
}

export function renderPlan(graph: Graph): string {
    const remote = graph.resources.filter((r) => r.remote);
    const lines = [...renderSummary(graph), "", "Resources", "", ...renderTree(graph), "", "Resources by type:"];
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

/** The cost estimate: one line per priced charge (largest first), the total, what could not be priced and why, then what it leaves out. */
export function renderCost(cost: CostEstimate): string[] {
    const usd = (n: number) => `$${n.toFixed(2)}`;
    const rate = (n: number) => `$${Number(n.toFixed(5))}`;
    const notPriced = cost.notPriced ?? [];
    const lines = [`Estimated monthly cost (USD, on-demand${cost.region ? `, ${cost.region}` : ""}, see tools/prices.ts):`];
    for (const item of [...cost.items].sort((a, b) => b.monthlyUsd - a.monthlyUsd)) {
        lines.push(`  ${usd(item.monthlyUsd).padStart(10)}  ${item.description}  [${item.quantity} ${item.unit} × ${rate(item.unitUsd)}]  ${item.type} "${item.name}"`);
    }
    const total = formatTotal({ monthlyUsd: cost.monthlyUsd, notPriced });
    lines.push(notPriced.length === 0 ? `  ${usd(cost.monthlyUsd).padStart(10)}  total per month` : `  ${total} per month`);
    if (notPriced.length > 0) {
        lines.push(`  Not priced (${notPriced.length}), so the total is a lower bound:`);
        for (const n of notPriced) lines.push(`    - ${n}`);
    }
    const rest = cost.assumptions.filter((a) => !notPriced.includes(a));
    if (rest.length > 0) {
        lines.push("  Not included / assumed:");
        for (const a of rest) lines.push(`    - ${a}`);
    }
    return lines;
}

/** What the program warned about, each once, with the resource it concerns. */
export function renderWarnings(warnings: PlanWarning[]): string[] {
    const unique = uniqueWarnings(warnings);
    return [`Warnings: ${unique.length}`, ...unique];
}

function uniqueWarnings(warnings: PlanWarning[]): string[] {
    return [...new Set(warnings.map((w) => `  - ${w.message}${w.urn ? `  (${w.urn.split("::").pop()})` : ""}`))];
}
