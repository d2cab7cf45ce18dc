/**
 * Security widening between two plan graphs, in the spirit of `cdk diff`'s "security-related
 * changes": IAM statements that allow new actions, resources or principals (wildcards, public
 * and cross-account principals called out), conditions removed or replaced by weaker ones,
 * Deny statements removed or narrowed, managed policies attached, security-group rules (inline
 * or separate, default security group included) opened to 0.0.0.0/0 or ::/0, public-access-block
 * and ACL changes, databases made public, and new internet-facing listeners. Narrowing is not
 * reported. Pure: no I/O.
 */
import { COMPUTED, Graph, GraphResource } from "./graph";

export type SecurityCategory = "iam" | "network" | "public-access" | "endpoint";

export interface SecurityChange {
    urn: string;
    type: string;
    name: string;
    category: SecurityCategory;
    /** `high`: a wildcard, the whole internet, or public data; `widening`: more access than before. */
    severity: "high" | "widening";
    summary: string;
}

// ---------------------------------------------------------------------------------------------
// IAM documents

interface Statement {
    Sid?: string;
    Effect?: string;
    Action?: unknown;
    NotAction?: unknown;
    Resource?: unknown;
    NotResource?: unknown;
    Principal?: unknown;
    NotPrincipal?: unknown;
    Condition?: unknown;
}

const list = (v: unknown): string[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

function parseDoc(v: unknown): Statement[] | undefined {
    let doc: unknown = v;
    if (typeof v === "string") {
        if (v === COMPUTED || !/^\s*\{/.test(v)) return undefined;
        try {
            doc = JSON.parse(v);
        } catch {
            return undefined;
        }
    }
    if (!doc || typeof doc !== "object") return undefined;
    const st = (doc as { Statement?: unknown }).Statement;
    return (Array.isArray(st) ? st : st ? [st] : []) as Statement[];
}

function principals(p: unknown): string[] {
    if (p === undefined || p === null) return [];
    if (typeof p === "string") return [p === "*" ? "*" : `AWS:${p}`];
    if (typeof p === "object") return Object.entries(p as Record<string, unknown>).flatMap(([k, v]) => list(v).map((x) => (k === "AWS" && x === "*" ? "*" : `${k}:${x}`)));
    return [];
}

interface Tuple {
    effect: "Allow" | "Deny";
    action: string;
    resource: string;
    principal: string;
    /** The statement's condition as `operator key` → its values (JSON of the sorted list). */
    condition: Map<string, string>;
    not: string[];
    statement: number;
    sid?: string;
}

/**
 * `{ "StringEquals": { "aws:SourceVpce": "vpce-1" } }` → `StringEquals aws:sourcevpce` → `["vpce-1"]`.
 * Condition keys are case-insensitive, operators are not (IAM User Guide, "IAM JSON policy
 * elements: Condition", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html).
 */
function conditionPairs(c: unknown): Map<string, string> {
    const out = new Map<string, string>();
    if (!c || typeof c !== "object") return out;
    for (const [op, block] of Object.entries(c as Record<string, unknown>)) {
        if (!block || typeof block !== "object") continue;
        for (const [k, v] of Object.entries(block as Record<string, unknown>)) out.set(`${op} ${k.toLowerCase()}`, JSON.stringify(list(v).sort()));
    }
    return out;
}

function tuples(doc: Statement[]): Tuple[] {
    const out: Tuple[] = [];
    doc.forEach((s, i) => {
        const effect = s.Effect === "Deny" ? "Deny" : "Allow";
        const not = [s.NotAction ? "NotAction" : "", s.NotResource ? "NotResource" : "", s.NotPrincipal ? "NotPrincipal" : ""].filter(Boolean);
        const actions = s.NotAction ? list(s.NotAction).map((a) => `NOT ${a}`) : list(s.Action);
        const resources = s.NotResource ? list(s.NotResource).map((r) => `NOT ${r}`) : list(s.Resource);
        const prins = s.NotPrincipal ? principals(s.NotPrincipal).map((p) => `NOT ${p}`) : principals(s.Principal);
        const condition = conditionPairs(s.Condition);
        for (const action of actions.length ? actions : ["-"]) {
            for (const resource of resources.length ? resources : ["-"]) {
                for (const principal of prins.length ? prins : ["-"]) out.push({ effect, action, resource, principal, condition, not, statement: i, sid: s.Sid });
            }
        }
    });
    return out;
}

/** True when every condition pair of `weaker` is in `stronger` with the same values: `stronger` allows no more than `weaker`. */
function implies(stronger: Map<string, string>, weaker: Map<string, string>): boolean {
    for (const [k, v] of weaker) if (stronger.get(k) !== v) return false;
    return true;
}

const showValues = (json: string) => {
    const values = JSON.parse(json) as string[];
    return values.length === 1 ? JSON.stringify(values[0]) : `[${values.map((v) => JSON.stringify(v)).join(", ")}]`;
};

/** What changed from condition `from` to `to`, for a reader: removed, replaced and added operator/key pairs. */
function describeConditionChange(from: Map<string, string>, to: Map<string, string>): string {
    const keyOf = (pair: string) => pair.slice(pair.indexOf(" ") + 1);
    const parts: string[] = [];
    const mentioned = new Set<string>();
    for (const [pair, values] of from) {
        if (to.get(pair) === values) continue;
        const replacement = [...to].find(([p]) => keyOf(p) === keyOf(pair) && !(p === pair && to.get(p) === values));
        if (replacement) {
            parts.push(`\`${pair} ${showValues(values)}\` → \`${replacement[0]} ${showValues(replacement[1])}\``);
            mentioned.add(replacement[0]);
        } else {
            parts.push(`\`${pair} ${showValues(values)}\` removed`);
        }
    }
    for (const [pair, values] of to) if (!from.has(pair) && !mentioned.has(pair)) parts.push(`\`${pair} ${showValues(values)}\` added`);
    return parts.join(", ");
}

const isWild = (s: string) => s === "*" || s.includes("*");
const key = (t: Tuple) => `${t.action}|${t.resource}|${t.principal}`;
const conditionWildcard = (c: Map<string, string>) => [...c].some(([pair, values]) => /^String(Not)?Like|^ArnLike/.test(pair) && (JSON.parse(values) as string[]).includes("*"));

/** Which document a policy is: its Resource and Principal elements mean different things in each. */
export type PolicyKind = "identity" | "trust" | "resource" | "key";

export interface PolicyContext {
    kind?: PolicyKind;
    /** The stack's AWS account: a principal of any other account is cross-account. */
    account?: string;
}

/** The account an `AWS:`/`Federated:` principal belongs to (`AWS:123456789012`, `AWS:arn:aws:iam::123456789012:role/x`). */
export function principalAccount(principal: string): string | undefined {
    const m = /^(?:NOT )?(?:AWS|Federated):(?:(\d{12})$|arn:aws[\w-]*:(?:iam|sts)::(\d{12}):)/.exec(principal);
    return m ? m[1] ?? m[2] : undefined;
}

/**
 * Key-policy actions that hand over the key itself rather than its use: PutKeyPolicy rewrites
 * who may use it, ScheduleKeyDeletion destroys it and every ciphertext under it, DisableKey
 * stops every use. They are the key administrators' permissions of AWS KMS Developer Guide,
 * "Default key policy" (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html).
 */
const KEY_TAKEOVER_ACTIONS = new Set(["kms:putkeypolicy", "kms:schedulekeydeletion", "kms:disablekey"]);

/** The widening from `before` to `after` of one policy document, one line per affected statement. */
export function policyWidening(before: unknown, after: unknown, label: string, context: PolicyContext = {}): Array<{ severity: SecurityChange["severity"]; summary: string }> {
    const a = parseDoc(after);
    if (!a) return [];
    const b = parseDoc(before) ?? [];
    const bt = tuples(b);
    const at = tuples(a);
    const baseAllow = new Map<string, Array<Map<string, string>>>();
    for (const t of bt) if (t.effect === "Allow") baseAllow.set(key(t), [...(baseAllow.get(key(t)) ?? []), t.condition]);
    const out: Array<{ severity: SecurityChange["severity"]; summary: string }> = [];
    // `grave` holds the wildcards that count for severity: those of new grants, and of grants whose
    // condition was removed altogether; a grant whose condition values changed (other subnets,
    // another VPC endpoint) is a widening, high only when its new condition matches anything.
    type Widened = { actions: Set<string>; resources: Set<string>; principals: Set<string>; grave: Set<string>; conditionChanges: Set<string>; conditionWildcard: boolean; not: string[]; sid?: string };
    // In a key policy `Resource: "*"` means "this KMS key" (AWS KMS Developer Guide, "Creating a key
    // policy", https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html): no wildcard.
    const resourceWild = (r: string) => isWild(r) && !(context.kind === "key" && r === "*");
    // A key policy is graded by principal and action: only all actions (`*`, `kms:*`) count as a
    // wildcard there; a family such as `kms:GenerateDataKey*` is the usual way to name one use.
    const actionWild = (x: string) => (context.kind === "key" ? /^(?:NOT )?(?:kms:)?\*$/i.test(x) : isWild(x));
    const wildOf = (t: Tuple) =>
        [t.action !== "-" && actionWild(t.action) ? t.action : "", t.principal !== "-" && isWild(t.principal) ? t.principal : "", t.resource !== "-" && resourceWild(t.resource) ? t.resource : ""].filter(Boolean);
    const byStatement = new Map<number, Widened>();
    for (const t of at) {
        if (t.effect !== "Allow") continue;
        const conds = baseAllow.get(key(t));
        const isNew = !conds;
        // The same grant under a condition that is not at least as strict as one it had before: a
        // removed, replaced or loosened condition (any change of operator, key or values counts).
        const weakened = !!conds && !conds.some((c) => implies(t.condition, c));
        if (!isNew && !weakened) continue;
        const s = byStatement.get(t.statement) ?? { actions: new Set<string>(), resources: new Set<string>(), principals: new Set<string>(), grave: new Set<string>(), conditionChanges: new Set<string>(), conditionWildcard: false, not: [], sid: t.sid };
        if (isNew || t.condition.size === 0) for (const w of wildOf(t)) s.grave.add(w);
        if (isNew) s.not = t.not;
        if (t.action !== "-") s.actions.add(t.action);
        if (t.resource !== "-") s.resources.add(t.resource);
        if (t.principal !== "-") s.principals.add(t.principal);
        if (weakened) {
            s.conditionChanges.add(t.condition.size === 0 ? "a Condition that limited it was removed" : `its Condition changed: ${describeConditionChange(conds![0], t.condition)}`);
            s.conditionWildcard ||= conditionWildcard(t.condition);
        }
        byStatement.set(t.statement, s);
    }
    for (const [i, s] of byStatement) {
        const wild = [...s.grave];
        const everyone = [...s.principals].filter((p) => p === "*" || p === "NOT *");
        const otherAccounts = [...new Set([...s.principals].map(principalAccount).filter((x): x is string => x !== undefined && x !== context.account))];
        const takeover = context.kind === "key" ? [...s.actions].filter((x) => KEY_TAKEOVER_ACTIONS.has(x.toLowerCase())) : [];
        const parts = [
            s.actions.size ? `actions ${[...s.actions].map((x) => `\`${x}\``).join(", ")}` : "",
            s.resources.size ? `on ${[...s.resources].map((x) => `\`${x}\``).join(", ")}` : "",
            s.principals.size ? `for principals ${[...s.principals].map((x) => `\`${x}\``).join(", ")}` : "",
        ].filter(Boolean);
        const notes = [
            wild.length ? `wildcard ${[...new Set(wild)].map((x) => `\`${x}\``).join(", ")}` : "",
            everyone.length ? "public: any AWS principal in any account" : "",
            otherAccounts.length ? `cross-account: ${otherAccounts.map((x) => `\`${x}\``).join(", ")}${context.account ? ` (the stack's account is \`${context.account}\`)` : " (the stack's account is not known here)"}` : "",
            takeover.length ? `key administration ${takeover.map((x) => `\`${x}\``).join(", ")}` : "",
            s.not.length ? `${s.not.join("/")} allows everything except what it lists` : "",
            ...s.conditionChanges,
            s.conditionWildcard ? "the new condition matches anything (`*`)" : "",
        ].filter(Boolean);
        out.push({
            severity: wild.length || everyone.length || otherAccounts.length || takeover.length || s.not.length || s.conditionWildcard ? "high" : "widening",
            summary: `${label} statement ${i}${s.sid ? ` (${s.sid})` : ""} allows ${parts.join(" ") || "more than before"}${notes.length ? ` — ${notes.join("; ")}` : ""}`,
        });
    }
    // A Deny that is gone, or whose condition no longer holds whenever it held before (a removed
    // Deny, or one narrowed by an added, replaced or loosened condition), allows more.
    const headDeny = new Map<string, Array<Map<string, string>>>();
    for (const t of at) if (t.effect === "Deny") headDeny.set(key(t), [...(headDeny.get(key(t)) ?? []), t.condition]);
    const lostDeny = new Map<string, { actions: Set<string>; changes: Set<string> }>();
    for (const t of bt) {
        if (t.effect !== "Deny") continue;
        const now = headDeny.get(key(t));
        if (now && now.some((c) => implies(t.condition, c))) continue;
        const sid = t.sid ?? `statement ${t.statement}`;
        const entry = lostDeny.get(sid) ?? { actions: new Set<string>(), changes: new Set<string>() };
        entry.actions.add(t.action);
        entry.changes.add(now ? `its Condition changed: ${describeConditionChange(t.condition, now[0])}` : "removed");
        lostDeny.set(sid, entry);
    }
    for (const [sid, e] of lostDeny) {
        out.push({ severity: "widening", summary: `${label}: Deny \`${sid}\` ${[...e.changes].join("; ")}, so it denies less (${[...e.actions].slice(0, 5).join(", ")})` });
    }
    return out;
}

/** The policy documents a resource carries, with a label for each. */
function documents(r: GraphResource): Array<{ label: string; value: unknown; id: string; kind: PolicyKind }> {
    const i = r.inputs;
    switch (r.type) {
        case "aws:iam/rolePolicy:RolePolicy":
        case "aws:iam/policy:Policy":
        case "aws:iam/userPolicy:UserPolicy":
        case "aws:iam/groupPolicy:GroupPolicy":
            return [{ label: "IAM policy", value: i.policy, id: "policy", kind: "identity" }];
        case "aws:iam/role:Role":
            return [
                { label: "trust policy (who may assume the role)", value: i.assumeRolePolicy, id: "assumeRolePolicy", kind: "trust" },
                ...(Array.isArray(i.inlinePolicies) ? i.inlinePolicies : []).map((p: any, n: number) => ({ label: `inline policy ${p?.name ?? n}`, value: p?.policy, id: `inline:${p?.name ?? n}`, kind: "identity" as const })),
            ];
        case "aws:s3/bucketPolicy:BucketPolicy":
            return [{ label: "bucket policy", value: i.policy, id: "policy", kind: "resource" }];
        case "aws:sns/topicPolicy:TopicPolicy":
            return [{ label: "topic policy", value: i.policy, id: "policy", kind: "resource" }];
        case "aws:kms/key:Key":
            return [{ label: "key policy", value: i.policy, id: "policy", kind: "key" }];
        case "aws:ec2/vpcEndpoint:VpcEndpoint":
            return [{ label: "endpoint policy", value: i.policy, id: "policy", kind: "resource" }];
        case "aws:cloudwatch/logResourcePolicy:LogResourcePolicy":
            return [{ label: "log resource policy", value: i.policyDocument, id: "policyDocument", kind: "resource" }];
        case "aws:secretsmanager/secretPolicy:SecretPolicy":
            return [{ label: "secret policy", value: i.policy, id: "policy", kind: "resource" }];
        default:
            return [];
    }
}

const BROAD_MANAGED = /(AdministratorAccess|PowerUserAccess|IAMFullAccess|FullAccess)$/;

// ---------------------------------------------------------------------------------------------
// Network

const WORLD = new Set(["0.0.0.0/0", "::/0"]);
const PORT_NAMES: Record<number, string> = { 22: "SSH", 3389: "RDP", 5432: "PostgreSQL", 3306: "MySQL", 1433: "SQL Server", 6379: "Redis", 27017: "MongoDB", 80: "HTTP", 443: "HTTPS" };

function ports(protocol: unknown, from: unknown, to: unknown): string {
    const p = String(protocol ?? "tcp");
    if (p === "-1" || p === "all") return "all traffic";
    const f = Number(from);
    const t = Number(to ?? from);
    const name = f === t && PORT_NAMES[f] ? ` (${PORT_NAMES[f]})` : "";
    return f === t ? `${p} ${f}${name}` : `${p} ${f}-${t}`;
}

/** Ingress sources of a security group's inline rules: `proto|from|to|source` → human port text. */
function inlineIngress(r: GraphResource | undefined): Map<string, { ports: string; source: string }> {
    const out = new Map<string, { ports: string; source: string }>();
    if (!r) return out;
    for (const rule of Array.isArray(r.inputs.ingress) ? (r.inputs.ingress as any[]) : []) {
        const sources = [...list(rule.cidrBlocks), ...list(rule.ipv6CidrBlocks), ...list(rule.prefixListIds), ...list(rule.securityGroups), ...(rule.self ? ["self"] : [])];
        for (const s of sources) out.set(`${rule.protocol}|${rule.fromPort}|${rule.toPort}|${s}`, { ports: ports(rule.protocol, rule.fromPort, rule.toPort), source: s });
    }
    return out;
}

function ruleSource(i: Record<string, unknown>): string | undefined {
    for (const k of ["cidrIpv4", "cidrIpv6", "prefixListId", "referencedSecurityGroupId"]) if (typeof i[k] === "string") return i[k] as string;
    return undefined;
}

// ---------------------------------------------------------------------------------------------

/**
 * The AWS account the stack deploys to, as its graph shows it: the account that most ARNs in
 * its inputs and outputs name (the offline engine answers getCallerIdentity with one account).
 */
export function stackAccount(graph: Graph): string | undefined {
    const counts = new Map<string, number>();
    const text = JSON.stringify([graph.outputs, graph.resources.map((r) => r.inputs)]);
    for (const m of text.matchAll(/arn:aws[\w-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):/g)) counts.set(m[1], (counts.get(m[1]) ?? 0) + 1);
    return [...counts].sort((x, y) => y[1] - x[1])[0]?.[0];
}

export function securityChanges(base: Graph, head: Graph): SecurityChange[] {
    const account = stackAccount(head) ?? stackAccount(base);
    const baseByUrn = new Map(base.resources.map((r) => [r.urn, r]));
    const headById = new Map(head.resources.filter((r) => r.id).map((r) => [r.id as string, r]));
    const headByUrn = new Map(head.resources.map((r) => [r.urn, r]));
    const out: SecurityChange[] = [];
    const add = (r: GraphResource, category: SecurityCategory, severity: SecurityChange["severity"], summary: string) => out.push({ urn: r.urn, type: r.type, name: r.name, category, severity, summary });

    for (const r of head.resources) {
        const b = baseByUrn.get(r.urn);
        const i = r.inputs;
        const bi = b?.inputs ?? {};

        for (const d of documents(r)) {
            const before = b ? documents(b).find((x) => x.id === d.id)?.value : undefined;
            if (JSON.stringify(before) === JSON.stringify(d.value)) continue;
            for (const w of policyWidening(before, d.value, d.label, { kind: d.kind, account })) add(r, "iam", w.severity, w.summary);
        }

        switch (r.type) {
            case "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
            case "aws:iam/userPolicyAttachment:UserPolicyAttachment":
            case "aws:iam/groupPolicyAttachment:GroupPolicyAttachment":
                if (i.policyArn !== bi.policyArn && typeof i.policyArn === "string") {
                    add(r, "iam", BROAD_MANAGED.test(i.policyArn) ? "high" : "widening", `attaches managed policy \`${i.policyArn}\`${BROAD_MANAGED.test(i.policyArn) ? " (broad AWS-managed policy)" : ""}`);
                }
                break;
            case "aws:ec2/securityGroup:SecurityGroup":
            case "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": {
                // Inline `ingress` blocks: a security group's own, and those a default security group
                // is given (the provider replaces the default group's rules with exactly these).
                const before = inlineIngress(b);
                for (const [k, v] of inlineIngress(r)) {
                    if (before.has(k)) continue;
                    if (WORLD.has(v.source)) add(r, "network", "high", `ingress ${v.ports} opened to \`${v.source}\` (the whole internet)`);
                    else add(r, "network", "widening", `ingress ${v.ports} from \`${v.source}\` added`);
                }
                break;
            }
            case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
            case "aws:ec2/securityGroupRule:SecurityGroupRule": {
                if (r.type === "aws:ec2/securityGroupRule:SecurityGroupRule" && i.type !== "ingress") break;
                const src = r.type === "aws:ec2/securityGroupRule:SecurityGroupRule" ? [...list(i.cidrBlocks), ...list(i.ipv6CidrBlocks), ...list(i.sourceSecurityGroupId)][0] : ruleSource(i);
                const srcB = b ? (r.type === "aws:ec2/securityGroupRule:SecurityGroupRule" ? [...list(bi.cidrBlocks), ...list(bi.ipv6CidrBlocks), ...list(bi.sourceSecurityGroupId)][0] : ruleSource(bi)) : undefined;
                const proto = i.ipProtocol ?? i.protocol;
                const p = ports(proto, i.fromPort, i.toPort);
                const pB = b ? ports(bi.ipProtocol ?? bi.protocol, bi.fromPort, bi.toPort) : undefined;
                if (src === srcB && p === pB) break;
                if (src && WORLD.has(src)) add(r, "network", "high", `ingress ${p} opened to \`${src}\` (the whole internet)`);
                else if (src) add(r, "network", "widening", `ingress ${p} from \`${src}\`${b ? ` (was ${pB} from \`${srcB}\`)` : " added"}`);
                break;
            }
            case "aws:rds/instance:Instance":
                if (i.publiclyAccessible === true && bi.publiclyAccessible !== true) add(r, "network", "high", "the database becomes publicly accessible (publiclyAccessible: true)");
                break;
            case "aws:ec2/instance:Instance":
                if (i.associatePublicIpAddress === true && bi.associatePublicIpAddress !== true) add(r, "network", "widening", "the instance gets a public IPv4 address");
                break;
            case "aws:ec2/subnet:Subnet":
                if (i.mapPublicIpOnLaunch === true && bi.mapPublicIpOnLaunch !== true) add(r, "network", "widening", "instances launched in the subnet get public addresses (mapPublicIpOnLaunch)");
                break;
            case "aws:lb/loadBalancer:LoadBalancer":
                if (b && i.internal !== true && bi.internal === true) add(r, "endpoint", "high", "the load balancer becomes internet-facing (internal: true → false)");
                break;
            case "aws:lb/listener:Listener": {
                const lb = headByUrn.get((r.propertyDependencies.loadBalancerArn ?? [])[0] ?? "") ?? headById.get(String(i.loadBalancerArn));
                const internetFacing = !lb || lb.inputs.internal !== true;
                if (!internetFacing) break;
                const proto = String(i.protocol ?? "HTTP");
                const now = `${proto}:${i.port ?? ""}`;
                const was = b ? `${String(bi.protocol ?? "HTTP")}:${bi.port ?? ""}` : undefined;
                if (now === was) break;
                const actions = Array.isArray(i.defaultActions) ? (i.defaultActions as any[]).map((a) => a?.type) : [];
                const redirectOnly = actions.length > 0 && actions.every((a) => a === "redirect");
                add(r, "endpoint", proto === "HTTP" && !redirectOnly ? "high" : "widening", `${b ? `listener changes ${was} → ${now}` : `new internet-facing listener ${now}`} on ${lb ? `load balancer "${lb.name}"` : "a load balancer"}${proto === "HTTP" ? (redirectOnly ? " (redirects only)" : " (plain HTTP, not redirected)") : ""}`);
                break;
            }
            case "aws:cloudfront/distribution:Distribution":
                if (!b) add(r, "endpoint", "widening", "new public CloudFront distribution");
                break;
            case "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":
            case "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock": {
                const off = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"].filter((k) => i[k] !== true && (!b || bi[k] === true));
                if (off.length > 0) add(r, "public-access", "high", `public access block turned off: ${off.map((k) => `\`${k}\``).join(", ")}`);
                break;
            }
            case "aws:s3/bucketAclV2:BucketAclV2":
            case "aws:s3/bucketAcl:BucketAcl":
                if (/public/.test(String(i.acl ?? "")) && i.acl !== bi.acl) add(r, "public-access", "high", `bucket ACL \`${String(i.acl)}\``);
                break;
            case "aws:s3/bucketOwnershipControls:BucketOwnershipControls": {
                const own = (x: Record<string, unknown>) => (x.rule as any)?.objectOwnership;
                if (b && own(bi) === "BucketOwnerEnforced" && own(i) !== "BucketOwnerEnforced") add(r, "public-access", "widening", `object ownership \`${own(i)}\`: ACLs are honoured again`);
                break;
            }
        }
    }
    // A public access block that disappears leaves the bucket without it.
    for (const b of base.resources) {
        if (b.type === "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock" && !headByUrn.has(b.urn)) {
            out.push({ urn: b.urn, type: b.type, name: b.name, category: "public-access", severity: "high", summary: "public access block removed" });
        }
    }
    const rank = (c: SecurityChange) => (c.severity === "high" ? 0 : 1);
    return out.sort((x, y) => rank(x) - rank(y));
}
