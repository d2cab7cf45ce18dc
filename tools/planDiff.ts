/**
 * Offline plan diff: what changes between two recorded resource graphs (tools/graph.ts), e.g.
 * the base branch's `npm run plan -- --out base.json` and a pull request's head, rendered as
 * Markdown for a pull-request comment or a job summary.
 *
 * Pure: no I/O. Secrets never reach the output: a value recorded as "<secret>", or any value
 * under an input key whose name looks secret (password, token, privateKey, ...), is shown as
 * `***`, and a change to one is reported as "(secret changed)" with neither value.
 */
import { costDiff, CostDiff, formatChange, formatDelta, formatTotal } from "./costDiff";
import { Graph, GraphResource, SECRET, Violation } from "./graph";
import { classify, ReplaceTrigger, ruleFor } from "./replacements/analyze";
import { SecurityChange, securityChanges } from "./securityDiff";

/** The masked rendering of a secret value. */
export const MASK = "***";

/** One changed leaf of a resource's inputs. */
export interface InputChange {
    /** Path into `inputs`: `a.b`, `list[2].c`; `policy{json}.Statement[0]` descends into a
     *  string holding JSON (IAM policies), so a one-action change is one line, not two blobs. */
    path: string;
    /** Old value with secrets masked; `undefined` when the path did not exist in the base. */
    old: unknown;
    /** New value with secrets masked; `undefined` when the path no longer exists in the head. */
    new: unknown;
    /** True when either side is secret: renderers print "(secret changed)" and no value. */
    secret: boolean;
}

export interface ResourceRef {
    urn: string;
    type: string;
    name: string;
    protect: boolean;
}

export interface ResourceChange extends ResourceRef {
    /** Changed inputs, in sorted path order. */
    inputs: InputChange[];
    /** Set when `protect` differs between base and head. */
    protectChange?: { old: boolean; new: boolean };
    /** What `pulumi up` does: modify in place, or delete and recreate (see `replaced` for why). */
    action: "update" | "replace";
}

/** A resource Pulumi replaces, with every reason found (its own create-only inputs, or a replaced dependency). */
export interface ReplacedRef extends ResourceRef {
    triggers: ReplaceTrigger[];
    /** True when only propagation replaces it: its own inputs are unchanged in the graph. */
    cascadeOnly: boolean;
    deleteBeforeReplace: boolean;
    /** A fixed physical name that would collide with create-before-delete. */
    nameCollision?: string;
    /** For awsx's Vpc: what its provider replaces at deploy time. */
    children?: string;
}

/** A resource updated in place only because a dependency is replaced (its input becomes the new id/ARN). */
export interface CascadeUpdate extends ResourceRef {
    triggers: ReplaceTrigger[];
}

/** A replaced or removed resource that holds data or identity. */
export interface DataLossRisk extends ResourceRef {
    action: "replace" | "delete";
    /** What is lost. */
    holds: string;
    retainOnDelete: boolean;
}

/** A change Pulumi itself refuses: replacing or deleting a protected resource. */
export interface GateRefusal extends ResourceRef {
    action: "replace" | "delete";
    message: string;
}

export interface PlanDiff {
    project: string;
    stack: string;
    baseCount: number;
    headCount: number;
    /** In the head, not in the base (by URN), in head registration order. */
    added: ResourceRef[];
    /** In the base, not in the head (by URN), in base registration order. */
    removed: ResourceRef[];
    /** Same URN, different inputs or protection, in head registration order. */
    changed: ResourceChange[];
    /** Every resource Pulumi replaces (changed ones and those reached through dependencies), head order. */
    replaced: ReplacedRef[];
    /** Resources whose own inputs are unchanged but that are updated because a dependency is replaced. */
    cascadeUpdates: CascadeUpdate[];
    /** Replaced or removed resources that hold data or identity, protected ones first. */
    dataLoss: DataLossRisk[];
    /** Replacements or deletions of protected resources: `pulumi up` refuses them, so the plan exits 1. */
    gate: GateRefusal[];
    /** Wider access than the base: IAM, network, public access, endpoints (high severity first). */
    security: SecurityChange[];
    /** Monthly cost before and after, when both graphs carry an estimate. */
    cost?: CostDiff;
    /** The head's plan warnings, when it has any. */
    warnings: string[];
    /** Changed resource types the replacement table does not cover (their changes are counted as in-place). */
    unknownTypes: string[];
    /** The head's policy violations, mandatory first. */
    violations: Violation[];
}

/** Input keys whose values are credentials. References to a secret (`secretArn`, `secretId`,
 *  `...KmsKeyId`, `...Name`) are not themselves secret, so reviewers still see them change. */
const SECRET_KEY = /passw(or)?d|secret|token|private_?key|api_?key|access_?key|credential|passphrase|auth_?key|client_?secret|connection_?string/i;
const REFERENCE_KEY = /(Arns?|Ids?|Names?|Length|Enabled|Stages?|Type)$/;

export function isSecretKey(key: string): boolean {
    return SECRET_KEY.test(key) && !REFERENCE_KEY.test(key);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A copy of `value` with every secret replaced by `***`; `underSecretKey` masks the whole value. */
export function maskValue(value: unknown, underSecretKey = false): unknown {
    if (value === undefined) return undefined;
    if (underSecretKey || value === SECRET) return MASK;
    if (Array.isArray(value)) return value.map((v) => maskValue(v));
    if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskValue(v, isSecretKey(k))]));
    return value;
}

/** True when `value` is or contains a secret. */
function containsSecret(value: unknown, underSecretKey = false): boolean {
    if (value === undefined) return false;
    if (underSecretKey || value === SECRET) return true;
    if (Array.isArray(value)) return value.some((v) => containsSecret(v));
    if (isPlainObject(value)) return Object.entries(value).some(([k, v]) => containsSecret(v, isSecretKey(k)));
    return false;
}

function parseJsonDocument(v: unknown): unknown {
    if (typeof v !== "string" || !/^\s*[[{]/.test(v)) return undefined;
    try {
        const parsed = JSON.parse(v);
        return typeof parsed === "object" && parsed !== null ? parsed : undefined;
    } catch {
        return undefined;
    }
}

function childPath(parent: string, key: string): string {
    const safe = /^[A-Za-z_$][\w$-]*$/.test(key) ? key : JSON.stringify(key);
    return parent === "" ? safe : `${parent}.${safe}`;
}

function diffValue(path: string, a: unknown, b: unknown, underSecretKey: boolean, out: InputChange[]): void {
    if (underSecretKey || a === SECRET || b === SECRET) {
        // Compare, but never keep either side: a change is all a reviewer may learn.
        if (JSON.stringify(a) !== JSON.stringify(b)) out.push({ path, old: a === undefined ? undefined : MASK, new: b === undefined ? undefined : MASK, secret: true });
        return;
    }
    if (isPlainObject(a) && isPlainObject(b)) {
        for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
            diffValue(childPath(path, key), a[key], b[key], isSecretKey(key), out);
        }
        return;
    }
    if (Array.isArray(a) && Array.isArray(b)) {
        for (let i = 0; i < Math.max(a.length, b.length); i++) diffValue(`${path}[${i}]`, a[i], b[i], false, out);
        return;
    }
    if (a === b) return;
    const ja = parseJsonDocument(a);
    const jb = parseJsonDocument(b);
    if (ja !== undefined && jb !== undefined) {
        diffValue(`${path}{json}`, ja, jb, false, out);
        return;
    }
    if (JSON.stringify(a) === JSON.stringify(b)) return;
    const secret = containsSecret(a) || containsSecret(b);
    out.push({ path, old: maskValue(a), new: maskValue(b), secret });
}

/** The input-level changes between two resources' inputs, sorted by path. */
export function diffInputs(base: Record<string, unknown>, head: Record<string, unknown>): InputChange[] {
    const out: InputChange[] = [];
    diffValue("", base ?? {}, head ?? {}, false, out);
    return out;
}

function ref(r: GraphResource): ResourceRef {
    return { urn: r.urn, type: r.type, name: r.name, protect: r.protect };
}

const LEVEL_ORDER: Record<string, number> = { mandatory: 0, remediate: 1, advisory: 2 };

export function diffGraphs(base: Graph, head: Graph): PlanDiff {
    const baseByUrn = new Map(base.resources.map((r) => [r.urn, r]));
    const headUrns = new Set(head.resources.map((r) => r.urn));
    const added: ResourceRef[] = [];
    const changed: ResourceChange[] = [];
    for (const h of head.resources) {
        const b = baseByUrn.get(h.urn);
        if (!b) {
            added.push(ref(h));
            continue;
        }
        const inputs = diffInputs(b.inputs, h.inputs);
        const protectChange = Boolean(b.protect) !== Boolean(h.protect) ? { old: Boolean(b.protect), new: Boolean(h.protect) } : undefined;
        if (inputs.length > 0 || protectChange) changed.push({ ...ref(h), inputs, ...(protectChange ? { protectChange } : {}), action: "update" });
    }
    const removedResources = base.resources.filter((r) => !headUrns.has(r.urn));
    const removed = removedResources.map(ref);
    const violations = [...(head.violations ?? [])].sort((x, y) => (LEVEL_ORDER[x.level] ?? 3) - (LEVEL_ORDER[y.level] ?? 3));

    const { verdicts, unknownTypes } = classify(base, head, changed);
    const changedUrns = new Set(changed.map((c) => c.urn));
    for (const c of changed) if (verdicts.get(c.urn)?.action === "replace") c.action = "replace";
    const replaced: ReplacedRef[] = [];
    const cascadeUpdates: CascadeUpdate[] = [];
    const headByUrn = new Map(head.resources.map((r) => [r.urn, r]));
    for (const h of head.resources) {
        const v = verdicts.get(h.urn);
        if (!v) continue;
        if (v.action === "replace") {
            replaced.push({
                ...ref(h),
                protect: v.protect,
                triggers: v.triggers,
                cascadeOnly: !changedUrns.has(h.urn),
                deleteBeforeReplace: v.deleteBeforeReplace,
                ...(v.nameCollision ? { nameCollision: v.nameCollision } : {}),
                ...(v.children ? { children: v.children } : {}),
            });
        } else if (!changedUrns.has(h.urn) && v.triggers.length > 0) {
            cascadeUpdates.push({ ...ref(h), triggers: v.triggers });
        }
    }

    const dataLoss: DataLossRisk[] = [];
    const gate: GateRefusal[] = [];
    for (const r of replaced) {
        const h = headByUrn.get(r.urn)!;
        const holds = h.type === "awsx:ec2:Vpc" ? "the VPC and everything in its subnets (instances, endpoints, databases' network interfaces)" : ruleFor(h.type)?.holdsData;
        if (holds) dataLoss.push({ ...r, action: "replace", holds, retainOnDelete: h.retainOnDelete === true });
        if (r.protect) {
            gate.push({
                ...ref(h),
                protect: true,
                action: "replace",
                message:
                    `${h.type} "${h.name}" is protected and this change replaces it (${r.triggers.map((t) => t.path).filter((p, i, a) => a.indexOf(p) === i).join(", ")}): ` +
                    "Pulumi refuses to replace a protected resource, so `pulumi up` would fail. Revert the create-only change, or make it an in-place one; " +
                    "if the replacement is really wanted, first take a snapshot or backup, then remove `protect` in a pull request of its own and deploy it, and only then apply the replacing change.",
            });
        }
    }
    for (const r of removedResources) {
        const holds = r.type === "awsx:ec2:Vpc" ? "the VPC and everything in it" : ruleFor(r.type)?.holdsData;
        if (holds) dataLoss.push({ ...ref(r), action: "delete", holds, retainOnDelete: r.retainOnDelete === true });
        if (r.protect) {
            gate.push({
                ...ref(r),
                action: "delete",
                message: `${r.type} "${r.name}" is protected and this change removes it from the program: Pulumi refuses to delete a protected resource, so \`pulumi up\` would fail. Keep it, or unprotect it in a reviewed pull request of its own first (and back its data up).`,
            });
        }
    }
    dataLoss.sort((x, y) => Number(y.protect) - Number(x.protect));

    const cost = base.cost && head.cost ? costDiff(base.cost, head.cost) : undefined;
    const warnings = (head.warnings ?? []).map((w) => (typeof w === "string" ? w : String(w.message ?? JSON.stringify(w))));
    return {
        project: head.project,
        stack: head.stack,
        baseCount: base.resources.length,
        headCount: head.resources.length,
        added,
        removed,
        changed,
        replaced,
        cascadeUpdates,
        dataLoss,
        gate,
        security: securityChanges(base, head),
        ...(cost ? { cost } : {}),
        warnings,
        unknownTypes,
        violations,
    };
}

/** Checks that `text` is a graph written by `npm run plan -- --out/--json`; throws a message naming the problem. */
export function parseGraphJson(text: string, source: string): Graph {
    let value: unknown;
    try {
        value = JSON.parse(text);
    } catch (err) {
        throw new Error(`${source} is not JSON (${(err as Error).message}); write it with \`npm run plan -- --stack <name> --out ${source}\``);
    }
    const g = value as Partial<Graph>;
    if (!isPlainObject(g) || !Array.isArray(g.resources) || typeof g.stack !== "string") {
        throw new Error(`${source} is not a plan graph (expected { project, stack, resources: [...] }); write it with \`npm run plan -- --stack <name> --out ${source}\``);
    }
    const bad = g.resources.findIndex((r) => !isPlainObject(r) || typeof r.urn !== "string" || typeof r.type !== "string" || !isPlainObject(r.inputs));
    if (bad >= 0) throw new Error(`${source}: resources[${bad}] lacks a urn, type or inputs`);
    return {
        project: g.project ?? "",
        stack: g.stack,
        resources: g.resources,
        outputs: g.outputs ?? {},
        violations: Array.isArray(g.violations) ? g.violations : [],
        ...(isPlainObject(g.cost) && Array.isArray((g.cost as { items?: unknown }).items) ? { cost: g.cost } : {}),
        ...(Array.isArray(g.warnings) ? { warnings: g.warnings } : {}),
    };
}

// ---------------------------------------------------------------------------------------------
// Markdown

/** GitHub rejects issue and pull-request comments longer than this. */
export const GITHUB_COMMENT_LIMIT = 65_536;
/** Longest single value printed; longer ones are cut with their length stated. */
const MAX_VALUE_CHARS = 400;
/** Input changes printed per resource once the diff has to be summarised. */
const SUMMARY_INPUTS_PER_RESOURCE = 20;

export interface RenderOptions {
    stack: string;
    /** Upper bound on the returned string's length; default 65,000 (under GitHub's 65,536). */
    maxChars?: number;
}

/** A Markdown code span that survives backticks and pipes inside the value. */
function code(text: string): string {
    const flat = text.replace(/\r?\n/g, "\\n").replace(/\|/g, "\\|");
    const ticks = flat.includes("`") ? "``" : "`";
    const pad = ticks.length > 1 ? " " : "";
    return `${ticks}${pad}${flat}${pad}${ticks}`;
}

function renderValue(v: unknown): string {
    if (v === undefined) return "_(absent)_";
    let s = typeof v === "string" ? JSON.stringify(v) : JSON.stringify(v) ?? String(v);
    if (s.length > MAX_VALUE_CHARS) s = `${s.slice(0, MAX_VALUE_CHARS)}… (${s.length} chars)`;
    return code(s);
}

function renderInputChange(c: InputChange): string {
    if (c.secret) {
        const what = c.old === undefined ? "(secret added)" : c.new === undefined ? "(secret removed)" : "(secret changed)";
        return `  - ${code(c.path)}: ${what}`;
    }
    return `  - ${code(c.path)}: ${renderValue(c.old)} → ${renderValue(c.new)}`;
}

function renderViolation(v: Violation): string {
    const icon = v.level === "advisory" ? "⚠️" : "❌";
    return `- ${icon} **${v.level}** ${code(v.policy)} on ${v.urn ? code(v.urn.split("::").pop()!) : "the stack"}: ${v.message.replace(/\r?\n/g, " ")}`;
}

const escapeName = (name: string) => name.replace(/[*_`|<>]/g, (ch) => `\\${ch}`);

function refLine(sign: string, r: ResourceRef): string {
    // The sign in a code span: a bare "+" or "-" after the bullet would start a nested list.
    return `- \`${sign}\` ${code(r.type)} **${escapeName(r.name)}**${r.protect ? " _(protected)_" : ""}`;
}

function changeBlock(c: ResourceChange, cap?: number): string {
    const lines = [refLine(c.action === "replace" ? "+-" : "~", c)];
    if (c.protectChange) lines.push(`  - protect: ${code(String(c.protectChange.old))} → ${code(String(c.protectChange.new))}`);
    const shown = cap === undefined ? c.inputs : c.inputs.slice(0, cap);
    for (const i of shown) lines.push(renderInputChange(i));
    if (shown.length < c.inputs.length) lines.push(`  - _… ${c.inputs.length - shown.length} more input changes not shown_`);
    return lines.join("\n");
}

function replaceBlock(r: ReplacedRef): string {
    const lines = [refLine("+-", r) + (r.cascadeOnly ? " _(its own inputs are unchanged)_" : "")];
    const seen = new Set<string>();
    for (const t of r.triggers) {
        if (seen.has(t.why)) continue;
        seen.add(t.why);
        lines.push(`  - ${t.why}${t.kind === "unverified" ? " ⚠️ unverified" : ""}`);
    }
    if (r.children) lines.push(`  - ${r.children}`);
    lines.push(`  - ${r.deleteBeforeReplace ? "deleteBeforeReplace: the old one is deleted first (downtime until the new one is up)" : "created before the old one is deleted"}`);
    if (r.nameCollision) lines.push(`  - ⚠️ ${r.nameCollision}`);
    return lines.join("\n");
}

/** Add / change / replace / remove counts, the way `pulumi preview` counts them. */
function summaryLine(d: PlanDiff): string {
    const mandatory = d.violations.filter((v) => v.level !== "advisory").length;
    const advisory = d.violations.length - mandatory;
    const inPlace = d.changed.filter((c) => c.action === "update").length + d.cascadeUpdates.length;
    const replacedChanged = d.changed.filter((c) => c.action === "replace").length;
    const cascade = d.replaced.length - replacedChanged;
    return (
        `**${d.added.length} to add, ${inPlace} to change in place, ${d.replaced.length} to replace, ${d.removed.length} to remove** ` +
        `(${d.baseCount} → ${d.headCount} resources${cascade > 0 ? `; ${cascade} of the replacements follow from replaced dependencies` : ""}) · ` +
        `policies: ${mandatory} mandatory, ${advisory} advisory violation(s)`
    );
}

function costLine(d: PlanDiff): string[] {
    if (!d.cost) return [];
    const c = d.cost;
    const region = c.before.region && c.after.region && c.before.region !== c.after.region ? ` (${c.before.region} → ${c.after.region})` : "";
    return [`**Monthly cost:** ${formatTotal(c.before)} → ${formatTotal(c.after)} (${formatChange(c)})${region}`];
}

function header(d: PlanDiff, stack: string): string[] {
    const gate = d.gate.length > 0 ? ["", `> ⛔ **Refused:** ${d.gate.length} protected resource(s) would be ${d.gate.some((g) => g.action === "replace") ? "replaced" : "deleted"}; \`pulumi up\` would fail. See below.`] : [];
    return [`<!-- platform-plan-diff stack=${stack} -->`, `### Offline plan diff: stack \`${stack}\``, "", summaryLine(d), ...costLine(d).map((l) => `\n${l}`), ...gate];
}

/** The sections a reviewer must see first, each capped so a huge diff still shows all of them. */
function topSections(d: PlanDiff, capEach = Infinity): string[] {
    const out: string[] = [];
    const capped = <T>(items: T[], render: (x: T) => string, what: string) => {
        const shown = items.slice(0, capEach);
        const lines = shown.map(render);
        if (shown.length < items.length) lines.push(`- _… ${items.length - shown.length} more ${what} not shown_`);
        return lines;
    };
    if (d.gate.length > 0) {
        out.push("", `#### ⛔ Refused: protected resources (${d.gate.length})`, "", ...capped(d.gate, (g) => `- ${refLine(g.action === "replace" ? "+-" : "-", g).slice(2)}: ${g.message}`, "refusals"));
    }
    if (d.dataLoss.length > 0) {
        out.push(
            "",
            `#### ⚠️ Data-loss risks (${d.dataLoss.length})`,
            "",
            ...capped(
                d.dataLoss,
                (r) => `- ${r.action === "replace" ? "**replaced**" : "**deleted**"} ${code(r.type)} **${escapeName(r.name)}**${r.protect ? " _(protected)_" : " _(not protected)_"}${r.retainOnDelete ? " _(retained on delete: the old one is kept, orphaned)_" : ""}: loses ${r.holds}`,
                "risks",
            ),
        );
    }
    if (d.security.length > 0) {
        out.push("", `#### 🔓 Security changes: wider access (${d.security.length})`, "", "| | resource | change |", "|---|---|---|",
            ...capped(d.security, (c) => `| ${c.severity === "high" ? "⚠️ high" : "widening"} | ${code(c.type.split(":").pop()!)} **${escapeName(c.name)}** | ${c.summary.replace(/\|/g, "\\|").replace(/\r?\n/g, " ")} |`, "security changes"));
    }
    if (d.cost && (d.cost.lines.length > 0 || d.cost.after.notPriced.length > 0 || d.cost.before.notPriced.length > 0)) {
        out.push("", `#### 💰 Cost change`, "", `${formatTotal(d.cost.before)} → ${formatTotal(d.cost.after)} per month (${formatChange(d.cost)})`);
        if (d.cost.lines.length > 0) {
            // A missing amount is "–" for a charge that is not there and "not priced" for one the price table lacks.
            const amount = (usd: number | undefined, comparable: boolean) => (usd !== undefined ? `$${usd.toFixed(2)}` : comparable ? "–" : "not priced");
            out.push("", "| resource | charge | before | after | change |", "|---|---|---:|---:|---:|",
                ...capped(d.cost.lines, (l) => `| ${code(l.type.split(":").pop()!)} **${escapeName(l.name)}** | ${l.description.replace(/\|/g, "\\|")} | ${amount(l.beforeUsd, l.comparable)} | ${amount(l.afterUsd, l.comparable)} | ${l.comparable ? formatDelta(l.deltaUsd) : "not comparable"} |`, "cost lines"));
        }
        for (const [which, s] of [["base", d.cost.before], ["head", d.cost.after]] as const) {
            if (s.notPriced.length > 0) out.push("", `<details><summary>${s.notPriced.length} item(s) not priced in the ${which}</summary>`, "", ...s.notPriced.slice(0, capEach === Infinity ? undefined : capEach).map((n) => `- ${n}`), "", "</details>");
        }
    }
    const warnings = [
        ...d.warnings,
        ...(d.unknownTypes.length ? [`Not in the replacement table, so shown as in-place changes although they may replace: ${d.unknownTypes.map((t) => `\`${t}\``).join(", ")}`] : []),
    ];
    if (warnings.length > 0) out.push("", `#### Warnings (${warnings.length})`, "", ...capped(warnings, (w) => `- ${w.replace(/\r?\n/g, " ")}`, "warnings"));
    return out;
}

function violationSection(d: PlanDiff): string[] {
    if (d.violations.length === 0) return [];
    return ["", `#### Policy violations in the head (${d.violations.length})`, "", ...d.violations.map(renderViolation)];
}

/** Added/removed/changed counts per resource type, most changes first. */
export function countsByType(d: PlanDiff): Array<{ type: string; added: number; changed: number; removed: number }> {
    const rows = new Map<string, { type: string; added: number; changed: number; removed: number }>();
    const row = (type: string) => rows.get(type) ?? rows.set(type, { type, added: 0, changed: 0, removed: 0 }).get(type)!;
    for (const r of d.added) row(r.type).added++;
    for (const r of d.changed) row(r.type).changed++;
    for (const r of d.removed) row(r.type).removed++;
    const total = (r: { added: number; changed: number; removed: number }) => r.added + r.changed + r.removed;
    return [...rows.values()].sort((a, b) => total(b) - total(a) || a.type.localeCompare(b.type));
}

const FOOTER =
    "<sub>Offline plan under Pulumi's mock runtime: provider-computed values show as `<computed>`; children of remote components (awsx `Vpc`) are not listed. " +
    "Replacements follow the create-only inputs of terraform-provider-aws and -random (`tools/replacements/forceNew.ts`); costs are list prices from `tools/prices.ts`.</sub>";

function fullMarkdown(d: PlanDiff, stack: string): string {
    const lines = [...header(d, stack), ...topSections(d), ...violationSection(d)];
    if (d.added.length + d.changed.length + d.removed.length + d.replaced.length + d.cascadeUpdates.length === 0) lines.push("", "No resource changes.");
    if (d.replaced.length) lines.push("", `#### To replace (${d.replaced.length})`, "", ...d.replaced.map(replaceBlock));
    if (d.added.length) lines.push("", `#### To add (${d.added.length})`, "", ...d.added.map((r) => refLine("+", r)));
    if (d.removed.length) lines.push("", `#### To remove (${d.removed.length})`, "", ...d.removed.map((r) => refLine("-", r)));
    if (d.changed.length) lines.push("", `#### Input changes (${d.changed.length})`, "", ...d.changed.map((c) => changeBlock(c)));
    if (d.cascadeUpdates.length) lines.push("", `#### Updated because a dependency is replaced (${d.cascadeUpdates.length})`, "", ...d.cascadeUpdates.map((c) => `${refLine("~", c)}\n${[...new Set(c.triggers.map((t) => `  - ${t.why}`))].join("\n")}`));
    lines.push("", FOOTER);
    return lines.join("\n") + "\n";
}

/**
 * The diff as Markdown for a pull-request comment. Never longer than `maxChars`: a diff that
 * would be is summarised (the refusals, data-loss risks, security and cost sections first,
 * then counts by type, then as much detail as fits, then a note saying how many changes were
 * left out).
 */
export function renderDiffMarkdown(d: PlanDiff, options: RenderOptions): string {
    const maxChars = Math.min(options.maxChars ?? 65_000, GITHUB_COMMENT_LIMIT - 1);
    const full = fullMarkdown(d, options.stack);
    if (full.length <= maxChars) return full;

    const out: string[] = [
        ...header(d, options.stack),
        "",
        `> The full diff is ${full.length.toLocaleString("en-US")} characters, over the ${maxChars.toLocaleString("en-US")}-character comment budget, so it is summarised: ` +
            `counts by type, then as much detail as fits. Run \`npm run plan -- --stack ${options.stack} --diff base.json\` locally for everything.`,
    ];
    const reserve = 400; // room for the closing notes and the footer
    let length = out.join("\n").length;
    const push = (block: string): boolean => {
        if (length + block.length + 1 + reserve > maxChars) return false;
        out.push(block);
        length += block.length + 1;
        return true;
    };
    for (const cap of [20, 5, 1]) {
        const top = topSections(d, cap).join("\n");
        if (push(top)) break;
    }
    push("\n| type | add | change | remove |\n|---|---:|---:|---:|");
    const rows = countsByType(d);
    let rowsShown = 0;
    for (const r of rows) {
        if (!push(`| ${code(r.type)} | ${r.added} | ${r.changed} | ${r.removed} |`)) break;
        rowsShown++;
    }
    if (rowsShown < rows.length) push(`\n_${rows.length - rowsShown} more resource types not shown._`);

    // Violations first (mandatory ones lead), then the resource detail, each block whole or not at all.
    const blocks: Array<{ kind: "violation" | "change"; heading: string; text: string }> = [
        ...d.violations.map((v) => ({ kind: "violation" as const, heading: `#### Policy violations in the head (${d.violations.length})`, text: renderViolation(v) })),
        ...d.replaced.map((r) => ({ kind: "change" as const, heading: `#### To replace (${d.replaced.length})`, text: replaceBlock(r) })),
        ...d.added.map((r) => ({ kind: "change" as const, heading: `#### To add (${d.added.length})`, text: refLine("+", r) })),
        ...d.removed.map((r) => ({ kind: "change" as const, heading: `#### To remove (${d.removed.length})`, text: refLine("-", r) })),
        ...d.changed.filter((c) => c.action === "update").map((c) => ({ kind: "change" as const, heading: `#### Input changes (${d.changed.length})`, text: changeBlock(c, SUMMARY_INPUTS_PER_RESOURCE) })),
    ];
    let heading = "";
    const shown = { violation: 0, change: 0 };
    for (const b of blocks) {
        const text = b.heading !== heading ? `\n${b.heading}\n\n${b.text}` : b.text;
        if (!push(text)) break;
        heading = b.heading;
        shown[b.kind]++;
    }
    const hiddenViolations = d.violations.length - shown.violation;
    const hiddenChanges = d.added.length + d.removed.length + d.changed.filter((c) => c.action === "update").length + d.replaced.length - shown.change;
    out.push("");
    if (hiddenViolations > 0) out.push(`_${hiddenViolations} more policy violations not shown._`);
    if (hiddenChanges > 0) out.push(`_${hiddenChanges} more changes not shown._`);
    out.push("", FOOTER);
    let text = out.join("\n") + "\n";
    if (text.length > maxChars) text = text.slice(0, maxChars - 40) + "\n\n_(truncated)_\n";
    return text;
}
