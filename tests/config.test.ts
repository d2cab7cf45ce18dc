import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, inProgram, parseStackConfig, runChecks, StackConfig } from "../config";
import { windowsOverlap } from "../config/database";

const BASE = { "aws:region": "us-east-1", "platform:environment": "dev" };

function parse(raw: Record<string, unknown>, stack = "dev"): StackConfig {
    const encoded: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...BASE, ...raw })) {
        if (v !== undefined) encoded[k] = typeof v === "string" ? v : JSON.stringify(v);
    }
    return parseStackConfig(encoded, "platform", stack);
}

/** The problems a config produces, as "key: message" lines. */
function problems(raw: Record<string, unknown>): string[] {
    try {
        parse(raw);
    } catch (err) {
        assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
        return err.problems.map((p) => `${p.key} = ${JSON.stringify(p.value)}: ${p.message}`);
    }
    return [];
}

function expectProblem(raw: Record<string, unknown>, key: string, pattern: RegExp): void {
    const found = problems(raw);
    assert.ok(found.some((p) => p.startsWith(`${key} `) && pattern.test(p)), `expected ${key} ~ ${pattern}, got:\n${found.join("\n")}`);
}

describe("config: environment defaults", () => {
    it("makes dev cheap: 2 zones, no NAT gateway, one small instance with a public address, single-AZ database", () => {
        const c = parse({});
        assert.equal(c.environment, "dev");
        assert.equal(c.isProduction, false);
        assert.deepEqual([c.network.azCount, c.network.natGateways, c.network.interfaceEndpoints, c.webTier.mode], [2, "none", false, "single"]);
        assert.deepEqual([c.webTier.instanceType, c.webTier.desiredCapacity, c.database.instanceClass, c.database.multiAz], ["t4g.micro", 1, "db.t4g.micro", false]);
        assert.equal(c.backup.schedule, "cron(0 2 * * ? *)");
    });

    it("makes prod highly available: 3 zones, one NAT gateway per zone, Multi-AZ, 14 days of backups", () => {
        const c = parse({ "platform:environment": "prod", "platform:dns": { enabled: true } }, "prod");
        assert.equal(c.isProduction, true);
        assert.deepEqual([c.network.azCount, c.network.natGateways, c.network.interfaceEndpoints, c.webTier.mode], [3, "onePerAz", true, "asg"]);
        assert.deepEqual([c.database.multiAz, c.database.backupRetentionDays, c.webTier.minSize], [true, 14, 2]);
        assert.equal(c.backup.schedule, "cron(0 */4 * * ? *)");
    });

    it("merges a partial section over the environment's defaults and tags every resource", () => {
        const c = parse({ "platform:network": { azCount: 3 }, "platform:owner": "web-team" });
        assert.deepEqual([c.network.azCount, c.network.natGateways, c.network.vpcCidr], [3, "none", "10.0.0.0/16"]);
        assert.deepEqual(c.tags, { Project: "platform", Stack: "dev", Environment: "dev", Owner: "web-team", ManagedBy: "pulumi" });
        assert.equal(c.webTier.amiParameterName, "/platform/dev/web/ami-id");
    });

    it("ignores other namespaces' keys but requires aws:region", () => {
        assert.doesNotThrow(() => parse({ "aws:profile": "x", "other:key": "y" }));
        expectProblem({ "aws:region": undefined }, "aws:region", /must be set to an AWS region/);
        expectProblem({ "aws:region": "mars-1" }, "aws:region", /must be set to an AWS region/);
    });
});

describe("config: validation names every bad key, the value and what is allowed", () => {
    it("requires a known environment", () => {
        expectProblem({ "platform:environment": undefined }, "platform:environment", /is required; one of dev, staging, prod/);
        expectProblem({ "platform:environment": "qa" }, "platform:environment", /"qa": unknown environment; allowed: dev, staging, prod/);
    });

    it("rejects an invalid VPC CIDR, host bits and sizes a VPC cannot have", () => {
        expectProblem({ "platform:network": { vpcCidr: "10.0.0/16" } }, "platform:network.vpcCidr", /not an IPv4 CIDR block/);
        expectProblem({ "platform:network": { vpcCidr: "10.0.1.0/16" } }, "platform:network.vpcCidr", /host bits set/);
        expectProblem({ "platform:network": { vpcCidr: "10.0.0.0/8" } }, "platform:network.vpcCidr", /between \/16 and \/24/);
    });

    it("rejects subnet masks that do not fit the VPC", () => {
        expectProblem({ "platform:network": { vpcCidr: "10.0.0.0/20", subnetMasks: { public: 24, private: 20, isolated: 24 } } }, "platform:network.subnetMasks", /private mask \/20 is larger than each availability zone's share/);
        expectProblem({ "platform:network": { vpcCidr: "10.0.0.0/22", subnetMasks: { public: 24, private: 24, isolated: 24 } } }, "platform:network.subnetMasks", /do not fit/);
        expectProblem({ "platform:network": { subnetMasks: { public: 29, private: 20, isolated: 24 } } }, "platform:network.subnetMasks.public", /must be at most 28/);
    });

    it("rejects an AZ count out of range", () => {
        expectProblem({ "platform:network": { azCount: 1 } }, "platform:network.azCount", /at least 2/);
        expectProblem({ "platform:network": { azCount: 7 } }, "platform:network.azCount", /at most 6/);
        expectProblem({ "platform:network": { azCount: 2.5 } }, "platform:network.azCount", /whole number/);
    });

    it("rejects NAT strategies that break the environment's promises", () => {
        expectProblem({ "platform:network": { natGateways: "many" } }, "platform:network.natGateways", /none.*single.*onePerAz/);
        expectProblem({ "platform:environment": "prod", "platform:network": { natGateways: "single" } }, "platform:network.natGateways", /single point of failure/);
        expectProblem({ "platform:network": { natGateways: "none", interfaceEndpoints: false }, "platform:webTier": { mode: "asg" } }, "platform:network.interfaceEndpoints", /cannot reach SSM/);
        // A single instance in a public subnet reaches SSM over its own address: no endpoints needed.
        assert.doesNotThrow(() => parse({ "platform:network": { natGateways: "none", interfaceEndpoints: false }, "platform:webTier": { mode: "single" } }));
        const staging = parse({ "platform:environment": "staging" }, "staging");
        assert.deepEqual([staging.network.natGateways, staging.webTier.mode, staging.isProduction], ["single", "asg", false]);
        expectProblem({ "platform:network": { interfaceEndpoints: true, interfaceEndpointAzCount: 3 } }, "platform:network.interfaceEndpointAzCount", /must not exceed azCount \(2\)/);
        expectProblem({ "platform:network": { flowLogs: { enabled: true, retentionDays: 10, trafficType: "ALL" } } }, "platform:network.flowLogs.retentionDays", /one of CloudWatch Logs' retention periods/);
    });

    it("refuses a prod stack with no certificate source, naming both ways to get one, and prod in single mode", () => {
        const found = problems({ "platform:environment": "prod" });
        assert.deepEqual(found, [
            'platform:webTier.certificateArn = undefined: prod serves HTTPS only and needs a certificate: either enable DNS (dns.enabled: true with dns.parentDomain set to your domain; ' +
                "the stack creates its zone and a DNS-validated ACM certificate) or set webTier.certificateArn to an ACM certificate in the stack's region",
        ]);
        assert.doesNotThrow(() => parse({ "platform:environment": "prod", "platform:dns": { enabled: true, parentDomain: "example.org" } }, "prod"));
        assert.doesNotThrow(() => parse({ "platform:environment": "prod", "platform:webTier": { certificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0" } }, "prod"));
        expectProblem({ "platform:environment": "prod", "platform:webTier": { mode: "single" } }, "platform:webTier.mode", /must be "asg" in prod: single mode has no load balancer/);
        // Outside prod plain HTTP stays possible (the policy pack reports it as advisory).
        assert.doesNotThrow(() => parse({ "platform:environment": "staging" }, "staging"));
    });

    it("rejects min > max and a desired capacity outside the range", () => {
        expectProblem({ "platform:webTier": { minSize: 3, maxSize: 2, desiredCapacity: 2 } }, "platform:webTier.minSize", /must not exceed maxSize \(2\)/);
        expectProblem({ "platform:webTier": { minSize: 1, maxSize: 2, desiredCapacity: 5 } }, "platform:webTier.desiredCapacity", /must not exceed maxSize \(2\)/);
        expectProblem({ "platform:webTier": { minSize: 2, maxSize: 4, desiredCapacity: 1 } }, "platform:webTier.desiredCapacity", /must be at least minSize \(2\)/);
    });

    it("rejects an instance family that does not match the AMI architecture, and a bad health check path", () => {
        expectProblem({ "platform:webTier": { instanceType: "t3.micro" } }, "platform:webTier.instanceType", /t3 is an x86_64 family: set architecture: x86_64/);
        expectProblem({ "platform:webTier": { instanceType: "zz9.micro" } }, "platform:webTier.instanceType", /not a known arm64 family/);
        expectProblem({ "platform:webTier": { healthCheckPath: "healthz" } }, "platform:webTier.healthCheckPath", /must start with "\/"/);
        assert.doesNotThrow(() => parse({ "platform:webTier": { architecture: "x86_64", instanceType: "t3.small" } }));
    });

    it("rejects database engines, versions, classes, storage and windows that RDS would refuse", () => {
        expectProblem({ "platform:database": { engine: "oracle" } }, "platform:database.engine", /postgres.*mysql.*mariadb/);
        expectProblem({ "platform:database": { engineVersion: "8.0" } }, "platform:database.engineVersion", /not a postgres version/);
        expectProblem({ "platform:database": { instanceClass: "db.t2.micro" } }, "platform:database.instanceClass", /db\.t2\.\* is not offered for current postgres/);
        expectProblem({ "platform:database": { allocatedStorageGb: 10 } }, "platform:database.allocatedStorageGb", /at least 20 GiB/);
        expectProblem({ "platform:database": { maxAllocatedStorageGb: 10 } }, "platform:database.maxAllocatedStorageGb", /at least allocatedStorageGb/);
        expectProblem({ "platform:database": { backupWindow: "04:00-04:30", maintenanceWindow: "sun:04:15-sun:05:00" } }, "platform:database.maintenanceWindow", /overlaps the backup window/);
        expectProblem({ "platform:database": { backupWindow: "04:00-04:10" } }, "platform:database.backupWindow", /at least 30 minutes/);
        expectProblem({ "platform:environment": "prod", "platform:database": { backupRetentionDays: 7 } }, "platform:database.backupRetentionDays", /at least 14 days in prod/);
        expectProblem({ "platform:database": { backupRetentionDays: 0 } }, "platform:database.backupRetentionDays", /at least 1 day/);
    });

    it("computes window overlaps across days and midnight", () => {
        assert.equal(windowsOverlap("23:30-00:30", "mon:00:00-mon:01:00"), true);
        assert.equal(windowsOverlap("03:00-03:30", "sun:04:00-sun:05:00"), false);
        assert.equal(windowsOverlap("03:00-03:30", "sun:23:00-mon:03:15"), true);
    });

    it("rejects DNS names and failover without a health check", () => {
        expectProblem({ "platform:dns": { parentDomain: "not a domain" } }, "platform:dns.parentDomain", /valid DNS name/);
        expectProblem({ "platform:dns": { subdomain: "dev_1" } }, "platform:dns.subdomain", /one DNS label/);
        expectProblem({ "platform:dns": { failover: true, healthCheck: { enabled: false } } }, "platform:dns.healthCheck.path", /failover needs a health check/);
        expectProblem({ "platform:dns": { enabled: true }, "platform:webTier": { mode: "single" } }, "platform:dns.enabled", /needs webTier.mode "asg"/);
    });

    it("rejects backup settings that cannot work", () => {
        expectProblem({ "platform:backup": { directories: ["relative/path"] } }, "platform:backup.directories[0]", /absolute path/);
        expectProblem({ "platform:backup": { directories: ["/var/../etc"] } }, "platform:backup.directories[0]", /must not contain '\.\.'/);
        expectProblem({ "platform:backup": { schedule: "daily" } }, "platform:backup.schedule", /AWS schedule expression/);
        expectProblem({ "platform:backup": { glacierAfterDays: 20, infrequentAccessAfterDays: 30 } }, "platform:backup.glacierAfterDays", /greater than infrequentAccessAfterDays/);
        expectProblem({ "platform:backup": { objectLock: { enabled: true, mode: "COMPLIANCE", days: 400 } } }, "platform:backup.objectLock.days", /must not exceed expireAfterDays/);
    });

    it("names unknown keys in the namespace, at every depth, with a suggestion", () => {
        expectProblem({ "platform:netwrok": { azCount: 2 } }, "platform:netwrok", /unknown key \(did you mean "network"\?\)/);
        expectProblem({ "platform:network": { natGateway: "single" } }, "platform:network.natGateway", /unknown key \(did you mean "natGateways"\?\); known keys: vpcCidr/);
        expectProblem({ "platform:webTier": { snapshots: { retain: 3 } } }, "platform:webTier.snapshots.retain", /unknown key.*known keys: enabled, intervalHours, time, retainCount/);
    });

    it("rejects sections that are not objects and simple keys of the wrong shape", () => {
        expectProblem({ "platform:network": "big" }, "platform:network", /must be an object/);
        expectProblem({ "platform:alarmEmails": "ops@example.com" }, "platform:alarmEmails", /must be a list/);
        expectProblem({ "platform:alarmEmails": ["not-an-email"] }, "platform:alarmEmails[0]", /e-mail address/);
    });

    it("reports every problem at once, in one message", () => {
        const found = problems({
            "platform:environment": "prod",
            "platform:network": { vpcCidr: "300.0.0.0/16", azCount: 9 },
            "platform:webTier": { minSize: 4, maxSize: 2, desiredCapacity: 3 },
            "platform:typo": true,
        });
        for (const key of ["platform:network.vpcCidr", "platform:network.azCount", "platform:webTier.minSize", "platform:typo"]) {
            assert.ok(found.some((p) => p.startsWith(`${key} `)), `missing ${key} in:\n${found.join("\n")}`);
        }
        try {
            parse({ "platform:network": { azCount: 9 }, "platform:typo": 1 });
            assert.fail("expected a ConfigError");
        } catch (err) {
            assert.match((err as Error).message, /^Invalid configuration for stack "dev" \(2 problems\):\n  - platform:typo = 1: unknown key/);
        }
    });
});

describe("config: a wrong field hides nothing else, and invents nothing", () => {
    it("a wrong type in a section still runs the section's checks that do not read it", () => {
        assert.deepEqual(problems({ "platform:webTier": { maxSize: "two", instanceType: "m5.large" } }), [
            'platform:webTier.maxSize = "two": must be a number',
            'platform:webTier.instanceType = "m5.large": family "m5" is not a known arm64 family (m5 is an x86_64 family: set architecture: x86_64); allowed: t4g, m6g, m6gd, m7g, m7gd, m8g, c6g, c6gd, c6gn, c7g, c7gd, c7gn, c8g, r6g, r6gd, r7g, r7gd, r8g',
        ]);
    });

    it("a check that reads the wrong field stays silent instead of judging a made-up value", () => {
        // maxSize is wrong: "minSize must not exceed maxSize (2)" would blame the default, not the user.
        assert.deepEqual(problems({ "platform:webTier": { maxSize: "two", minSize: 5, desiredCapacity: 9 } }), ['platform:webTier.maxSize = "two": must be a number']);
        // encryption is wrong: "kmsKeyArn needs encryption kms" would be about a value the user never wrote.
        assert.deepEqual(problems({ "platform:buckets": { encryption: "kmss", kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/abc" } }), ['platform:buckets.encryption = "kmss": must be one of "s3", "kms"']);
        // A wrong item in a list: the list is left out of the checks (no "lists /srv twice" about the defaults).
        assert.deepEqual(problems({ "platform:backup": { directories: ["/srv", "relative"] } }).map((p) => p.split(":").slice(0, 2).join(":")), ['platform:backup.directories[1] = "relative"']);
    });

    it("the checks still run on the fields that are right, also in nested objects", () => {
        const found = problems({ "platform:backup": { fullEvery: "often", glacierAfterDays: 10, infrequentAccessAfterDays: 30 } });
        assert.deepEqual(found, ['platform:backup.fullEvery = "often": must be a number', "platform:backup.glacierAfterDays = 10: must be greater than infrequentAccessAfterDays (30)"]);
    });

    it("a wrong field skips only the checks across sections that read it", () => {
        // webTier.minSize is wrong; "prod needs mode asg" reads webTier.mode only, so it still reports.
        assert.deepEqual(problems({ "platform:environment": "prod", "platform:webTier": { mode: "single", minSize: "three" }, "platform:dns": { enabled: false } }), [
            'platform:webTier.minSize = "three": must be a number',
            'platform:webTier.mode = "single": must be "asg" in prod: single mode has no load balancer, so no HTTPS termination, no redundancy and no health-checked replacement',
        ]);
        // webTier.mode itself is wrong: every check across sections that reads it stays silent.
        assert.deepEqual(problems({ "platform:environment": "prod", "platform:webTier": { mode: "singel" }, "platform:dns": { enabled: false } }), ['platform:webTier.mode = "singel": must be one of "asg", "single"']);
        // A section that is not an object at all: nothing judges the defaults standing in for it (dev's
        // network has no NAT and no endpoints, which an asg web tier cannot live with), the rest still reports.
        assert.deepEqual(problems({ "platform:network": "big", "platform:webTier": { mode: "asg", minSize: 3, maxSize: 2 } }), [
            'platform:network = "big": must be an object (a YAML mapping of settings)',
            "platform:webTier.minSize = 3: must not exceed maxSize (2)",
            "platform:webTier.desiredCapacity = 1: must be at least minSize (3)",
        ]);
    });

    it("what a check reads is recorded as it runs: a check that never reaches the failed field still reports", () => {
        type V = { lock: { enabled: boolean; days: number }; expire: number; dirs: string[] };
        const value: V = { lock: { enabled: false, days: 0 }, expire: 5, dirs: ["/a"] };
        const ctx = { environment: "dev" as const, stack: "dev" };
        const lockCheck = (v: V) => v.lock.enabled && v.expire < v.lock.days && { path: "lock.days", message: "too long" };
        const expireCheck = (v: V) => v.expire < 10 && { path: "expire", message: "too short" };
        const listCheck = (v: V) => v.dirs.map((d) => ({ path: "dirs", message: d }));
        // lock.days failed: the lock check stops at `enabled` (false), so it read nothing that failed.
        assert.deepEqual(runChecks([lockCheck, expireCheck], value, ["lock.days"], ctx), [{ path: "expire", message: "too short" }]);
        // With the lock enabled it reads lock.days and is skipped; the other check still reports.
        assert.deepEqual(runChecks([lockCheck, expireCheck], { ...value, lock: { enabled: true, days: 30 } }, ["lock.days"], ctx), [{ path: "expire", message: "too short" }]);
        // Reading a list's items (or its length) is reading the list; a failed parent covers its children.
        assert.deepEqual(runChecks([listCheck, expireCheck], value, ["dirs"], ctx), [{ path: "expire", message: "too short" }]);
        assert.deepEqual(runChecks([lockCheck, expireCheck], { ...value, lock: { enabled: true, days: 30 } }, ["lock"], ctx), [{ path: "expire", message: "too short" }]);
        assert.deepEqual(runChecks([listCheck, expireCheck], value, [""], ctx), [], "the whole value failed");
    });

    it("an unknown environment: a did-you-mean, and only the problems that hold whichever environment was meant", () => {
        // desiredCapacity 4 is within prod's defaults (2..6) but not dev's or staging's (1..2): not reported.
        const found = problems({ "platform:environment": "prdo", "platform:webTier": { desiredCapacity: 4 }, "platform:network": { azCount: 9 } });
        assert.deepEqual(found, [
            'platform:environment = "prdo": unknown environment (did you mean "prod"?); allowed: dev, staging, prod',
            "platform:network.azCount = 9: must be at most 6",
        ]);
    });
});

describe("inProgram: a program's config error as the engine wants it", () => {
    it("throws a ConfigError as a RunError (the engine prints its message alone, no stack trace) that keeps its name and problems", () => {
        const problems = [{ key: "platform:network.azCount", value: 9, message: "must be at most 6" }];
        let thrown: ConfigError | undefined;
        try {
            inProgram(() => {
                throw new ConfigError("dev", problems);
            });
        } catch (err) {
            thrown = err as ConfigError;
        }
        assert.ok(thrown, "it throws");
        assert.ok(pulumi.RunError.isInstance(thrown), "a RunError to the engine");
        assert.equal(thrown.name, "ConfigError");
        assert.equal(thrown.message, new ConfigError("dev", problems).message);
        assert.deepEqual(thrown.problems, problems);
        assert.equal(thrown.stackName, "dev");
    });

    it("passes anything else through unchanged, and returns what the loader returns", () => {
        const other = new TypeError("not a config problem");
        assert.throws(() => inProgram(() => { throw other; }), (err: unknown) => err === other);
        assert.equal(inProgram((p) => typeof p.getStack), "function");
    });
});
