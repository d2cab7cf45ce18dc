/**
 * Shared helpers for the policy rules. Everything here is pure: no Pulumi runtime, no gRPC, so the
 * rules can run under the real policy engine (`pulumi preview --policy-pack policies`) and offline
 * (`tools/policyCheck.ts`) alike.
 *
 * Inputs are read defensively because they come from two worlds:
 *  - the real engine passes an "unknown-checking proxy": reading a value that is unknown during
 *    preview throws an `UnknownValueError`;
 *  - the offline graph (tools/graph.ts) spells unknowns as the string "<computed>" and secrets as
 *    "<secret>".
 * `get()` folds both into the `UNKNOWN` marker so rules can decide what an unknown means (as a rule
 * of thumb: an unknown value is never reported as a violation; it cannot be judged before deploy).
 */

import type { EnforcementLevel, Severity } from "@pulumi/policy";

/** The offline placeholders (see tools/graph.ts); duplicated so the pack has no dependency on tools/. */
export const COMPUTED = "<computed>";
export const SECRET = "<secret>";

/** Marker returned by `get()` for a value that cannot be known (unknown at preview, or secret). */
export const UNKNOWN: unique symbol = Symbol("unknown");
export type Unknown = typeof UNKNOWN;

/** True for the `UnknownValueError` thrown by @pulumi/policy's unknown-checking proxy (checked by
 *  shape, so it works whichever copy of @pulumi/policy loaded the rules). */
export function isUnknownValueError(e: unknown): boolean {
    return e instanceof Error && (e.constructor?.name === "UnknownValueError" ||
        /can't be known during preview/.test(e.message));
}

/** True when `v` is a placeholder for a value we cannot see. */
export function isUnknown(v: unknown): boolean {
    return v === UNKNOWN || v === COMPUTED || v === SECRET;
}

/** Reads `obj[path[0]][path[1]]...` without ever throwing; unknown values become `UNKNOWN`. */
export function get(obj: unknown, ...path: (string | number)[]): unknown {
    let cur: unknown = obj;
    try {
        for (const key of path) {
            if (cur === undefined || cur === null || isUnknown(cur)) {
                return isUnknown(cur) ? UNKNOWN : undefined;
            }
            if (typeof cur !== "object") {
                return undefined;
            }
            cur = (cur as Record<string | number, unknown>)[key];
        }
    } catch (e) {
        if (isUnknownValueError(e)) {
            return UNKNOWN;
        }
        throw e;
    }
    return isUnknown(cur) ? UNKNOWN : cur;
}

/** Reads an array-valued input: `[]` when absent, `UNKNOWN` when unknown, otherwise the elements
 *  (each element read through `get`, so an unknown element is `UNKNOWN`). */
export function getArray(obj: unknown, ...path: (string | number)[]): unknown[] | Unknown {
    const v = get(obj, ...path);
    if (v === UNKNOWN) {
        return UNKNOWN;
    }
    if (v === undefined || v === null) {
        return [];
    }
    if (!Array.isArray(v)) {
        return [v];
    }
    const out: unknown[] = [];
    try {
        for (let i = 0; i < v.length; i++) {
            out.push(get(v, i));
        }
    } catch (e) {
        if (isUnknownValueError(e)) {
            return UNKNOWN;
        }
        throw e;
    }
    return out;
}

/** The keys of an object input, never throwing (an unknown object has no visible keys). */
export function keys(obj: unknown): string[] {
    try {
        return obj && typeof obj === "object" ? Object.keys(obj) : [];
    } catch (e) {
        if (isUnknownValueError(e)) {
            return [];
        }
        throw e;
    }
}

/** `true`, `"true"` (any case) → true; `false`, `"false"` → false; unknown → UNKNOWN; else undefined. */
export function bool(v: unknown): boolean | Unknown | undefined {
    if (v === UNKNOWN || isUnknown(v)) {
        return UNKNOWN;
    }
    if (typeof v === "boolean") {
        return v;
    }
    if (typeof v === "string") {
        const s = v.trim().toLowerCase();
        if (s === "true") { return true; }
        if (s === "false") { return false; }
    }
    return undefined;
}

/** A number input (numbers or numeric strings); unknown → UNKNOWN; absent/garbage → undefined. */
export function num(v: unknown): number | Unknown | undefined {
    if (v === UNKNOWN || isUnknown(v)) {
        return UNKNOWN;
    }
    if (typeof v === "number" && !Number.isNaN(v)) {
        return v;
    }
    if (typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v))) {
        return Number(v);
    }
    return undefined;
}

/** A present, non-empty, known string or object value (e.g. "is an instance profile set?").
 *  Unknown counts as set: it will be set to *something* at deploy time. */
export function isSet(v: unknown): boolean {
    if (v === undefined || v === null) { return false; }
    if (v === UNKNOWN || isUnknown(v)) { return true; }
    if (typeof v === "string") { return v.trim() !== ""; }
    return true;
}

/** Plain copy of a value with every unknown replaced by `UNKNOWN` (drops the real engine's proxy). */
export function plain(v: unknown, depth = 0): unknown {
    if (depth > 32) { return undefined; }
    if (isUnknown(v)) { return UNKNOWN; }
    if (Array.isArray(v)) {
        const arr = getArray(v);
        return arr === UNKNOWN ? UNKNOWN : arr.map(e => plain(e, depth + 1));
    }
    if (v && typeof v === "object") {
        const out: Record<string, unknown> = {};
        for (const k of keys(v)) {
            out[k] = plain(get(v, k), depth + 1);
        }
        return out;
    }
    return v;
}

// ------------------------------------------------------------------------------------------------
// IAM policy documents
// ------------------------------------------------------------------------------------------------

export interface Statement {
    Sid?: unknown;
    Effect?: unknown;
    Principal?: unknown;
    NotPrincipal?: unknown;
    Action?: unknown;
    NotAction?: unknown;
    Resource?: unknown;
    NotResource?: unknown;
    Condition?: unknown;
}

/**
 * Parses a policy document input that may be a JSON string, an object (`aws.iam.PolicyDocument`),
 * unknown, or garbage. Returns the statements, `UNKNOWN` when the document cannot be seen, or
 * `undefined` when there is no document.
 */
export function statements(doc: unknown): Statement[] | Unknown | undefined {
    let d = doc === UNKNOWN ? UNKNOWN : plain(doc);
    if (d === undefined || d === null || d === "") {
        return undefined;
    }
    if (d === UNKNOWN) {
        return UNKNOWN;
    }
    if (typeof d === "string") {
        // A string that merely embeds an unknown (e.g. "arn:...:<computed>") still parses; a
        // whole-document unknown is caught above.
        try {
            d = JSON.parse(d);
        } catch {
            return UNKNOWN; // not JSON: cannot be judged (e.g. a template we cannot see into)
        }
    }
    if (!d || typeof d !== "object") {
        return UNKNOWN;
    }
    const st = (d as Record<string, unknown>).Statement ?? (d as Record<string, unknown>).statement;
    if (st === UNKNOWN) {
        return UNKNOWN;
    }
    if (st === undefined || st === null) {
        return [];
    }
    const list = Array.isArray(st) ? st : [st];
    return list.filter(s => s && typeof s === "object") as Statement[];
}

/** A string-or-list policy field as a list of strings (unknown elements kept as UNKNOWN). */
export function strList(v: unknown): (string | Unknown)[] {
    if (v === undefined || v === null) { return []; }
    const arr = Array.isArray(v) ? v : [v];
    return arr.map(e => (isUnknown(e) ? UNKNOWN : String(e)));
}

export function isAllow(s: Statement): boolean {
    return typeof s.Effect === "string" && s.Effect.toLowerCase() === "allow";
}

export function isDeny(s: Statement): boolean {
    return typeof s.Effect === "string" && s.Effect.toLowerCase() === "deny";
}

/** True when a Principal value means "anyone": `"*"`, `{"AWS": "*"}`, `{"AWS": ["*", ...]}`. */
export function isWildcardPrincipal(p: unknown): boolean {
    if (p === "*") { return true; }
    if (p && typeof p === "object" && !Array.isArray(p)) {
        for (const [k, v] of Object.entries(p as Record<string, unknown>)) {
            if (k.toLowerCase() === "aws" && strList(v).some(x => x === "*")) {
                return true;
            }
        }
    }
    return false;
}

/** Condition keys that tie a public-principal statement to a specific caller or channel. */
export const RESTRICTING_CONDITION_KEYS = [
    "aws:sourcearn", "aws:sourceaccount", "aws:sourceowner", "aws:principalorgid", "aws:principalorgpaths",
    "aws:principalaccount", "aws:principalarn", "aws:sourcevpce", "aws:sourcevpc", "aws:sourceip",
    "aws:sourceorgid", "aws:sourceorgpaths", "aws:resourceorgid", "aws:userid", "aws:username",
    "aws:securetransport", "aws:calledvia", "aws:principalservicename",
];

/** The condition keys of a statement's `Condition` block (lower-cased, operator level flattened). */
export function conditionKeys(cond: unknown): string[] {
    const out: string[] = [];
    if (cond && typeof cond === "object") {
        for (const inner of Object.values(cond as Record<string, unknown>)) {
            if (inner && typeof inner === "object") {
                out.push(...Object.keys(inner as Record<string, unknown>).map(k => k.toLowerCase()));
            }
        }
    }
    return out;
}

/** Looks a condition key up (case-insensitive) across all operators: [operator, values][]. */
export function conditionValues(cond: unknown, key: string): [string, (string | Unknown)[]][] {
    const out: [string, (string | Unknown)[]][] = [];
    if (cond && typeof cond === "object") {
        for (const [op, inner] of Object.entries(cond as Record<string, unknown>)) {
            if (inner && typeof inner === "object") {
                for (const [k, v] of Object.entries(inner as Record<string, unknown>)) {
                    if (k.toLowerCase() === key.toLowerCase()) {
                        out.push([op, strList(v)]);
                    }
                }
            }
        }
    }
    return out;
}

// ------------------------------------------------------------------------------------------------
// Rule metadata
// ------------------------------------------------------------------------------------------------

/** Extra, pack-specific metadata kept next to each rule (exported from rules/index.ts). */
export interface RuleMetadata {
    name: string;
    description: string;
    enforcementLevel: EnforcementLevel;
    severity: Severity;
    /** The concern/module the rule belongs to. */
    concern: "private-buckets" | "role-based-access" | "compute" | "rds" | "load-balancers";
    /** Stack policies see the whole stack (matching resources to each other); resource policies one resource. */
    kind: "resource" | "stack";
    /** What to do about a violation (every violation message ends with a "Fix: ..." hint as well). */
    remediation: string;
}

/** Formats a violation message: "<what is wrong> Fix: <remediation>". */
export function msg(problem: string, fix: string): string {
    return `${problem.trim()} Fix: ${fix.trim()}`;
}

/** Reads an environment name from a tag map input (`tags.Environment`, any key case). */
export function environmentFromTags(tags: unknown): string | undefined {
    for (const k of keys(tags)) {
        if (k.toLowerCase() === "environment") {
            const v = get(tags, k);
            return typeof v === "string" ? v : undefined;
        }
    }
    return undefined;
}

/** True for the names this project uses for production. */
export function isProduction(env: string | undefined): boolean {
    return env !== undefined && ["prod", "production"].includes(env.trim().toLowerCase());
}
