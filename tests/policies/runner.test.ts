import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as aws from "@pulumi/aws";
import { ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy, unknownCheckingProxy, validateResourceOfType } from "@pulumi/policy";
import * as proxy from "@pulumi/policy/proxy";
import { allPolicies, ruleMetadata } from "../../policies/rules";
import { effectiveEnforcementLevel, loadPolicyConfig, PolicyConfigError, runPolicies } from "../../tools/policyCheck";
import { B, ec2TrustPolicy, graph, res, secureBucket, STACK_URN, violationsOf } from "./helpers";
import { tempDir } from "../support/tmp";

/** A stack with one instance of everything, all compliant. */
function compliantStack() {
    const role = res("aws:iam/role:Role", "web-role", {
        assumeRolePolicy: ec2TrustPolicy,
        managedPolicyArns: ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"],
        inlinePolicies: [{ name: "read", policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::data/*" }] }) }],
    });
    const profile = res("aws:iam/instanceProfile:InstanceProfile", "web-profile", { role: "<computed>" }, { role: [role] });
    return graph(
        ...secureBucket("data"),
        role,
        profile,
        res("aws:ec2/launchTemplate:LaunchTemplate", "web-lt", {
            iamInstanceProfile: { arn: "<computed>" },
            metadataOptions: { httpTokens: "required", httpEndpoint: "enabled" },
            blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { encrypted: "true" } }],
        }, { iamInstanceProfile: [profile] }),
        res("aws:ec2/securityGroup:SecurityGroup", "web-sg", { ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] }] }),
        res("aws:rds/instance:Instance", "db", {
            instanceClass: "db.t4g.micro", storageEncrypted: true, publiclyAccessible: false, backupRetentionPeriod: 7,
            deletionProtection: true, tags: { Environment: "prod" },
        }),
    );
}

/** A stack with one offence per rule. */
function noncompliantStack() {
    const bucket = res(B.bucket, "public", { acl: "public-read", website: { indexDocument: "index.html" } });
    return graph(
        bucket,
        res(B.policy, "public-policy", {
            bucket: "<computed>",
            policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "*" }] }),
        }, { bucket: [bucket] }),
        res("aws:iam/user:User", "deployer", {}),
        res("aws:iam/role:Role", "wild", {
            assumeRolePolicy: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: "*", Action: "sts:AssumeRole" }] },
            managedPolicyArns: ["arn:aws:iam::aws:policy/AmazonS3FullAccess"],
            inlinePolicies: [{ name: "all", policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }) }],
        }),
        res("aws:ec2/instance:Instance", "vm", { ami: "ami-1", ebsBlockDevices: [{ encrypted: false }] }),
        res("aws:ec2/securityGroup:SecurityGroup", "ssh", { ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] }] }),
        res("aws:rds/instance:Instance", "db", { instanceClass: "db.t4g.micro", publiclyAccessible: true, tags: { Environment: "prod" } }),
        ...plainHttpListeners(),
    );
}

/** An internet-facing load balancer forwarding plain HTTP, in prod and in dev (one offence per rule level). */
function plainHttpListeners() {
    return ["prod", "dev"].flatMap((env) => {
        const lb = res("aws:lb/loadBalancer:LoadBalancer", `lb-${env}`, { loadBalancerType: "application", internal: false, tags: { Environment: env } });
        return [lb, res("aws:lb/listener:Listener", `http-${env}`, { loadBalancerArn: "<computed>", port: 80, protocol: "HTTP", defaultActions: [{ type: "forward", targetGroupArn: "<computed>" }] }, { loadBalancerArn: [lb] })];
    });
}

describe("policies: rule metadata and the offline runner", () => {
    it("every rule has a kebab-case name, description, default level, severity, remediation and metadata", () => {
        const names = new Set<string>();
        for (const p of allPolicies) {
            assert.match(p.name, /^[a-z0-9]+(-[a-z0-9]+)*$/);
            assert.ok(!names.has(p.name), `duplicate rule ${p.name}`);
            names.add(p.name);
            assert.ok(p.description.length > 10);
            assert.ok(["advisory", "mandatory"].includes(p.enforcementLevel!), `${p.name} level`);
            assert.ok(["low", "medium", "high", "critical"].includes(p.severity!), `${p.name} severity`);
            assert.ok(p.remediationSteps, `${p.name} remediation`);
            assert.ok(ruleMetadata.some(m => m.name === p.name && m.enforcementLevel === p.enforcementLevel));
            assert.ok(!p.configSchema?.properties?.enforcementLevel, "enforcementLevel is reserved");
        }
        assert.strictEqual(ruleMetadata.length, allPolicies.length);
        const advisory = allPolicies.filter(p => p.enforcementLevel === "advisory").map(p => p.name).sort();
        assert.deepStrictEqual(advisory, ["ebs-encrypted", "ec2-imdsv2-required", "lb-no-plain-http-forward", "security-group-no-public-admin-ports"]);
    });

    it("a fully compliant stack has no violations", async () => {
        const vs = await runPolicies(compliantStack());
        assert.deepStrictEqual(vs, [], vs.map(v => `${v.policy}: ${v.message}`).join("\n"));
    });

    it("a stack with one offence per rule trips every rule, each message naming its resource and a fix", async () => {
        const vs = await runPolicies(noncompliantStack());
        const tripped = new Set(vs.map(v => v.policy));
        for (const p of allPolicies) {
            assert.ok(tripped.has(p.name), `rule ${p.name} was not tripped`);
        }
        for (const v of vs) {
            assert.ok(v.urn, `${v.policy} reported without a urn`);
            assert.match(v.message, / Fix: /);
        }
    });

    it("survives unknown (\"<computed>\") and secret (\"<secret>\") values everywhere", async () => {
        const types = [...new Set(noncompliantStack().resources.concat(compliantStack().resources).map(r => r.type))];
        for (const placeholder of ["<computed>", "<secret>"]) {
            const resources = types.map((t, i) => {
                const r = res(t, `r${i}`, {});
                const keys = ["acl", "grants", "policy", "website", "bucket", "assumeRolePolicy", "managedPolicyArns", "inlinePolicies",
                    "policyArn", "users", "groups", "iamInstanceProfile", "metadataOptions", "rootBlockDevice", "ebsBlockDevices",
                    "blockDeviceMappings", "ingress", "storageEncrypted", "publiclyAccessible", "backupRetentionPeriod",
                    "deletionProtection", "tags", "serverSideEncryptionConfiguration", "rules", "encrypted"];
                for (const k of keys) {
                    r.inputs[k] = placeholder;
                }
                return r;
            });
            const vs = await runPolicies(graph(...resources));
            // Unknown values are never judged: only the rules that reject a resource *type* outright (IAM users)
            // or a missing satellite resource (no public access block bound to the bucket) may fire.
            const fired = [...new Set(vs.map(v => v.policy))].sort();
            assert.deepStrictEqual(fired, ["iam-role-based-access-only", "s3-bucket-public-access-block"], placeholder);
        }
    });

    it("rules read the real engine's unknown-checking proxy without throwing", async () => {
        const sentinel = (proxy as unknown as { unknownStringValue: string }).unknownStringValue;
        const props = unknownCheckingProxy({
            policy: sentinel,
            assumeRolePolicy: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: sentinel, Action: "sts:AssumeRole" }] },
            acl: sentinel,
            ingress: [{ protocol: "tcp", fromPort: sentinel, toPort: 22, cidrBlocks: ["0.0.0.0/0"] }],
            metadataOptions: { httpTokens: sentinel },
            storageEncrypted: sentinel,
        });
        for (const type of ["aws:s3/bucketPolicy:BucketPolicy", "aws:iam/role:Role", "aws:s3/bucket:Bucket",
            "aws:ec2/securityGroup:SecurityGroup", "aws:ec2/instance:Instance", "aws:rds/instance:Instance"]) {
            for (const p of allPolicies.filter((x): x is ResourceValidationPolicy => "validateResource" in x)) {
                const reported: string[] = [];
                const args = {
                    type, props, urn: `urn:pulumi:s::p::${type}::x`, name: "x",
                    opts: { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] },
                    stackTags: new Map(), isType: () => false, asType: () => undefined, getConfig: () => ({}),
                    notApplicable: () => { throw new Error("n/a"); },
                } as unknown as ResourceValidationArgs;
                await (p.validateResource as (a: ResourceValidationArgs, r: (m: string) => void) => void)(args, m => reported.push(m));
                assert.deepStrictEqual(reported.filter(m => /IMDSv2|encrypt|anyone|SSH/.test(m)), [], `${p.name} on ${type}`);
            }
        }
    });

    describe("enforcement levels from the policy config", () => {
        const g = () => graph(res("aws:ec2/instance:Instance", "vm", { iamInstanceProfile: "p" }), res("aws:iam/user:User", "u"));

        it("a string entry overrides the rule's level", async () => {
            const [v] = await violationsOf(g(), "ec2-imdsv2-required", { "ec2-imdsv2-required": "mandatory" });
            assert.strictEqual(v.level, "mandatory");
            const [u] = await violationsOf(g(), "iam-role-based-access-only", { "iam-role-based-access-only": "advisory" });
            assert.strictEqual(u.level, "advisory");
        });

        it("an object entry overrides the level and carries settings", async () => {
            const [v] = await violationsOf(g(), "ec2-imdsv2-required", { "ec2-imdsv2-required": { enforcementLevel: "mandatory" } });
            assert.strictEqual(v.level, "mandatory");
        });

        it("\"all\" applies to every rule; a rule's own entry wins over \"all\"", async () => {
            const vs = await runPolicies(g(), { config: { all: "advisory", "iam-role-based-access-only": "mandatory" } });
            assert.ok(vs.length >= 2);
            for (const v of vs) {
                assert.strictEqual(v.level, v.policy === "iam-role-based-access-only" ? "mandatory" : "advisory", v.policy);
            }
        });

        it("disabled rules are skipped (per rule and via \"all\")", async () => {
            assert.deepStrictEqual(await violationsOf(g(), "ec2-imdsv2-required", { "ec2-imdsv2-required": "disabled" }), []);
            assert.deepStrictEqual(await runPolicies(g(), { config: { all: "disabled" } }), []);
            const onlyImds = await runPolicies(g(), { config: { all: "disabled", "ec2-imdsv2-required": "mandatory" } });
            assert.deepStrictEqual([...new Set(onlyImds.map(v => v.policy))], ["ec2-imdsv2-required"]);
        });

        it("remediate is reported as mandatory, like the engine", async () => {
            const [v] = await violationsOf(g(), "ec2-imdsv2-required", { "ec2-imdsv2-required": "remediate" });
            assert.strictEqual(v.level, "mandatory");
        });

        it("rejects an invalid level", async () => {
            await assert.rejects(runPolicies(g(), { config: { "ec2-imdsv2-required": "fatal" } }), /invalid enforcement level/);
        });

        it("effectiveEnforcementLevel mirrors the precedence", () => {
            const imds = allPolicies.find(p => p.name === "ec2-imdsv2-required")!;
            assert.strictEqual(effectiveEnforcementLevel(imds), "advisory");
            assert.strictEqual(effectiveEnforcementLevel(imds, { all: "mandatory" }), "mandatory");
            assert.strictEqual(effectiveEnforcementLevel(imds, { all: "mandatory", "ec2-imdsv2-required": { enforcementLevel: "disabled" } }), "disabled");
        });

        it("loadPolicyConfig reads the --policy-pack-config JSON format", async () => {
            const dir = tempDir("policy-config-");
            const file = path.join(dir, "config.json");
            fs.writeFileSync(file, JSON.stringify({ all: "mandatory", "rds-deletion-protection-in-production": { environment: "prod" } }));
            const config = loadPolicyConfig(file);
            const [v] = await violationsOf(g(), "ec2-imdsv2-required", config);
            assert.strictEqual(v.level, "mandatory");
            fs.writeFileSync(file, JSON.stringify({ "ec2-imdsv2-required": "sometimes" }));
            assert.throws(() => loadPolicyConfig(file), /"ec2-imdsv2-required": unknown enforcement level "sometimes"; allowed: advisory, mandatory, remediate, disabled/);
            fs.writeFileSync(file, "[]");
            assert.throws(() => loadPolicyConfig(file), /JSON object/);
            fs.rmSync(dir, { recursive: true });
        });

        it("loadPolicyConfig refuses every typo at once, with a did-you-mean: rule names, levels, settings and their types", () => {
            const dir = tempDir("policy-config-");
            const file = path.join(dir, "config.json");
            fs.writeFileSync(file, JSON.stringify({
                "ec2-imdsv2-requird": "mandatory",
                all: { enforcementLevel: "mandtory", minimumDays: 3 },
                "rds-backup-retention": { minimumDay: 3 },
                "rds-deletion-protection-in-production": { environment: 7 },
                "iam-no-broad-managed-policies": { allowedPolicyArns: "arn:aws:iam::aws:policy/ReadOnlyAccess" },
            }));
            const names = allPolicies.map((p) => p.name);
            assert.ok(["ec2-imdsv2-required", "rds-backup-retention", "rds-deletion-protection-in-production", "iam-no-broad-managed-policies"].every((n) => names.includes(n)), names.join(", "));
            try {
                loadPolicyConfig(file);
                assert.fail("expected a PolicyConfigError");
            } catch (err) {
                assert.ok(err instanceof PolicyConfigError, String(err));
                assert.deepStrictEqual(err.problems.map((p) => p.replace(/; (the pack's policies|known|allowed):.*$/, "")), [
                    '"ec2-imdsv2-requird": unknown policy (did you mean "ec2-imdsv2-required"?)',
                    '"all".enforcementLevel: unknown enforcement level "mandtory" (did you mean "mandatory"?)',
                    '"all".minimumDays: unknown setting; "all" takes only enforcementLevel',
                    '"rds-backup-retention".minimumDay: unknown setting (did you mean "minimumDays"?)',
                    '"rds-deletion-protection-in-production".environment = 7: must be of type string, not integer',
                    '"iam-no-broad-managed-policies".allowedPolicyArns = "arn:aws:iam::aws:policy/ReadOnlyAccess": must be of type array, not string',
                ]);
            } finally {
                fs.rmSync(dir, { recursive: true });
            }
        });
    });

    describe("engine-shaped arguments", () => {
        it("passes ResourceValidationArgs like @pulumi/policy: isType/asType with real classes, getConfig with schema defaults, opts, provider", async () => {
            const seen: ResourceValidationArgs[] = [];
            const configs: unknown[] = [];
            const probe: ResourceValidationPolicy = {
                name: "probe",
                description: "probe",
                enforcementLevel: "advisory",
                configSchema: { properties: { threshold: { type: "number", default: 3 }, label: { type: "string" } } },
                validateResource: [
                    (args) => { seen.push(args); configs.push(args.getConfig()); },
                    validateResourceOfType(aws.s3.Bucket, (bucket, _args, report) => { report(`typed ${bucket.bucket}`); }),
                ],
            };
            const provider = res("pulumi:providers:aws", "eu", { region: "eu-west-1" });
            const bucket = res(B.bucket, "b", { bucket: "phys" }, {}, { protect: true, provider: `${provider.urn}::pid` });
            const vs = await runPolicies(graph(provider, bucket), { policies: [probe], config: { probe: { label: "x" } } });
            assert.deepStrictEqual(vs.map(v => [v.urn, v.message, v.level]), [[bucket.urn, "typed phys", "advisory"]]);
            const args = seen.find(a => a.urn === bucket.urn)!;
            assert.strictEqual(args.type, B.bucket);
            assert.strictEqual(args.name, "b");
            assert.deepStrictEqual(args.props, { bucket: "phys" });
            assert.strictEqual(args.opts.protect, true);
            assert.strictEqual(args.opts.parent, STACK_URN);
            assert.deepStrictEqual(args.opts.ignoreChanges, []);
            assert.strictEqual(args.provider?.name, "eu");
            assert.deepStrictEqual(args.provider?.props, { region: "eu-west-1" });
            assert.strictEqual(args.stackTags.get("pulumi:project"), "platform");
            assert.ok(args.isType(aws.s3.Bucket));
            assert.ok(!args.isType(aws.s3.BucketV2));
            assert.deepStrictEqual(args.asType(aws.s3.Bucket), { bucket: "phys" });
            assert.strictEqual(args.asType(aws.iam.Role), undefined);
            assert.deepStrictEqual(configs[0], { threshold: 3, label: "x" });
        });

        it("passes StackValidationArgs with parent, dependencies and propertyDependencies resolved; supports arrays and notApplicable", async () => {
            let checked = false;
            const probe = {
                name: "stack-probe",
                description: "probe",
                enforcementLevel: "mandatory",
                validateStack: [
                    (args: Parameters<StackValidationPolicy["validateStack"]>[0], report: (m: string, urn?: string) => void) => {
                        const pab = args.resources.find(r => r.type === B.pab)!;
                        const bucket = args.resources.find(r => r.type === B.bucket)!;
                        assert.strictEqual(pab.propertyDependencies.bucket[0], bucket);
                        assert.strictEqual(pab.dependencies[0], bucket);
                        assert.strictEqual(pab.parent?.urn, bucket.urn);
                        assert.ok(bucket.isType(aws.s3.Bucket));
                        assert.deepStrictEqual(bucket.asType(aws.s3.Bucket), bucket.props);
                        checked = true;
                        report("stack-level");
                        report("on bucket", bucket.urn);
                    },
                    (args: Parameters<StackValidationPolicy["validateStack"]>[0]) => args.notApplicable("nothing to do"),
                ],
            } as unknown as StackValidationPolicy;
            const bucket = res(B.bucket, "b");
            const pab = res(B.pab, "b-pab", { bucket: "<computed>" }, { bucket: [bucket] }, { parent: bucket.urn });
            const vs = await runPolicies(graph(bucket, pab), { policies: [probe] });
            assert.ok(checked);
            assert.deepStrictEqual(vs.map(v => [v.urn, v.message, v.level]), [[null, "stack-level", "mandatory"], [bucket.urn, "on bucket", "mandatory"]]);
        });

        it("turns an UnknownValueError into an advisory 'can't run during preview' violation and rethrows other errors", async () => {
            const unknownPolicy: ResourceValidationPolicy = {
                name: "reads-unknown",
                description: "probe",
                enforcementLevel: "mandatory",
                validateResource: (args) => {
                    const sentinel = (proxy as unknown as { unknownStringValue: string }).unknownStringValue;
                    const p = unknownCheckingProxy({ x: sentinel }) as Record<string, unknown>;
                    void p.x;
                    void args;
                },
            };
            const vs = await runPolicies(graph(res(B.bucket, "b")), { policies: [unknownPolicy] });
            assert.strictEqual(vs.length, 1);
            assert.strictEqual(vs[0].level, "advisory");
            assert.match(vs[0].message, /can't run policy 'reads-unknown' during preview/);
            const broken: ResourceValidationPolicy = { name: "broken", description: "probe", validateResource: () => { throw new Error("boom"); } };
            await assert.rejects(runPolicies(graph(res(B.bucket, "b")), { policies: [broken] }), /policy 'broken'.*boom/s);
        });
    });
});
