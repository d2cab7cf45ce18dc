/**
 * An EventBridge event-pattern matcher for the tests: the rules' patterns are fed the sample
 * events the AWS documentation publishes, so a pattern that names a field or a value the real
 * event does not carry is found here instead of by an alert that never arrives.
 *
 * Semantics, from the Amazon EventBridge User Guide ("Creating event patterns",
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html, and "Content
 * filtering", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html):
 * - every field named in the pattern must match (AND); the values in a field's array are
 *   alternatives (OR); a field the event lacks matches nothing, except `{"exists": false}`;
 * - an event field that is an array matches when any element matches;
 * - objects nest; `$or` takes a list of sub-patterns, one of which must match;
 * - filters: exact values (strings, numbers, booleans, null), `prefix`, `suffix`,
 *   `anything-but` (a value, a list, or `{prefix}`/`{suffix}`), `exists`, `numeric`,
 *   `equals-ignore-case`, `wildcard`.
 * Matching is case-sensitive and exact, as EventBridge's is.
 */

export type EventPattern = Record<string, unknown>;

const ABSENT = Symbol("absent");

/** True when `event` matches `pattern` as EventBridge would match it. */
export function matchesPattern(pattern: EventPattern, event: unknown): boolean {
    return matchObject(pattern, event);
}

function matchObject(pattern: EventPattern, node: unknown): boolean {
    if (pattern === null || typeof pattern !== "object" || Array.isArray(pattern)) throw new Error(`a pattern must be an object, not ${JSON.stringify(pattern)}`);
    return Object.entries(pattern).every(([key, spec]) => {
        if (key === "$or") {
            if (!Array.isArray(spec) || spec.length < 2) throw new Error("$or takes a list of at least two sub-patterns");
            return spec.some((sub) => matchObject(sub as EventPattern, node));
        }
        const value = node !== null && typeof node === "object" && !Array.isArray(node) && key in (node as object) ? (node as Record<string, unknown>)[key] : ABSENT;
        if (Array.isArray(spec)) {
            if (spec.length === 0) throw new Error(`pattern field "${key}": empty arrays are not allowed`);
            return spec.some((filter) => matchFilter(filter, value));
        }
        if (spec !== null && typeof spec === "object") return value !== ABSENT && matchObject(spec as EventPattern, value);
        throw new Error(`pattern field "${key}" must be an array or an object, not ${JSON.stringify(spec)}`);
    });
}

function matchFilter(filter: unknown, value: unknown): boolean {
    if (filter !== null && typeof filter === "object") {
        const entries = Object.entries(filter as Record<string, unknown>);
        if (entries.length !== 1) throw new Error(`a filter has exactly one operator: ${JSON.stringify(filter)}`);
        const [op, arg] = entries[0];
        if (op === "exists") return (value !== ABSENT && !(value !== null && typeof value === "object" && !Array.isArray(value))) === arg;
        if (value === ABSENT) return false;
        return eachLeaf(value, (v) => matchOperator(op, arg, v));
    }
    if (value === ABSENT) return false;
    return eachLeaf(value, (v) => v === filter);
}

function eachLeaf(value: unknown, test: (v: unknown) => boolean): boolean {
    return Array.isArray(value) ? value.some(test) : test(value);
}

function matchOperator(op: string, arg: unknown, v: unknown): boolean {
    switch (op) {
        case "prefix":
            if (arg !== null && typeof arg === "object") return typeof v === "string" && v.toLowerCase().startsWith(String((arg as Record<string, unknown>)["equals-ignore-case"]).toLowerCase());
            return typeof v === "string" && v.startsWith(String(arg));
        case "suffix":
            if (arg !== null && typeof arg === "object") return typeof v === "string" && v.toLowerCase().endsWith(String((arg as Record<string, unknown>)["equals-ignore-case"]).toLowerCase());
            return typeof v === "string" && v.endsWith(String(arg));
        case "equals-ignore-case":
            return typeof v === "string" && v.toLowerCase() === String(arg).toLowerCase();
        case "anything-but":
            if (Array.isArray(arg)) return !arg.includes(v);
            if (arg !== null && typeof arg === "object") return !matchFilter(arg, v);
            return v !== arg;
        case "numeric": {
            if (typeof v !== "number" || !Array.isArray(arg)) return false;
            for (let i = 0; i < arg.length; i += 2) {
                const [cmp, n] = [arg[i] as string, arg[i + 1] as number];
                const ok = cmp === "<" ? v < n : cmp === "<=" ? v <= n : cmp === "=" ? v === n : cmp === ">=" ? v >= n : cmp === ">" ? v > n : false;
                if (!ok) return false;
            }
            return true;
        }
        case "wildcard": {
            if (typeof v !== "string") return false;
            const re = new RegExp(`^${String(arg).split("*").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
            return re.test(v);
        }
        default:
            throw new Error(`unknown pattern operator "${op}"`);
    }
}
