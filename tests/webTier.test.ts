/**
 * The web tier (components/webTier.ts) as the offline engine plans it: dev and prod from their
 * stack files, a certificate variant (HTTPS listener + redirect), single mode (one instance with
 * an Elastic IP), the webTier config errors that stop a plan (exit 2), and the policy pack.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { parse, stringify } from "yaml";
import { APP_SERVICE, DLM_SERVICE_POLICY_ARN, SSM_CORE_POLICY_ARN, TLS_POLICY, userDataScript } from "../components/webTier";
import { DEPLOY_SCRIPT_PATH, deployDocumentContent, nginxConfig, readDeployScript } from "../components/app";
import { backupToolPaths } from "../components/backupTools";
import { checkDocument } from "../tools/ssmDocuments";
import { al2023Parameter } from "../components/webTier";
import { Graph, GraphResource } from "../tools/graph";
import { MOCK_ACCOUNT_ID } from "../tools/mocks";
import { PROJECT_DIR, ProgramError } from "../tools/offline";
import { runPolicies } from "../tools/policyCheck";
import { devWithLoadBalancer, serialRun, shippedConfig, stackRun, tempStackFile } from "./support/stacks";
import { diffGraphs } from "../tools/planDiff";
import { tempDir } from "./support/tmp";
import { one as only } from "./support/resources";

const COMPONENT = "platform:webTier:WebTier";
const PARAMETER = "aws:ssm/parameter:Parameter";
const LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";
const GROUP = "aws:autoscaling/group:Group";
const SCALING_POLICY = "aws:autoscaling/policy:Policy";
const LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer";
const LISTENER = "aws:lb/listener:Listener";
const TARGET_GROUP = "aws:lb/targetGroup:TargetGroup";
const ROLE = "aws:iam/role:Role";
const PROFILE = "aws:iam/instanceProfile:InstanceProfile";
const ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const DLM = "aws:dlm/lifecyclePolicy:LifecyclePolicy";
const INSTANCE = "aws:ec2/instance:Instance";
const EIP = "aws:ec2/eip:Eip";
const EIP_ASSOCIATION = "aws:ec2/eipAssociation:EipAssociation";
const SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup";
const INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule";
const CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";
const TAGS_DEV = { Project: "platform", Stack: "dev", Environment: "dev", Owner: "platform-team", ManagedBy: "pulumi" };

const tmpDir = tempDir("platform-webtier-test-");
after(() => fs.rmSync(tmpDir, { recursive: true, force: true }));

/**
 * A copy of a shipped stack file with keys of `platform:webTier` overridden. dev starts from
 * its prod-shaped form (Auto Scaling group behind an ALB, one NAT gateway): the shipped dev
 * runs the single-instance mode, covered by the `single` variant.
 */
function variant(stack: string, webTier: Record<string, unknown>, label: string): string {
    const doc = parse(fs.readFileSync(path.join(PROJECT_DIR, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
    if (stack === "dev") Object.assign(doc.config, devWithLoadBalancer());
    doc.config["platform:webTier"] = { ...((doc.config["platform:webTier"] as object) ?? {}), ...webTier };
    const out = path.join(tmpDir, `Pulumi.${label}.yaml`);
    fs.writeFileSync(out, stringify(doc));
    return out;
}

/** Runs a variant, recording each registration's `ignoreChanges` (the graph does not keep them). */
async function runRecordingIgnoreChanges(configFile: string): Promise<{ graph: Graph; ignoreChanges: Map<string, string[]> }> {
    const ignoreChanges = new Map<string, string[]>();
    const proto = MockMonitor.prototype as any;
    const original = proto.registerResource;
    proto.registerResource = function (req: any, callback: any) {
        ignoreChanges.set(`${req.getType()}::${req.getName()}`, req.getIgnorechangesList());
        return original.call(this, req, callback);
    };
    try {
        const { graph } = await serialRun({ stack: "dev", configFile });
        return { graph, ignoreChanges };
    } finally {
        proto.registerResource = original;
    }
}

/** The web tier component and everything below it. */
/** The boot script the stack's web tier should carry (its release bucket, the stack's prefix). */
function expectedUserData(graph: Graph, stack: string, extraPorts?: number[], onBootFailure: "replace" | "retry" = "replace"): string {
    const app = { port: 8080, healthPath: "/healthz", ...(extraPorts ? { extraPorts } : {}) };
    // Both shipped stacks back up the default directories: the user data prepares them.
    return userDataScript({ app, releases: { bucket: String(graph.outputs.releaseBucketName), prefix: `releases/${stack}` }, deployScript: readDeployScript(), backupDirectories: ["/var/www", "/etc/platform"], onBootFailure });
}

/** The app settings of a user data script whose stack details do not matter to a test. */
const USER_DATA_APP = { app: { port: 8080, healthPath: "/healthz" }, releases: { bucket: "platform-releases-0123456", prefix: "releases/dev" }, deployScript: readDeployScript() };

function tier(graph: Graph): { component: GraphResource; children: GraphResource[] } {
    const components = graph.resources.filter((r) => r.type === COMPONENT);
    assert.strictEqual(components.length, 1, "exactly one WebTier");
    const component = components[0];
    return { component, children: graph.resources.filter((r) => r.parent === component.urn) };
}


function ofType(resources: GraphResource[], type: string): GraphResource[] {
    return resources.filter((r) => r.type === type);
}

function json(value: unknown): any {
    assert.strictEqual(typeof value, "string", "a JSON policy document");
    return JSON.parse(value as string);
}

/** The bucket ARN, as the bucket's own policy states it (independent of the web tier's code). */
function bucketArn(graph: Graph, bucket: string): string {
    const policy = graph.resources.find((r) => r.type === "aws:s3/bucketPolicy:BucketPolicy" && r.name === bucket);
    assert.ok(policy, `bucket policy of ${bucket}`);
    const deny = json(policy!.inputs.policy).Statement.find((s: any) => s.Sid === "DenyInsecureTransport");
    return deny.Resource[0];
}

/** Every action string of a policy document. */
function actions(doc: any): string[] {
    return doc.Statement.flatMap((s: any) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
}

function resources(doc: any): string[] {
    return doc.Statement.flatMap((s: any) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]));
}

/**
 * `launcher` depends on the SSM core attachment and every policy the web tier gives its role
 * (its own and the bucket grants it asks for: releases read, deploy output, uploads, backups).
 * Policies other components add later (backup/restore output, the bake's output, the database's)
 * serve commands and the app, which run after the boot.
 */
function assertLaunchWaitsForRolePolicies(graph: Graph, launcher: GraphResource): void {
    const role = only(tier(graph).children, ROLE, "web-instance");
    const stack = graph.stack;
    const boot = ["web-ssm-core", "web-command-output", "uploads-web-instance-readwrite", `backups-web-instance-readwrite-backups-${stack}`, `releases-web-instance-read-releases-${stack}`, `logs-web-instance-write-ssm-deploy-${stack}`];
    for (const name of boot) {
        const policy = graph.resources.find((r) => (r.type === ROLE_POLICY || r.type === ATTACHMENT) && r.name === name);
        assert.ok(policy, `${name} exists`);
        assert.ok((policy!.propertyDependencies.role ?? []).includes(role.urn), `${name} is the web role's`);
        assert.ok(launcher.dependencies.includes(policy!.urn), `${launcher.name} depends on ${name}`);
    }
}

describe("web tier", function () {
    this.timeout(240_000);

    let dev: Graph;
    let prod: Graph;
    let withCert: Graph;
    let withCertIgnore: Map<string, string[]>;
    let single: Graph;
    let singleIgnore: Map<string, string[]>;

    before(async () => {
        dev = (await serialRun({ stack: "dev", configFile: variant("dev", {}, "webtier-dev-asg") })).graph;
        prod = (await stackRun("prod")).graph;
        ({ graph: withCert, ignoreChanges: withCertIgnore } = await runRecordingIgnoreChanges(variant("dev", { certificateArn: CERTIFICATE }, "webtier-cert")));
        ({ graph: single, ignoreChanges: singleIgnore } = await runRecordingIgnoreChanges(variant("dev", { mode: "single" }, "webtier-single")));
    });

    for (const stack of ["dev", "prod"] as const) {
        describe(`${stack} stack`, () => {
            const g = () => (stack === "dev" ? dev : prod);

            it("is one WebTier component at the top of the stack, every resource its child or a bucket grant", () => {
                const { component, children } = tier(g());
                assert.strictEqual(component.name, "web");
                assert.ok(component.parent!.endsWith("::pulumi:pulumi:Stack::platform-" + stack));
                assert.deepStrictEqual(
                    children.map((r) => `${r.type}::${r.name}`).sort(),
                    [
                        `${ATTACHMENT}::web-dlm`,
                        `${ATTACHMENT}::web-ssm-core`,
                        `${GROUP}::web`,
                        `${SCALING_POLICY}::web-cpu`,
                        `${DLM}::web-snapshots`,
                        `${LAUNCH_TEMPLATE}::web`,
                        `${PROFILE}::web`,
                        `${ROLE}::web-dlm`,
                        `${ROLE}::web-instance`,
                        `${LISTENER}::web-http`,
                        ...(stack === "prod" ? [`${LISTENER}::web-https`] : []),
                        `${LOAD_BALANCER}::web`,
                        `${TARGET_GROUP}::web`,
                        `${PARAMETER}::web-ami`,
                        "aws:ssm/document:Document::web-deploy",
                        `${ROLE_POLICY}::web-command-output`,
                    ].sort(),
                );
            });

            it("keeps the AMI in an SSM parameter seeded from the public Amazon Linux 2023 parameter", () => {
                const p = only(tier(g()).children, PARAMETER);
                assert.deepStrictEqual(p.inputs, {
                    name: `/platform/${stack}/web/ami-id`,
                    description: `AMI of the ${stack} web tier: written by the AMI factory after each bake`,
                    type: "String",
                    dataType: "aws:ec2:image",
                    // The provider treats parameter values as secret; the mock answers the public parameter's AMI.
                    value: "<secret>",
                    tags: {},
                });
                // Fixed name + a ForceNew input (data_type, terraform-provider-aws
                // internal/service/ssm/parameter.go) whose create uses Overwrite=false: a
                // create-before-delete replacement would fail with ParameterAlreadyExists.
                assert.strictEqual(p.deleteBeforeReplace, true);
            });

            it("launches from a template: AMI resolved from the parameter, IMDSv2 only, encrypted gp3 root, no key pair", () => {
                const { children } = tier(g());
                const lt = only(children, LAUNCH_TEMPLATE);
                const profile = only(children, PROFILE);
                const param = only(children, PARAMETER);
                assert.strictEqual(lt.inputs.imageId, `resolve:ssm:/platform/${stack}/web/ami-id`);
                assert.deepStrictEqual(lt.propertyDependencies.imageId, [param.urn]);
                assert.strictEqual(lt.inputs.instanceType, stack === "prod" ? "t4g.small" : "t4g.micro");
                assert.deepStrictEqual(lt.inputs.metadataOptions, { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 });
                assert.deepStrictEqual(lt.inputs.blockDeviceMappings, [
                    { deviceName: "/dev/xvda", ebs: { volumeType: "gp3", volumeSize: stack === "prod" ? 20 : 8, encrypted: "true", deleteOnTermination: "true" } },
                ]);
                assert.deepStrictEqual(lt.inputs.monitoring, { enabled: stack === "prod" });
                assert.deepStrictEqual(Object.keys(lt.inputs.iamInstanceProfile as object), ["arn"]);
                assert.match(String((lt.inputs.iamInstanceProfile as any).arn), new RegExp(`^arn:aws:iam::${MOCK_ACCOUNT_ID}:instance-profile/web-[0-9a-f]{7}$`));
                assert.deepStrictEqual(lt.propertyDependencies.iamInstanceProfile, [profile.urn]);
                assert.strictEqual(lt.inputs.keyName, undefined, "no key pair");
                assert.strictEqual(lt.inputs.updateDefaultVersion, true);
                const appSg = g().resources.find((r) => r.type === SECURITY_GROUP && r.name === "network-app")!;
                assert.deepStrictEqual(lt.inputs.vpcSecurityGroupIds, [appSg.id]);
                assert.strictEqual(Buffer.from(String(lt.inputs.userData), "base64").toString(), expectedUserData(g(), stack));
            });

            it("tags instances and volumes at launch: stack tags, Name, the backup tag; volumes also the snapshot tag", () => {
                const lt = only(tier(g()).children, LAUNCH_TEMPLATE);
                const base = { ...TAGS_DEV, Stack: stack, Environment: stack, Name: `${stack}-web`, Backup: "true" };
                assert.deepStrictEqual(lt.inputs.tagSpecifications, [
                    { resourceType: "instance", tags: base },
                    { resourceType: "volume", tags: { ...base, SnapshotPolicy: `${stack}-web` } },
                ]);
            });

            it("runs the group in the private subnets behind the target group, ELB health checks, rolling refresh", () => {
                const { children } = tier(g());
                const group = only(children, GROUP);
                const lt = only(children, LAUNCH_TEMPLATE);
                const tg = only(children, TARGET_GROUP);
                assert.deepStrictEqual(group.inputs.vpcZoneIdentifiers, g().outputs.privateSubnetIds);
                assert.notDeepStrictEqual(group.inputs.vpcZoneIdentifiers, g().outputs.publicSubnetIds);
                assert.strictEqual(group.inputs.minSize, stack === "prod" ? 2 : 1);
                assert.strictEqual(group.inputs.maxSize, stack === "prod" ? 6 : 2);
                assert.strictEqual(group.inputs.desiredCapacity, stack === "prod" ? 3 : 1);
                assert.strictEqual(group.inputs.healthCheckType, "ELB");
                assert.strictEqual(group.inputs.healthCheckGracePeriod, 300);
                // The template's latest version number (the mock's 1), not "$Latest": only a version change starts a refresh.
                assert.deepStrictEqual(group.inputs.launchTemplate, { id: lt.id, version: "1" });
                assert.ok(group.propertyDependencies.launchTemplate.includes(lt.urn));
                assert.strictEqual((group.inputs.targetGroupArns as string[]).length, 1);
                assert.deepStrictEqual(group.propertyDependencies.targetGroupArns, [tg.urn]);
                assert.match(String((group.inputs.targetGroupArns as string[])[0]), /^arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup\/web\/[0-9a-f]{16}$/);
                assert.deepStrictEqual(group.inputs.instanceRefresh, {
                    strategy: "Rolling",
                    preferences: {
                        minHealthyPercentage: stack === "prod" ? 90 : 50,
                        instanceWarmup: "300",
                        skipMatching: true,
                        alarmSpecification: { alarms: [`platform-${stack}-alb-unhealthy-hosts`, `platform-${stack}-alb-5xx`, `platform-${stack}-target-5xx`] },
                    },
                });
                assert.deepStrictEqual(group.inputs.tags, [
                    { key: "Name", value: `${stack}-web`, propagateAtLaunch: true },
                    { key: "Backup", value: "true", propagateAtLaunch: true },
                ]);
            });

            it("asks for no refresh rollback AWS would refuse; the refresh alarms exist in the stack", () => {
                // EC2 Auto Scaling API Reference, RefreshPreferences (AutoRollback):
                // https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_RefreshPreferences.html
                // and the user guide "Undo changes with a manual or auto rollback":
                // https://docs.aws.amazon.com/autoscaling/ec2/userguide/instance-refresh-rollback.html
                // A rollback is not supported when the launch template's ImageId is an SSM parameter
                // or the group uses $Latest/$Default: StartInstanceRefresh with AutoRollback fails.
                const { children } = tier(g());
                const group = only(children, GROUP);
                const lt = only(children, LAUNCH_TEMPLATE);
                const refresh = group.inputs.instanceRefresh as { preferences?: Record<string, unknown> };
                const imageIsParameter = String(lt.inputs.imageId).startsWith("resolve:ssm:");
                const version = String((group.inputs.launchTemplate as { version: string }).version);
                if (imageIsParameter || version === "$Latest" || version === "$Default") {
                    assert.notStrictEqual(refresh.preferences?.autoRollback, true, "autoRollback with an SSM-parameter image or $Latest/$Default");
                }
                assert.ok(imageIsParameter, "the template resolves the AMI parameter");
                // AlarmSpecification fails the refresh without a rollback; at most 10 alarms, each one the stack creates.
                const alarms = (refresh.preferences?.alarmSpecification as { alarms: string[] }).alarms;
                assert.ok(alarms.length >= 1 && alarms.length <= 10);
                const alarmNames = ofType(g().resources, "aws:cloudwatch/metricAlarm:MetricAlarm").map((a) => a.inputs.name);
                for (const a of alarms) assert.ok(alarmNames.includes(a), `${a} is an alarm of the stack (got ${alarmNames.join(", ")})`);
            });

            it("scales on average CPU at the configured target", () => {
                const { children } = tier(g());
                const policy = only(children, SCALING_POLICY);
                const group = only(children, GROUP);
                assert.deepStrictEqual(policy.inputs, {
                    autoscalingGroupName: String(policy.inputs.autoscalingGroupName),
                    policyType: "TargetTrackingScaling",
                    estimatedInstanceWarmup: 300,
                    targetTrackingConfiguration: { predefinedMetricSpecification: { predefinedMetricType: "ASGAverageCPUUtilization" }, targetValue: 60 },
                });
                assert.match(String(policy.inputs.autoscalingGroupName), /^web-[0-9a-f]{7}$/);
                assert.deepStrictEqual(policy.propertyDependencies.autoscalingGroupName, [group.urn]);
            });

            it("puts the load balancer in the public subnets with the network's group, logs, strict headers", () => {
                const { children } = tier(g());
                const lb = only(children, LOAD_BALANCER);
                const albSg = g().resources.find((r) => r.type === SECURITY_GROUP && r.name === "network-alb")!;
                const logs = g().resources.find((r) => r.type === "platform:bucket:PrivateBucket" && r.name === "logs")!;
                assert.deepStrictEqual(lb.inputs, {
                    loadBalancerType: "application",
                    internal: false,
                    ipAddressType: "ipv4",
                    subnets: g().outputs.publicSubnetIds,
                    securityGroups: [albSg.id],
                    dropInvalidHeaderFields: true,
                    idleTimeout: 60,
                    enableDeletionProtection: stack === "prod",
                    accessLogs: { bucket: bucketArn(g(), "logs").replace("arn:aws:s3:::", ""), prefix: `alb/${stack}`, enabled: true },
                    tags: {},
                });
                // dependsOn the bucket component waits for its children, the bucket policy among them.
                const logsPolicy = g().resources.find((r) => r.type === "aws:s3/bucketPolicy:BucketPolicy" && r.parent === logs.urn)!;
                assert.ok(lb.dependencies.includes(logsPolicy.urn), "waits for the log bucket's policy (it admits ALB log delivery)");
            });

            it("checks health on the app port with the configured path", () => {
                const { children } = tier(g());
                const tg = only(children, TARGET_GROUP);
                assert.deepStrictEqual(tg.inputs, {
                    vpcId: g().outputs.vpcId,
                    targetType: "instance",
                    protocol: "HTTP",
                    port: 8080,
                    deregistrationDelay: stack === "prod" ? 60 : 15,
                    healthCheck: { enabled: true, protocol: "HTTP", port: "traffic-port", path: "/healthz", matcher: "200-399", interval: 15, timeout: 5, healthyThreshold: 2, unhealthyThreshold: 3 },
                    tags: {},
                });
            });

            it(stack === "prod" ? "prod: HTTPS forwards, HTTP only redirects (the shipped certificate comes from DNS)" : "dev without a certificate: one plain HTTP listener forwarding to the target group", () => {
                const { children } = tier(g());
                if (stack === "prod") {
                    const listeners = ofType(children, LISTENER);
                    const forwarding = listeners.filter((l) => (l.inputs.defaultActions as Array<{ type: string }>).some((a) => a.type === "forward"));
                    assert.deepStrictEqual(forwarding.map((l) => [l.inputs.protocol, l.inputs.port, l.inputs.sslPolicy]), [["HTTPS", 443, TLS_POLICY]]);
                    assert.strictEqual(forwarding[0].inputs.certificateArn, g().outputs.certificateArn);
                    const http = listeners.filter((l) => l.inputs.protocol === "HTTP");
                    assert.deepStrictEqual(http.map((l) => l.inputs.defaultActions), [[{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }]]);
                    return;
                }
                const listeners = ofType(children, LISTENER);
                const tg = only(children, TARGET_GROUP);
                const lb = only(children, LOAD_BALANCER);
                assert.strictEqual(listeners.length, 1);
                assert.strictEqual(listeners[0].inputs.port, 80);
                assert.strictEqual(listeners[0].inputs.protocol, "HTTP");
                assert.deepStrictEqual(listeners[0].inputs.defaultActions, [{ type: "forward", targetGroupArn: (only(children, GROUP).inputs.targetGroupArns as string[])[0] }]);
                assert.deepStrictEqual(listeners[0].propertyDependencies.defaultActions, [tg.urn]);
                assert.deepStrictEqual(listeners[0].propertyDependencies.loadBalancerArn, [lb.urn]);
            });

            it("launches no instance before the role's policies exist (IAM is eventually consistent)", () => {
                // IAM User Guide, "Changes that I make are not always immediately visible"
                // (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html): a policy takes
                // time to apply everywhere, so the launch template waits for every policy the web tier gives its
                // role (the boot also retries its first S3 reads: tests/bootScript.test.ts).
                assertLaunchWaitsForRolePolicies(g(), only(tier(g()).children, LAUNCH_TEMPLATE));
            });

            it("gives the instances SSM core plus exact-ARN bucket grants, nothing broader", () => {
                const { children } = tier(g());
                const role = only(children, ROLE, "web-instance");
                assert.deepStrictEqual(json(role.inputs.assumeRolePolicy), {
                    Version: "2012-10-17",
                    Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
                });
                assert.strictEqual(role.inputs.managedPolicyArns, undefined);
                assert.strictEqual(role.inputs.inlinePolicies, undefined);
                const attached = g().resources.filter((r) => r.type === ATTACHMENT && (r.propertyDependencies.role ?? []).includes(role.urn));
                assert.deepStrictEqual(attached.map((a) => a.inputs.policyArn), [SSM_CORE_POLICY_ARN]);
                assert.ok(!g().resources.some((r) => r.type === "aws:iam/policyAttachment:PolicyAttachment"));

                const inline = g().resources.filter((r) => r.type === ROLE_POLICY && (r.propertyDependencies.role ?? []).includes(role.urn));
                const uploads = bucketArn(g(), "uploads");
                const backups = bucketArn(g(), "backups");
                const readWrite = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", "s3:DeleteObject"];
                const bucketUrn = (n: string) => g().resources.find((r) => r.type === "platform:bucket:PrivateBucket" && r.name === n)!.urn;
                const grants = inline.filter((r) => r.parent === bucketUrn("uploads") || r.parent === bucketUrn("backups"));
                assert.deepStrictEqual(
                    grants.map((r) => [r.name, r.inputs.name]).sort(),
                    [
                        [`backups-web-instance-readwrite-backups-${stack}`, `backups-readwrite-backups-${stack}`],
                        ["uploads-web-instance-readwrite", "uploads-readwrite"],
                    ],
                );
                // prod's buckets use SSE-KMS: the grant then also allows the bucket's key, through S3 only.
                const kms = (bucket: string) => {
                    const sse = g().resources.find((r) => r.type === "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration" && r.name === bucket)!;
                    const key = (sse.inputs.rules as any[])[0].applyServerSideEncryptionByDefault.kmsMasterKeyId;
                    if (stack === "dev") {
                        assert.strictEqual(key, undefined);
                        return [];
                    }
                    assert.match(String(key), /^arn:aws:kms:us-east-1:123456789012:key\/[0-9a-f]+$/);
                    return [{ Sid: "Kms", Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: key, Condition: { StringEquals: { "kms:ViaService": "s3.us-east-1.amazonaws.com" } } }];
                };
                assert.deepStrictEqual(json(grants.find((r) => r.name.startsWith("uploads-"))!.inputs.policy), {
                    Version: "2012-10-17",
                    Statement: [
                        { Sid: "Objects", Effect: "Allow", Action: readWrite, Resource: `${uploads}/*` },
                        { Sid: "List", Effect: "Allow", Action: "s3:ListBucket", Resource: uploads },
                        ...kms("uploads"),
                    ],
                });
                assert.deepStrictEqual(json(grants.find((r) => r.name.startsWith("backups-"))!.inputs.policy), {
                    Version: "2012-10-17",
                    Statement: [
                        { Sid: "Objects", Effect: "Allow", Action: readWrite, Resource: `${backups}/backups/${stack}/*` },
                        { Sid: "List", Effect: "Allow", Action: "s3:ListBucket", Resource: backups, Condition: { StringLike: { "s3:prefix": [`backups/${stack}/*`] } } },
                        ...kms("backups"),
                    ],
                });
                // Releases: read only, under this stack's prefix only (deploy.sh lists the prefix to tell
                // a missing release from a denied one).
                const releases = bucketArn(g(), "releases");
                const releaseGrant = inline.find((r) => r.parent === bucketUrn("releases"))!;
                assert.deepStrictEqual(json(releaseGrant.inputs.policy), {
                    Version: "2012-10-17",
                    Statement: [
                        { Sid: "Objects", Effect: "Allow", Action: ["s3:GetObject", "s3:GetObjectVersion"], Resource: `${releases}/releases/${stack}/*` },
                        { Sid: "List", Effect: "Allow", Action: "s3:ListBucket", Resource: releases, Condition: { StringLike: { "s3:prefix": [`releases/${stack}/*`] } } },
                        ...kms("releases").map((s) => ({ ...s, Action: ["kms:Decrypt"] })),
                    ],
                });
                // The deploy command's output: written under ssm/deploy/<stack>/ of the logs bucket.
                const logs = bucketArn(g(), "logs");
                const deployOutput = inline.find((r) => r.parent === bucketUrn("logs") && JSON.stringify(r.inputs.policy).includes(`ssm/deploy/${stack}/`))!;
                assert.ok(deployOutput, "deploy output grant");
                assert.deepStrictEqual(
                    json(deployOutput.inputs.policy).Statement.filter((s: any) => s.Sid === "Objects").map((s: any) => s.Resource),
                    [`${logs}/ssm/deploy/${stack}/*`],
                );
                assert.deepStrictEqual(json(only(children, ROLE_POLICY, "web-command-output").inputs.policy).Statement, [
                    { Sid: "CommandOutputBucketEncryption", Effect: "Allow", Action: "s3:GetEncryptionConfiguration", Resource: logs },
                ]);
                // Whatever else other components grant the role (operations logs, database), nothing is a
                // wildcard, except where IAM allows nothing else: cloudwatch:PutMetricData has no resource
                // type ("*" is its only Resource, Service Authorization Reference), and the statement
                // scopes it with the cloudwatch:namespace condition instead (tests/backupPrerequisites.test.ts).
                for (const p of inline) {
                    const doc = json(p.inputs.policy);
                    for (const a of actions(doc)) assert.ok(!a.includes("*"), `${p.name}: action ${a}`);
                    const scopedByNamespace = (st: any) => st.Action === "cloudwatch:PutMetricData" && st.Resource === "*" && typeof st.Condition?.StringEquals?.["cloudwatch:namespace"] === "string";
                    const rest = { ...doc, Statement: doc.Statement.filter((st: any) => !scopedByNamespace(st)) };
                    for (const r of resources(rest)) assert.notStrictEqual(r, "*", `${p.name}: Resource "*"`);
                    assert.ok(doc.Statement.every((s: any) => s.Effect === "Allow" && s.NotAction === undefined && s.NotResource === undefined));
                }
                const profile = only(children, PROFILE);
                assert.deepStrictEqual(profile.propertyDependencies.role, [role.urn]);
            });

            it("snapshots the tier's volumes with Data Lifecycle Manager under its own service role", () => {
                const { children } = tier(g());
                const role = only(children, ROLE, "web-dlm");
                assert.deepStrictEqual(json(role.inputs.assumeRolePolicy), {
                    Version: "2012-10-17",
                    Statement: [{ Effect: "Allow", Principal: { Service: "dlm.amazonaws.com" }, Action: "sts:AssumeRole" }],
                });
                const attachments = g().resources.filter((r) => r.type === ATTACHMENT && (r.propertyDependencies.role ?? []).includes(role.urn));
                assert.deepStrictEqual(attachments.map((a) => a.inputs.policyArn), [DLM_SERVICE_POLICY_ARN]);
                assert.strictEqual(DLM_SERVICE_POLICY_ARN, "arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole");
                const dlm = only(children, DLM);
                const interval = stack === "prod" ? 12 : 24;
                const keep = stack === "prod" ? 14 : 3;
                assert.deepStrictEqual(dlm.inputs, {
                    description: `${stack} web tier volumes`,
                    executionRoleArn: String(dlm.inputs.executionRoleArn),
                    state: "ENABLED",
                    policyDetails: {
                        policyType: "EBS_SNAPSHOT_MANAGEMENT",
                        resourceTypes: ["VOLUME"],
                        targetTags: { SnapshotPolicy: `${stack}-web` },
                        schedules: [
                            {
                                name: `Every ${interval}h keep ${keep}`,
                                createRule: { interval, intervalUnit: "HOURS", times: "03:00" },
                                retainRule: { count: keep },
                                copyTags: true,
                                tagsToAdd: { SnapshotCreator: "dlm" },
                            },
                        ],
                    },
                    tags: {},
                });
                assert.match(String(dlm.inputs.executionRoleArn), new RegExp(`^arn:aws:iam::${MOCK_ACCOUNT_ID}:role/web-dlm-[0-9a-f]{7}$`));
                assert.deepStrictEqual(dlm.propertyDependencies.executionRoleArn, [role.urn]);
                assert.ok(dlm.dependencies.includes(attachments[0].urn), "the role has its policy before DLM first uses it");
                // The snapshot tag DLM selects by is on the tier's volumes.
                const volumeTags = (only(children, LAUNCH_TEMPLATE).inputs.tagSpecifications as any[]).find((t) => t.resourceType === "volume").tags;
                assert.strictEqual(volumeTags.SnapshotPolicy, `${stack}-web`);
            });

            it("opens no SSH anywhere and creates no key pair", () => {
                assert.ok(!g().resources.some((r) => r.type === "aws:ec2/keyPair:KeyPair"));
                for (const r of ofType(g().resources, INGRESS)) {
                    const from = Number(r.inputs.fromPort);
                    const to = Number(r.inputs.toPort);
                    assert.ok(!(r.inputs.ipProtocol === "-1" || (from <= 22 && 22 <= to)), `${r.name} admits port 22`);
                }
            });

            it("exports the tier's outputs", () => {
                const o = g().outputs;
                assert.match(String(o.webRoleArn), new RegExp(`^arn:aws:iam::${MOCK_ACCOUNT_ID}:role/web-instance-[0-9a-f]{7}$`));
                assert.match(String(o.loadBalancerDnsName), /^web-[0-9a-f]{9}\.us-east-1\.elb\.amazonaws\.com$/);
                assert.match(String(o.autoScalingGroupName), /^web-[0-9a-f]{7}$/);
                assert.strictEqual(o.amiParameterName, `/platform/${stack}/web/ami-id`);
                assert.strictEqual(o.launchTemplateId, only(tier(g()).children, LAUNCH_TEMPLATE).id);
            });

            it("has no mandatory policy violations, and no IMDSv2 / EBS encryption / admin-port findings", async () => {
                const violations = await runPolicies(g());
                assert.deepStrictEqual(violations.filter((v) => v.level === "mandatory"), []);
                const compute = violations.filter((v) => ["ec2-imdsv2-required", "ebs-encrypted", "security-group-no-public-admin-ports"].includes(v.policy));
                assert.deepStrictEqual(compute, []);
                const mine = new Set(tier(g()).children.map((r) => r.urn));
                // dev here has a load balancer and no certificate: plain HTTP, reported as advisory only.
                const expected = stack === "dev" ? [["lb-no-plain-http-forward", "advisory", "web-http"]] : [];
                assert.deepStrictEqual(violations.filter((v) => v.urn !== null && mine.has(v.urn)).map((v) => [v.policy, v.level, v.urn!.split("::").pop()]), expected);
            });
        });
    }

    it("prod protects the load balancer from deletion, dev does not", () => {
        assert.strictEqual(only(tier(prod).children, LOAD_BALANCER).inputs.enableDeletionProtection, true);
        assert.strictEqual(only(tier(dev).children, LOAD_BALANCER).inputs.enableDeletionProtection, false);
    });

    it("uses the public AL2023 parameter of the configured architecture", () => {
        assert.strictEqual(al2023Parameter("arm64"), "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64");
        assert.strictEqual(al2023Parameter("x86_64"), "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64");
    });

    it("keeps later bakes: the parameter ignores value changes; the group ignores desired capacity", () => {
        assert.deepStrictEqual(withCertIgnore.get(`${PARAMETER}::web-ami`), ["value"]);
        assert.deepStrictEqual(withCertIgnore.get(`${GROUP}::web`), ["desiredCapacity"]);
        assert.deepStrictEqual(withCertIgnore.get(`${LAUNCH_TEMPLATE}::web`), []);
    });

    it("user data starts the app service, prepares the backup and carries no secret", () => {
        const script = userDataScript({ ...USER_DATA_APP, backupDirectories: ["/var/www", "/etc/platform"] });
        assert.ok(script.startsWith("#!/bin/bash\n"));
        assert.ok(script.includes(`systemctl enable ${APP_SERVICE}`));
        // The backup directories come first (instant), the backup tools' package install last.
        assert.ok(script.indexOf("mkdir -p /var/www /etc/platform") < script.indexOf(`systemctl start ${APP_SERVICE}`));
        assert.ok(script.lastIndexOf("--release current --missing-ok") < script.indexOf(`dnf install -y ${backupToolPaths().join(" ")} `));
        assert.ok(Buffer.byteLength(script) < 16 * 1024, "EC2 user data: at most 16 KB");
        // (nginx's `server_tokens off` is the one legitimate "token": it hides the version.)
        assert.doesNotMatch(script.replace(readDeployScript(), "").replace("server_tokens off;", ""), /password|secret|token|key/i);
        // A script EC2 would refuse (RunInstances: user data at most 16 KB before base64) fails the plan instead.
        assert.throws(() => userDataScript({ ...USER_DATA_APP, deployScript: `${"#".repeat(16 * 1024)}\n` }), /the boot script is \d+ bytes; EC2 accepts at most 16384 bytes of user data/);
        // Without backup directories there is nothing to prepare for the backup.
        assert.doesNotMatch(userDataScript(USER_DATA_APP).replace(readDeployScript(), ""), /mkdir -p|backup/);
    });

    it("user data installs and starts the default app, then the stack's current release; no secret", () => {
        const script = expectedUserData(prod, "prod");
        assert.ok(script.startsWith("#!/bin/bash\nset -euo pipefail\n"));
        assert.ok(script.includes(nginxConfig({ port: 8080, healthPath: "/healthz" })), "the app's nginx config, verbatim");
        assert.ok(script.includes(`systemctl enable ${APP_SERVICE}\nsystemctl start ${APP_SERVICE}\n`));
        const bucket = String(prod.outputs.releaseBucketName);
        assert.match(bucket, /^releases-[0-9a-f]{7}$/);
        assert.ok(script.includes(`bash ${DEPLOY_SCRIPT_PATH} --bucket '${bucket}' --prefix 'releases/prod' --port 8080 --health-path '/healthz' --release current --missing-ok`));
        // The current release is installed before the app's first start: a new instance never passes
        // the load balancer's health checks with the placeholder (tests/bootScript.test.ts runs it).
        assert.ok(script.lastIndexOf("--release current --missing-ok") < script.indexOf(`systemctl start ${APP_SERVICE}`));
        assert.ok(!script.includes(`systemctl restart ${APP_SERVICE}`), "the boot script itself never starts the placeholder first");
        assert.ok(Buffer.byteLength(script) < 16 * 1024, "EC2 user data: at most 16 KB");
        assert.doesNotMatch(script.replace(readDeployScript(), ""), /password|secret|access.?key|session.?token/i);
    });

    it("has a deploy Command document: the stack's bucket and prefix, deploy.sh verbatim, the app's port and health path", () => {
        for (const [g, stack] of [[dev, "dev"], [prod, "prod"]] as const) {
            const doc = only(tier(g).children, "aws:ssm/document:Document", "web-deploy");
            assert.deepStrictEqual({ documentType: doc.inputs.documentType, targetType: doc.inputs.targetType }, { documentType: "Command", targetType: "/AWS::EC2::Instance" });
            const expected = deployDocumentContent({ port: 8080, healthPath: "/healthz", bucket: String(g.outputs.releaseBucketName), prefix: `releases/${stack}`, deployScript: readDeployScript(), timeoutSeconds: 600 });
            assert.deepStrictEqual(json(doc.inputs.content), expected);
            // The static checker: parameter references, failure paths, known actions, the 64 KB quota.
            assert.deepStrictEqual(checkDocument(String(doc.inputs.content)), []);
            assert.strictEqual(g.outputs.deployDocumentName, doc.inputs.name ?? g.outputs.deployDocumentName);
            assert.strictEqual(g.outputs.releasePrefix, `releases/${stack}`);
        }
    });

    describe("with a certificate", () => {
        it("serves HTTPS with the TLS 1.3 policy and redirects HTTP with a 301", () => {
            const { children } = tier(withCert);
            const listeners = ofType(children, LISTENER);
            const tg = only(children, TARGET_GROUP);
            assert.deepStrictEqual(listeners.map((l) => l.name).sort(), ["web-http", "web-https"]);
            const https = only(children, LISTENER, "web-https");
            const http = only(children, LISTENER, "web-http");
            assert.strictEqual(https.inputs.port, 443);
            assert.strictEqual(https.inputs.protocol, "HTTPS");
            assert.strictEqual(https.inputs.sslPolicy, TLS_POLICY);
            assert.strictEqual(TLS_POLICY, "ELBSecurityPolicy-TLS13-1-2-2021-06");
            assert.strictEqual(https.inputs.certificateArn, CERTIFICATE);
            assert.strictEqual((https.inputs.defaultActions as any[]).length, 1);
            assert.strictEqual((https.inputs.defaultActions as any[])[0].type, "forward");
            assert.deepStrictEqual(https.propertyDependencies.defaultActions, [tg.urn]);
            assert.deepStrictEqual(http.inputs.port, 80);
            assert.deepStrictEqual(http.inputs.protocol, "HTTP");
            assert.deepStrictEqual(http.inputs.defaultActions, [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }]);
        });
    });

    describe("single mode", () => {
        it("is one instance with an Elastic IP in a public subnet: no group, no load balancer, no template", () => {
            const { children } = tier(single);
            for (const type of [GROUP, LOAD_BALANCER, LISTENER, TARGET_GROUP, SCALING_POLICY, LAUNCH_TEMPLATE]) {
                assert.deepStrictEqual(ofType(children, type), [], `no ${type}`);
            }
            const instance = only(children, INSTANCE);
            const eip = only(children, EIP);
            const association = only(children, EIP_ASSOCIATION);
            assert.deepStrictEqual(eip.inputs, { domain: "vpc", tags: { Name: "dev-web" } });
            assert.deepStrictEqual(association.inputs, { allocationId: eip.id, instanceId: instance.id });
            assert.strictEqual(instance.inputs.subnetId, (single.outputs.publicSubnetIds as string[])[0]);
            assert.ok(!(single.outputs.privateSubnetIds as string[]).includes(String(instance.inputs.subnetId)));
            assert.strictEqual(single.outputs.autoScalingGroupName, undefined);
            assert.strictEqual(single.outputs.loadBalancerDnsName, undefined);
            assert.strictEqual(single.outputs.amiParameterName, "/platform/dev/web/ami-id");
        });

        it("has the same IMDSv2, encryption, profile and tags as the template, and keeps its AMI until replaced on purpose", () => {
            const { children } = tier(single);
            const instance = only(children, INSTANCE);
            const profile = only(children, PROFILE);
            const param = only(children, PARAMETER);
            assert.deepStrictEqual(instance.inputs.metadataOptions, { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 });
            assert.deepStrictEqual(instance.inputs.rootBlockDevice, { deviceName: "/dev/xvda", volumeType: "gp3", volumeSize: 8, encrypted: true, deleteOnTermination: true });
            assert.strictEqual(instance.inputs.instanceType, "t4g.micro");
            assert.strictEqual(instance.inputs.monitoring, false);
            assert.deepStrictEqual(instance.propertyDependencies.iamInstanceProfile, [profile.urn]);
            assert.match(String(instance.inputs.iamInstanceProfile), /^web-[0-9a-f]{7}$/);
            assert.strictEqual(instance.inputs.keyName, undefined);
            assert.deepStrictEqual(instance.inputs.tags, { ...TAGS_DEV, Name: "dev-web", Backup: "true" });
            assert.deepStrictEqual(instance.inputs.volumeTags, { ...TAGS_DEV, Name: "dev-web", Backup: "true", SnapshotPolicy: "dev-web" });
            // Single mode: the instance answers on port 80 as well (no load balancer in front).
            // Nothing replaces it: its boot retries rather than give the app up.
            assert.strictEqual(Buffer.from(String(instance.inputs.userDataBase64), "base64").toString(), expectedUserData(single, "dev", [80], "retry"));
            assert.match(String(instance.inputs.ami), /^ami-[0-9a-f]{17}$/);
            assert.deepStrictEqual(instance.propertyDependencies.ami, [param.urn]);
            assert.deepStrictEqual(singleIgnore.get(`${INSTANCE}::web`), ["ami"]);
        });

        it("a user-data change replaces the instance (the diff says replace), never a stop/start that runs nothing", async () => {
            // EC2 User Guide, "Run commands when you launch an EC2 instance with user data input"
            // (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/user-data.html): user data scripts run
            // only during the first boot. @pulumi/aws ec2/instance.d.ts, userDataBase64: "Updates to this
            // field will trigger a stop/start of the EC2 instance by default. If the userDataReplaceOnChange
            // is set then updates to this field will trigger a destroy and recreate of the EC2 instance."
            const instance = only(tier(single).children, INSTANCE);
            assert.strictEqual(instance.inputs.userDataReplaceOnChange, true);
            // The same stack with other backup directories: only the boot script changes on the instance.
            const shipped = shippedConfig("dev");
            const { graph: head } = await serialRun({
                stack: "dev",
                configFile: tempStackFile("dev", { "platform:backup": { ...(shipped["platform:backup"] as object), directories: ["/var/www", "/srv/uploads"] } }),
            });
            const { graph: base } = await stackRun("dev");
            const diff = diffGraphs(base, head);
            const urn = only(tier(head).children, INSTANCE).urn;
            const changed = diff.changed.find((c) => c.urn === urn);
            assert.ok(changed, "the instance changes");
            assert.deepStrictEqual(changed!.inputs.map((c) => c.path), ["userDataBase64"]);
            assert.strictEqual(changed!.action, "replace");
            const replaced = diff.replaced.find((r) => r.urn === urn);
            assert.ok(replaced, "the diff lists the instance under replacements");
            assert.deepStrictEqual(replaced!.triggers.map((t) => [t.kind, t.path]), [["conditional", "userDataBase64"]]);
            // Its disk goes with it: the diff names the data at risk (back it up first, restore --from-instance after).
            assert.ok(diff.dataLoss.some((d) => d.urn === urn && d.action === "replace"));
            // The Elastic IP's association follows the new instance.
            const association = only(tier(head).children, EIP_ASSOCIATION);
            assert.ok(diff.replaced.some((r) => r.urn === association.urn) || diff.cascadeUpdates.some((r) => r.urn === association.urn), "the association moves to the new instance");
        });

        it("launches the instance only once the role's policies exist (IAM is eventually consistent)", () => {
            assertLaunchWaitsForRolePolicies(single, only(tier(single).children, INSTANCE));
        });

        it("admits HTTP from anywhere through its own group (what the app serves), HTTPS out, never SSH", () => {
            const { children } = tier(single);
            const sg = only(children, SECURITY_GROUP);
            const appSg = single.resources.find((r) => r.type === SECURITY_GROUP && r.name === "network-app")!;
            const instance = only(children, INSTANCE);
            assert.deepStrictEqual(instance.inputs.vpcSecurityGroupIds, [appSg.id, sg.id]);
            const rules = (type: string) =>
                ofType(children, type)
                    .map((r) => {
                        assert.deepStrictEqual(r.propertyDependencies.securityGroupId, [sg.urn]);
                        return `${r.inputs.ipProtocol} ${r.inputs.fromPort}-${r.inputs.toPort} ${r.inputs.cidrIpv4 ?? r.inputs.cidrIpv6}`;
                    })
                    .sort();
            // Only what it serves: the default app on port 80; no 443 (nothing listens), no IPv6 (no address).
            assert.deepStrictEqual(rules(INGRESS), ["tcp 80-80 0.0.0.0/0"]);
            assert.deepStrictEqual(rules(EGRESS), ["tcp 443-443 0.0.0.0/0"]);
        });

        it("still snapshots the instance's volume and passes the policy pack", async () => {
            assert.strictEqual(only(tier(single).children, DLM).inputs.state, "ENABLED");
            const violations = await runPolicies(single);
            assert.deepStrictEqual(violations.filter((v) => v.level === "mandatory"), []);
            assert.deepStrictEqual(violations.filter((v) => ["ec2-imdsv2-required", "ebs-encrypted", "security-group-no-public-admin-ports"].includes(v.policy)), []);
        });
    });
});

describe("web tier config errors stop the plan (exit 2)", function () {
    this.timeout(120_000);

    const cases: Array<[string, Record<string, unknown>, string[]]> = [
        ["minSize above maxSize", { minSize: 3, maxSize: 2, desiredCapacity: 2 }, ["platform:webTier.minSize"]],
        ["desiredCapacity outside min..max", { desiredCapacity: 5 }, ["platform:webTier.desiredCapacity"]],
        ["an x86 instance type on arm64", { instanceType: "t3.micro" }, ["platform:webTier.instanceType"]],
        ["a health check path without a leading /", { healthCheckPath: "healthz" }, ["platform:webTier.healthCheckPath"]],
        ["a certificate in single mode", { mode: "single", certificateArn: CERTIFICATE }, ["platform:webTier.certificateArn"]],
    ];
    for (const [label, webTier, keys] of cases) {
        it(`rejects ${label}`, async () => {
            const configFile = variant("dev", webTier, `webtier-bad-${label.replace(/\W+/g, "-")}`);
            await assert.rejects(serialRun({ stack: "dev", configFile }), (err: unknown) => {
                assert.ok(err instanceof ProgramError, `a ProgramError, got ${String(err)}`);
                assert.strictEqual(err.kind, "config");
                assert.match(err.message, /^Invalid configuration for stack "dev"/);
                for (const key of keys) assert.ok(err.message.includes(`  - ${key}`), `names ${key}:\n${err.message}`);
                return true;
            });
        });
    }

    it("names every bad key at once", async () => {
        // (Cross-field checks run once the section's fields are well-formed, so no bad path here.)
        const configFile = variant("dev", { minSize: 3, maxSize: 2, instanceType: "m5.large" }, "webtier-bad-all");
        await assert.rejects(serialRun({ stack: "dev", configFile }), (err: unknown) => {
            assert.ok(err instanceof ProgramError && err.kind === "config");
            for (const key of ["minSize", "desiredCapacity", "instanceType"]) {
                assert.ok(err.message.includes(`  - platform:webTier.${key}`), `names ${key}:\n${err.message}`);
            }
            assert.match(err.message, /m5 is an x86_64 family: set architecture: x86_64/);
            return true;
        });
    });
});
