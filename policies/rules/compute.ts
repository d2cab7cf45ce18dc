/**
 * Compute hygiene (advisory by default; raise to mandatory through the policy config):
 * IMDSv2 on instances and launch templates, encrypted EBS volumes, no SSH/RDP from the internet.
 */

import type {
    PolicyResource, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy,
} from "@pulumi/policy";
import { RuleMetadata, UNKNOWN, bool, get, getArray, isSet, msg, num } from "./util";

export const INSTANCE_TYPE = "aws:ec2/instance:Instance";
export const LAUNCH_TEMPLATE_TYPE = "aws:ec2/launchTemplate:LaunchTemplate";
export const VOLUME_TYPE = "aws:ebs/volume:Volume";
export const ENCRYPTION_BY_DEFAULT_TYPE = "aws:ebs/encryptionByDefault:EncryptionByDefault";

// ------------------------------------------------------------------------------------------------
// ec2-imdsv2-required
// ------------------------------------------------------------------------------------------------

export const imdsv2Required: ResourceValidationPolicy = {
    name: "ec2-imdsv2-required",
    description: "EC2 instances and launch templates require IMDSv2 (metadataOptions.httpTokens = \"required\").",
    enforcementLevel: "advisory",
    severity: "high",
    remediationSteps: "Set metadataOptions: { httpTokens: \"required\", httpEndpoint: \"enabled\", httpPutResponseHopLimit: 1 }.",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        if (args.type !== INSTANCE_TYPE && args.type !== LAUNCH_TEMPLATE_TYPE) {
            return;
        }
        const mo = get(args.props, "metadataOptions");
        if (mo === UNKNOWN) {
            return;
        }
        // An instance launched from a template inherits the template's metadata options.
        if (args.type === INSTANCE_TYPE && !isSet(mo) && isSet(get(args.props, "launchTemplate"))) {
            return;
        }
        const tokens = get(mo, "httpTokens");
        const endpoint = get(mo, "httpEndpoint");
        if (tokens === UNKNOWN || tokens === "required" || endpoint === "disabled") {
            return;
        }
        const kind = args.type === INSTANCE_TYPE ? "EC2 Instance" : "EC2 LaunchTemplate";
        const now = typeof tokens === "string" ? `httpTokens is "${tokens}"` : "metadataOptions.httpTokens is not set (IMDSv1 allowed)";
        reportViolation(msg(`${kind} '${args.name}' does not require IMDSv2: ${now}.`,
            "set metadataOptions: { httpTokens: \"required\", httpPutResponseHopLimit: 1 }."), args.urn);
    },
};

// ------------------------------------------------------------------------------------------------
// ebs-encrypted
// ------------------------------------------------------------------------------------------------

/** Problems with the EBS encryption of one resource (explicit `false` always counts; a missing
 *  setting counts only when the stack does not turn on EBS encryption by default). */
function ebsProblems(r: { type: string; props: Record<string, unknown> }, byDefault: boolean): string[] {
    const out: string[] = [];
    const check = (v: unknown, what: string) => {
        const b = bool(v);
        if (b === true || b === UNKNOWN) { return; }
        if (b === false) { out.push(`${what} sets encrypted = false`); return; }
        if (!byDefault) { out.push(`${what} does not set encrypted = true`); }
    };
    if (r.type === VOLUME_TYPE) {
        check(get(r.props, "encrypted"), "the volume");
    } else if (r.type === INSTANCE_TYPE) {
        const root = get(r.props, "rootBlockDevice");
        if (root === UNKNOWN) {
            // cannot judge
        } else if (!isSet(root)) {
            if (!isSet(get(r.props, "launchTemplate"))) {
                check(undefined, "the root volume (no rootBlockDevice)");
            }
        } else {
            check(get(root, "encrypted"), "rootBlockDevice");
        }
        const ebs = getArray(r.props, "ebsBlockDevices");
        if (ebs !== UNKNOWN) {
            ebs.forEach((d, i) => {
                const dev = get(d, "deviceName");
                check(get(d, "encrypted"), `ebsBlockDevices[${typeof dev === "string" ? dev : i}]`);
            });
        }
    } else if (r.type === LAUNCH_TEMPLATE_TYPE) {
        const maps = getArray(r.props, "blockDeviceMappings");
        if (maps !== UNKNOWN) {
            if (maps.length === 0) {
                check(undefined, "the root volume (no blockDeviceMappings)");
            }
            maps.forEach((m, i) => {
                const ebs = get(m, "ebs");
                if (ebs === UNKNOWN || !isSet(ebs)) {
                    return; // ephemeral / noDevice mapping
                }
                const dev = get(m, "deviceName");
                check(get(ebs, "encrypted"), `blockDeviceMappings[${typeof dev === "string" ? dev : i}].ebs`);
            });
        }
    }
    return out;
}

export const ebsEncrypted: StackValidationPolicy = {
    name: "ebs-encrypted",
    description: "EBS volumes are encrypted: aws.ebs.Volume encrypted, instance root/EBS block devices and launch template " +
        "block device mappings encrypted = true (missing settings are accepted when the stack enables aws.ebs.EncryptionByDefault).",
    enforcementLevel: "advisory",
    severity: "high",
    remediationSteps: "Set encrypted: true (launch templates: ebs.encrypted: \"true\") on every volume/block device, or " +
        "enable account-wide encryption with aws.ebs.EncryptionByDefault.",
    validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
        const byDefault = args.resources.some(r => r.type === ENCRYPTION_BY_DEFAULT_TYPE && bool(get(r.props, "enabled")) !== false);
        for (const r of args.resources as PolicyResource[]) {
            if (![VOLUME_TYPE, INSTANCE_TYPE, LAUNCH_TEMPLATE_TYPE].includes(r.type)) {
                continue;
            }
            const problems = ebsProblems(r, byDefault);
            if (problems.length > 0) {
                const kind = r.type === VOLUME_TYPE ? "EBS Volume" : r.type === INSTANCE_TYPE ? "EC2 Instance" : "EC2 LaunchTemplate";
                reportViolation(msg(`${kind} '${r.name}' has unencrypted EBS storage: ${problems.join("; ")}.`,
                    r.type === LAUNCH_TEMPLATE_TYPE
                        ? "set blockDeviceMappings[].ebs.encrypted = \"true\" (optionally kmsKeyId) for every EBS mapping."
                        : "set encrypted: true (optionally kmsKeyId) on every volume / block device, or enable aws.ebs.EncryptionByDefault."),
                r.urn);
            }
        }
    },
};

// ------------------------------------------------------------------------------------------------
// security-group-no-public-admin-ports
// ------------------------------------------------------------------------------------------------

export const ADMIN_PORTS: Record<number, string> = { 22: "SSH", 3389: "RDP" };
export const PUBLIC_CIDRS = ["0.0.0.0/0", "::/0"];

/** The admin ports a rule opens: protocol -1/all covers all ports; tcp (or "6") covers fromPort..toPort. */
export function adminPortsCovered(protocol: unknown, fromPort: unknown, toPort: unknown): number[] {
    if (protocol === UNKNOWN) {
        return [];
    }
    const p = String(protocol ?? "").trim().toLowerCase();
    const ports = Object.keys(ADMIN_PORTS).map(Number);
    if (p === "-1" || p === "all") {
        return ports;
    }
    if (p !== "tcp" && p !== "6") {
        return [];
    }
    const from = num(fromPort);
    const to = num(toPort);
    if (from === UNKNOWN || to === UNKNOWN) {
        return [];
    }
    const lo = from ?? 0;
    const hi = to ?? 65535;
    // from/to 0..0 or -1 with tcp is treated by AWS as all ports
    if ((lo === 0 && hi === 0) || lo === -1) {
        return ports;
    }
    return ports.filter(port => lo <= port && port <= hi);
}

function publicCidrs(...lists: unknown[]): string[] {
    const out: string[] = [];
    for (const l of lists) {
        for (const c of Array.isArray(l) ? l : [l]) {
            if (typeof c === "string" && PUBLIC_CIDRS.includes(c.trim())) {
                out.push(c.trim());
            }
        }
    }
    return out;
}

export const noPublicAdminPorts: ResourceValidationPolicy = {
    name: "security-group-no-public-admin-ports",
    description: "No security group allows ingress from 0.0.0.0/0 or ::/0 to SSH (22) or RDP (3389).",
    enforcementLevel: "advisory",
    severity: "high",
    remediationSteps: "Remove the rule and reach instances through SSM Session Manager (or restrict the CIDR to a bastion/VPN range).",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        const found: { ports: number[]; cidrs: string[]; where: string }[] = [];
        const asList = (v: unknown) => (v === UNKNOWN ? [] : getArray(v) as unknown[]);
        if (args.type === "aws:ec2/securityGroup:SecurityGroup") {
            const ingress = getArray(args.props, "ingress");
            if (ingress === UNKNOWN) {
                return;
            }
            ingress.forEach((rule, i) => found.push({
                ports: adminPortsCovered(get(rule, "protocol"), get(rule, "fromPort"), get(rule, "toPort")),
                cidrs: publicCidrs(asList(get(rule, "cidrBlocks")), asList(get(rule, "ipv6CidrBlocks"))),
                where: `ingress[${i}]`,
            }));
        } else if (args.type === "aws:ec2/securityGroupRule:SecurityGroupRule") {
            if (String(get(args.props, "type") ?? "").toLowerCase() !== "ingress") {
                return;
            }
            found.push({
                ports: adminPortsCovered(get(args.props, "protocol"), get(args.props, "fromPort"), get(args.props, "toPort")),
                cidrs: publicCidrs(asList(get(args.props, "cidrBlocks")), asList(get(args.props, "ipv6CidrBlocks"))),
                where: "the rule",
            });
        } else if (args.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
            found.push({
                ports: adminPortsCovered(get(args.props, "ipProtocol"), get(args.props, "fromPort"), get(args.props, "toPort")),
                cidrs: publicCidrs(get(args.props, "cidrIpv4"), get(args.props, "cidrIpv6")),
                where: "the rule",
            });
        } else {
            return;
        }
        for (const f of found) {
            if (f.ports.length > 0 && f.cidrs.length > 0) {
                const what = f.ports.map(p => `${ADMIN_PORTS[p]} (${p})`).join(" and ");
                reportViolation(msg(`${args.type.split(":").pop()} '${args.name}' ${f.where} opens ${what} to ${f.cidrs.join(", ")}.`,
                    "remove the rule and use SSM Session Manager for shell access, or restrict the source to a bastion/VPN CIDR or security group."),
                args.urn);
            }
        }
    },
};

export const computePolicies = [imdsv2Required, ebsEncrypted, noPublicAdminPorts];

export const computeMetadata: RuleMetadata[] = computePolicies.map(p => ({
    name: p.name,
    description: p.description,
    enforcementLevel: p.enforcementLevel!,
    severity: p.severity!,
    concern: "compute",
    kind: "validateStack" in p ? "stack" : "resource",
    remediation: p.remediationSteps!,
}));
