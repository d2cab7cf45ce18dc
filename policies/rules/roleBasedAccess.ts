/**
 * Role-based access: people and machines get AWS access only by assuming IAM roles. No IAM users,
 * long-lived access keys or group-based grants; no AWS-managed "full access" policies; no wildcard
 * permissions; no wildcard trust policies; every EC2 instance runs with an instance profile.
 */

import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import {
    RuleMetadata, Statement, UNKNOWN, get, getArray, isAllow, isSet, isWildcardPrincipal, msg, statements, strList,
} from "./util";

// ------------------------------------------------------------------------------------------------
// iam-role-based-access-only
// ------------------------------------------------------------------------------------------------

/** Identity types that hand out user/group based access (always a violation). */
export const USER_AND_GROUP_TYPES = [
    "aws:iam/user:User",
    "aws:iam/accessKey:AccessKey",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/userLoginProfile:UserLoginProfile",
    "aws:iam/userPoliciesExclusive:UserPoliciesExclusive",
    "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive",
    "aws:iam/userGroupMembership:UserGroupMembership",
    "aws:iam/userSshKey:UserSshKey",
    "aws:iam/serviceSpecificCredential:ServiceSpecificCredential",
    "aws:iam/signingCertificate:SigningCertificate",
    "aws:iam/groupMembership:GroupMembership",
    "aws:iam/groupPolicy:GroupPolicy",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/groupPoliciesExclusive:GroupPoliciesExclusive",
    "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive",
];
export const POLICY_ATTACHMENT_TYPE = "aws:iam/policyAttachment:PolicyAttachment";

function label(r: { type: string; name: string }): string {
    return `${r.type.split(":").pop()} '${r.name}'`;
}

export const roleBasedAccessOnly: ResourceValidationPolicy = {
    name: "iam-role-based-access-only",
    description: "No IAM users, access keys, login profiles, user/group policies or user/group policy attachments: access is granted through roles only.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps: "Replace the user/group with an IAM role that people assume through SSO (IAM Identity Center) or that " +
        "workloads assume through a service principal or OIDC federation; attach policies to that role.",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        const fix = "delete it and grant access through an IAM role instead (assumed via IAM Identity Center / SSO for " +
            "people, a service principal or OIDC federation for workloads); attach the policies to the role.";
        if (USER_AND_GROUP_TYPES.includes(args.type)) {
            const what = args.type === "aws:iam/accessKey:AccessKey" ? "creates a long-lived access key"
                : args.type.startsWith("aws:iam/group") ? "grants access through an IAM group"
                : "grants access through an IAM user";
            reportViolation(msg(`${label(args)} ${what}; only role-based access is allowed.`, fix), args.urn);
            return;
        }
        if (args.type === POLICY_ATTACHMENT_TYPE) {
            for (const field of ["users", "groups"]) {
                const v = getArray(args.props, field);
                if (v !== UNKNOWN && v.length > 0) {
                    reportViolation(msg(`${label(args)} attaches a policy to IAM ${field}; only roles may receive policies.`,
                        `remove '${field}' and use aws.iam.RolePolicyAttachment with a role instead.`), args.urn);
                }
            }
        }
    },
};

// ------------------------------------------------------------------------------------------------
// iam-no-broad-managed-policies
// ------------------------------------------------------------------------------------------------

/**
 * AWS-managed policies that grant broad (service-wide or account-wide) access. Attaching any of
 * these to a role is a violation. In addition, every AWS-managed policy whose name ends in
 * `FullAccess` or contains `AdministratorAccess`/`AdminAccess` is treated as broad.
 * Exceptions can be granted per stack through the policy config key `allowedPolicyArns`.
 */
export const BROAD_MANAGED_POLICIES = [
    "AdministratorAccess",
    "AdministratorAccess-Amplify",
    "AdministratorAccess-AWSElasticBeanstalk",
    "PowerUserAccess",
    "IAMFullAccess",
    "AmazonS3FullAccess",
    "AmazonEC2FullAccess",
    "AmazonRDSFullAccess",
    "AmazonSSMFullAccess",
    "AmazonDynamoDBFullAccess",
    "AmazonVPCFullAccess",
    "AmazonSQSFullAccess",
    "AmazonSNSFullAccess",
    "AmazonECS_FullAccess",
    "AmazonEC2ContainerRegistryFullAccess",
    "AmazonRoute53FullAccess",
    "AWSLambda_FullAccess",
    "AWSLambdaFullAccess",
    "AWSCloudFormationFullAccess",
    "CloudWatchFullAccess",
    "CloudWatchLogsFullAccess",
    "SecretsManagerReadWrite",
    "AWSKeyManagementServicePowerUser",
    "AWSOrganizationsFullAccess",
    // job-function/ policies
    "SystemAdministrator",
    "NetworkAdministrator",
    "DatabaseAdministrator",
];

const AWS_MANAGED_ARN = /^arn:aws(?:-[a-z-]+)?:iam::aws:policy\/(?:(.+)\/)?([^/]+)$/;

/** When `arn` is a broad AWS-managed policy, its display name (path included), else undefined. */
export function broadManagedPolicy(arn: unknown): string | undefined {
    if (typeof arn !== "string") {
        return undefined;
    }
    const m = AWS_MANAGED_ARN.exec(arn.trim());
    if (!m) {
        return undefined;
    }
    const name = m[2];
    const broad = BROAD_MANAGED_POLICIES.includes(name) || /FullAccess$/i.test(name) ||
        /Administrator ?Access|AdminAccess/i.test(name);
    return broad ? (m[1] ? `${m[1]}/${name}` : name) : undefined;
}

export const noBroadManagedPolicies: ResourceValidationPolicy = {
    name: "iam-no-broad-managed-policies",
    description: "No AWS-managed broad policy (AdministratorAccess, PowerUserAccess, *FullAccess, ...) is attached to a role.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Replace the AWS-managed policy with a customer-managed or inline policy granting only the actions " +
        "and resources the role needs.",
    configSchema: {
        properties: {
            allowedPolicyArns: { type: "array", items: { type: "string" }, default: [] },
        },
    },
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        let arns: unknown[] = [];
        if (args.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment" || args.type === POLICY_ATTACHMENT_TYPE) {
            arns = [get(args.props, "policyArn")];
        } else if (args.type === "aws:iam/role:Role") {
            const v = getArray(args.props, "managedPolicyArns");
            arns = v === UNKNOWN ? [] : v;
        } else if (args.type === "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive") {
            const v = getArray(args.props, "policyArns");
            arns = v === UNKNOWN ? [] : v;
        } else {
            return;
        }
        const allowed = (args.getConfig<{ allowedPolicyArns?: string[] }>().allowedPolicyArns ?? []);
        for (const arn of arns) {
            const name = broadManagedPolicy(arn);
            if (name && !allowed.includes(String(arn))) {
                reportViolation(msg(`${label(args)} attaches the broad AWS-managed policy ${name} (${arn}).`,
                    "attach a customer-managed policy (aws.iam.Policy) or an inline role policy that grants only the " +
                    "actions and resources this role needs."), args.urn);
            }
        }
    },
};

// ------------------------------------------------------------------------------------------------
// iam-no-wildcard-permissions
// ------------------------------------------------------------------------------------------------

/** True for `*` and service-wide `<service>:*` actions. */
export function isWildcardAction(a: unknown): boolean {
    return typeof a === "string" && (a.trim() === "*" || /^[a-z0-9-]+:\*$/i.test(a.trim()));
}

/** Describes why `s` grants wildcard permissions on all resources, or undefined if it doesn't. */
export function wildcardGrant(s: Statement): string | undefined {
    if (!isAllow(s)) {
        return undefined;
    }
    const allResources = strList(s.Resource).some(r => r === "*") || (s.Resource === undefined && s.NotResource !== undefined);
    if (!allResources) {
        return undefined;
    }
    const wild = strList(s.Action).filter(isWildcardAction);
    if (wild.length > 0) {
        return `allows ${wild.map(a => `"${String(a)}"`).join(", ")} on Resource "*"`;
    }
    if (s.NotAction !== undefined && s.Action === undefined) {
        return "allows every action except NotAction on Resource \"*\"";
    }
    return undefined;
}

export const noWildcardPermissions: ResourceValidationPolicy = {
    name: "iam-no-wildcard-permissions",
    description: "No IAM policy statement allows Action \"*\" or a service-wide \"<service>:*\" on Resource \"*\".",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps: "List the specific actions the role needs and scope Resource to specific ARNs.",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        const docs: [string, unknown][] = [];
        if (args.type === "aws:iam/role:Role") {
            const inline = getArray(args.props, "inlinePolicies");
            if (inline !== UNKNOWN) {
                inline.forEach((p, i) => {
                    const n = get(p, "name");
                    docs.push([`inline policy ${typeof n === "string" ? `'${n}'` : `#${i}`}`, get(p, "policy")]);
                });
            }
        } else if (args.type === "aws:iam/rolePolicy:RolePolicy" || args.type === "aws:iam/policy:Policy") {
            docs.push(["policy", get(args.props, "policy")]);
        } else {
            return;
        }
        for (const [where, doc] of docs) {
            const sts = statements(doc);
            if (sts === UNKNOWN || sts === undefined) {
                continue;
            }
            for (const s of sts) {
                const why = wildcardGrant(s);
                if (why) {
                    const sid = typeof s.Sid === "string" && s.Sid ? ` statement "${s.Sid}"` : " a statement";
                    reportViolation(msg(`${label(args)} ${where}:${sid} ${why}.`,
                        "list the specific actions needed (e.g. \"s3:GetObject\") and scope Resource to specific ARNs."), args.urn);
                }
            }
        }
    },
};

// ------------------------------------------------------------------------------------------------
// iam-trust-policy-no-wildcard-principal
// ------------------------------------------------------------------------------------------------

export const trustPolicyNoWildcard: ResourceValidationPolicy = {
    name: "iam-trust-policy-no-wildcard-principal",
    description: "Role trust policies (assumeRolePolicy) name a service principal or a specific account, never \"*\".",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps: "Set Principal to a service principal ({ Service: \"ec2.amazonaws.com\" }), a specific account or " +
        "role ARN ({ AWS: \"arn:aws:iam::123456789012:root\" }) or an OIDC provider (Federated).",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        if (args.type !== "aws:iam/role:Role") {
            return;
        }
        const sts = statements(get(args.props, "assumeRolePolicy"));
        if (sts === UNKNOWN || sts === undefined) {
            return;
        }
        for (const s of sts) {
            if (!isAllow(s)) {
                continue;
            }
            if (isWildcardPrincipal(s.Principal) || s.NotPrincipal !== undefined) {
                reportViolation(msg(`Role '${args.name}' can be assumed by anyone: its trust policy allows Principal "*".`,
                    "trust a service principal ({ Service: \"ec2.amazonaws.com\" }), a specific account/role ARN " +
                    "({ AWS: \"arn:aws:iam::<account>:root\" }) or a Federated OIDC provider with conditions."), args.urn);
            }
        }
    },
};

// ------------------------------------------------------------------------------------------------
// ec2-instance-profile-required
// ------------------------------------------------------------------------------------------------

export const instanceProfileRequired: ResourceValidationPolicy = {
    name: "ec2-instance-profile-required",
    description: "Every EC2 instance and launch template runs with an IAM instance profile.",
    enforcementLevel: "mandatory",
    severity: "medium",
    remediationSteps: "Create an aws.iam.Role trusted by ec2.amazonaws.com, wrap it in an aws.iam.InstanceProfile and set " +
        "iamInstanceProfile (instances) or iamInstanceProfile { arn } (launch templates).",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        if (args.type === "aws:ec2/instance:Instance") {
            // An instance launched from a launch template gets the template's profile (checked on the template).
            if (isSet(get(args.props, "iamInstanceProfile")) || isSet(get(args.props, "launchTemplate"))) {
                return;
            }
            reportViolation(msg(`EC2 Instance '${args.name}' has no IAM instance profile.`,
                "create an aws.iam.InstanceProfile for a role trusted by ec2.amazonaws.com and set iamInstanceProfile: profile.name."), args.urn);
        } else if (args.type === "aws:ec2/launchTemplate:LaunchTemplate") {
            const p = get(args.props, "iamInstanceProfile");
            if (p !== UNKNOWN && !isSet(get(p, "arn")) && !isSet(get(p, "name"))) {
                reportViolation(msg(`EC2 LaunchTemplate '${args.name}' has no IAM instance profile.`,
                    "set iamInstanceProfile: { arn: profile.arn } (or { name: profile.name }) on the launch template."), args.urn);
            }
        }
    },
};

export const roleBasedAccessPolicies = [
    roleBasedAccessOnly, noBroadManagedPolicies, noWildcardPermissions, trustPolicyNoWildcard, instanceProfileRequired,
];

export const roleBasedAccessMetadata: RuleMetadata[] = roleBasedAccessPolicies.map(p => ({
    name: p.name,
    description: p.description,
    enforcementLevel: p.enforcementLevel!,
    severity: p.severity!,
    concern: "role-based-access",
    kind: "resource",
    remediation: p.remediationSteps!,
}));
