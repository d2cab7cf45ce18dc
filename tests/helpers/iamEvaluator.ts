/**
 * A small IAM policy evaluator, for the CI roles' tests (moto 5.2.1 implements neither
 * SimulatePrincipalPolicy nor SimulateCustomPolicy). It follows the IAM User Guide, "Policy
 * evaluation logic": an explicit Deny wins, then any Allow, else the implicit deny; a statement
 * applies when its Action/NotAction, Resource/NotResource and every condition match. Wildcards
 * `*` and `?` in actions (case-insensitive) and resources; the condition operators the project's
 * policies use: String(Not)Equals, String(Not)Like, Arn(Not)Equals, Arn(Not)Like, Bool, Null,
 * each with the documented rule for a key missing from the request (negated operators match,
 * the others do not; Null tests presence). Multiple values of a condition key are ORed, keys
 * and operators ANDed ("Creating a condition with multiple keys or values").
 */

export interface EvalStatement {
    Effect: "Allow" | "Deny";
    Action?: string | string[];
    NotAction?: string | string[];
    Resource?: string | string[];
    NotResource?: string | string[];
    Principal?: unknown;
    Condition?: Record<string, Record<string, string | string[]>>;
}

export interface Request {
    action: string;
    resource: string;
    context?: Record<string, string | undefined>;
}

export type Decision = "allow" | "explicit-deny" | "implicit-deny";

function list(v: string | string[] | undefined): string[] {
    return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

const compiled = new Map<string, RegExp>();
function wildcard(pattern: string, value: string, caseInsensitive = false): boolean {
    const key = `${caseInsensitive ? "i" : "s"}${pattern}`;
    let re = compiled.get(key);
    if (!re) {
        re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, caseInsensitive ? "i" : "");
        compiled.set(key, re);
    }
    return re.test(value);
}

export function actionMatches(patterns: string[], action: string): boolean {
    return patterns.some((p) => wildcard(p, action, true));
}

function conditionMatches(operator: string, key: string, expected: string[], context: Record<string, string | undefined>): boolean {
    const value = context[key];
    const present = value !== undefined;
    switch (operator) {
        case "Null":
            return expected.some((e) => (e === "true") === !present);
        case "StringEquals":
        case "ArnEquals":
            return present && expected.includes(value!);
        case "StringNotEquals":
        case "ArnNotEquals":
            return !present || !expected.includes(value!);
        case "StringLike":
        case "ArnLike":
            return present && expected.some((e) => wildcard(e, value!));
        case "StringNotLike":
        case "ArnNotLike":
            return !present || !expected.some((e) => wildcard(e, value!));
        case "Bool":
            return present && expected.includes(value!);
        default:
            throw new Error(`iamEvaluator: condition operator ${operator} is not implemented`);
    }
}

export function statementApplies(s: EvalStatement, request: Request): boolean {
    const actionOk = s.Action !== undefined ? actionMatches(list(s.Action), request.action) : !actionMatches(list(s.NotAction), request.action);
    if (!actionOk) return false;
    if (s.Resource !== undefined || s.NotResource !== undefined) {
        const resourceOk = s.Resource !== undefined ? list(s.Resource).some((r) => wildcard(r, request.resource)) : !list(s.NotResource).some((r) => wildcard(r, request.resource));
        if (!resourceOk) return false;
    }
    for (const [operator, keys] of Object.entries(s.Condition ?? {})) {
        for (const [key, expected] of Object.entries(keys)) {
            if (!conditionMatches(operator, key, list(expected), request.context ?? {})) return false;
        }
    }
    return true;
}

/** The decision for one request under identity policies (or a role's trust policy). */
export function evaluate(statements: EvalStatement[], request: Request): Decision {
    const applicable = statements.filter((s) => statementApplies(s, request));
    if (applicable.some((s) => s.Effect === "Deny")) return "explicit-deny";
    if (applicable.some((s) => s.Effect === "Allow")) return "allow";
    return "implicit-deny";
}

/**
 * The decision for a request by a role with a permissions boundary (IAM User Guide, "Policy
 * evaluation logic" and "Permissions boundaries for IAM entities": "The effective permissions for
 * an entity are the permissions that are granted by both the identity-based policies and its
 * permissions boundaries"; an explicit deny in either wins).
 */
export function evaluateWithBoundary(identity: EvalStatement[], boundary: EvalStatement[], request: Request): Decision {
    const a = evaluate(identity, request);
    const b = evaluate(boundary, request);
    if (a === "explicit-deny" || b === "explicit-deny") return "explicit-deny";
    return a === "allow" && b === "allow" ? "allow" : "implicit-deny";
}
