/**
 * The per-environment promises, tested once, on the shipped stacks: the environment profiles and
 * the mapper (config/componentArgs.ts) turn `dev` into the cheapest environment that works and
 * `prod` into a highly available one whose data cannot be deleted by accident. The components
 * themselves know nothing of environments (tests/components.test.ts builds them with literal Args).
 */
import { strict as assert } from "assert";
import type { Graph } from "../tools/graph";
import { byType, one } from "./support/resources";
import { stackRun } from "./support/stacks";

describe("the stacks: dev is cheap, prod is highly available and protected", function () {
    this.timeout(120_000);
    const graphs: Record<string, Graph> = {};
    before(async () => {
        graphs.dev = (await stackRun("dev")).graph;
        graphs.prod = (await stackRun("prod")).graph;
    });

    it("dev: one instance with an Elastic IP, no load balancer, no NAT gateway, a single-AZ micro database", () => {
        const g = graphs.dev;
        assert.equal(byType(g, "aws:ec2/instance:Instance").length, 1);
        assert.equal(byType(g, "aws:ec2/eip:Eip").length, 1);
        assert.deepEqual([byType(g, "aws:lb/loadBalancer:LoadBalancer").length, byType(g, "aws:autoscaling/group:Group").length], [0, 0]);
        assert.deepEqual((one(g, "awsx:ec2:Vpc").inputs.natGateways as any).strategy, "None");
        const db = one(g, "aws:rds/instance:Instance");
        assert.deepEqual([db.inputs.multiAz, db.inputs.instanceClass], [false, "db.t4g.micro"]);
    });

    it("dev: can be torn down (nothing protected, no deletion protection; the database still leaves a final snapshot)", () => {
        const g = graphs.dev;
        assert.deepEqual(g.resources.filter((r) => r.protect).map((r) => r.urn), []);
        const db = one(g, "aws:rds/instance:Instance");
        assert.deepEqual([db.inputs.deletionProtection, db.inputs.deleteAutomatedBackups, db.inputs.skipFinalSnapshot], [false, true, false]);
    });

    it("prod: an Auto Scaling group of at least two instances in private subnets of three zones behind an HTTPS-only ALB, one NAT gateway per zone", () => {
        const g = graphs.prod;
        const vpc = one(g, "awsx:ec2:Vpc");
        assert.equal((vpc.inputs.natGateways as any).strategy, "OnePerAz");
        assert.ok((vpc.inputs.numberOfAvailabilityZones as number) >= 2);
        const group = one(g, "aws:autoscaling/group:Group");
        assert.ok((group.inputs.minSize as number) >= 2);
        // A refresh keeps 90% of the group serving.
        assert.equal((group.inputs.instanceRefresh as any).preferences.minHealthyPercentage, 90);
        assert.equal(byType(g, "aws:ec2/instance:Instance").length, 0);
        // No plain HTTP from the internet: port 80 only redirects.
        for (const listener of byType(g, "aws:lb/listener:Listener")) {
            const action = (listener.inputs.defaultActions as any[])[0];
            assert.ok(listener.inputs.protocol === "HTTPS" || action.type === "redirect", `${listener.name} forwards plain HTTP`);
        }
    });

    it("prod: a Multi-AZ database and every data store protected from deletion", () => {
        const g = graphs.prod;
        const db = one(g, "aws:rds/instance:Instance");
        assert.deepEqual([db.inputs.multiAz, db.inputs.deletionProtection, db.inputs.deleteAutomatedBackups, db.protect], [true, true, false, true]);
        assert.ok((db.inputs.backupRetentionPeriod as number) >= 14);
        for (const bucket of byType(g, "aws:s3/bucket:Bucket")) assert.deepEqual([bucket.name, bucket.protect, bucket.retainOnDelete], [bucket.name, true, true]);
        assert.equal(one(g, "aws:lb/loadBalancer:LoadBalancer").inputs.enableDeletionProtection, true);
    });
});
