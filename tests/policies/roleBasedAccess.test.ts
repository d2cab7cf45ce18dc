import * as assert from "assert";
import { broadManagedPolicy } from "../../policies/rules/roleBasedAccess";
import { ec2TrustPolicy, expectPass, expectViolation, graph, res, violationsOf } from "./helpers";

const ROLE = "aws:iam/role:Role";

describe("policies: role-based access", () => {
    describe("iam-role-based-access-only", () => {
        const rule = "iam-role-based-access-only";

        it("passes roles, role policies and role-only policy attachments", async () => {
            const role = res(ROLE, "app", { assumeRolePolicy: ec2TrustPolicy });
            const att = res("aws:iam/policyAttachment:PolicyAttachment", "att", {
                policyArn: "arn:aws:iam::123456789012:policy/app", roles: ["app"],
            });
            const profile = res("aws:iam/instanceProfile:InstanceProfile", "app-profile", { role: "app" });
            await expectPass(graph(role, att, profile), rule);
        });

        const types = [
            "aws:iam/user:User", "aws:iam/accessKey:AccessKey", "aws:iam/userPolicy:UserPolicy",
            "aws:iam/userPolicyAttachment:UserPolicyAttachment", "aws:iam/userLoginProfile:UserLoginProfile",
            "aws:iam/groupPolicy:GroupPolicy", "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
            "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive",
        ];
        for (const type of types) {
            it(`reports ${type}`, async () => {
                const r = res(type, `bad-${type.split(":").pop()!.toLowerCase()}`, { user: "deploy" });
                await expectViolation(graph(r), rule, r, { level: "mandatory" });
            });
        }

        it("reports a PolicyAttachment to users or groups", async () => {
            const users = res("aws:iam/policyAttachment:PolicyAttachment", "to-users", { policyArn: "arn:x", users: ["deploy"] });
            const groups = res("aws:iam/policyAttachment:PolicyAttachment", "to-groups", { policyArn: "arn:x", groups: ["ops"], roles: ["r"] });
            await expectViolation(graph(users, groups), rule, users, { match: /IAM users/ });
            await expectViolation(graph(users, groups), rule, groups, { match: /IAM groups/ });
        });
    });

    describe("iam-no-broad-managed-policies", () => {
        const rule = "iam-no-broad-managed-policies";

        it("recognises broad AWS-managed ARNs, including paths and partitions", () => {
            assert.strictEqual(broadManagedPolicy("arn:aws:iam::aws:policy/AdministratorAccess"), "AdministratorAccess");
            assert.strictEqual(broadManagedPolicy("arn:aws:iam::aws:policy/job-function/SystemAdministrator"), "job-function/SystemAdministrator");
            assert.strictEqual(broadManagedPolicy("arn:aws-us-gov:iam::aws:policy/AmazonS3FullAccess"), "AmazonS3FullAccess");
            assert.strictEqual(broadManagedPolicy("arn:aws:iam::aws:policy/service-role/AWSGlueServiceRoleFullAccess"), "service-role/AWSGlueServiceRoleFullAccess");
            assert.strictEqual(broadManagedPolicy("arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"), undefined);
            assert.strictEqual(broadManagedPolicy("arn:aws:iam::aws:policy/service-role/AmazonEC2RoleforSSM"), undefined);
            assert.strictEqual(broadManagedPolicy("arn:aws:iam::123456789012:policy/AdministratorAccess"), undefined);
            assert.strictEqual(broadManagedPolicy("<computed>"), undefined);
        });

        it("passes narrow managed and customer policies", async () => {
            const role = res(ROLE, "app", {
                assumeRolePolicy: ec2TrustPolicy,
                managedPolicyArns: ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore", "<computed>"],
            });
            const att = res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "app-cw", {
                role: "app", policyArn: "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy",
            });
            const own = res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "app-own", { role: "app", policyArn: "<computed>" });
            await expectPass(graph(role, att, own), rule);
        });

        it("reports AmazonS3FullAccess on a RolePolicyAttachment and AdministratorAccess in managedPolicyArns", async () => {
            const att = res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "s3-full", {
                role: "app", policyArn: "arn:aws:iam::aws:policy/AmazonS3FullAccess",
            });
            const role = res(ROLE, "admin", {
                assumeRolePolicy: ec2TrustPolicy, managedPolicyArns: ["arn:aws:iam::aws:policy/AdministratorAccess"],
            });
            const pa = res("aws:iam/policyAttachment:PolicyAttachment", "power", {
                roles: ["app"], policyArn: "arn:aws:iam::aws:policy/PowerUserAccess",
            });
            await expectViolation(graph(att, role, pa), rule, att, { match: /AmazonS3FullAccess/ });
            await expectViolation(graph(att, role, pa), rule, role, { match: /AdministratorAccess/ });
            await expectViolation(graph(att, role, pa), rule, pa, { match: /PowerUserAccess/ });
        });

        it("honours allowedPolicyArns from the policy config", async () => {
            const att = res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "ssm-full", {
                role: "app", policyArn: "arn:aws:iam::aws:policy/AmazonSSMFullAccess",
            });
            await expectViolation(graph(att), rule, att);
            await expectPass(graph(att), rule, { [rule]: { allowedPolicyArns: ["arn:aws:iam::aws:policy/AmazonSSMFullAccess"] } });
        });
    });

    describe("iam-no-wildcard-permissions", () => {
        const rule = "iam-no-wildcard-permissions";
        const doc = (...Statement: unknown[]) => ({ Version: "2012-10-17", Statement });

        it("passes scoped statements, wildcard actions on specific resources, and Deny *", async () => {
            const pol = res("aws:iam/policy:Policy", "scoped", {
                policy: JSON.stringify(doc(
                    { Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject"], Resource: "arn:aws:s3:::b/*" },
                    { Effect: "Allow", Action: "s3:*", Resource: "arn:aws:s3:::b/*" },
                    { Effect: "Allow", Action: "ec2:Describe*", Resource: "*" },
                    { Effect: "Deny", Action: "*", Resource: "*" },
                )),
            });
            const role = res(ROLE, "app", {
                assumeRolePolicy: ec2TrustPolicy,
                inlinePolicies: [{ name: "logs", policy: JSON.stringify(doc({ Effect: "Allow", Action: "logs:PutLogEvents", Resource: "*" })) }],
            });
            await expectPass(graph(pol, role), rule);
        });

        it("reports Action \"*\" and service-wide actions on Resource \"*\" in Policy, RolePolicy and inline policies", async () => {
            const pol = res("aws:iam/policy:Policy", "admin-ish", { policy: doc({ Sid: "All", Effect: "Allow", Action: "*", Resource: "*" }) });
            const rp = res("aws:iam/rolePolicy:RolePolicy", "s3-star", {
                role: "app", policy: JSON.stringify(doc({ Effect: "Allow", Action: ["s3:GetObject", "S3:*"], Resource: ["*"] })),
            });
            const role = res(ROLE, "inline-star", {
                assumeRolePolicy: ec2TrustPolicy,
                inlinePolicies: [{ name: "everything", policy: JSON.stringify(doc({ Effect: "Allow", Action: "iam:*", Resource: "*" })) }],
            });
            const g = graph(pol, rp, role);
            await expectViolation(g, rule, pol, { match: /"\*"/ });
            await expectViolation(g, rule, rp, { match: /S3:\*/ });
            await expectViolation(g, rule, role, { match: /inline policy 'everything'.*iam:\*/ });
        });
    });

    describe("iam-trust-policy-no-wildcard-principal", () => {
        const rule = "iam-trust-policy-no-wildcard-principal";

        it("passes service, account and federated principals", async () => {
            const svc = res(ROLE, "svc", { assumeRolePolicy: ec2TrustPolicy });
            const acct = res(ROLE, "acct", {
                assumeRolePolicy: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: "arn:aws:iam::123456789012:root" }, Action: "sts:AssumeRole" }] },
            });
            const oidc = res(ROLE, "ci", {
                assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{
                    Effect: "Allow", Principal: { Federated: "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" },
                    Action: "sts:AssumeRoleWithWebIdentity",
                    Condition: { StringLike: { "token.actions.githubusercontent.com:sub": "repo:acme/platform:*" } },
                }] }),
            });
            const unknown = res(ROLE, "later", { assumeRolePolicy: "<computed>" });
            await expectPass(graph(svc, acct, oidc, unknown), rule);
        });

        for (const principal of ["*", { AWS: "*" }, { AWS: ["arn:aws:iam::1:root", "*"] }]) {
            it(`reports a trust policy with Principal ${JSON.stringify(principal)}`, async () => {
                const role = res(ROLE, "anyone", {
                    assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: principal, Action: "sts:AssumeRole" }] }),
                });
                await expectViolation(graph(role), rule, role);
            });
        }
    });

    describe("ec2-instance-profile-required", () => {
        const rule = "ec2-instance-profile-required";

        it("passes instances and launch templates with a profile (or from a template)", async () => {
            const i1 = res("aws:ec2/instance:Instance", "web", { ami: "ami-1", iamInstanceProfile: "<computed>" });
            const i2 = res("aws:ec2/instance:Instance", "from-lt", { launchTemplate: { id: "lt-1" } });
            const lt1 = res("aws:ec2/launchTemplate:LaunchTemplate", "lt-arn", { iamInstanceProfile: { arn: "arn:aws:iam::1:instance-profile/web" } });
            const lt2 = res("aws:ec2/launchTemplate:LaunchTemplate", "lt-name", { iamInstanceProfile: { name: "web" } });
            await expectPass(graph(i1, i2, lt1, lt2), rule);
        });

        it("reports an instance and a launch template without a profile", async () => {
            const inst = res("aws:ec2/instance:Instance", "bare", { ami: "ami-1", instanceType: "t3.micro" });
            const lt = res("aws:ec2/launchTemplate:LaunchTemplate", "bare-lt", { imageId: "ami-1", iamInstanceProfile: {} });
            await expectViolation(graph(inst, lt), rule, inst);
            await expectViolation(graph(inst, lt), rule, lt);
            assert.strictEqual((await violationsOf(graph(inst, lt), rule)).length, 2);
        });
    });
});
