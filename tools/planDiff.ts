/**
 * Offline plan diff: what changes between two recorded resource graphs (tools/graph.ts), e.g.
 * the base branch's `npm run plan -- --out base.json` and a pull request's head, rendered as
 * Markdown for a pull-request comment or a job summary.
 *
 * Pure: no I/O. Secrets never reach the output: a value recorded as "<secret>", or any value
 * under an input key whose name looks secret (password, token, privateKey, ...), is shown as
 * `***`, and a change to one is reported as "(secret changed)" with neither value.
 */
import { Graph, GraphResource, SECRET, Violation } from "./graph";

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
        if (inputs.length > 0 || protectChange) changed.push({ ...ref(h), inputs, ...(protectChange ? { protectChange } : {}) });
    }
    const removed = base.resources.filter((r) => !headUrns.has(r.urn)).map(ref);
    const violations = [...(head.violations ?? [])].sort((x, y) => (LEVEL_ORDER[x.level] ?? 3) - (LEVEL_ORDER[y.level] ?? 3));
    return { project: head.project, stack: head.stack, baseCount: base.resources.length, headCount: head.resources.length, added, removed, changed, violations };
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
    return { project: g.project ?? "", stack: g.stack, resources: g.resources, outputs: g.outputs ?? {}, violations: Array.isArray(g.violations) ? g.violations : [] };
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

function refLine(sign: string, r: ResourceRef): string {
    // The sign in a code span: a bare "+" or "-" after the bullet would start a nested list.
    return `- \`${sign}\` ${code(r.type)} **${r.name.replace(/[*_`|<>]/g, (ch) => `\\${ch}`)}**${r.protect ? " _(protected)_" : ""}`;
}

function changeBlock(c: ResourceChange, cap?: number): string {
    const lines = [refLine("~", c)];
    if (c.protectChange) lines.push(`  - protect: ${code(String(c.protectChange.old))} → ${code(String(c.protectChange.new))}`);
    const shown = cap === undefined ? c.inputs : c.inputs.slice(0, cap);
    for (const i of shown) lines.push(renderInputChange(i));
    if (shown.length < c.inputs.length) lines.push(`  - _… ${c.inputs.length - shown.length} more input changes not shown_`);
    return lines.join("\n");
}

function summaryLine(d: PlanDiff): string {
    const mandatory = d.violations.filter((v) => v.level !== "advisory").length;
    const advisory = d.violations.length - mandatory;
    return (
        `**${d.added.length} to add, ${d.changed.length} to change, ${d.removed.length} to remove** ` +
        `(${d.baseCount} → ${d.headCount} resources) · policies: ${mandatory} mandatory, ${advisory} advisory violation(s)`
    );
}

function header(d: PlanDiff, stack: string): string[] {
    return [`<!-- platform-plan-diff stack=${stack} -->`, `### Offline plan diff: stack \`${stack}\``, "", summaryLine(d)];
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

const FOOTER = "<sub>Offline plan under Pulumi's mock runtime: provider-computed values show as `<computed>`; children of remote components (awsx `Vpc`) are not listed.</sub>";

function fullMarkdown(d: PlanDiff, stack: string): string {
    const lines = [...header(d, stack), ...violationSection(d)];
    if (d.added.length + d.changed.length + d.removed.length === 0) lines.push("", "No resource changes.");
    if (d.added.length) lines.push("", `#### To add (${d.added.length})`, "", ...d.added.map((r) => refLine("+", r)));
    if (d.removed.length) lines.push("", `#### To remove (${d.removed.length})`, "", ...d.removed.map((r) => refLine("-", r)));
    if (d.changed.length) lines.push("", `#### To change (${d.changed.length})`, "", ...d.changed.map((c) => changeBlock(c)));
    lines.push("", FOOTER);
    return lines.join("\n") + "\n";
}

/**
 * The diff as Markdown for a pull-request comment. Never longer than `maxChars`: a diff that
 * would be is summarised (counts by type, then as much detail as fits, then a note saying how
 * many changes were left out).
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
        "",
        "| type | add | change | remove |",
        "|---|---:|---:|---:|",
    ];
    const reserve = 400; // room for the closing notes and the footer
    let length = out.join("\n").length;
    const push = (block: string): boolean => {
        if (length + block.length + 1 + reserve > maxChars) return false;
        out.push(block);
        length += block.length + 1;
        return true;
    };
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
        ...d.added.map((r) => ({ kind: "change" as const, heading: `#### To add (${d.added.length})`, text: refLine("+", r) })),
        ...d.removed.map((r) => ({ kind: "change" as const, heading: `#### To remove (${d.removed.length})`, text: refLine("-", r) })),
        ...d.changed.map((c) => ({ kind: "change" as const, heading: `#### To change (${d.changed.length})`, text: changeBlock(c, SUMMARY_INPUTS_PER_RESOURCE) })),
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
    const hiddenChanges = d.added.length + d.removed.length + d.changed.length - shown.change;
    out.push("");
    if (hiddenViolations > 0) out.push(`_${hiddenViolations} more policy violations not shown._`);
    if (hiddenChanges > 0) out.push(`_${hiddenChanges} more changes not shown._`);
    out.push("", FOOTER);
    let text = out.join("\n") + "\n";
    if (text.length > maxChars) text = text.slice(0, maxChars - 40) + "\n\n_(truncated)_\n";
    return text;
}
