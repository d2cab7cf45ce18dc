/**
 * The offline resource graph: what `tools/offline.ts` records from a mock run of a Pulumi
 * program, what `npm run plan -- --json` prints, and what the policy rules judge offline.
 * Fields are only ever added, never removed (see the JSON contract in the README).
 */

/** One registered resource, exactly as the program asked the engine to create it. */
export interface GraphResource {
    /** The resource's URN, as the engine would compute it (parent type chain included). */
    urn: string;
    /** Pulumi type token, e.g. `aws:s3/bucket:Bucket` or `platform:network:Network`. */
    type: string;
    /** Logical name given by the program. */
    name: string;
    /** URN of the parent resource; the stack's URN for top-level resources. */
    parent: string | null;
    /** URNs this resource depends on (explicit `dependsOn` plus every input's dependencies). */
    dependencies: string[];
    /** Per input property: the URNs whose outputs flowed into it. */
    propertyDependencies: Record<string, string[]>;
    /** `protect: true` in the resource options. */
    protect: boolean;
    /** `retainOnDelete: true` in the resource options. */
    retainOnDelete: boolean;
    /**
     * `deleteBeforeReplace: true` in the resource options: a replacement deletes the old resource
     * first (needed where the new one would take the old one's fixed name). Absent in graphs
     * recorded before this field existed.
     */
    deleteBeforeReplace?: boolean;
    /** The `replaceOnChanges` resource option: input paths whose change replaces the resource. */
    replaceOnChanges?: string[];
    /** The resource's customTimeouts option, when the program set one (e.g. `{ create: "45m" }`). */
    customTimeouts?: { create?: string; update?: string; delete?: string };
    /** True for provider-managed (custom) resources, false for components. */
    custom: boolean;
    /** True when the component is a remote (multi-language) component such as awsx's: its
     *  children are created by the component's provider at deploy time, not by this program. */
    remote: boolean;
    /** URN of the explicit provider reference, when one is set (e.g. a second-region provider). */
    provider: string | null;
    /** The id the mock assigned (components have none). */
    id: string | null;
    /** Inputs as registered; unknown values (not yet known at preview) appear as the string
     *  `"<computed>"`, secrets as `"<secret>"`. */
    inputs: Record<string, unknown>;
}

export interface Violation {
    /** Policy (rule) name. */
    policy: string;
    /** `mandatory` | `advisory` | `remediate`. */
    level: "mandatory" | "advisory" | "remediate";
    /** URN of the offending resource, or null for a stack-level violation. */
    urn: string | null;
    message: string;
}

export interface Graph {
    project: string;
    stack: string;
    resources: GraphResource[];
    /** Stack outputs (exports of the program), as plain JSON. */
    outputs: Record<string, unknown>;
    violations: Violation[];
    /** Monthly cost estimate from the price table (`tools/cost.ts`), when the plan computed one. */
    cost?: CostEstimate;
    /**
     * Warnings the program logged (`pulumi.log.warn`), in order: what `pulumi preview` would show
     * as warnings (no alert recipient, DNS delegation to do, ...). The resource is the one the
     * warning was logged against, or null.
     */
    warnings?: PlanWarning[];
}

export interface PlanWarning {
    message: string;
    urn: string | null;
}

/** One line of the cost estimate: what a resource (or part of it) costs per month. */
export interface CostItem {
    /** URN of the resource the charge belongs to (the stack's URN for stack-wide usage). */
    urn: string;
    type: string;
    name: string;
    /** What is charged, e.g. "NAT gateway hours (Single)". */
    description: string;
    quantity: number;
    /** Unit of `quantity`, e.g. "gateway-month (730 h)". */
    unit: string;
    /** USD per unit and month. */
    unitUsd: number;
    monthlyUsd: number;
    /** The `tools/prices.ts` key the line was priced with (lines of one resource are matched by it across plans). */
    priceKey?: string;
}

export interface CostEstimate {
    /** Sum of the items, rounded to cents. */
    monthlyUsd: number;
    items: CostItem[];
    /** What the total leaves out (usage-based charges, unpriced resources) and what it assumes. */
    assumptions: string[];
    /** The region whose prices were used. */
    region?: string;
    /** Charges fixed by the graph that could not be priced, each with why: the total is a lower bound when any. */
    notPriced?: string[];
    /** False when `notPriced` is not empty: `monthlyUsd` is then "at least". */
    complete?: boolean;
    /** The same charges as `notPriced`, each with the resource it belongs to and what was not priced (a price key, or a short kind), so a diff can tell which lines compare. */
    unpriced?: UnpricedCharge[];
}

export interface UnpricedCharge {
    /** URN of the resource (the stack's URN for stack-wide usage). */
    urn: string;
    /** The `tools/prices.ts` key that had no price, or what could not be priced (`rds.storage`, `ec2.instanceType`, ...). */
    key: string;
    reason: string;
}

/** The placeholder for values that are unknown during preview. */
export const COMPUTED = "<computed>";
/** The placeholder for secret values (their plaintext never leaves the engine). */
export const SECRET = "<secret>";
