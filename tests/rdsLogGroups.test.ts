/**
 * RDS exports its logs to /aws/rds/instance/<identifier>/<log> and, when that group is missing,
 * creates it itself: retention "never expire", untagged, outside the stack, still there after a
 * destroy (Amazon RDS User Guide, "Publishing database logs to Amazon CloudWatch Logs",
 * https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_LogAccess.Procedural.UploadtoCloudWatch.html).
 * The stack declares each group before the instance, with a retention CloudWatch Logs accepts
 * (PutRetentionPolicy, https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html).
 */
import { strict as assert } from "assert";
import { parseStackConfig, ConfigError } from "../config";
import { Graph } from "../tools/graph";
import { byType, one, serialRun, stackRun, tempStackFile } from "./support/stacks";

describe("RDS log groups", function () {
    this.timeout(240000);
    const graphs: Record<string, Graph> = {};
    before(async () => {
        for (const stack of ["dev", "prod"]) graphs[stack] = (await stackRun(stack)).graph;
    });

    for (const [stack, retention] of [
        ["dev", 30],
        ["prod", 365],
    ] as const) {
        it(`${stack}: one group per exported log, named as RDS names it, ${retention} days, tagged, created before the instance`, () => {
            const g = graphs[stack];
            const db = one(g.resources, "aws:rds/instance:Instance", "db");
            const exported = db.inputs.enabledCloudwatchLogsExports as string[];
            assert.deepStrictEqual(exported, ["postgresql", "upgrade"]);
            const groups = byType(g.resources, "aws:cloudwatch/logGroup:LogGroup").filter((r) => String(r.inputs.name).startsWith("/aws/rds/"));
            assert.deepStrictEqual(groups.map((r) => r.inputs.name).sort(), exported.map((l) => `/aws/rds/instance/${db.inputs.identifier}/${l}`).sort());
            for (const group of groups) {
                assert.strictEqual(group.inputs.retentionInDays, retention, group.name);
                assert.strictEqual(group.parent, one(g.resources, "platform:database:Database", "db").urn);
                assert.ok(db.dependencies.includes(group.urn), `the instance waits for ${group.name}`);
                assert.strictEqual(group.inputs.kmsKeyId, undefined);
            }
        });
    }

    it("a logs KMS key reaches every group", async () => {
        const key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        const file = tempStackFile("dev", { "platform:database": { instanceClass: "db.t4g.micro", multiAz: false, backupRetentionDays: 1, allocatedStorageGb: 20, maxAllocatedStorageGb: 50, logsKmsKeyArn: key, logRetentionDays: 90 } });
        const g = (await serialRun({ stack: "dev", configFile: file })).graph;
        const groups = byType(g.resources, "aws:cloudwatch/logGroup:LogGroup").filter((r) => String(r.inputs.name).startsWith("/aws/rds/"));
        assert.strictEqual(groups.length, 2);
        for (const group of groups) assert.deepStrictEqual([group.inputs.kmsKeyId, group.inputs.retentionInDays], [key, 90]);
    });

    it("a retention CloudWatch Logs does not accept is a config error naming the key", () => {
        assert.throws(
            () => parseStackConfig({ "aws:region": "us-east-1", "platform:environment": "dev", "platform:database": JSON.stringify({ logRetentionDays: 45 }) }, "platform", "dev"),
            (err: unknown) => err instanceof ConfigError && /platform:database\.logRetentionDays = 45: must be one of the retention periods CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90/.test(err.message),
        );
    });
});
