/**
 * The proof that a refactor changes no deployed resource: resource graphs of the shipped
 * stacks (and of both with DNS switched on) saved from a checkout of the code *before* the
 * change, compared with the graphs the current code plans. Two graphs are state-compatible
 * when every resource keeps its URN (type, name and parent chain: no rename, no replacement
 * by a new identity), its dependencies, its resource options and its inputs; the stack
 * outputs (which `npm run ops` reads), the policy results and the warnings stay too.
 *
 * Regenerate the baselines from the code before the refactor (a checkout of `main`):
 *
 *     git worktree add --detach /tmp/base main && ln -s "$PWD/node_modules" /tmp/base/node_modules
 *     node -r ./tools/register.js tests/support/graphBaseline.ts --base /tmp/base
 *     git worktree remove --force /tmp/base
 *
 * The generator runs the base checkout's own `tools/plan.ts` (its program, its config
 * schemas, its policy rules), with stack files made from the base's shipped stack files
 * and the overrides of VARIANTS, so nothing of the refactored code takes part.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import type { Graph, GraphResource } from "../../tools/graph";

export const GRAPHS_DIR = path.join(__dirname, "..", "fixtures", "graphs");

/** The graphs compared: each shipped stack as shipped, and each with DNS on (as tests/dns.test.ts plans them). */
export interface GraphVariant {
    name: string;
    stack: string;
    /** Keys of the shipped stack file replaced for this variant (none: the shipped file itself). */
    overrides?: (shipped: Record<string, unknown>) => Record<string, unknown>;
}

export const VARIANTS: GraphVariant[] = [
    { name: "dev", stack: "dev" },
    { name: "prod", stack: "prod" },
    {
        // DNS needs the load balancer (its records alias the ALB): dev in its prod-like shape.
        name: "dev-dns",
        stack: "dev",
        overrides: (shipped) => ({
            "platform:network": { ...(shipped["platform:network"] as object), natGateways: "single" },
            "platform:webTier": { ...(shipped["platform:webTier"] as object), mode: "asg" },
            "platform:dns": { enabled: true, parentDomain: "example.com", subdomain: "dev", healthCheck: { enabled: true, path: "/healthz" } },
        }),
    },
    {
        name: "prod-dns",
        stack: "prod",
        overrides: () => ({ "platform:dns": { enabled: true, parentDomain: "example.com", subdomain: "", dnssec: true } }),
    },
];

/** The stack file a variant plans, written into `dir`, from the program directory's shipped stack file. */
export function variantStackFile(variant: GraphVariant, programDir: string, dir: string): string | undefined {
    if (!variant.overrides) return undefined;
    const shipped = (parse(fs.readFileSync(path.join(programDir, `Pulumi.${variant.stack}.yaml`), "utf8")) as { config: Record<string, unknown> }).config;
    const file = path.join(dir, `Pulumi.${variant.name}.yaml`);
    fs.writeFileSync(file, stringify({ config: { ...shipped, ...variant.overrides(shipped) } }));
    return file;
}

/** One resource as compared: everything the engine records that decides identity and what is deployed. */
export type ComparedResource = Omit<GraphResource, "urn" | "name">;

export interface ComparedGraph {
    variant: string;
    /** The commit whose code planned this graph. */
    baseCommit?: string;
    resources: Record<string, ComparedResource>;
    outputs: Record<string, unknown>;
    violations: unknown[];
    warnings: unknown[];
}

const sortedKeys = (value: Record<string, unknown>) => Object.fromEntries(Object.keys(value).sort().map((k) => [k, value[k]]));

/** The comparable form of a planned graph: resources by URN, dependency lists as sets (sorted). */
export function comparable(variant: string, graph: Pick<Graph, "resources" | "outputs" | "violations" | "warnings">): ComparedGraph {
    const resources: Record<string, ComparedResource> = {};
    for (const r of graph.resources) {
        if (resources[r.urn]) throw new Error(`two resources share the URN ${r.urn}`);
        const { urn, name: _name, ...rest } = r;
        resources[urn] = {
            ...rest,
            dependencies: [...r.dependencies].sort(),
            propertyDependencies: Object.fromEntries(Object.keys(r.propertyDependencies).sort().map((k) => [k, [...r.propertyDependencies[k]].sort()])),
        };
    }
    return { variant, resources: sortedKeys(resources) as Record<string, ComparedResource>, outputs: graph.outputs, violations: graph.violations ?? [], warnings: graph.warnings ?? [] };
}

/** A difference the refactor is allowed to make, with the reason it is state-compatible. */
export interface AllowedDifference {
    /** Variant name, or undefined for every variant. */
    variant?: string;
    /** Path of the difference as `compareGraphs` reports it (exact). */
    path: string;
    why: string;
}

/** Every difference between two comparable graphs, as `path: base -> current` lines. */
export function compareGraphs(base: ComparedGraph, current: ComparedGraph, allowed: AllowedDifference[] = []): string[] {
    const out: string[] = [];
    const show = (v: unknown) => (v === undefined ? "(absent)" : JSON.stringify(v).slice(0, 300));
    const walk = (where: string, a: unknown, b: unknown) => {
        if (JSON.stringify(a) === JSON.stringify(b)) return;
        const isObj = (v: unknown) => typeof v === "object" && v !== null;
        if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
            const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
            for (const k of keys) walk(`${where}.${k}`, (a as any)[k], (b as any)[k]);
            return;
        }
        out.push(`${where}: ${show(a)} -> ${show(b)}`);
    };
    const urns = new Set([...Object.keys(base.resources), ...Object.keys(current.resources)]);
    for (const urn of urns) {
        const a = base.resources[urn];
        const b = current.resources[urn];
        if (!a) out.push(`resource ${urn}: added`);
        else if (!b) out.push(`resource ${urn}: removed`);
        else walk(`resource ${urn}`, a, b);
    }
    walk("outputs", base.outputs, current.outputs);
    walk("violations", base.violations, current.violations);
    walk("warnings", base.warnings, current.warnings);
    const permitted = allowed.filter((d) => d.variant === undefined || d.variant === current.variant).map((d) => d.path);
    return out.filter((line) => !permitted.some((p) => line.startsWith(`${p}:`)));
}

/** Writes a comparable graph one resource per line (reviewable diffs, ~ the plan's size). */
export function writeComparable(file: string, graph: ComparedGraph): void {
    const lines = Object.entries(graph.resources).map(([urn, r]) => `    ${JSON.stringify(urn)}: ${JSON.stringify(r)}`);
    const head = { variant: graph.variant, baseCommit: graph.baseCommit };
    fs.writeFileSync(
        file,
        `{\n  "variant": ${JSON.stringify(head.variant)},\n  "baseCommit": ${JSON.stringify(head.baseCommit ?? null)},\n  "resources": {\n${lines.join(",\n")}\n  },\n` +
            `  "outputs": ${JSON.stringify(graph.outputs)},\n  "violations": ${JSON.stringify(graph.violations)},\n  "warnings": ${JSON.stringify(graph.warnings)}\n}\n`,
    );
}

export function readComparable(variant: string): ComparedGraph {
    return JSON.parse(fs.readFileSync(path.join(GRAPHS_DIR, `${variant}.json`), "utf8")) as ComparedGraph;
}

/** Plans every variant with the base checkout's own plan CLI and saves the comparable graphs. */
function generate(baseDir: string): void {
    const commit = spawnSync("git", ["-C", baseDir, "rev-parse", "HEAD"], { encoding: "utf8" }).stdout.trim();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "graph-baseline-"));
    try {
        fs.mkdirSync(GRAPHS_DIR, { recursive: true });
        for (const variant of VARIANTS) {
            const configFile = variantStackFile(variant, baseDir, tmp);
            const out = path.join(tmp, `${variant.name}.json`);
            const planArgs = ["tools/plan.ts", "--stack", variant.stack, "--json", "--out", out, ...(configFile ? ["--config", configFile] : [])];
            // The base's own way of running its plan: its TypeScript loader when it has one, else ts-node.
            const [command, args] = fs.existsSync(path.join(baseDir, "tools", "register.js"))
                ? [process.execPath, ["-r", "./tools/register.js", ...planArgs]]
                : [path.join(baseDir, "node_modules", ".bin", "ts-node"), ["--transpile-only", ...planArgs]];
            const run = spawnSync(command, args, { cwd: baseDir, encoding: "utf8", maxBuffer: 1 << 28 });
            if (run.status !== 0) throw new Error(`plan of ${variant.name} in ${baseDir} exited ${run.status}: ${run.stderr}`);
            const graph = JSON.parse(fs.readFileSync(out, "utf8")) as Graph;
            writeComparable(path.join(GRAPHS_DIR, `${variant.name}.json`), { ...comparable(variant.name, graph), baseCommit: commit });
            process.stdout.write(`${variant.name}: ${graph.resources.length} resources from ${commit}\n`);
        }
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

if (require.main === module) {
    const i = process.argv.indexOf("--base");
    if (i < 0 || !process.argv[i + 1]) {
        process.stderr.write("usage: node -r ./tools/register.js tests/support/graphBaseline.ts --base DIR (a checkout of the code before the change)\n");
        process.exit(2);
    }
    generate(path.resolve(process.argv[i + 1]));
}
