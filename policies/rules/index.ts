/**
 * The platform policy rules, as pure modules. `policies/index.ts` serves them as a Pulumi policy
 * pack; `tools/policyCheck.ts` runs them offline against a recorded resource graph. Import this
 * module (never `policies/index.ts`, which starts the policy gRPC server) from tests and tools.
 */

import type { EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { computeMetadata, computePolicies } from "./compute";
import { loadBalancerMetadata, loadBalancerPolicies } from "./loadBalancers";
import { privateBucketMetadata, privateBucketPolicies } from "./privateBuckets";
import { rdsMetadata, rdsPolicies } from "./rds";
import { roleBasedAccessMetadata, roleBasedAccessPolicies } from "./roleBasedAccess";
import type { RuleMetadata } from "./util";

export type PlatformPolicy = ResourceValidationPolicy | StackValidationPolicy;

/** Name of the policy pack. */
export const POLICY_PACK_NAME = "platform";

/** Pack-wide default enforcement level (every rule sets its own level; this applies to none today). */
export const PACK_ENFORCEMENT_LEVEL: EnforcementLevel = "mandatory";

/** Every rule of the pack, in a stable order. */
export const allPolicies: PlatformPolicy[] = [
    ...privateBucketPolicies,
    ...roleBasedAccessPolicies,
    ...computePolicies,
    ...rdsPolicies,
    ...loadBalancerPolicies,
];

/** Metadata per rule: name, description, default level, severity, concern, kind, remediation. */
export const ruleMetadata: RuleMetadata[] = [
    ...privateBucketMetadata,
    ...roleBasedAccessMetadata,
    ...computeMetadata,
    ...rdsMetadata,
    ...loadBalancerMetadata,
];

export type { RuleMetadata } from "./util";
export * as privateBuckets from "./privateBuckets";
export * as roleBasedAccess from "./roleBasedAccess";
export * as compute from "./compute";
export * as rds from "./rds";
export * as loadBalancers from "./loadBalancers";
