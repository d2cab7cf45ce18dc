/**
 * Security widening between two plan graphs, in the spirit of `cdk diff`'s "security-related
 * changes": IAM statements that allow new actions, resources or principals (wildcards called
 * out), removed Deny statements or conditions, managed policies attached, security-group rules
 * opened to 0.0.0.0/0 or ::/0, public-access-block and ACL changes, databases made public, and
 * new internet-facing listeners. Narrowing is not reported. Pure: no I/O.
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

function sortKeys(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v && typeof v === "object") return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
    return v;
}

interface Tuple {
    effect: "Allow" | "Deny";
    action: string;
    resource: string;
    principal: string;
    condition: string;
    not: string[];
    statement: number;
    sid?: string;
}

function tuples(doc: Statement[]): Tuple[] {
    const out: Tuple[] = [];
    doc.forEach((s, i) => {
        const effect = s.Effect === "Deny" ? "Deny" : "Allow";
        const not = [s.NotAction ? "NotAction" : "", s.NotResource ? "NotResource" : "", s.NotPrincipal ? "NotPrincipal" : ""].filter(Boolean);
        const actions = s.NotAction ? list(s.NotAction).map((a) => `NOT ${a}`) : list(s.Action);
        const resources = s.NotResource ? list(s.NotResource).map((r) => `NOT ${r}`) : list(s.Resource);
        const prins = s.NotPrincipal ? principals(s.NotPrincipal).map((p) => `NOT ${p}`) : principals(s.Principal);
        const condition = JSON.stringify(sortKeys(s.Condition ?? null));
        for (const action of actions.length ? actions : ["-"]) {
            for (const resource of resources.length ? resources : ["-"]) {
                for (const principal of prins.length ? prins : ["-"]) out.push({ effect, action, resource, principal, condition, not, statement: i, sid: s.Sid });
            }
        }
    });
    return out;
}

const isWild = (s: string) => s === "*" || s.includes("*");
const key = (t: Tuple) => `${t.action}|${t.resource}|${t.principal}`;

/** The widening from `before` to `after` of one policy document, one line per affected statement. */
export function policyWidening(before: unknown, after: unknown, label: string): Array<{ severity: SecurityChange["severity"]; summary: string }> {
    const a = parseDoc(after);
    if (!a) return [];
    const b = parseDoc(before) ?? [];
    const bt = tuples(b);
    const at = tuples(a);
    const baseAllow = new Map<string, Set<string>>();
    for (const t of bt) if (t.effect === "Allow") baseAllow.set(key(t), (baseAllow.get(key(t)) ?? new Set()).add(t.condition));
    const out: Array<{ severity: SecurityChange["severity"]; summary: string }> = [];
    const byStatement = new Map<number, { actions: Set<string>; resources: Set<string>; principals: Set<string>; lostCondition: boolean; not: string[]; sid?: string }>();
    for (const t of at) {
        if (t.effect !== "Allow") continue;
        const conds = baseAllow.get(key(t));
        const isNew = !conds;
        const lostCondition = !!conds && !conds.has(t.condition) && t.condition === "null";
        if (!isNew && !lostCondition) continue;
        const s = byStatement.get(t.statement) ?? { actions: new Set<string>(), resources: new Set<string>(), principals: new Set<string>(), lostCondition: false, not: t.not, sid: t.sid };
        if (t.action !== "-") s.actions.add(t.action);
        if (t.resource !== "-") s.resources.add(t.resource);
        if (t.principal !== "-") s.principals.add(t.principal);
        s.lostCondition ||= lostCondition;
        byStatement.set(t.statement, s);
    }
    for (const [i, s] of byStatement) {
        const wild = [...s.actions, ...s.resources, ...s.principals].filter(isWild);
        const parts = [
            s.actions.size ? `actions ${[...s.actions].map((x) => `\`${x}\``).join(", ")}` : "",
            s.resources.size ? `on ${[...s.resources].map((x) => `\`${x}\``).join(", ")}` : "",
            s.principals.size ? `for principals ${[...s.principals].map((x) => `\`${x}\``).join(", ")}` : "",
        ].filter(Boolean);
        const notes = [
            wild.length ? `wildcard ${[...new Set(wild)].map((x) => `\`${x}\``).join(", ")}` : "",
            s.not.length ? `${s.not.join("/")} allows everything except what it lists` : "",
            s.lostCondition ? "a Condition that limited it was removed" : "",
        ].filter(Boolean);
        out.push({
            severity: wild.length || s.not.length || [...s.principals].some((p) => p === "*") ? "high" : "widening",
            summary: `${label} statement ${i}${s.sid ? ` (${s.sid})` : ""} allows ${parts.join(" ") || "more than before"}${notes.length ? ` — ${notes.join("; ")}` : ""}`,
        });
    }
    const headDeny = new Set(at.filter((t) => t.effect === "Deny").map((t) => `${key(t)}|${t.condition}`));
    const lostDeny = bt.filter((t) => t.effect === "Deny" && !headDeny.has(`${key(t)}|${t.condition}`));
    if (lostDeny.length > 0) {
        const sids = [...new Set(lostDeny.map((t) => t.sid ?? `statement ${t.statement}`))];
        out.push({ severity: "widening", summary: `${label}: Deny ${sids.map((s) => `\`${s}\``).join(", ")} removed or narrowed (${[...new Set(lostDeny.map((t) => t.action))].slice(0, 5).join(", ")})` });
    }
    return out;
}

/** The policy documents a resource carries, with a label for each. */
function documents(r: GraphResource): Array<{ label: string; value: unknown; id: string }> {
    const i = r.inputs;
    switch (r.type) {
        case "aws:iam/rolePolicy:RolePolicy":
        case "aws:iam/policy:Policy":
        case "aws:iam/userPolicy:UserPolicy":
        case "aws:iam/groupPolicy:GroupPolicy":
            return [{ label: "IAM policy", value: i.policy, id: "policy" }];
        case "aws:iam/role:Role":
            return [
                { label: "trust policy (who may assume the role)", value: i.assumeRolePolicy, id: "assumeRolePolicy" },
                ...(Array.isArray(i.inlinePolicies) ? i.inlinePolicies : []).map((p: any, n: number) => ({ label: `inline policy ${p?.name ?? n}`, value: p?.policy, id: `inline:${p?.name ?? n}` })),
            ];
        case "aws:s3/bucketPolicy:BucketPolicy":
            return [{ label: "bucket policy", value: i.policy, id: "policy" }];
        case "aws:sns/topicPolicy:TopicPolicy":
            return [{ label: "topic policy", value: i.policy, id: "policy" }];
        case "aws:kms/key:Key":
            return [{ label: "key policy", value: i.policy, id: "policy" }];
        case "aws:ec2/vpcEndpoint:VpcEndpoint":
            return [{ label: "endpoint policy", value: i.policy, id: "policy" }];
        case "aws:cloudwatch/logResourcePolicy:LogResourcePolicy":
            return [{ label: "log resource policy", value: i.policyDocument, id: "policyDocument" }];
        case "aws:secretsmanager/secretPolicy:SecretPolicy":
            return [{ label: "secret policy", value: i.policy, id: "policy" }];
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

export function securityChanges(base: Graph, head: Graph): SecurityChange[] {
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
            for (const w of policyWidening(before, d.value, d.label)) add(r, "iam", w.severity, w.summary);
        }

        switch (r.type) {
            case "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
            case "aws:iam/userPolicyAttachment:UserPolicyAttachment":
            case "aws:iam/groupPolicyAttachment:GroupPolicyAttachment":
                if (i.policyArn !== bi.policyArn && typeof i.policyArn === "string") {
                    add(r, "iam", BROAD_MANAGED.test(i.policyArn) ? "high" : "widening", `attaches managed policy \`${i.policyArn}\`${BROAD_MANAGED.test(i.policyArn) ? " (broad AWS-managed policy)" : ""}`);
                }
                break;
            case "aws:ec2/securityGroup:SecurityGroup": {
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
