/**
 * The components as a library, each built with literal Args by a small program of its own
 * (tests/fixtures/components), with no stack config: the defaults each component applies, the
 * separate props that replaced `isProduction`, grants made by the caller on the tier's grantee,
 * and the argument checks that moved into the components with the AWS facts they encode.
 */
import { strict as assert } from "assert";
import { ProgramError, OfflineResult } from "../tools/offline";
import { byType, one } from "./support/resources";
import { serialRun, tempStackFile } from "./support/stacks";
import { AMI_FACTORY_DEFAULTS, BACKUP_DEFAULTS, DATABASE_DEFAULTS, MONITORING_DEFAULTS, WEB_TIER_DEFAULTS } from "../components";

const PROGRAM = "tests/fixtures/components";

describe("components with literal Args (tests/fixtures/components)", function () {
    this.timeout(120_000);
    let run: OfflineResult;
    before(async () => {
        run = await serialRun({ programDir: PROGRAM, stack: "test" });
    });
    const r = (type: string, name: string) => one(run.graph, type, name);

    describe("WebTier", () => {
        it("applies its defaults: the safe side of every prop that replaced isProduction", () => {
            assert.equal(WEB_TIER_DEFAULTS.deletionProtection, true);
            assert.equal(r("aws:lb/loadBalancer:LoadBalancer", "web").inputs.enableDeletionProtection, true);
            assert.equal(r("aws:lb/targetGroup:TargetGroup", "web").inputs.deregistrationDelay, 60);
            const group = r("aws:autoscaling/group:Group", "web");
            assert.equal((group.inputs.instanceRefresh as any).preferences.minHealthyPercentage, 90);
            assert.deepEqual([group.inputs.minSize, group.inputs.maxSize, group.inputs.desiredCapacity], [1, 2, 1]);
            const template = r("aws:ec2/launchTemplate:LaunchTemplate", "web");
            assert.equal(template.inputs.instanceType, "t4g.micro");
            assert.equal((template.inputs.blockDeviceMappings as any)[0].ebs.volumeSize, 8);
            assert.equal(r("aws:ssm/parameter:Parameter", "web-ami").inputs.name, "/platform/test/web/ami-id");
            // requireHttps (default): HTTPS on 443, HTTP only redirects.
            assert.equal(r("aws:lb/listener:Listener", "web-https").inputs.protocol, "HTTPS");
            assert.equal((r("aws:lb/listener:Listener", "web-http").inputs.defaultActions as any)[0].type, "redirect");
            const settings = (run.graph.outputs.outputs as any).webSettings;
            assert.equal(settings.healthCheckPath, "/healthz");
            assert.deepEqual(settings.backupTag, { key: "Backup", value: "true" });
        });

        it("takes each former isProduction decision as its own prop", () => {
            assert.equal(r("aws:lb/loadBalancer:LoadBalancer", "relaxed").inputs.enableDeletionProtection, false);
            assert.equal(r("aws:lb/targetGroup:TargetGroup", "relaxed").inputs.deregistrationDelay, 15);
            const group = r("aws:autoscaling/group:Group", "relaxed");
            assert.equal((group.inputs.instanceRefresh as any).preferences.minHealthyPercentage, 50);
            assert.deepEqual([group.inputs.maxSize, group.inputs.desiredCapacity], [3, 2]);
            // requireHttps: false without a certificate: one HTTP listener that forwards.
            assert.equal((r("aws:lb/listener:Listener", "relaxed-http").inputs.defaultActions as any)[0].type, "forward");
            assert.equal(byType(run.graph, "aws:lb/listener:Listener").filter((l) => l.name.startsWith("relaxed")).length, 1);
            // Two tiers of one stack get two AMI parameters (the default name carries the component's).
            assert.equal(r("aws:ssm/parameter:Parameter", "relaxed-ami").inputs.name, "/platform/test/relaxed/ami-id");
        });

        it("leaves the grants to its caller, and launches only once they exist", () => {
            assert.equal((run.graph.outputs.outputs as any).grantee, "web-instance");
            const grant = r("aws:iam/rolePolicy:RolePolicy", "releases-web-instance-read-releases-test");
            assert.equal(grant.parent, r("platform:bucket:PrivateBucket", "releases").urn);
            assert.deepEqual(grant.propertyDependencies.role, [r("aws:iam/role:Role", "web-instance").urn]);
            assert.ok(r("aws:ec2/launchTemplate:LaunchTemplate", "web").dependencies.includes(grant.urn), "the launch template waits for the caller's grant");
            // The tier grants nothing on buckets by itself: the relaxed tier, given none, has none.
            assert.deepEqual(byType(run.graph, "aws:iam/rolePolicy:RolePolicy").filter((p) => p.name.includes("relaxed-instance")).map((p) => p.name), []);
        });
    });

    describe("Database", () => {
        it("applies its defaults: protected from deletion, backups kept, PostgreSQL 16", () => {
            assert.deepEqual([DATABASE_DEFAULTS.deletionProtection, DATABASE_DEFAULTS.protect, DATABASE_DEFAULTS.keepAutomatedBackups], [true, true, true]);
            const db = r("aws:rds/instance:Instance", "db");
            assert.equal(db.inputs.deletionProtection, true);
            assert.equal(db.inputs.deleteAutomatedBackups, false);
            assert.equal(db.protect, true);
            assert.equal(db.deleteBeforeReplace, false);
            assert.deepEqual([db.inputs.engine, db.inputs.engineVersion, db.inputs.port, db.inputs.backupRetentionPeriod], ["postgres", "16", 5432, 7]);
            assert.deepEqual(db.inputs.enabledCloudwatchLogsExports, ["postgresql", "upgrade"]);
            assert.equal(r("aws:cloudwatch/logGroup:LogGroup", "db-log-postgresql").inputs.retentionInDays, 30);
        });

        it("takes deletionProtection, protect and keepAutomatedBackups separately; engine facts follow the engine", () => {
            const db = r("aws:rds/instance:Instance", "scratch");
            assert.equal(db.inputs.deletionProtection, false);
            assert.equal(db.inputs.deleteAutomatedBackups, true);
            assert.equal(db.protect, false);
            // Unprotected, a replacement deletes the old instance first (its identifier is fixed).
            assert.equal(db.deleteBeforeReplace, true);
            assert.deepEqual([db.inputs.engine, db.inputs.engineVersion, db.inputs.port], ["mariadb", "10.11", 3306]);
            assert.deepEqual(db.inputs.enabledCloudwatchLogsExports, ["error", "general", "slowquery"]);
        });
    });

    describe("AmiFactory", () => {
        it("schedules the bake and the imaging on its default cron schedules", () => {
            assert.equal(r("aws:ssm/association:Association", "ami-ami-bake-schedule").inputs.scheduleExpression, AMI_FACTORY_DEFAULTS.bakeSchedule);
            assert.equal(r("aws:ssm/association:Association", "ami-instance-imaging-schedule").inputs.scheduleExpression, AMI_FACTORY_DEFAULTS.imagingSchedule);
            const bake = JSON.parse(r("aws:ssm/document:Document", "ami-bake").inputs.content as string);
            assert.equal(bake.parameters.KeepImages.default, AMI_FACTORY_DEFAULTS.keepBakedImages);
        });
    });

    describe("Backup", () => {
        it("backs up its default directories on its default schedule, the drill on its own, and grants the grantees it is given", () => {
            const association = r("aws:ssm/association:Association", "backup-schedule");
            assert.equal(association.inputs.scheduleExpression, BACKUP_DEFAULTS.schedule);
            assert.equal((association.inputs.parameters as any).Directories, BACKUP_DEFAULTS.directories.join(" "));
            assert.equal(r("aws:ssm/association:Association", "backup-drill-schedule").inputs.scheduleExpression, BACKUP_DEFAULTS.drill.schedule);
            assert.deepEqual((run.graph.outputs.outputs as any).backupSettings.drill, BACKUP_DEFAULTS.drill);
            assert.ok(byType(run.graph, "aws:iam/rolePolicy:RolePolicy").some((p) => p.name === "logs-web-instance-write-ssm-backup-test"));
            assert.deepEqual(r("aws:iam/rolePolicy:RolePolicy", "backup-metrics").propertyDependencies.role, [r("aws:iam/role:Role", "web-instance").urn]);
        });
    });

    describe("Monitoring", () => {
        it("alarms on the thresholds and budgets by its defaults", () => {
            const budget = byType(run.graph, "aws:budgets/budget:Budget")[0];
            assert.equal(Number(budget.inputs.limitAmount), MONITORING_DEFAULTS.budgetUsd);
            const cpu = byType(run.graph, "aws:cloudwatch/metricAlarm:MetricAlarm").find((a) => a.inputs.metricName === "CPUUtilization" && (a.inputs.namespace as string) === "AWS/RDS")!;
            assert.equal(cpu.inputs.threshold, MONITORING_DEFAULTS.rdsCpuHighPercent);
        });
    });

    describe("argument checks (one error naming every problem)", () => {
        const CASES: Record<string, RegExp[]> = {
            httpsWithoutCertificate: [/WebTier "bad": requireHttps: the load balancer serves HTTPS only .* or set requireHttps: false/],
            // EC2 refuses to launch an arm64 image on an x86_64 type and the reverse.
            wrongFamily: [/WebTier "bad": instanceType t4g\.small: family "t4g" is not a known x86_64 family \(t4g is an arm64 family: set architecture: arm64\)/],
            smallRootVolume: [/rootVolumeGb must be an integer of at least 8 \(the Amazon Linux 2023 image size\), got 4/],
            databaseRules: [
                /Database "bad": /,
                /engineVersion is not a mysql version; allowed: 8\.0 or 8\.4/,
                /allocatedStorageGb must be at least 20 GiB/,
            ],
            // State Manager runs associations at most every 30 minutes (Reference: Cron and rate expressions for Systems Manager).
            backupRules: [/Backup "bad": /, /directories\[0\] = "relative" must match/, /backupTag\.key must not be "Stack"/, /schedule = "rate\(10 minutes\)": State Manager associations run at most every 30 minutes/],
            // State Manager: ApplyOnlyAtCronInterval "isn't supported for rate expressions" (CreateAssociation API reference).
            rateSchedule: [/AmiFactory "ami": bakeSchedule "rate\(1 day\)" must be a cron expression/, /keepBakedImages must be a whole number of at least 1, got 0/],
        };
        for (const [name, messages] of Object.entries(CASES)) {
            it(`refuses ${name}`, async () => {
                const configFile = tempStackFile(null, { "aws:region": "us-east-1", "components:case": name });
                await assert.rejects(serialRun({ programDir: PROGRAM, stack: "test", configFile }), (err: unknown) => {
                    assert.ok(err instanceof ProgramError, String(err));
                    for (const m of messages) assert.match((err as Error).message, m);
                    return true;
                });
            });
        }
    });
});
