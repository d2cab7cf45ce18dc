/**
 * The database tier (components/database.ts) as the offline engine plans it: dev and prod from
 * their stack files, MySQL and MariaDB from stack-file variants, the component alone with an
 * app role (tests/fixtures/database), the config errors that stop a plan, and the args checks.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse, stringify } from "yaml";
import { RDS_REPLACING_INPUTS, parameterGroupFamily, validateDatabaseArgs, DatabaseArgs } from "../components/database";
import { windowsOverlap } from "../components/database";
import { Graph, GraphResource } from "../tools/graph";
import { MOCK_ACCOUNT_ID } from "../tools/mocks";
import { PROJECT_DIR, ProgramError, runOffline } from "../tools/offline";
import { runPolicies } from "../tools/policyCheck";
import { tempDir } from "./support/tmp";
import { one } from "./support/resources";

const COMPONENT = "platform:database:Database";
const INSTANCE = "aws:rds/instance:Instance";
const SUBNET_GROUP = "aws:rds/subnetGroup:SubnetGroup";
const PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup";
const ROLE = "aws:iam/role:Role";
const ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const FIXTURE_DIR = path.join(PROJECT_DIR, "tests", "fixtures", "database");
const KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

const tmpDir = tempDir("platform-database-test-");
after(() => fs.rmSync(tmpDir, { recursive: true, force: true }));

/** A copy of a stack file with `platform:database` (and `platform:environment`) overridden. */
function stackFileVariant(file: string, database: Record<string, unknown>, label: string, environment?: string): string {
    const doc = parse(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> };
    doc.config["platform:database"] = { ...((doc.config["platform:database"] as object) ?? {}), ...database };
    if (environment) doc.config["platform:environment"] = environment;
    // prod needs a certificate source (config.ts); the fixture has no web tier to use it.
    if (environment === "prod") doc.config["platform:webTier"] = { certificateArn: "arn:aws:acm:eu-west-1:123456789012:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0" };
    const out = path.join(tmpDir, `Pulumi.${label}.yaml`);
    fs.writeFileSync(out, stringify(doc));
    return out;
}


function children(graph: Graph): GraphResource[] {
    const component = one(graph, COMPONENT, "db");
    return graph.resources.filter((r) => r.parent === component.urn);
}

/** The Network's security group `network-<tier>`. */
function networkSg(graph: Graph, tier: string): GraphResource {
    return one(graph, "aws:ec2/securityGroup:SecurityGroup", `network-${tier}`);
}

interface Expected {
    stack: "dev" | "prod";
    instanceClass: string;
    maxAllocatedStorage: number;
    retention: number;
    multiAz: boolean;
    zones: number;
}

const STACKS: Expected[] = [
    { stack: "dev", instanceClass: "db.t4g.micro", maxAllocatedStorage: 50, retention: 1, multiAz: false, zones: 2 },
    { stack: "prod", instanceClass: "db.t4g.small", maxAllocatedStorage: 200, retention: 14, multiAz: true, zones: 3 },
];

describe("Database: dev and prod plans", () => {
    const graphs: Record<string, Graph> = {};
    before(async () => {
        for (const { stack } of STACKS) graphs[stack] = (await runOffline({ stack })).graph;
    });

    for (const e of STACKS) {
        const prod = e.stack === "prod";
        describe(e.stack, () => {
            let graph: Graph;
            let db: GraphResource;
            let input: Record<string, unknown>;
            before(() => {
                graph = graphs[e.stack];
                db = one(graph, INSTANCE, "db");
                input = db.inputs;
            });

            it("is one Database component at the stack root owning every database resource", () => {
                const component = one(graph, COMPONENT, "db");
                assert.ok(component.parent?.endsWith("pulumi:pulumi:Stack::platform-" + e.stack), component.parent ?? "no parent");
                const types = children(graph).map((r) => `${r.type}::${r.name}`).sort();
                // The exported logs' groups too (tests/rdsLogGroups.test.ts).
                const expected = [
                    `${INSTANCE}::db`, `${PARAMETER_GROUP}::db-params`, `${SUBNET_GROUP}::db-subnets`, `${ROLE_POLICY}::db-connect`, "random:index/randomId:RandomId::db-final-snapshot",
                    "aws:ssm/document:Document::db-bootstrap", `${ROLE_POLICY}::db-bootstrap-secret`,
                    "aws:cloudwatch/logGroup:LogGroup::db-log-postgresql", "aws:cloudwatch/logGroup:LogGroup::db-log-upgrade",
                ];
                if (prod) expected.push(`${ATTACHMENT}::db-monitoring`, `${ROLE}::db-monitoring`);
                assert.deepStrictEqual(types, expected.sort());
                for (const r of children(graph).filter((c) => c.type.startsWith("aws:"))) assert.ok(r.provider?.endsWith("pulumi:providers:aws::aws"), `${r.name} uses the stack's provider`);
            });

            it("runs the configured engine, version, class and gp3 storage with autoscaling", () => {
                assert.strictEqual(input.identifier, `platform-${e.stack}`);
                assert.strictEqual(input.engine, "postgres");
                assert.strictEqual(input.engineVersion, "16");
                assert.strictEqual(input.instanceClass, e.instanceClass);
                assert.strictEqual(input.port, 5432);
                assert.strictEqual(input.storageType, "gp3");
                assert.strictEqual(input.allocatedStorage, 20);
                assert.strictEqual(input.maxAllocatedStorage, e.maxAllocatedStorage);
                assert.strictEqual(input.dbName, "app");
                assert.strictEqual(input.username, "platform_admin");
                assert.strictEqual(input.autoMinorVersionUpgrade, true);
                assert.strictEqual(input.multiAz, e.multiAz);
            });

            it("sits in a subnet group of exactly the isolated subnets", () => {
                const group = one(graph, SUBNET_GROUP, "db-subnets");
                const isolated = graph.outputs.isolatedSubnetIds as string[];
                assert.strictEqual(isolated.length, e.zones);
                assert.deepStrictEqual(group.inputs.subnetIds, isolated);
                assert.match(String(input.dbSubnetGroupName), /^db-subnets-[0-9a-f]{7}$/);
                assert.deepStrictEqual(db.propertyDependencies.dbSubnetGroupName, [group.urn]);
            });

            it("uses the network's database security group, which admits only the app tier on the engine port", () => {
                const dbSg = networkSg(graph, "db");
                const appSg = networkSg(graph, "app");
                assert.deepStrictEqual(input.vpcSecurityGroupIds, [dbSg.id]);
                assert.deepStrictEqual(db.propertyDependencies.vpcSecurityGroupIds, [dbSg.urn]);
                const ingress = graph.resources.filter((r) => r.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule" && r.inputs.securityGroupId === dbSg.id);
                assert.deepStrictEqual(
                    ingress.map((r) => [r.inputs.referencedSecurityGroupId, r.inputs.fromPort, r.inputs.toPort, r.inputs.cidrIpv4, r.inputs.cidrIpv6]),
                    [[appSg.id, 5432, 5432, undefined, undefined]],
                );
                assert.strictEqual(input.publiclyAccessible, false);
            });

            it("encrypts storage with the AWS managed key when no key is configured", () => {
                assert.strictEqual(input.storageEncrypted, true);
                assert.ok(!("kmsKeyId" in input));
                assert.ok(!("masterUserSecretKmsKeyId" in input));
            });

            it("lets RDS manage the master password in Secrets Manager: no password anywhere in the plan", () => {
                assert.strictEqual(input.manageMasterUserPassword, true);
                for (const r of graph.resources) {
                    for (const key of ["password", "passwordWo", "masterPassword"]) {
                        assert.ok(!(key in r.inputs), `${r.type} ${r.name} has a ${key} input`);
                    }
                }
                assert.ok(!JSON.stringify(graph.outputs).toLowerCase().includes("password"));
            });

            it("turns on IAM database authentication", () => {
                assert.strictEqual(input.iamDatabaseAuthenticationEnabled, true);
            });

            it("grants the web tier's role rds-db:connect for app_user on this instance only", () => {
                const policy = one(graph, ROLE_POLICY, "db-connect");
                const webTier = one(graph, "platform:webTier:WebTier", "web");
                const [roleUrn] = policy.propertyDependencies.role;
                const role = graph.resources.find((r) => r.urn === roleUrn);
                assert.ok(role && role.type === ROLE && role.parent === webTier.urn, `the policy is on ${roleUrn}, not the web tier's role`);
                assert.deepStrictEqual(policy.propertyDependencies.role, [role.urn]);
                assert.strictEqual(policy.inputs.role, role.id);
                const resourceId = graph.outputs.databaseResourceId as string;
                assert.match(resourceId, /^db-[0-9A-F]{26}$/);
                assert.strictEqual(
                    policy.inputs.policy,
                    `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rds-db:connect","Resource":"arn:aws:rds-db:us-east-1:${MOCK_ACCOUNT_ID}:dbuser:${resourceId}/app_user"}]}`,
                );
            });

            it("keeps backups for the environment's retention in windows that do not overlap", () => {
                assert.strictEqual(input.backupRetentionPeriod, e.retention);
                assert.strictEqual(input.backupWindow, "03:00-03:30");
                assert.strictEqual(input.maintenanceWindow, "sun:04:00-sun:05:00");
                assert.strictEqual(windowsOverlap(String(input.backupWindow), String(input.maintenanceWindow)), false);
                assert.strictEqual(input.copyTagsToSnapshot, true);
            });

            it(prod ? "takes a final snapshot, has deletion protection and is protected" : "takes a final snapshot and can be deleted or replaced", () => {
                // Every environment keeps a final snapshot (the old expectation, dev skipping it,
                // lost the data of any replacement or destroy without asking).
                assert.strictEqual(input.skipFinalSnapshot, false);
                assert.strictEqual(input.deletionProtection, prod);
                assert.strictEqual(db.protect, prod);
                assert.strictEqual(input.deleteAutomatedBackups, !prod);
                const suffix = one(graph, "random:index/randomId:RandomId", "db-final-snapshot");
                assert.match(String(input.finalSnapshotIdentifier), new RegExp(`^platform-${e.stack}-final-[0-9a-f]{8}$`));
                assert.deepStrictEqual(db.propertyDependencies.finalSnapshotIdentifier, [suffix.urn]);
                // Only the instance holds data; nothing else is protected.
                for (const r of children(graph).filter((c) => c !== db)) assert.strictEqual(r.protect, false, r.name);
            });

            it(prod ? "refuses replacement by protection (Pulumi will not replace a protected resource)" : "can be replaced despite its fixed identifier: delete first, final snapshot named anew", () => {
                // terraform-provider-aws internal/service/rds/instance.go: these inputs are ForceNew.
                // With a fixed identifier, Pulumi's create-before-delete would ask RDS for a second
                // instance of the same name (DBInstanceAlreadyExists); a reused final snapshot
                // name fails the delete (DBSnapshotAlreadyExists, RDS DeleteDBInstance API reference).
                const forceNew = ["identifier", "engine", "dbName", "username", "storageEncrypted", "kmsKeyId", "availabilityZone", "characterSetName", "ncharCharacterSetName", "snapshotIdentifier", "timezone", "customIamInstanceProfile", "restoreToPointInTime", "identifierPrefix"];
                const setHere = forceNew.filter((k) => k in input);
                assert.deepStrictEqual([...RDS_REPLACING_INPUTS].filter((k) => k !== "kmsKeyId").sort(), setHere.filter((k) => k !== "kmsKeyId").sort());
                assert.strictEqual(typeof input.identifier, "string");
                assert.strictEqual(db.deleteBeforeReplace, !prod);
                const suffix = one(graph, "random:index/randomId:RandomId", "db-final-snapshot");
                // The random suffix is replaced (a new value) exactly when a replacing input changes.
                assert.deepStrictEqual(Object.keys(suffix.inputs.keepers as object).sort(), [...RDS_REPLACING_INPUTS].sort());
                for (const k of RDS_REPLACING_INPUTS) {
                    if (k in input) assert.strictEqual(String((suffix.inputs.keepers as Record<string, unknown>)[k]), String(input[k]), k);
                }
            });

            it(prod ? "has Performance Insights for 7 days" : "has no Performance Insights", () => {
                assert.strictEqual(input.performanceInsightsEnabled, prod);
                if (prod) assert.strictEqual(input.performanceInsightsRetentionPeriod, 7);
                else assert.ok(!("performanceInsightsRetentionPeriod" in input));
                assert.ok(!("performanceInsightsKmsKeyId" in input));
            });

            if (prod) {
                it("has enhanced monitoring every 60 s through its own role trusted by RDS monitoring only", () => {
                    const role = one(graph, ROLE, "db-monitoring");
                    const attachment = one(graph, ATTACHMENT, "db-monitoring");
                    assert.strictEqual(
                        role.inputs.assumeRolePolicy,
                        JSON.stringify({
                            Version: "2012-10-17",
                            Statement: [
                                {
                                    Effect: "Allow",
                                    Principal: { Service: "monitoring.rds.amazonaws.com" },
                                    Action: "sts:AssumeRole",
                                    Condition: { StringEquals: { "aws:SourceAccount": MOCK_ACCOUNT_ID } },
                                },
                            ],
                        }),
                    );
                    assert.strictEqual(attachment.inputs.policyArn, "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole");
                    assert.match(String(attachment.inputs.role), /^db-monitoring-[0-9a-f]{7}$/);
                    assert.deepStrictEqual(attachment.propertyDependencies.role, [role.urn]);
                    assert.strictEqual(input.monitoringInterval, 60);
                    assert.strictEqual(input.monitoringRoleArn, `arn:aws:iam::${MOCK_ACCOUNT_ID}:role/${attachment.inputs.role}`);
                    // RDS validates the role's permissions at create time: the attachment must come first.
                    assert.ok(db.dependencies.includes(attachment.urn));
                });
            } else {
                it("has no enhanced monitoring and no monitoring role", () => {
                    assert.strictEqual(input.monitoringInterval, 0);
                    assert.ok(!("monitoringRoleArn" in input));
                    assert.strictEqual(graph.resources.filter((r) => r.name === "db-monitoring").length, 0);
                });
            }

            it("exports the PostgreSQL logs to CloudWatch", () => {
                assert.deepStrictEqual(input.enabledCloudwatchLogsExports, ["postgresql", "upgrade"]);
            });

            it("uses a postgres16 parameter group that forces TLS", () => {
                const group = one(graph, PARAMETER_GROUP, "db-params");
                assert.strictEqual(group.inputs.family, "postgres16");
                assert.deepStrictEqual(group.inputs.parameters, [{ name: "rds.force_ssl", value: "1", applyMethod: "immediate" }]);
                assert.match(String(input.parameterGroupName), /^db-params-[0-9a-f]{7}$/);
                assert.deepStrictEqual(db.propertyDependencies.parameterGroupName, [group.urn]);
            });

            it("tags the instance with its Environment explicitly", () => {
                assert.deepStrictEqual(input.tags, {
                    Project: "platform",
                    Stack: e.stack,
                    Environment: e.stack,
                    Owner: "platform-team",
                    ManagedBy: "pulumi",
                    Name: `platform-${e.stack}`,
                });
            });

            it("exports endpoint, port, secret ARN and resource id", () => {
                const o = graph.outputs;
                assert.match(String(o.databaseEndpoint), new RegExp(`^platform-${e.stack}\\.[0-9a-f]{12}\\.us-east-1\\.rds\\.amazonaws\\.com:5432$`));
                assert.strictEqual(o.databasePort, 5432);
                assert.match(String(o.databaseSecretArn), new RegExp(`^arn:aws:secretsmanager:us-east-1:${MOCK_ACCOUNT_ID}:secret:rds!db-[0-9a-f]{8}-[0-9a-f]{6}$`));
                assert.match(String(o.databaseResourceId), /^db-[0-9A-F]{26}$/);
            });

            it("passes the policy pack: no violation on database resources, no mandatory violation in the stack", async () => {
                const violations = await runPolicies(graph);
                const mine = new Set([one(graph, COMPONENT, "db").urn, ...children(graph).map((r) => r.urn)]);
                assert.deepStrictEqual(violations.filter((v) => v.urn !== null && mine.has(v.urn)), []);
                assert.deepStrictEqual(violations.filter((v) => v.level === "mandatory"), []);
            });
        });
    }
});

describe("Database: MySQL and MariaDB", () => {
    const cases = [
        { engine: "mysql", engineVersion: "8.0", family: "mysql8.0" },
        { engine: "mysql", engineVersion: "8.4.3", family: "mysql8.4" },
        { engine: "mariadb", engineVersion: "10.11", family: "mariadb10.11" },
    ];
    const graphs: Graph[] = [];
    before(async () => {
        for (const c of cases) {
            const configFile = stackFileVariant(path.join(PROJECT_DIR, "Pulumi.dev.yaml"), { engine: c.engine, engineVersion: c.engineVersion }, `${c.engine}-${c.engineVersion}`);
            graphs.push((await runOffline({ stack: "dev", configFile })).graph);
        }
    });

    cases.forEach((c, i) => {
        it(`${c.engine} ${c.engineVersion}: ${c.family} parameter group requiring secure transport, port 3306, engine logs`, () => {
            const graph = graphs[i];
            const db = one(graph, INSTANCE, "db");
            assert.strictEqual(db.inputs.engine, c.engine);
            assert.strictEqual(db.inputs.engineVersion, c.engineVersion);
            assert.strictEqual(db.inputs.port, 3306);
            assert.strictEqual(db.inputs.storageType, "gp3");
            assert.strictEqual(db.inputs.manageMasterUserPassword, true);
            assert.strictEqual(db.inputs.iamDatabaseAuthenticationEnabled, true);
            assert.deepStrictEqual(db.inputs.enabledCloudwatchLogsExports, ["error", "general", "slowquery"]);
            const group = one(graph, PARAMETER_GROUP, "db-params");
            assert.strictEqual(group.inputs.family, c.family);
            assert.deepStrictEqual(group.inputs.parameters, [{ name: "require_secure_transport", value: "ON", applyMethod: "immediate" }]);
            // The network opens the engine's port, not PostgreSQL's, from the app tier.
            const dbSg = networkSg(graph, "db");
            const ingress = graph.resources.filter((r) => r.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule" && r.inputs.securityGroupId === dbSg.id);
            assert.deepStrictEqual(ingress.map((r) => [r.inputs.referencedSecurityGroupId, r.inputs.fromPort, r.inputs.toPort]), [[networkSg(graph, "app").id, 3306, 3306]]);
            assert.match(String(graph.outputs.databaseEndpoint), /:3306$/);
            assert.strictEqual(graph.outputs.databasePort, 3306);
        });
    });

    it("derives parameter group families from engine and version", () => {
        assert.strictEqual(parameterGroupFamily("postgres", "16"), "postgres16");
        assert.strictEqual(parameterGroupFamily("postgres", "16.4"), "postgres16");
        assert.strictEqual(parameterGroupFamily("postgres", "13.15"), "postgres13");
        assert.strictEqual(parameterGroupFamily("mysql", "8.0.39"), "mysql8.0");
        assert.strictEqual(parameterGroupFamily("mariadb", "10.6"), "mariadb10.6");
        assert.strictEqual(parameterGroupFamily("mariadb", "11.4.3"), "mariadb11.4");
    });
});

describe("Database: the component alone with an app role and a KMS key (fixture)", () => {
    let dev: Graph;
    let prodKms: Graph;
    before(async () => {
        dev = (await runOffline({ stack: "dev", programDir: FIXTURE_DIR })).graph;
        const configFile = stackFileVariant(path.join(FIXTURE_DIR, "Pulumi.dev.yaml"), { kmsKeyArn: KMS_KEY, iamUser: "reporting" }, "fixture-prod-kms", "prod");
        prodKms = (await runOffline({ stack: "prod", programDir: FIXTURE_DIR, configFile })).graph;
    });

    for (const [label, iamUser, get] of [
        ["dev", "app_user", () => dev],
        ["prod", "reporting", () => prodKms],
    ] as const) {
        it(`${label}: grants the app role rds-db:connect for ${iamUser} on this instance only`, () => {
            const graph = get();
            const policy = one(graph, ROLE_POLICY, "db-connect");
            const role = one(graph, ROLE, "app");
            const resourceId = graph.outputs.resourceId as string;
            assert.match(resourceId, /^db-[0-9A-F]{26}$/);
            assert.strictEqual(policy.inputs.role, role.id);
            assert.deepStrictEqual(policy.propertyDependencies.role, [role.urn]);
            assert.ok(policy.dependencies.includes(one(graph, INSTANCE, "db").urn), "the policy waits for the instance (its resource id)");
            assert.strictEqual(
                policy.inputs.policy,
                `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rds-db:connect","Resource":"arn:aws:rds-db:eu-west-1:${MOCK_ACCOUNT_ID}:dbuser:${resourceId}/${iamUser}"}]}`,
            );
            assert.deepStrictEqual(graph.resources.filter((r) => r.type === ROLE_POLICY).map((r) => r.name).sort(), ["db-bootstrap-secret", "db-connect"]);
        });

        it(`${label}: lets the app role read exactly this instance's master secret${label === "prod" ? ", and decrypt it with the CMK through Secrets Manager only" : ""} (db-bootstrap)`, () => {
            const graph = get();
            const policy = one(graph, ROLE_POLICY, "db-bootstrap-secret");
            assert.strictEqual(policy.inputs.role, one(graph, ROLE, "app").id);
            const secretArn = String(graph.outputs.secretArn);
            assert.match(secretArn, /^arn:aws:secretsmanager:eu-west-1:\d{12}:secret:rds!db-/);
            const statements: unknown[] = [{ Sid: "ReadMasterSecret", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: secretArn }];
            if (label === "prod") {
                // A customer managed key: GetSecretValue decrypts with it, as Secrets Manager, for the caller.
                statements.push({ Sid: "DecryptMasterSecret", Effect: "Allow", Action: "kms:Decrypt", Resource: KMS_KEY, Condition: { StringEquals: { "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com" } } });
            }
            assert.deepStrictEqual(JSON.parse(String(policy.inputs.policy)), { Version: "2012-10-17", Statement: statements });
            const doc = one(graph, "aws:ssm/document:Document", "db-bootstrap");
            const content = JSON.parse(String(doc.inputs.content));
            const command = (content.mainSteps[0].inputs.runCommand as string[]).at(-1)!;
            assert.ok(command.includes(`--secret-arn '${secretArn}'`), command);
            assert.ok(command.includes(`--user '${iamUser}'`), command);
            assert.strictEqual(graph.outputs.bootstrapDocumentName ?? doc.inputs.name ?? "auto-named", doc.inputs.name ?? "auto-named");
        });
    }

    it("places the instance in the given subnets and security group and exports them", () => {
        assert.deepStrictEqual(one(dev, SUBNET_GROUP, "db-subnets").inputs.subnetIds, ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]);
        assert.deepStrictEqual(one(dev, INSTANCE, "db").inputs.vpcSecurityGroupIds, ["sg-0ccccccccccccccccc"]);
        assert.strictEqual(dev.outputs.securityGroupId, "sg-0ccccccccccccccccc");
        assert.strictEqual(dev.outputs.identifier, "platform-dev");
        assert.match(String(dev.outputs.secretArn), /^arn:aws:secretsmanager:eu-west-1:/);
    });

    it("uses the configured KMS key for storage, the master secret and Performance Insights", () => {
        const input = one(prodKms, INSTANCE, "db").inputs;
        assert.strictEqual(input.storageEncrypted, true);
        assert.strictEqual(input.kmsKeyId, KMS_KEY);
        assert.strictEqual(input.masterUserSecretKmsKeyId, KMS_KEY);
        assert.strictEqual(input.performanceInsightsEnabled, true);
        assert.strictEqual(input.performanceInsightsKmsKeyId, KMS_KEY);
        assert.strictEqual(input.performanceInsightsRetentionPeriod, 7);
        assert.strictEqual(one(prodKms, INSTANCE, "db").protect, true);
    });
});

describe("Database: config errors stop the plan (exit 2) naming every bad key", () => {
    async function configError(database: Record<string, unknown>, label: string): Promise<ProgramError> {
        const configFile = stackFileVariant(path.join(PROJECT_DIR, "Pulumi.dev.yaml"), database, label);
        try {
            await runOffline({ stack: "dev", configFile });
        } catch (err) {
            assert.ok(err instanceof ProgramError, String(err));
            assert.strictEqual(err.kind, "config");
            return err;
        }
        assert.fail("the plan succeeded with a bad database config");
    }
    const problemKeys = (err: ProgramError) => [...err.message.matchAll(/^ {2}- (\S+?)(?: = |: )/gm)].map((m) => m[1]);

    const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
        ["an unknown engine", { engine: "oracle" }, "platform:database.engine", /unknown engine; allowed: postgres, mysql, mariadb/],
        ["a version of another engine", { engine: "postgres", engineVersion: "8.0" }, "platform:database.engineVersion", /is not a postgres version/],
        ["a class postgres does not offer", { instanceClass: "db.t2.micro" }, "platform:database.instanceClass", /db\.t2\.\* is not offered for current postgres/],
        ["storage below the minimum", { allocatedStorageGb: 10 }, "platform:database.allocatedStorageGb", /must be at least 20 GiB/],
        ["overlapping windows", { backupWindow: "04:30-05:00", maintenanceWindow: "sun:04:00-sun:05:00" }, "platform:database.maintenanceWindow", /overlaps the backup window/],
    ];
    cases.forEach(([what, database, key, message], i) => {
        it(`rejects ${what}`, async () => {
            const err = await configError(database, `bad-${i}`);
            assert.deepStrictEqual(problemKeys(err), [key]);
            assert.match(err.message, message);
        });
    });

    it("reports all five in one error", async () => {
        const err = await configError(
            { engine: "oracle", engineVersion: "19.0", instanceClass: "db.t2.micro", allocatedStorageGb: 10, backupWindow: "04:30-05:00", maintenanceWindow: "sun:04:00-sun:05:00" },
            "bad-all",
        );
        assert.deepStrictEqual(problemKeys(err).sort(), [
            "platform:database.allocatedStorageGb",
            "platform:database.engine",
            "platform:database.engineVersion",
            "platform:database.instanceClass",
            "platform:database.maintenanceWindow",
        ]);
        assert.match(err.message, /\(5 problems\)/);
        assert.match(err.message, /platform:database\.engine = "oracle": unknown engine/);
    });

    it("requires 14 days of backups in prod", async () => {
        const configFile = stackFileVariant(path.join(PROJECT_DIR, "Pulumi.prod.yaml"), { backupRetentionDays: 7 }, "prod-short-retention");
        await assert.rejects(runOffline({ stack: "prod", configFile }), (err: unknown) => {
            assert.ok(err instanceof ProgramError);
            assert.strictEqual(err.kind, "config");
            assert.match(err.message, /platform:database\.backupRetentionDays = 7: must be at least 14 days in prod/);
            return true;
        });
    });
});

describe("Database: args are checked up front", () => {
    const base = (): DatabaseArgs => ({
        engine: "postgres",
        engineVersion: "16",
        instanceClass: "db.t4g.micro",
        allocatedStorageGb: 20,
        maxAllocatedStorageGb: 50,
        multiAz: false,
        backupRetentionDays: 1,
        logRetentionDays: 30,
        backupWindow: "03:00-03:30",
        maintenanceWindow: "sun:04:00-sun:05:00",
        performanceInsights: false,
        monitoringIntervalSeconds: 0,
        databaseName: "app",
        masterUsername: "platform_admin",
        iamUser: "app_user",
        stack: "dev",
        project: "platform",
        deletionProtection: false,
        protect: false,
        keepAutomatedBackups: false,
        isolatedSubnetIds: ["subnet-1", "subnet-2"],
        securityGroupId: "sg-1",
    });

    it("accepts valid args", () => {
        assert.doesNotThrow(() => validateDatabaseArgs("db", base()));
    });

    it("names every problem in one error, each saying what to do", () => {
        const args = base();
        args.stack = "my_stack";
        args.isolatedSubnetIds = ["subnet-1"];
        args.securityGroupId = "";
        args.maxAllocatedStorageGb = 10;
        args.logRetentionDays = 45;
        assert.throws(
            () => validateDatabaseArgs("db", args),
            (err: Error) => {
                assert.match(err.message, /^Database "db": /);
                assert.match(err.message, /identifier "platform-my_stack" .* is not a valid RDS identifier: use a letter first/);
                // The per-environment rule (14 days of backups in prod) is the config's, tested above with the stack file.
                assert.match(err.message, /maxAllocatedStorageGb must be at least allocatedStorageGb \(20\)/);
                assert.match(err.message, /logRetentionDays must be one of the retention periods CloudWatch Logs accepts: 1, 3, 5/);
                assert.match(err.message, /isolatedSubnetIds must name subnets in at least two zones/);
                assert.match(err.message, /securityGroupId is required \(pass network\.databaseSecurityGroupId\)/);
                return true;
            },
        );
    });

    it("rejects an engine the component does not know", () => {
        const args = base();
        (args as { engine: string }).engine = "oracle";
        assert.throws(() => validateDatabaseArgs("db", args), /engine "oracle" is not supported; use one of postgres, mysql, mariadb/);
    });
});
