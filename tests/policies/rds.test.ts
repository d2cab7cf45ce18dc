import { expectPass, expectViolation, graph, res } from "./helpers";

const DB = "aws:rds/instance:Instance";
const CLUSTER = "aws:rds/cluster:Cluster";

const goodDb = (name: string, extra: Record<string, unknown> = {}) => res(DB, name, {
    engine: "postgres", instanceClass: "db.t4g.micro", storageEncrypted: true, publiclyAccessible: false,
    backupRetentionPeriod: 7, deletionProtection: true, tags: { Environment: "prod" }, ...extra,
});

describe("policies: rds", () => {
    describe("rds-storage-encrypted", () => {
        const rule = "rds-storage-encrypted";

        it("passes encrypted instances/clusters and read replicas", async () => {
            const cluster = res(CLUSTER, "aurora", { engine: "aurora-postgresql", storageEncrypted: true });
            const replica = res(DB, "replica", { instanceClass: "db.t4g.micro", replicateSourceDb: "<computed>" });
            await expectPass(graph(goodDb("db"), cluster, replica), rule);
        });

        it("reports unencrypted instances and clusters, as mandatory", async () => {
            const db = goodDb("plain-db", { storageEncrypted: false });
            const cluster = res(CLUSTER, "plain-cluster", { engine: "aurora-mysql" });
            await expectViolation(graph(db, cluster), rule, db, { level: "mandatory", match: /false/ });
            await expectViolation(graph(db, cluster), rule, cluster, { match: /not set/ });
        });
    });

    describe("rds-not-public", () => {
        const rule = "rds-not-public";

        it("passes private instances (explicit false or unset)", async () => {
            await expectPass(graph(goodDb("db"), goodDb("db2", { publiclyAccessible: undefined })), rule);
        });

        it("reports publicly accessible instances and cluster instances", async () => {
            const db = goodDb("public-db", { publiclyAccessible: true });
            const ci = res("aws:rds/clusterInstance:ClusterInstance", "public-ci", { publiclyAccessible: "true" });
            await expectViolation(graph(db, ci), rule, db, { level: "mandatory" });
            await expectViolation(graph(db, ci), rule, ci);
        });
    });

    describe("rds-backup-retention", () => {
        const rule = "rds-backup-retention";

        it("passes retention >= 1 day, clusters relying on their default of 1, and replicas", async () => {
            const cluster = res(CLUSTER, "aurora", { engine: "aurora-postgresql", storageEncrypted: true });
            const replica = res(DB, "replica", { replicateSourceDb: "db" });
            await expectPass(graph(goodDb("db", { backupRetentionPeriod: 1 }), cluster, replica), rule);
        });

        it("reports retention 0 and an instance relying on the provider default of 0", async () => {
            const zero = goodDb("zero", { backupRetentionPeriod: 0 });
            const unset = goodDb("unset", { backupRetentionPeriod: undefined });
            const cluster = res(CLUSTER, "zero-cluster", { engine: "aurora-postgresql", backupRetentionPeriod: 0 });
            const g = graph(zero, unset, cluster);
            await expectViolation(g, rule, zero, { match: /backupRetentionPeriod is 0/ });
            await expectViolation(g, rule, unset, { match: /not set/ });
            await expectViolation(g, rule, cluster);
        });

        it("uses minimumDays from the policy config", async () => {
            const db = goodDb("short", { backupRetentionPeriod: 3 });
            await expectPass(graph(db), rule);
            await expectViolation(graph(db), rule, db, { config: { [rule]: { minimumDays: 7 } }, match: /less than 7/ });
        });
    });

    describe("rds-deletion-protection-in-production", () => {
        const rule = "rds-deletion-protection-in-production";

        it("passes protected production databases and unprotected non-production ones", async () => {
            const dev = goodDb("dev-db", { deletionProtection: false, tags: { Environment: "dev" } });
            const untagged = goodDb("untagged", { deletionProtection: undefined, tags: undefined });
            await expectPass(graph(goodDb("prod-db"), dev, untagged), rule);
        });

        it("reports an unprotected database tagged Environment=prod", async () => {
            const db = goodDb("prod-db", { deletionProtection: false });
            const cluster = res(CLUSTER, "prod-cluster", { engine: "aurora-postgresql", tags: { environment: "production" } });
            await expectViolation(graph(db, cluster), rule, db, { level: "mandatory", match: /Environment=prod/ });
            await expectViolation(graph(db, cluster), rule, cluster);
        });

        it("takes the environment from the policy config when the resource is untagged", async () => {
            const db = goodDb("untagged", { deletionProtection: undefined, tags: undefined });
            await expectViolation(graph(db), rule, db, { config: { [rule]: { environment: "prod" } } });
            await expectPass(graph(db), rule, { [rule]: { environment: "staging" } });
        });

        it("takes the environment from the explicit provider's default tags", async () => {
            const provider = res("pulumi:providers:aws", "prod-provider", { region: "eu-west-1", defaultTags: { tags: { Environment: "prod" } } },
                {}, { custom: true });
            const db = goodDb("provider-tagged", { deletionProtection: undefined, tags: undefined });
            db.provider = `${provider.urn}::provider-id`;
            await expectViolation(graph(provider, db), rule, db);
        });
    });
});
