/**
 * The Backup component (components/backup/index.ts): the two SSM Command documents that embed
 * components/ssm/backup.sh and restore.sh, the State Manager association, the output grants,
 * the static document check (tools/ssmDocuments.ts), and the parameter patterns against
 * shell injection. The wrapper shell of each document is also run for real under /bin/sh.
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
    backupDocumentContent,
    DRILL_EXIT_CODES,
    drillAutomationPolicy,
    normalizeBackupPath,
    drillDocumentContent,
    HEREDOC_TERMINATOR,
    PATTERNS,
    DRILL_STEP_SCRIPT_PATHS,
    pathToSlug,
    readScript,
    restoreDocumentContent,
} from "../components/backup";
import { Graph, GraphResource } from "../tools/graph";
import { runOffline } from "../tools/offline";
import { runPolicies } from "../tools/policyCheck";
import { checkDocument, SsmDocumentContent } from "../tools/ssmDocuments";
import { evaluate } from "./helpers/iamEvaluator";
import { tempDir } from "./support/tmp";
import { one } from "./support/resources";

const SCRIPTS = path.join(__dirname, "..", "components", "ssm");
const BACKUP_SH = fs.readFileSync(path.join(SCRIPTS, "backup.sh"), "utf8");
const RESTORE_SH = fs.readFileSync(path.join(SCRIPTS, "restore.sh"), "utf8");
const LIB_SH = fs.readFileSync(path.join(SCRIPTS, "lib.sh"), "utf8");
const DRILL_SH = fs.readFileSync(path.join(SCRIPTS, "drill.sh"), "utf8");
const BACKUP_TYPE = "platform:backup:Backup";

const graphs: Record<string, Graph> = {};

function componentUrn(g: Graph): string {
    return one(g, BACKUP_TYPE, "backup").urn;
}
function contentOf(r: GraphResource): SsmDocumentContent {
    assert.strictEqual(typeof r.inputs.content, "string", "document content must be known at plan time");
    return JSON.parse(r.inputs.content as string);
}
function bucketUrn(g: Graph, logicalName: string): string {
    return one(g, "aws:s3/bucket:Bucket", logicalName).urn;
}

/** The text the heredoc in `runCommand` writes, as the shell would (lines joined by "\n", each ending in one). */
/** The text a document's heredoc writes to `<_bin>/<file>` (the heredoc just before its `mv`). */
function embeddedScript(doc: SsmDocumentContent, file: string): string {
    const lines = doc.mainSteps[0].inputs!.runCommand as string[];
    const mv = lines.indexOf(`mv -f "$tmp" /var/lib/platform-backup/_bin/${file}`);
    assert.ok(mv > 0, `no line installs ${file}`);
    const end = mv - 1;
    assert.strictEqual(lines[end], HEREDOC_TERMINATOR, "the heredoc terminator is missing");
    const start = lines.lastIndexOf(`cat > "$tmp" <<'${HEREDOC_TERMINATOR}'`, end);
    assert.ok(start >= 0 && start < end, "the heredoc start line is missing");
    return lines.slice(start + 1, end).map((l) => `${l}\n`).join("");
}

/** Asserts what both documents are (Command 2.2 JSON for EC2, one Linux-only shell step with the config's timeout) and returns their parts. */
function commandDocument(r: GraphResource, stepName: string) {
    assert.strictEqual(r.inputs.documentType, "Command");
    assert.strictEqual(r.inputs.documentFormat, "JSON");
    assert.strictEqual(r.inputs.targetType, "/AWS::EC2::Instance");
    const doc = contentOf(r);
    assert.strictEqual(doc.schemaVersion, "2.2");
    assert.strictEqual(doc.mainSteps.length, 1);
    const step = doc.mainSteps[0];
    assert.strictEqual(step.action, "aws:runShellScript");
    assert.strictEqual(step.name, stepName);
    assert.deepStrictEqual(step.precondition, { StringEquals: ["platformType", "Linux"] });
    assert.strictEqual(step.inputs!.timeoutSeconds, 3600);
    return { r, doc, step };
}

const EXPECTED = {
    dev: { schedule: "cron(0 2 * * ? *)", drill: "cron(30 6 * * ? *)" },
    prod: { schedule: "cron(0 */4 * * ? *)", drill: "cron(30 5 * * ? *)" },
} as const;

describe("Backup (SSM documents and schedule)", function () {
    this.timeout(120000);

    before(async () => {
        for (const stack of ["dev", "prod"]) {
            graphs[stack] = (await runOffline({ stack })).graph;
        }
    });

    for (const stack of ["dev", "prod"] as const) {
        describe(`stack ${stack}`, () => {
            let g: Graph;
            let backupBucketName: string;
            let logsBucketName: string;
            before(() => {
                g = graphs[stack];
                backupBucketName = g.outputs.backupBucketName as string;
                logsBucketName = g.outputs.logsBucketName as string;
                assert.match(backupBucketName, /^backups-/);
                assert.match(logsBucketName, /^logs-/);
            });

            it("is one component at the top of the stack with exactly its documents, association and grant", () => {
                const component = one(g, BACKUP_TYPE, "backup");
                assert.strictEqual(component.parent, g.resources.find((r) => r.type === "pulumi:pulumi:Stack")!.urn);
                const children = g.resources.filter((r) => r.parent === component.urn).map((r) => `${r.type} ${r.name}`).sort();
                assert.deepStrictEqual(children, [
                    "aws:iam/role:Role backup-drill-automation",
                    "aws:iam/rolePolicy:RolePolicy backup-drill-automation",
                    "aws:iam/rolePolicy:RolePolicy backup-metrics",
                    "aws:iam/rolePolicy:RolePolicy backup-output-encryption",
                    "aws:ssm/association:Association backup-drill-schedule",
                    "aws:ssm/association:Association backup-schedule",
                    "aws:ssm/document:Document backup-backup",
                    "aws:ssm/document:Document backup-drill",
                    "aws:ssm/document:Document backup-drill-runbook",
                    "aws:ssm/document:Document backup-restore",
                ]);
                // The provider given at the top reaches every child.
                for (const r of g.resources.filter((x) => x.parent === component.urn)) {
                    assert.match(r.provider ?? "", /pulumi:providers:aws::aws$/, `${r.name} must use the stack's provider`);
                }
            });

            it("exports the document names and the association id", () => {
                assert.match(g.outputs.backupDocumentName as string, /^backup-backup-[0-9a-f]{7}$/);
                assert.match(g.outputs.restoreDocumentName as string, /^backup-restore-[0-9a-f]{7}$/);
                assert.match(g.outputs.backupAssociationId as string, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
            });

            it("backup document: Command 2.2 JSON for EC2 instances, one Linux-only runShellScript step", () => {
                const { r } = commandDocument(one(g, "aws:ssm/document:Document", "backup-backup"), "backup");
                assert.deepStrictEqual(r.propertyDependencies.content, [bucketUrn(g, "backups")]);
            });

            it("backup document: backup.sh and the lib.sh it sources are embedded byte for byte", () => {
                const doc = contentOf(one(g, "aws:ssm/document:Document", "backup-backup"));
                assert.strictEqual(embeddedScript(doc, "backup.sh"), BACKUP_SH);
                assert.strictEqual(embeddedScript(doc, "lib.sh"), LIB_SH);
            });

            it("backup document: the wrapper lines around the script", () => {
                const lines = contentOf(one(g, "aws:ssm/document:Document", "backup-backup")).mainSteps[0].inputs!.runCommand as string[];
                const lib = LIB_SH.split("\n").length - 1;
                const n = BACKUP_SH.split("\n").length - 1;
                assert.deepStrictEqual(lines.slice(0, 6), [
                    "set -eu",
                    "mkdir -p -m 0700 /var/lib/platform-backup /var/lib/platform-backup/_bin",
                    'tmp=""',
                    `trap 'rm -f "$tmp"' EXIT`,
                    "tmp=$(mktemp /var/lib/platform-backup/_bin/lib.sh.XXXXXX)",
                    "cat > \"$tmp\" <<'PLATFORM_EOF'",
                ]);
                assert.deepStrictEqual(lines.slice(6 + lib, 6 + lib + 4), [
                    "PLATFORM_EOF",
                    'mv -f "$tmp" /var/lib/platform-backup/_bin/lib.sh',
                    "tmp=$(mktemp /var/lib/platform-backup/_bin/backup.sh.XXXXXX)",
                    "cat > \"$tmp\" <<'PLATFORM_EOF'",
                ]);
                assert.deepStrictEqual(lines.slice(6 + lib + 4 + n), [
                    "PLATFORM_EOF",
                    'mv -f "$tmp" /var/lib/platform-backup/_bin/backup.sh',
                    "excludes='{{ Excludes }}'",
                    "directories='{{ Directories }}'",
                    "set -f",
                    "set --",
                    "IFS=','",
                    'for pattern in $excludes; do set -- "$@" --exclude "$pattern"; done',
                    "if [ '{{ FailOnChange }}' = true ]; then set -- \"$@\" --fail-on-change; fi",
                    'set -- "$@" --',
                    "IFS=' ,'",
                    'for dir in $directories; do set -- "$@" "$dir"; done',
                    "exec bash /var/lib/platform-backup/_bin/backup.sh --bucket '{{ Bucket }}' --prefix '{{ Prefix }}' --full-every '{{ FullEvery }}' --level '{{ CompressionLevel }}' --stack '{{ Stack }}' --metrics-namespace '{{ MetricsNamespace }}' \"$@\"",
                ]);
            });

            it("backup document: typed, constrained parameters with the stack's defaults", () => {
                const doc = contentOf(one(g, "aws:ssm/document:Document", "backup-backup"));
                assert.deepStrictEqual(doc.parameters, {
                    Bucket: { type: "String", description: "S3 bucket for the snapshots.", default: backupBucketName, allowedPattern: "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$" },
                    Prefix: { type: "String", description: "Key prefix; snapshots go to <Prefix>/<instance-id>/<slug>/.", default: `backups/${stack}`, allowedPattern: "^[A-Za-z0-9/_.-]*$" },
                    Directories: { type: "String", description: "Absolute paths to back up, separated by spaces or commas.", default: "/var/www /etc/platform", allowedPattern: "^/[A-Za-z0-9._/-]*([ ,]+/[A-Za-z0-9._/-]*)*$" },
                    Excludes: { type: "String", description: "Comma-separated GNU tar --exclude globs (may be empty).", default: "*.tmp,cache/*", allowedPattern: "^([A-Za-z0-9._*?\\[\\]/-]+(,[A-Za-z0-9._*?\\[\\]/-]+)*)?$" },
                    FullEvery: { type: "String", description: "A full backup every N runs, incrementals in between.", default: "7", allowedPattern: "^[1-9][0-9]{0,2}$" },
                    CompressionLevel: { type: "String", description: "zstd level 1-19.", default: "3", allowedPattern: "^([1-9]|1[0-9])$" },
                    FailOnChange: { type: "String", description: "true: exit 10 (failed) when files changed while being read; false: succeed with warnings.", default: "false", allowedValues: ["false", "true"] },
                    Stack: { type: "String", description: "The Stack dimension of the BackupSuccess metric each committed snapshot publishes.", default: stack, allowedPattern: "^[A-Za-z0-9._-]{1,128}$" },
                    MetricsNamespace: { type: "String", description: "CloudWatch namespace of that metric.", default: "Platform/Backups", allowedPattern: "^[A-Za-z0-9._/#-]{1,255}$" },
                });
            });

            it("restore document: Command 2.2, restore.sh byte for byte, constrained parameters, required InstanceId and Directory", () => {
                const { doc, step } = commandDocument(one(g, "aws:ssm/document:Document", "backup-restore"), "restore");
                assert.strictEqual(embeddedScript(doc, "restore.sh"), RESTORE_SH);
                assert.strictEqual(embeddedScript(doc, "lib.sh"), LIB_SH);
                const lines = step.inputs!.runCommand as string[];
                assert.strictEqual(
                    lines[lines.length - 1],
                    "exec bash /var/lib/platform-backup/_bin/restore.sh --bucket '{{ Bucket }}' --prefix '{{ Prefix }}' --instance-id '{{ InstanceId }}' --directory '{{ Directory }}' --snapshot '{{ Snapshot }}' \"$@\"",
                );
                const p = doc.parameters!;
                assert.deepStrictEqual(Object.keys(p), ["Bucket", "Prefix", "InstanceId", "Directory", "Snapshot", "Target", "WorkDir"]);
                assert.strictEqual(p.Bucket.default, backupBucketName);
                assert.strictEqual(p.Prefix.default, `backups/${stack}`);
                assert.strictEqual(p.InstanceId.default, undefined, "InstanceId must be required (no default)");
                assert.strictEqual(p.Directory.default, undefined, "Directory must be required (no default)");
                assert.strictEqual(p.Snapshot.default, "latest");
                assert.strictEqual(p.Target.default, "");
                assert.strictEqual(p.WorkDir.default, "");
                assert.strictEqual(p.Snapshot.allowedPattern, "^(latest|[0-9]{8}T[0-9]{6}\\.[0-9]{3}Z)$");
                assert.strictEqual(p.InstanceId.allowedPattern, "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$");
                assert.strictEqual(p.Directory.allowedPattern, "^/[A-Za-z0-9._/-]*$");
                assert.strictEqual(p.Target.allowedPattern, "^(/[A-Za-z0-9._/-]*)?$");
                for (const [name, param] of Object.entries(p)) assert.strictEqual(param.type, "String", name);
            });

            it("the three Command documents pass the static check and fit SSM's 64 KB quota", () => {
                for (const name of ["backup-backup", "backup-restore", "backup-drill"]) {
                    const text = one(g, "aws:ssm/document:Document", name).inputs.content as string;
                    assert.deepStrictEqual(checkDocument(text, { kind: "Command" }), [], name);
                    assert.ok(Buffer.byteLength(text) < 64 * 1024, `${name} is ${Buffer.byteLength(text)} bytes`);
                }
            });

            it(`association: schedule ${EXPECTED[stack].schedule} on the Backup-tagged instances, rate control, output to the logs bucket`, () => {
                const r = one(g, "aws:ssm/association:Association", "backup-schedule");
                assert.strictEqual(r.parent, componentUrn(g));
                assert.deepStrictEqual(r.inputs, {
                    associationName: `platform-${stack}-backup`,
                    name: g.outputs.backupDocumentName,
                    documentVersion: "1",
                    scheduleExpression: EXPECTED[stack].schedule,
                    // Not only at the cron interval: CreateAssociation "runs it immediately after it is
                    // created and then according to the schedule you specified and when target changes
                    // are detected" (AWS Systems Manager API Reference, CreateAssociation,
                    // ApplyOnlyAtCronInterval), so a new stack (and a replacement instance) is backed up
                    // minutes after it comes up instead of alarming backup-stale until the next night.
                    applyOnlyAtCronInterval: false,
                    // ANDed tag targets: the backup tag and this stack's tag (tests/stackIsolation.test.ts).
                    targets: [
                        { key: "tag:Backup", values: ["true"] },
                        { key: "tag:Stack", values: [stack] },
                    ],
                    maxConcurrency: "50%",
                    maxErrors: "10%",
                    complianceSeverity: "HIGH",
                    syncCompliance: "AUTO",
                    outputLocation: { s3BucketName: logsBucketName, s3KeyPrefix: `ssm/backup/${stack}` },
                    parameters: {
                        Bucket: backupBucketName,
                        Prefix: `backups/${stack}`,
                        Directories: "/var/www /etc/platform",
                        Excludes: "*.tmp,cache/*",
                        FullEvery: "7",
                        CompressionLevel: "3",
                        FailOnChange: "false",
                        Stack: stack,
                        MetricsNamespace: "Platform/Backups",
                    },
                    tags: {},
                });
                const doc = one(g, "aws:ssm/document:Document", "backup-backup");
                assert.deepStrictEqual(r.propertyDependencies.name, [doc.urn]);
                assert.deepStrictEqual(r.propertyDependencies.documentVersion, [doc.urn]);
                assert.deepStrictEqual(r.propertyDependencies.outputLocation, [bucketUrn(g, "logs")]);
                assert.deepStrictEqual(r.propertyDependencies.parameters, [bucketUrn(g, "backups")]);
            });

            it("association parameters satisfy the document's own patterns", () => {
                const params = contentOf(one(g, "aws:ssm/document:Document", "backup-backup")).parameters!;
                const assoc = one(g, "aws:ssm/association:Association", "backup-schedule").inputs.parameters as Record<string, string>;
                assert.deepStrictEqual(Object.keys(assoc).sort(), Object.keys(params).sort());
                for (const [k, v] of Object.entries(assoc)) {
                    const p = params[k];
                    if (p.allowedPattern) assert.match(v, new RegExp(p.allowedPattern), k);
                    else assert.ok(p.allowedValues!.includes(v), k);
                }
            });

            it("the instance role may upload command output under the three ssm/ prefixes only", () => {
                const role = g.resources.find((r) => r.type === "aws:iam/role:Role" && r.name === "web-instance")!;
                assert.ok(role, "the web tier's instance role");
                const encryption = one(g, "aws:iam/rolePolicy:RolePolicy", "backup-output-encryption");
                assert.strictEqual(encryption.inputs.role, role.id);
                assert.deepStrictEqual(JSON.parse(encryption.inputs.policy as string), {
                    Version: "2012-10-17",
                    Statement: [{ Sid: "OutputBucketEncryption", Effect: "Allow", Action: "s3:GetEncryptionConfiguration", Resource: `arn:aws:s3:::${logsBucketName}` }],
                });
                for (const kind of ["backup", "restore", "drill"]) {
                    const grant = one(g, "aws:iam/rolePolicy:RolePolicy", `logs-web-instance-write-ssm-${kind}-${stack}`);
                    assert.strictEqual(grant.inputs.role, role.id);
                    assert.deepStrictEqual(JSON.parse(grant.inputs.policy as string), {
                        Version: "2012-10-17",
                        Statement: [
                            {
                                Sid: "Objects",
                                Effect: "Allow",
                                Action: ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                                Resource: `arn:aws:s3:::${logsBucketName}/ssm/${kind}/${stack}/*`,
                            },
                        ],
                    });
                }
            });

            it("drill document: Command 2.2, drill.sh with the restore.sh it runs and lib.sh byte for byte, constrained parameters with the stack's defaults", () => {
                const r = one(g, "aws:ssm/document:Document", "backup-drill");
                assert.strictEqual(r.inputs.documentType, "Command");
                assert.strictEqual(r.inputs.targetType, "/AWS::EC2::Instance");
                const doc = contentOf(r);
                assert.strictEqual(doc.schemaVersion, "2.2");
                assert.strictEqual(doc.mainSteps.length, 1);
                assert.strictEqual(doc.mainSteps[0].name, "drill");
                assert.deepStrictEqual(doc.mainSteps[0].precondition, { StringEquals: ["platformType", "Linux"] });
                assert.strictEqual(doc.mainSteps[0].inputs!.timeoutSeconds, 7200);
                for (const [file, text] of [["drill.sh", DRILL_SH], ["restore.sh", RESTORE_SH], ["lib.sh", LIB_SH]]) assert.strictEqual(embeddedScript(doc, file), text, file);
                const defaults = Object.fromEntries(Object.entries(doc.parameters!).map(([k, v]) => [k, v.default]));
                assert.deepStrictEqual(defaults, {
                    Bucket: backupBucketName,
                    Prefix: `backups/${stack}`,
                    Stack: stack,
                    MetricsNamespace: "Platform/Backups",
                    Directories: "/var/www /etc/platform",
                    // Empty: every instance under Prefix (a hand run); the runbook and ops pass the live ones.
                    Instances: "",
                    Mode: "auto",
                    ScratchDir: "",
                    ReserveBytes: "1073741824",
                });
                const lines = doc.mainSteps[0].inputs!.runCommand as string[];
                assert.ok(lines.includes('for id in $instances; do set -- "$@" --instance "$id"; done'), "each live instance becomes --instance");
                assert.ok(lines.includes("instances='{{ Instances }}'"));
                assert.strictEqual(
                    lines[lines.length - 1],
                    "exec bash /var/lib/platform-backup/_bin/drill.sh --bucket '{{ Bucket }}' --prefix '{{ Prefix }}' --stack '{{ Stack }}' --metrics-namespace '{{ MetricsNamespace }}' --mode '{{ Mode }}' --reserve-bytes '{{ ReserveBytes }}' \"$@\"",
                );
                assert.match(g.outputs.drillDocumentName as string, /^backup-drill-[0-9a-f]{7}$/);
                assert.strictEqual(g.outputs.drillLogPrefix, `ssm/drill/${stack}`);
                assert.strictEqual(g.outputs.backupMetricsNamespace, "Platform/Backups");
            });

            it("drill runbook: waits for an online instance of this stack (Stack and backup tags, tag filters only), picks the lowest id, runs the drill document on it with output to the logs bucket", () => {
                const r = one(g, "aws:ssm/document:Document", "backup-drill-runbook");
                assert.strictEqual(r.inputs.documentType, "Automation");
                const text = r.inputs.content as string;
                assert.deepStrictEqual(checkDocument(text, { kind: "Automation" }), []);
                const doc = JSON.parse(text) as SsmDocumentContent;
                assert.strictEqual(doc.assumeRole, "{{ AutomationAssumeRole }}");
                assert.match(doc.parameters!.AutomationAssumeRole.default as string, /^arn:aws:iam::123456789012:role\/backup-drill-automation-[0-9a-f]{7}$/);
                assert.match(g.outputs.drillRunbookName as string, /^backup-drill-runbook-[0-9a-f]{7}$/);
                // Tag filters only: DescribeInstanceInformation refuses a tag filter combined with
                // another filter type ("Tag filters can't be combined with other filter types": AWS
                // Systems Manager API Reference, DescribeInstanceInformation, Filters,
                // https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeInstanceInformation.html);
                // the Python step keeps the Online ones (tests/drillRunbook.test.ts runs it).
                const filters = [
                    { Key: "tag:Stack", Values: [stack] },
                    { Key: "tag:Backup", Values: ["true"] },
                ];
                assert.ok(filters.every((f) => f.Key.startsWith("tag:")));
                assert.deepStrictEqual(doc.mainSteps, [
                    {
                        name: "PickInstance",
                        action: "aws:executeScript",
                        // aws:executeScript runs at most 600 seconds (Automation actions reference, aws:executeScript).
                        timeoutSeconds: 600,
                        onFailure: "Abort",
                        inputs: { Runtime: "python3.11", Handler: "handler", Script: fs.readFileSync(DRILL_STEP_SCRIPT_PATHS.pickInstance, "utf8"), InputPayload: { Filters: filters, WaitSeconds: 540, PollSeconds: 30 } },
                        outputs: [
                            { Name: "InstanceId", Selector: "$.Payload.InstanceId", Type: "String" },
                            { Name: "LiveInstances", Selector: "$.Payload.LiveInstances", Type: "String" },
                        ],
                        nextStep: "RunDrill",
                    },
                    {
                        name: "RunDrill",
                        action: "aws:runCommand",
                        timeoutSeconds: 7500,
                        onFailure: "Abort",
                        inputs: {
                            DocumentName: g.outputs.drillDocumentName,
                            InstanceIds: ["{{ PickInstance.InstanceId }}"],
                            // The live instances only: a terminated instance's chain is not drilled.
                            Parameters: { Instances: "{{ PickInstance.LiveInstances }}" },
                            OutputS3BucketName: logsBucketName,
                            OutputS3KeyPrefix: `ssm/drill/${stack}`,
                            TimeoutSeconds: 7200,
                            Comment: "restore drill {{ automation:EXECUTION_ID }}",
                        },
                        isEnd: true,
                    },
                ]);
            });

            it(`drill association: the runbook on ${EXPECTED[stack].drill} with its role, no targets (the runbook picks the instance), after the role's permissions`, () => {
                const a = one(g, "aws:ssm/association:Association", "backup-drill-schedule");
                const role = one(g, "aws:iam/role:Role", "backup-drill-automation");
                const runbook = one(g, "aws:ssm/document:Document", "backup-drill-runbook");
                const policy = one(g, "aws:iam/rolePolicy:RolePolicy", "backup-drill-automation");
                assert.deepStrictEqual(a.inputs, {
                    associationName: `platform-${stack}-restore-drill`,
                    name: g.outputs.drillRunbookName,
                    documentVersion: "1",
                    scheduleExpression: EXPECTED[stack].drill,
                    applyOnlyAtCronInterval: true,
                    parameters: { AutomationAssumeRole: JSON.parse(runbook.inputs.content as string).parameters.AutomationAssumeRole.default },
                    tags: {},
                });
                assert.deepStrictEqual(a.propertyDependencies.name, [runbook.urn]);
                assert.deepStrictEqual(a.propertyDependencies.parameters, [role.urn]);
                assert.ok(a.dependencies.includes(policy.urn), "the association waits for the role's policy");
                assert.match(g.outputs.drillAssociationId as string, /^[0-9a-f]{8}-/);
            });

            it("drill automation role: assumed by this account's SSM Automation only; may find instances and send only the drill document, only to this stack's backed-up instances", () => {
                const role = one(g, "aws:iam/role:Role", "backup-drill-automation");
                assert.deepStrictEqual(JSON.parse(role.inputs.assumeRolePolicy as string), {
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Effect: "Allow",
                            Principal: { Service: "ssm.amazonaws.com" },
                            Action: "sts:AssumeRole",
                            Condition: { StringEquals: { "aws:SourceAccount": "123456789012" }, ArnLike: { "aws:SourceArn": "arn:aws:ssm:us-east-1:123456789012:automation-execution/*" } },
                        },
                    ],
                });
                const policy = JSON.parse(one(g, "aws:iam/rolePolicy:RolePolicy", "backup-drill-automation").inputs.policy as string);
                const documentName = g.outputs.drillDocumentName as string;
                assert.deepStrictEqual(policy, drillAutomationPolicy({ partition: "aws", region: "us-east-1", account: "123456789012", stack, backupTag: { key: "Backup", value: "true" }, drillDocumentName: documentName, logsBucketName }));
                const doc = `arn:aws:ssm:us-east-1:123456789012:document/${documentName}`;
                const instance = "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0";
                const send = (resource: string, tags: Record<string, string> = {}) =>
                    evaluate(policy.Statement, { action: "ssm:SendCommand", resource, context: Object.fromEntries(Object.entries(tags).map(([k, v]) => [`ssm:resourceTag/${k}`, v])) });
                assert.strictEqual(send(doc), "allow");
                assert.strictEqual(send(`arn:aws:s3:::${logsBucketName}`), "allow");
                assert.strictEqual(send(instance, { Stack: stack, Backup: "true" }), "allow");
                assert.strictEqual(send(instance, { Stack: stack === "dev" ? "prod" : "dev", Backup: "true" }), "implicit-deny", "another stack's instance");
                assert.strictEqual(send(instance, { Stack: stack }), "implicit-deny", "an instance without the backup tag");
                assert.strictEqual(send("arn:aws:ssm:us-east-1:123456789012:document/AWS-RunShellScript"), "implicit-deny", "any other document");
                assert.strictEqual(send(g.outputs.backupDocumentName as string), "implicit-deny");
                for (const action of ["ssm:DescribeInstanceInformation", "ssm:ListCommands", "ssm:ListCommandInvocations"]) assert.strictEqual(evaluate(policy.Statement, { action, resource: "*" }), "allow", action);
                for (const action of ["ssm:StartAutomationExecution", "ec2:TerminateInstances", "s3:GetObject", "iam:PassRole"]) assert.strictEqual(evaluate(policy.Statement, { action, resource: "*" }), "implicit-deny", action);
            });

            it("no mandatory policy violation on the backup resources", async () => {
                const mine = new Set(g.resources.filter((r) => r.parent === componentUrn(g) || r.name.startsWith("logs-web-instance-write-ssm-")).map((r) => r.urn));
                mine.add(componentUrn(g));
                const violations = (await runPolicies(g)).filter((v) => v.level === "mandatory" && v.urn !== null && mine.has(v.urn));
                assert.deepStrictEqual(violations, []);
            });
        });
    }

    it("prod and dev differ only in the schedule, the names and the prefixes", () => {
        const strip = (g: Graph) => {
            const a = one(g, "aws:ssm/association:Association", "backup-schedule").inputs as Record<string, any>;
            return { ...a, associationName: undefined, name: undefined, scheduleExpression: undefined, outputLocation: undefined, targets: undefined, parameters: { ...a.parameters, Bucket: undefined, Prefix: undefined, Stack: undefined } };
        };
        assert.deepStrictEqual(strip(graphs.dev), strip(graphs.prod));
        assert.notStrictEqual(one(graphs.dev, "aws:ssm/association:Association", "backup-schedule").inputs.scheduleExpression, one(graphs.prod, "aws:ssm/association:Association", "backup-schedule").inputs.scheduleExpression);
    });
});

describe("Backup with other config", function () {
    this.timeout(120000);
    let dir: string;
    let rateGraph: Graph;
    let offGraph: Graph;
    before(async () => {
        dir = tempDir("backup-config-");
        const dev = fs.readFileSync(path.join(__dirname, "..", "Pulumi.dev.yaml"), "utf8");
        const withBackup = (block: string) => dev.replace(/  platform:backup:\n(    .*\n)+/, block);
        assert.notStrictEqual(withBackup("X"), dev, "Pulumi.dev.yaml has a platform:backup block to replace");
        fs.writeFileSync(path.join(dir, "rate.yaml"), withBackup("  platform:backup:\n    schedule: rate(6 hours)\n    excludes: []\n    directories:\n      - /srv/app\n    maxConcurrency: \"2\"\n    maxErrors: \"0\"\n    timeoutSeconds: 7200\n"));
        fs.writeFileSync(path.join(dir, "off.yaml"), withBackup("  platform:backup:\n    enabled: false\n"));
        rateGraph = (await runOffline({ stack: "dev", configFile: path.join(dir, "rate.yaml") })).graph;
        offGraph = (await runOffline({ stack: "dev", configFile: path.join(dir, "off.yaml") })).graph;
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("a rate() schedule leaves applyOnlyAtCronInterval unset (AWS rejects it with rate expressions)", () => {
        const a = one(rateGraph, "aws:ssm/association:Association", "backup-schedule").inputs;
        assert.strictEqual(a.scheduleExpression, "rate(6 hours)");
        assert.strictEqual(a.applyOnlyAtCronInterval, undefined);
        assert.strictEqual(a.maxConcurrency, "2");
        assert.strictEqual(a.maxErrors, "0");
        assert.deepStrictEqual(a.parameters, {
            Bucket: rateGraph.outputs.backupBucketName,
            Prefix: "backups/dev",
            Directories: "/srv/app",
            Excludes: "",
            FullEvery: "7",
            CompressionLevel: "3",
            FailOnChange: "false",
            Stack: "dev",
            MetricsNamespace: "Platform/Backups",
        });
        const doc = contentOf(one(rateGraph, "aws:ssm/document:Document", "backup-backup"));
        assert.strictEqual(doc.mainSteps[0].inputs!.timeoutSeconds, 7200);
        assert.strictEqual(doc.parameters!.Excludes.default, "");
        assert.deepStrictEqual(checkDocument(doc), []);
    });

    it("backup.enabled false creates nothing and exports nothing", () => {
        const mine = (g: Graph) => g.resources.filter((r) => r.type === BACKUP_TYPE || r.name.startsWith("backup-") || /^logs-.*-ssm-(backup|restore|drill)-/.test(r.name) || /^monitoring-(backup-stale|restore-drill)-/.test(r.name));
        assert.deepStrictEqual(mine(offGraph).map((r) => r.urn), []);
        // The same filter finds them when enabled, so the assertion above can fail.
        assert.strictEqual(mine(rateGraph).length, 17);
        for (const key of ["backupDocumentName", "restoreDocumentName", "backupAssociationId", "drillDocumentName", "drillRunbookName", "drillAssociationId", "drillLogPrefix", "backupMetricsNamespace"]) assert.ok(!(key in offGraph.outputs), key);
    });
});

describe("Backup document wrapper under /bin/sh", function () {
    this.timeout(30000);
    // Runs the runCommand exactly as SSM would after substituting parameters, with `bash` on
    // PATH replaced by a stub that prints its arguments: proves the install and the argv.
    let dir: string;
    beforeEach(() => {
        dir = tempDir("backup-doc-");
        fs.mkdirSync(path.join(dir, "stub"));
        fs.writeFileSync(path.join(dir, "stub", "bash"), "#!/bin/sh\nfor a; do printf '<%s>\\n' \"$a\"; done\n", { mode: 0o755 });
        // Files the exclude globs would match if the shell expanded them.
        fs.mkdirSync(path.join(dir, "cwd", "cache"), { recursive: true });
        fs.writeFileSync(path.join(dir, "cwd", "a.tmp"), "");
        fs.writeFileSync(path.join(dir, "cwd", "cache", "x"), "");
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    function run(doc: SsmDocumentContent, values: Record<string, string>, shell: string[]): string[] {
        const text = (doc.mainSteps[0].inputs!.runCommand as string[])
            .join("\n")
            .replace(/\{\{\s*([A-Za-z0-9_.:]+)\s*\}\}/g, (_m, name: string) => {
                const v = values[name] ?? doc.parameters![name].default;
                assert.ok(typeof v === "string", `no value for ${name}`);
                return v;
            });
        const file = path.join(dir, "_script.sh");
        fs.writeFileSync(file, text);
        const out = execFileSync(shell[0], [...shell.slice(1), file], { cwd: path.join(dir, "cwd"), env: { ...process.env, PATH: `${path.join(dir, "stub")}:${process.env.PATH}` }, encoding: "utf8" });
        return out.split("\n").filter(Boolean).map((l) => l.replace(/^<|>$/g, ""));
    }

    const shells = [["/bin/sh"], ...(fs.existsSync("/bin/bash") ? [["/bin/bash", "--posix"]] : [])];
    for (const shell of shells) {
        it(`backup: installs backup.sh byte for byte (0700, no temp left) and passes every argument (${shell.join(" ")})`, () => {
            const scriptDir = path.join(dir, "state", "_bin");
            const doc = backupDocumentContent({ script: readScript("backup.sh"), library: LIB_SH, scriptDir, bucket: "b-1", prefix: "backups/dev", timeoutSeconds: 60, Directories: "/var/www /etc/platform", Excludes: "*.tmp,cache/*", FullEvery: "7", CompressionLevel: "3", Stack: "dev", MetricsNamespace: "Platform/Backups" });
            const argv = run(doc, { Directories: "/var/www,/etc/platform  /srv/a", Excludes: "*.tmp,cache/*,[ab]?c", FailOnChange: "true" }, shell);
            assert.deepStrictEqual(argv, [
                path.join(scriptDir, "backup.sh"),
                "--bucket", "b-1", "--prefix", "backups/dev", "--full-every", "7", "--level", "3", "--stack", "dev", "--metrics-namespace", "Platform/Backups",
                "--exclude", "*.tmp", "--exclude", "cache/*", "--exclude", "[ab]?c",
                "--fail-on-change", "--", "/var/www", "/etc/platform", "/srv/a",
            ]);
            assert.strictEqual(fs.readFileSync(path.join(scriptDir, "backup.sh"), "utf8"), BACKUP_SH);
            assert.strictEqual(fs.readFileSync(path.join(scriptDir, "lib.sh"), "utf8"), LIB_SH);
            assert.deepStrictEqual(fs.readdirSync(scriptDir).sort(), ["backup.sh", "lib.sh"]);
            assert.strictEqual(fs.statSync(scriptDir).mode & 0o777, 0o700);
            assert.strictEqual(fs.statSync(path.dirname(scriptDir)).mode & 0o777, 0o700);
        });

        it(`backup: no excludes, FailOnChange false (${shell.join(" ")})`, () => {
            const scriptDir = path.join(dir, "state", "_bin");
            const doc = backupDocumentContent({ script: readScript("backup.sh"), library: LIB_SH, scriptDir, bucket: "b-1", prefix: "", timeoutSeconds: 60, Directories: "/", Excludes: "", FullEvery: "1", CompressionLevel: "19", Stack: "s", MetricsNamespace: "N/S" });
            assert.deepStrictEqual(run(doc, {}, shell), [path.join(scriptDir, "backup.sh"), "--bucket", "b-1", "--prefix", "", "--full-every", "1", "--level", "19", "--stack", "s", "--metrics-namespace", "N/S", "--", "/"]);
        });

        it(`restore: installs restore.sh and passes Target/WorkDir only when set (${shell.join(" ")})`, () => {
            const scriptDir = path.join(dir, "state", "_bin");
            const doc = restoreDocumentContent({ script: readScript("restore.sh"), library: LIB_SH, scriptDir, bucket: "b-1", prefix: "backups/prod", timeoutSeconds: 60 });
            const base = [path.join(scriptDir, "restore.sh"), "--bucket", "b-1", "--prefix", "backups/prod", "--instance-id", "i-0123456789abcdef0", "--directory", "/var/www"];
            assert.deepStrictEqual(run(doc, { InstanceId: "i-0123456789abcdef0", Directory: "/var/www" }, shell), [...base, "--snapshot", "latest"]);
            assert.deepStrictEqual(run(doc, { InstanceId: "i-0123456789abcdef0", Directory: "/var/www", Snapshot: "20250301T021500.123Z", Target: "/srv/restore", WorkDir: "/mnt/scratch" }, shell), [
                ...base, "--snapshot", "20250301T021500.123Z", "--target", "/srv/restore", "--work-dir", "/mnt/scratch",
            ]);
            assert.strictEqual(fs.readFileSync(path.join(scriptDir, "restore.sh"), "utf8"), RESTORE_SH);
            assert.strictEqual(fs.readFileSync(path.join(scriptDir, "lib.sh"), "utf8"), LIB_SH);
            assert.deepStrictEqual(fs.readdirSync(scriptDir).sort(), ["lib.sh", "restore.sh"]);
        });

        it(`drill: installs lib.sh, restore.sh and drill.sh, expects every configured directory, passes ScratchDir only when set (${shell.join(" ")})`, () => {
            const scriptDir = path.join(dir, "state", "_bin");
            const doc = drillDocumentContent({ script: DRILL_SH, restoreScript: RESTORE_SH, library: LIB_SH, scriptDir, bucket: "b-1", prefix: "backups/dev", stack: "dev", namespace: "Platform/Backups", directories: ["/var/www", "/etc/platform"], mode: "auto", reserveBytes: 1024, timeoutSeconds: 60 });
            const base = [path.join(scriptDir, "drill.sh"), "--bucket", "b-1", "--prefix", "backups/dev", "--stack", "dev", "--metrics-namespace", "Platform/Backups"];
            assert.deepStrictEqual(run(doc, {}, shell), [...base, "--mode", "auto", "--reserve-bytes", "1024", "--expect", "/var/www", "--expect", "/etc/platform"]);
            assert.deepStrictEqual(run(doc, { Mode: "stream", ScratchDir: "/mnt/scratch", Directories: "/a,/b" }, shell), [...base, "--mode", "stream", "--reserve-bytes", "1024", "--expect", "/a", "--expect", "/b", "--scratch-dir", "/mnt/scratch"]);
            for (const [file, text] of [["drill.sh", DRILL_SH], ["restore.sh", RESTORE_SH], ["lib.sh", LIB_SH]]) assert.strictEqual(fs.readFileSync(path.join(scriptDir, file), "utf8"), text, file);
            assert.deepStrictEqual(fs.readdirSync(scriptDir).sort(), ["drill.sh", "lib.sh", "restore.sh"]);
        });
    }
});

describe("what the ops CLI and the alarms derive from the scripts", () => {
    it("pathToSlug is lib.sh's slugify and normalizeBackupPath its norm_path (the alarms' names and Directory dimension)", () => {
        const lib = JSON.stringify(path.join(SCRIPTS, "lib.sh"));
        for (const p of ["/var/www", "/etc/platform", "/srv/my_app-1", "/", "/data/ünï", "/a.b/C9", "/var/www/", "//srv//./app/", "/./"]) {
            const [normalized, slug] = execFileSync("bash", ["-c", `source ${lib}; norm_path "$1"; n=$REPLY; slugify "$n"; printf '%s\\n%s' "$n" "$REPLY"`, "_", p], { encoding: "utf8" }).split("\n");
            assert.strictEqual(normalizeBackupPath(p), normalized, p);
            assert.strictEqual(pathToSlug(p), slug, p);
        }
    });

    it("DRILL_EXIT_CODES (what ops prints) are the codes components/ssm/README.md documents for drill.sh", () => {
        const readme = fs.readFileSync(path.join(SCRIPTS, "README.md"), "utf8");
        const section = readme.slice(readme.indexOf("### Exit codes (drill.sh)"));
        assert.ok(section.length < readme.length, "README has the drill's exit code table");
        const table = section.slice(0, section.indexOf("\n\n", section.indexOf("| code |")));
        const codes = [...table.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1])).filter((c) => c !== 0 && c < 100);
        assert.deepStrictEqual(codes, Object.keys(DRILL_EXIT_CODES).map(Number));
    });
});

describe("Backup parameter patterns reject shell injection", () => {
    const INJECTIONS = ["x; rm -rf /", "$(id)", "`id`", "a\nb", "a\n", "x' ; id ; '", "x|id", "x&&id", "x>y", "$HOME", "x\\y", "x\ty", "\"x\""];
    const LEGIT: Record<keyof typeof PATTERNS, string[]> = {
        bucket: ["backups-a1b2c3d", "my.bucket-1", "abc"],
        prefix: ["backups/dev", "", "a/b_c.d-e/"],
        directories: ["/var/www", "/var/www /etc/platform", "/var/www,/etc/platform", "/", "/srv/my_app-1 /opt/x.y"],
        directory: ["/var/www", "/", "/srv/my_app-1"],
        optionalPath: ["", "/srv/restore", "/"],
        excludes: ["", "*.tmp", "*.tmp,cache/*", "[ab]?c,./logs"],
        fullEvery: ["1", "7", "100", "999"],
        compressionLevel: ["1", "3", "9", "10", "19"],
        instanceId: ["i-0123456789abcdef0", "ip-10-0-1-23.ec2.internal", "host_1"],
        instanceIds: ["i-0123456789abcdef0 i-0fedcba9876543210", "", "i-0123456789abcdef0", "i-1,i-2", "i-1 , i-2"],
        snapshot: ["latest", "20250301T021500.123Z"],
        stack: ["dev", "prod", "my_stack-2.b"],
        metricsNamespace: ["Platform/Backups", "A.b_c#d-e"],
        reserveBytes: ["0", "1073741824"],
    };
    const WRONG: Record<keyof typeof PATTERNS, string[]> = {
        bucket: ["Upper", "-abc", "ab", "a_b"],
        prefix: ["a b", "a*b"],
        directories: ["var/www", "/var/www relative", "/a,,b", "/a*", "/a?"],
        directory: ["relative", "/a b", "/a,b"],
        optionalPath: ["relative", " "],
        excludes: [",", "a,", "a b", "a,,b"],
        fullEvery: ["0", "07", "1000", "-1", ""],
        compressionLevel: ["0", "20", "03", ""],
        instanceId: ["", "-i", ".x"],
        instanceIds: [" ", "i-1 ", ",i-1", "i-1,,", "-i", "i-1/i-2"],
        snapshot: ["LATEST", "20250301T021500Z", "20250301T021500.123", "../x"],
        stack: ["", "a b", "a/b"],
        metricsNamespace: ["", "a:b", "a b"],
        reserveBytes: ["", "-1", "1e9", "1234567890123456789"],
    };

    for (const [name, source] of Object.entries(PATTERNS) as Array<[keyof typeof PATTERNS, string]>) {
        it(`${name}: ${source}`, () => {
            const re = new RegExp(source);
            assert.ok(source.startsWith("^") && source.endsWith("$"), "anchored");
            for (const bad of INJECTIONS) {
                assert.ok(!re.test(bad), `${JSON.stringify(bad)} must be rejected`);
                assert.ok(!re.test(`${LEGIT[name][0]}${bad}`), `${JSON.stringify(LEGIT[name][0] + bad)} must be rejected`);
                assert.ok(!re.test(`${bad}${LEGIT[name][0]}`), `${JSON.stringify(bad + LEGIT[name][0])} must be rejected`);
            }
            for (const good of LEGIT[name]) assert.ok(re.test(good), `${JSON.stringify(good)} must be accepted`);
            for (const wrong of WRONG[name]) assert.ok(!re.test(wrong), `${JSON.stringify(wrong)} must be rejected`);
            // Nothing the pattern admits can close the single quotes the document puts around it.
            assert.ok(!re.test("'") && !re.test(`${LEGIT[name][0]}'`));
        });
    }

    it("every parameter of the three documents uses one of these patterns or a value list", () => {
        const known = new Set<string>(Object.values(PATTERNS));
        const docs = [
            backupDocumentContent({ script: BACKUP_SH, library: LIB_SH, bucket: "b-1", prefix: "p", timeoutSeconds: 60, Directories: "/a", Excludes: "", FullEvery: "7", CompressionLevel: "3", Stack: "s", MetricsNamespace: "N" }),
            restoreDocumentContent({ script: RESTORE_SH, library: LIB_SH, bucket: "b-1", prefix: "p", timeoutSeconds: 60 }),
            drillDocumentContent({ script: DRILL_SH, restoreScript: RESTORE_SH, library: LIB_SH, bucket: "b-1", prefix: "p", stack: "s", namespace: "N", directories: ["/a"], mode: "auto", reserveBytes: 0, timeoutSeconds: 60 }),
        ];
        for (const doc of docs) {
            for (const [name, p] of Object.entries(doc.parameters!)) {
                assert.ok((p.allowedPattern !== undefined && known.has(p.allowedPattern)) || (p.allowedValues ?? []).length > 0, name);
            }
        }
    });
});

describe("tools/ssmDocuments static check", () => {
    const good = (): SsmDocumentContent => ({
        schemaVersion: "2.2",
        parameters: {
            Name: { type: "String", default: "x", allowedPattern: "^[a-z]+$" },
            Mode: { type: "String", default: "a", allowedValues: ["a", "b"] },
        },
        mainSteps: [{ action: "aws:runShellScript", name: "run", precondition: { StringEquals: ["platformType", "Linux"] }, inputs: { runCommand: ["echo '{{ Name }}' '{{Mode}}'"] } }],
    });

    it("accepts a well-formed Command document", () => {
        assert.deepStrictEqual(checkDocument(good()), []);
    });

    it("rejects an undeclared reference and an unconstrained parameter, saying why", () => {
        const doc = good();
        doc.parameters!.Free = { type: "String", default: "anything" };
        doc.mainSteps[0].inputs!.runCommand = ["echo '{{ Name }}' {{ Nope }}"];
        assert.deepStrictEqual(checkDocument(doc), [
            "parameter Free: has neither allowedPattern nor allowedValues (required: SSM substitutes the value as is, e.g. into shell)",
            "mainSteps[0].inputs.runCommand[0]: {{ Nope }} is not a declared parameter",
        ]);
    });

    it("rejects unanchored and invalid patterns, defaults that break their own constraint", () => {
        const doc = good();
        doc.parameters = {
            A: { type: "String", allowedPattern: "[a-z]+" },
            B: { type: "String", allowedPattern: "^([a-z]$" },
            C: { type: "String", default: "X", allowedPattern: "^[a-z]+$" },
            D: { type: "String", default: "c", allowedValues: ["a", "b"] },
            E: { type: "Strin", allowedValues: ["a"] },
        };
        doc.mainSteps[0].inputs!.runCommand = ["echo"];
        const problems = checkDocument(doc);
        assert.strictEqual(problems.length, 5, problems.join("\n"));
        assert.match(problems[0], /^parameter A: allowedPattern "\[a-z\]\+" must be anchored/);
        assert.match(problems[1], /^parameter B: allowedPattern is not a valid regular expression/);
        assert.strictEqual(problems[2], 'parameter C: default "X" does not match allowedPattern ^[a-z]+$');
        assert.strictEqual(problems[3], 'parameter D: default "c" is not one of allowedValues');
        assert.match(problems[4], /^parameter E: unknown type "Strin"/);
    });

    it("rejects unknown actions, duplicate step names, stray braces, bad runCommand and timeouts, wrong schema", () => {
        const doc = good();
        doc.schemaVersion = "1.2";
        doc.mainSteps.push({ action: "aws:runShellScrpt", name: "run", inputs: { runCommand: ["echo {{ bad-name }}"] } });
        doc.mainSteps.push({ action: "aws:runShellScript", name: "third", inputs: { runCommand: "echo", timeoutSeconds: 0 } });
        assert.deepStrictEqual(checkDocument(doc, { kind: "Command" }), [
            'schemaVersion is "1.2"; a Command document must use "2.2"',
            'mainSteps[1] (run): step name "run" is used twice',
            'mainSteps[1] (run): unknown action "aws:runShellScrpt" for a Command document',
            'mainSteps[1].inputs.runCommand[0]: "{{ bad-name }}" opens a {{ }} reference SSM cannot parse (only letters, digits, \'_\', \'.\', \':\' inside)',
            "mainSteps[2] (third): inputs.runCommand must be a non-empty list of strings",
            "mainSteps[2] (third): inputs.timeoutSeconds must be an integer 1..172800 (or a {{ parameter }})",
        ]);
    });

    it("rejects a precondition the SSM agent does not understand (it would fail the step)", () => {
        const doc = good();
        doc.mainSteps[0].precondition = { StringEquals: ["platform", "Linux"] };
        assert.deepStrictEqual(checkDocument(doc), [
            'mainSteps[0] (run): precondition: StringEquals ["platform","Linux"] is not understood by the SSM agent (the step fails); use ["platformType", one of Linux, Windows, MacOS]',
        ]);
        doc.mainSteps[0].precondition = { StringLike: ["platformType", "Lin*"] };
        assert.deepStrictEqual(checkDocument(doc), ['mainSteps[0] (run): precondition: operator "StringLike" is not supported (only StringEquals)']);
        doc.mainSteps[0].precondition = { StringEquals: ["Windows", "platformType"] };
        assert.deepStrictEqual(checkDocument(doc), []);
    });

    it("a script containing {{ ... }} would be flagged (SSM substitutes inside heredocs too)", () => {
        const doc = good();
        doc.mainSteps[0].inputs!.runCommand = ["cat <<'EOF'", "echo {{ HOME }}", "EOF"];
        assert.deepStrictEqual(checkDocument(doc), ["mainSteps[0].inputs.runCommand[1]: {{ HOME }} is not a declared parameter"]);
    });

    it("enforces the 64 KB quota and valid JSON on content text", () => {
        const doc = good();
        doc.description = "x".repeat(70000);
        assert.deepStrictEqual(checkDocument(JSON.stringify(doc)), [`content is ${JSON.stringify(doc).length} bytes; SSM accepts at most 65536`]);
        assert.match(checkDocument("{")[0], /^content is not valid JSON/);
    });

    describe("Automation runbooks (schema 0.3)", () => {
        const runbook = (): SsmDocumentContent => ({
            schemaVersion: "0.3",
            assumeRole: "{{ AutomationAssumeRole }}",
            parameters: {
                AutomationAssumeRole: { type: "AWS::IAM::Role::Arn" },
                SourceAmi: { type: "String", allowedPattern: "^ami-[0-9a-f]{8,17}$" },
            },
            mainSteps: [
                { name: "launch", action: "aws:runInstances", inputs: { ImageId: "{{ SourceAmi }}", TagSpecifications: [{ Tags: [{ Key: "Execution", Value: "{{ automation:EXECUTION_ID }}" }] }] } },
                {
                    name: "describe",
                    action: "aws:executeAwsApi",
                    inputs: { Service: "ec2", Api: "DescribeInstances", InstanceIds: "{{ launch.InstanceIds }}" },
                    outputs: [{ Name: "State", Selector: "$.Reservations[0].Instances[0].State.Name", Type: "String" }],
                },
                { name: "image", action: "aws:createImage", inputs: { InstanceId: "{{ launch.InstanceIds }}", ImageName: "x-{{ global:DATE_TIME }}-{{ describe.State }}" } },
            ],
            outputs: ["image.ImageId", "describe.State"],
        });

        it("accepts parameters, earlier steps' declared and built-in outputs, and built-ins", () => {
            assert.deepStrictEqual(checkDocument(runbook()), []);
        });

        it("rejects a later or unknown step output, an unknown built-in and a Command-only action", () => {
            const doc = runbook();
            (doc.mainSteps[0].inputs as Record<string, unknown>).UserData = "{{ image.ImageId }} {{ describe.Nope }} {{ automation:NOPE }}";
            doc.mainSteps[1].action = "aws:runShellScript";
            doc.outputs = ["image.Nope"];
            assert.deepStrictEqual(checkDocument(doc), [
                "mainSteps[1] (describe): unknown action \"aws:runShellScript\" for an Automation document",
                "mainSteps[0].inputs.UserData: {{ image.ImageId }} is not a declared parameter, an earlier step's output or a built-in",
                "mainSteps[0].inputs.UserData: {{ describe.Nope }} is not a declared parameter, an earlier step's output or a built-in",
                "mainSteps[0].inputs.UserData: {{ automation:NOPE }} is not a declared parameter, an earlier step's output or a built-in",
                'outputs[0]: "image.Nope" is not a step output',
            ]);
        });

        it("requires constraints on runbook parameters only when asked", () => {
            assert.deepStrictEqual(checkDocument(runbook(), { requireConstraints: true }), [
                "parameter AutomationAssumeRole: has neither allowedPattern nor allowedValues (required: SSM substitutes the value as is, e.g. into shell)",
            ]);
        });
    });
});
