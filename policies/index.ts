/**
 * The `platform` policy pack, served to the Pulumi engine:
 *
 *     pulumi preview --policy-pack policies [--policy-pack-config policies/config.<env>.json]
 *
 * Constructing a PolicyPack starts the policy gRPC server, so nothing but the Pulumi CLI should
 * import this file; tests and tools import `./rules` instead.
 */

import { PolicyPack } from "@pulumi/policy";
import { PACK_ENFORCEMENT_LEVEL, POLICY_PACK_NAME, allPolicies } from "./rules";

new PolicyPack(POLICY_PACK_NAME, {
    description: "Platform guardrails: private S3 buckets, role-based IAM access, compute hygiene, RDS safety and HTTPS-only load balancers in production.",
    provider: "aws",
    tags: ["aws", "security", "platform"],
    policies: allPolicies,
    enforcementLevel: PACK_ENFORCEMENT_LEVEL,
});
