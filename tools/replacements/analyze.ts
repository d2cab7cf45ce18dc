/**
 * Update in place or replace? For every changed resource of a plan diff, from the create-only
 * ("force new") inputs in `forceNew.ts`, Pulumi's own replacement triggers (a different
 * provider, a replacing provider, `replaceOnChanges`), and propagation: a replaced resource
 * gets a new id and ARN, so every resource that takes one of them in a create-only input is
 * replaced too (VPC → subnets and security groups → instances, endpoints, ...). Resources
 * that take them in an updatable input are updated.
 *
 * Pure: works on two recorded graphs (tools/graph.ts) and the input changes of planDiff.ts.
 */
import { Graph, GraphResource } from "../graph";
import { AWSX_VPC, isLogicalOnly, REPLACEMENT_RULES, ReplacementRule } from "./forceNew";

export type ReplaceKind = "force-new" | "conditional" | "unverified" | "cascade" | "cascade-update" | "provider" | "replace-on-changes" | "awsx" | "unknown-type";

export interface ReplaceTrigger {
    kind: ReplaceKind;
    /** The input path that triggers it (for cascades: the dependent's input that takes the replaced value). */
    path: string;
    /** For cascades and provider changes: the URN of the resource whose replacement causes it. */
    via?: string;
    /** One line a reviewer can read. */
    why: string;
}

export interface Verdict {
    urn: string;
    type: string;
    name: string;
    /** `replace`: Pulumi deletes and recreates it; `update`: modified in place. */
    action: "replace" | "update";
    triggers: ReplaceTrigger[];
    /** `deleteBeforeReplace` is set: the old one goes first (downtime, but the physical name can be reused). */
    deleteBeforeReplace: boolean;
    /** Protected in the deployed state (base) or in the head. */
    protect: boolean;
    /** For awsx's Vpc: what its provider replaces at deploy time. */
    children?: string;
    /** Set when a replacement keeps a fixed physical name without deleteBeforeReplace: the create would collide. */
    nameCollision?: string;
}

/**
 * The CPU architecture of an EC2 instance type, from its family: Graviton families carry a `g`
 * after the generation (t4g, m7gd, c6gn, is4gen) and `a1` is Arm too ("Amazon EC2 instance type
 * naming conventions", https://docs.aws.amazon.com/ec2/latest/instancetypes/instance-type-names.html).
 */
export function cpuArchitecture(instanceType: unknown): "arm64" | "x86_64" | undefined {
    if (typeof instanceType !== "string") return undefined;
    const m = /^([a-z]+)(\d+)([a-z-]*)\.[a-z0-9]+$/.exec(instanceType);
    if (!m) return undefined;
    if (m[1] === "mac") return undefined;
    return m[1] === "a" || m[3].includes("g") ? "arm64" : "x86_64";
}

/** `a[0].b{json}.c` → `a.b.c`: the schema path of a diff path. */
export function schemaPath(path: string): string {
    return path.replace(/\{json\}.*$/, "").replace(/\[\d+\]/g, "").replace(/"/g, "");
}

/** True when `path` is `rule` or lies inside it, or `rule` lies inside `path` (a whole block changed). */
function covers(rule: string, path: string): boolean {
    return path === rule || path.startsWith(rule + ".") || rule.startsWith(path + ".");
}

export function ruleFor(type: string): ReplacementRule | undefined {
    return REPLACEMENT_RULES[type];
}

type Changes = Array<{ path: string }>;

/** Which input changes replace a resource of this type, by the table and its CustomizeDiff cases. */
export function forceNewTriggers(r: GraphResource, changes: Changes, base?: GraphResource): ReplaceTrigger[] {
    const rule = ruleFor(r.type);
    const out: ReplaceTrigger[] = [];
    const paths = [...new Set(changes.map((c) => schemaPath(c.path)).filter((p) => p !== "" && !/^tags(All)?(\.|$)/.test(p)))];
    const replaceOnChanges = r.replaceOnChanges ?? [];
    for (const p of paths) {
        const roc = replaceOnChanges.find((x) => x === "*" || covers(x, p));
        if (roc) out.push({ kind: "replace-on-changes", path: p, why: `\`${p}\` is listed in the resource's replaceOnChanges option` });
    }
    if (!rule) {
        if (!isLogicalOnly(r.type) && paths.length > 0) out.push({ kind: "unknown-type", path: paths[0], why: `${r.type} is not in the replacement table (tools/replacements/forceNew.ts): a change may replace it` });
        return out;
    }
    for (const p of paths) {
        const hit = rule.forceNew.find((f) => covers(f, p));
        if (hit) {
            out.push({ kind: "force-new", path: p, why: `\`${hit}\` is create-only (${rule.tf}: ForceNew)` });
            continue;
        }
        const maybe = (rule.unverified ?? []).find((f) => covers(f, p));
        if (maybe) out.push({ kind: "unverified", path: p, why: `\`${maybe}\` is create-only per the provider's documentation (${rule.tf}; not re-read from source)` });
    }
    out.push(...conditionalTriggers(r, paths, base));
    return out;
}

function conditionalTriggers(r: GraphResource, paths: string[], base?: GraphResource): ReplaceTrigger[] {
    const i = r.inputs;
    const b = base?.inputs ?? {};
    const has = (p: string) => paths.some((x) => covers(p, x));
    const out: ReplaceTrigger[] = [];
    switch (r.type) {
        case "aws:ec2/instance:Instance": {
            for (const p of ["userData", "userDataBase64"]) {
                if (has(p) && i.userDataReplaceOnChange === true) out.push({ kind: "conditional", path: p, why: `\`${p}\` changed and userDataReplaceOnChange is set` });
            }
            // resourceInstance's CustomizeDiff: ForceNewIf instance_type when the two types share no CPU architecture.
            const from = cpuArchitecture(b.instanceType);
            const to = cpuArchitecture(i.instanceType);
            if (base && has("instanceType") && from && to && from !== to) {
                out.push({ kind: "conditional", path: "instanceType", why: `${String(b.instanceType)} (${from}) → ${String(i.instanceType)} (${to}): a type of another CPU architecture cannot be applied in place` });
            }
            if (base && has("enablePrimaryIpv6") && b.enablePrimaryIpv6 === true && i.enablePrimaryIpv6 !== true) {
                out.push({ kind: "conditional", path: "enablePrimaryIpv6", why: "a primary IPv6 address cannot be disabled: turning enablePrimaryIpv6 off recreates the instance" });
            }
            break;
        }
        case "aws:ec2/vpcEndpoint:VpcEndpoint":
            if (has("privateDnsEnabled") && (i.vpcEndpointType ?? "Gateway") !== "Interface") out.push({ kind: "conditional", path: "privateDnsEnabled", why: "privateDnsEnabled can change in place only on Interface endpoints" });
            break;
        case "aws:ssm/parameter:Parameter":
            if (has("tier") && b.tier === "Advanced" && i.tier === "Standard") out.push({ kind: "conditional", path: "tier", why: "an Advanced parameter cannot be downgraded to Standard in place" });
            break;
        case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
        case "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": {
            const kind = (x: Record<string, unknown>) => ["cidrIpv4", "cidrIpv6", "prefixListId", "referencedSecurityGroupId"].find((k) => x[k] !== undefined && x[k] !== null);
            if (base && kind(b) !== kind(i)) out.push({ kind: "conditional", path: kind(i) ?? "cidrIpv4", why: `the rule's source changes kind (${kind(b)} → ${kind(i)}): the provider replaces it` });
            break;
        }
        case "aws:ec2/natGateway:NatGateway": {
            // resourceNATGatewayCustomizeDiff (vpc_nat_gateway.go): ForceNew on an existing private gateway's
            // secondary_private_ip_address_count, and on a regional gateway whose zone addresses go from none to
            // listed or back (automatic <-> manual mode).
            if (base && has("secondaryPrivateIpAddressCount") && i.connectivityType === "private") {
                out.push({ kind: "conditional", path: "secondaryPrivateIpAddressCount", why: "a private NAT gateway's secondary address count cannot change in place" });
            }
            const listed = (x: Record<string, unknown>) => Array.isArray(x.availabilityZoneAddresses) && x.availabilityZoneAddresses.length > 0;
            if (base && has("availabilityZoneAddresses") && i.availabilityMode === "regional" && listed(b) !== listed(i)) {
                out.push({ kind: "conditional", path: "availabilityZoneAddresses", why: "a regional NAT gateway switching between automatic and listed zone addresses is recreated" });
            }
            break;
        }
        case "aws:ec2/subnet:Subnet":
            if (has("ipv6CidrBlock") && b.assignIpv6AddressOnCreation === true) out.push({ kind: "conditional", path: "ipv6CidrBlock", why: "the subnet assigns IPv6 on creation: a new IPv6 CIDR replaces it" });
            break;
    }
    return out;
}

/** What a change to awsx's Vpc does to the children its provider creates. */
export function awsxVpcImpact(r: GraphResource, changes: Changes): { scope: "vpc" | "subnets" | "none"; triggers: ReplaceTrigger[]; children: string } {
    const paths = [...new Set(changes.map((c) => schemaPath(c.path).split(".")[0]))];
    const zones = typeof r.inputs.numberOfAvailabilityZones === "number" ? r.inputs.numberOfAvailabilityZones : Array.isArray(r.inputs.availabilityZoneNames) ? r.inputs.availabilityZoneNames.length : 3;
    const tiers = Array.isArray(r.inputs.subnetSpecs) ? r.inputs.subnetSpecs.length : 3;
    const subnets = zones * tiers;
    const vpcHits = paths.filter((p) => (AWSX_VPC.replacesVpc as readonly string[]).includes(p));
    if (vpcHits.length > 0) {
        return {
            scope: "vpc",
            triggers: vpcHits.map((p) => ({ kind: "awsx" as const, path: p, why: `\`${p}\` replaces the VPC (aws_vpc cidr_block is ForceNew), and with it every child awsx creates` })),
            children:
                `the awsx provider replaces the VPC, its ${subnets} subnets, their route tables and associations, the internet gateway and every NAT gateway and Elastic IP; ` +
                "resources this program keeps (load balancer, database subnet group, Auto Scaling group) are pointed at subnets of the new VPC in place, which AWS refuses for a load balancer or a DB subnet group in use: plan a migration rather than an in-place change",
        };
    }
    const subnetHits = paths.filter((p) => (AWSX_VPC.replacesSubnets as readonly string[]).includes(p));
    if (subnetHits.length > 0) {
        return {
            scope: "subnets",
            triggers: subnetHits.map((p) => ({ kind: "awsx" as const, path: p, why: `\`${p}\` changes the subnet layout: subnets whose CIDR or zone changes are replaced (aws_subnet cidr_block and availability_zone are ForceNew)` })),
            children: `the awsx provider keeps the VPC but replaces the subnets whose CIDR or zone changes (up to ${subnets}), with their route table associations and any NAT gateway in them`,
        };
    }
    const nat = paths.includes("natGateways") ? "; NAT gateways are added or removed and the private routes updated" : "";
    return { scope: "none", triggers: [], children: `the awsx provider updates the VPC in place${nat}` };
}

const SUBNET_ID = /^subnet-/;

function mentionsSubnet(v: unknown): boolean {
    if (typeof v === "string") return SUBNET_ID.test(v);
    if (Array.isArray(v)) return v.some(mentionsSubnet);
    if (v && typeof v === "object") return Object.values(v).some(mentionsSubnet);
    return false;
}

function isForceNewInput(r: GraphResource, prop: string): { forceNew: boolean; how: string } {
    const rule = ruleFor(r.type);
    if (!rule) return { forceNew: false, how: "" };
    if (rule.forceNew.some((f) => covers(f, prop))) return { forceNew: true, how: `${rule.tf}: ForceNew` };
    if ((rule.unverified ?? []).some((f) => covers(f, prop))) return { forceNew: true, how: `${rule.tf}: ForceNew per its documentation` };
    if ((r.replaceOnChanges ?? []).some((x) => x === "*" || covers(x, prop))) return { forceNew: true, how: "replaceOnChanges" };
    return { forceNew: false, how: "" };
}

export interface Classification {
    /** Verdict for every resource that is updated or replaced, changed ones and those reached by propagation. */
    verdicts: Map<string, Verdict>;
    /** Changed types the table does not cover: whether they replace is not known (reported, counted as updates). */
    unknownTypes: string[];
}

/**
 * Classifies every changed resource, then propagates replacements through property
 * dependencies until nothing new is replaced.
 */
export function classify(base: Graph, head: Graph, changed: Array<{ urn: string; inputs: Changes }>): Classification {
    const baseByUrn = new Map(base.resources.map((r) => [r.urn, r]));
    const headByUrn = new Map(head.resources.map((r) => [r.urn, r]));
    const verdicts = new Map<string, Verdict>();
    const awsxScope = new Map<string, "vpc" | "subnets">();
    const unknownTypes = new Set<string>();

    const verdictOf = (r: GraphResource): Verdict => {
        let v = verdicts.get(r.urn);
        if (!v) {
            const b = baseByUrn.get(r.urn);
            v = { urn: r.urn, type: r.type, name: r.name, action: "update", triggers: [], deleteBeforeReplace: r.deleteBeforeReplace === true, protect: r.protect || b?.protect === true };
            verdicts.set(r.urn, v);
        }
        return v;
    };
    const replace = (r: GraphResource, t: ReplaceTrigger[]) => {
        const v = verdictOf(r);
        v.action = "replace";
        v.triggers = [...v.triggers.filter((x) => x.kind !== "cascade-update"), ...t];
    };

    for (const c of changed) {
        const r = headByUrn.get(c.urn);
        if (!r || (!r.custom && !r.remote)) continue;
        const b = baseByUrn.get(c.urn);
        if (r.type === AWSX_VPC.type) {
            const impact = awsxVpcImpact(r, c.inputs);
            const v = verdictOf(r);
            v.children = impact.children;
            if (impact.scope !== "none") {
                awsxScope.set(r.urn, impact.scope);
                replace(r, impact.triggers);
            }
            continue;
        }
        const triggers = forceNewTriggers(r, c.inputs, b);
        const known = triggers.filter((t) => t.kind !== "unknown-type");
        if (known.length > 0) replace(r, known);
        else if (c.inputs.length > 0) verdictOf(r);
        if (known.length < triggers.length) unknownTypes.add(r.type);
    }

    // A different provider, or a provider that is itself replaced (a new region), replaces the resource.
    const replacedProviders = new Map<string, string>();
    for (const r of head.resources) {
        if (!r.type.startsWith("pulumi:providers:")) continue;
        const b = baseByUrn.get(r.urn);
        if (b && b.inputs.region !== r.inputs.region) replacedProviders.set(r.urn, `the provider's region changes (${String(b.inputs.region)} → ${String(r.inputs.region)}): Pulumi replaces the provider and every resource it manages, creating them anew in ${String(r.inputs.region)}`);
    }
    for (const r of head.resources) {
        if (!r.custom || r.type.startsWith("pulumi:providers:")) continue;
        const b = baseByUrn.get(r.urn);
        if (!b) continue;
        if ((b.provider ?? null) !== (r.provider ?? null)) {
            replace(r, [{ kind: "provider", path: "provider", via: r.provider ?? undefined, why: `its provider changes (${b.provider ?? "default"} → ${r.provider ?? "default"})` }]);
        } else if (r.provider && replacedProviders.has(r.provider)) {
            replace(r, [{ kind: "provider", path: "provider", via: r.provider, why: replacedProviders.get(r.provider)! }]);
        }
    }

    // Propagate: new ids/ARNs flow into dependents' inputs.
    let frontier = [...verdicts.values()].filter((v) => v.action === "replace").map((v) => v.urn);
    const seen = new Set(frontier);
    while (frontier.length > 0) {
        const next: string[] = [];
        for (const d of head.resources) {
            if (!d.custom && !d.remote) continue;
            for (const [prop, deps] of Object.entries(d.propertyDependencies ?? {})) {
                for (const src of deps) {
                    if (src === d.urn || !frontier.includes(src)) continue;
                    const from = headByUrn.get(src);
                    if (!from) continue;
                    if (awsxScope.get(src) === "subnets" && !mentionsSubnet(d.inputs[prop])) continue;
                    const { forceNew, how } = isForceNewInput(d, prop);
                    const already = verdicts.get(d.urn)?.action === "replace";
                    if (forceNew && !already) {
                        replace(d, [{ kind: "cascade", path: prop, via: src, why: `its \`${prop}\` comes from ${from.type.split(":").pop()} "${from.name}", which is replaced (${how})` }]);
                        if (!seen.has(d.urn)) {
                            seen.add(d.urn);
                            next.push(d.urn);
                        }
                    } else if (!forceNew && !already) {
                        const v = verdictOf(d);
                        if (!v.triggers.some((t) => t.via === src && t.path === prop)) v.triggers.push({ kind: "cascade-update", path: prop, via: src, why: `its \`${prop}\` comes from ${from.type.split(":").pop()} "${from.name}", which is replaced: updated in place` });
                    }
                }
            }
        }
        frontier = next;
    }

    for (const v of verdicts.values()) {
        if (v.action !== "replace" || v.deleteBeforeReplace) continue;
        const r = headByUrn.get(v.urn)!;
        const key = ruleFor(v.type)?.physicalName;
        const b = baseByUrn.get(v.urn);
        if (key && typeof r.inputs[key] === "string" && b && b.inputs[key] === r.inputs[key]) {
            v.nameCollision = `${key} "${String(r.inputs[key])}" is fixed and unchanged: Pulumi creates the replacement before deleting the old one, so the create fails with "already exists" unless the resource sets deleteBeforeReplace (or the name changes)`;
        }
    }
    return { verdicts, unknownTypes: [...unknownTypes].sort() };
}
