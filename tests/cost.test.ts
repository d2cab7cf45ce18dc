/** The offline cost estimate: hand-computed totals of small graphs, and the shipped stacks' budgets. */
import { strict as assert } from "assert";
import { estimateCost, graphRegion } from "../tools/cost";
import { Graph, GraphResource } from "../tools/graph";
import { plan } from "../tools/plan";
import { renderCost } from "../tools/planReport";
import { PRICES } from "../tools/prices";

function res(type: string, name: string, inputs: Record<string, unknown>, id: string | null = null, propertyDependencies: Record<string, string[]> = {}): GraphResource {
    const urn = `urn:pulumi:t::p::${type}::${name}`;
    return { urn, type, name, parent: null, dependencies: [], propertyDependencies, protect: false, retainOnDelete: false, custom: true, remote: false, provider: null, id, inputs };
}

/** One Single-NAT 2-AZ VPC, an internet-facing ALB in 2 subnets, one t4g.micro (8 GB gp3), a db.t4g.micro with 20 GB gp3. */
function smallGraph(overrides: { multiAz?: boolean; instanceType?: string; engine?: string; dbClass?: string } = {}): Graph {
    return {
        project: "p",
        stack: "t",
        outputs: {},
        violations: [],
        resources: [
            res("pulumi:providers:aws", "aws", { region: "us-east-1" }),
            res("awsx:ec2:Vpc", "vpc", { numberOfAvailabilityZones: 2, natGateways: { strategy: "Single" } }),
            res("aws:lb/loadBalancer:LoadBalancer", "alb", { loadBalancerType: "application", internal: false, subnets: ["subnet-a", "subnet-b"] }),
            res("aws:ec2/launchTemplate:LaunchTemplate", "lt", { instanceType: overrides.instanceType ?? "t4g.micro", blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: 8, volumeType: "gp3" } }] }, "lt-123"),
            res("aws:autoscaling/group:Group", "asg", { desiredCapacity: 1, minSize: 1, maxSize: 1, launchTemplate: { id: "lt-123", version: "1" } }),
            res("aws:rds/instance:Instance", "db", { engine: overrides.engine ?? "postgres", instanceClass: overrides.dbClass ?? "db.t4g.micro", multiAz: overrides.multiAz ?? false, allocatedStorage: 20, storageType: "gp3" }),
        ],
    };
}

const options = { region: "us-east-1", s3ExpectedGb: 0, cloudFrontGbPerMonth: 0 };
const line = (cost: ReturnType<typeof estimateCost>, start: string) => cost.items.filter((i) => i.description.startsWith(start));

describe("cost estimate", () => {
    it("prices a small stack exactly as computed by hand (us-east-1)", () => {
        const cost = estimateCost(smallGraph(), options);
        // NAT 0.045×730 = 32.85; its IPv4 3.65; ALB 0.0225×730 = 16.425 → 16.43; 2 ALB IPv4 7.30;
        // t4g.micro 0.0084×730 = 6.132 → 6.13; 8 GB gp3 × 0.08 = 0.64; db.t4g.micro 0.016×730 = 11.68; 20 GB × 0.115 = 2.30.
        assert.deepEqual(
            cost.items.map((i) => [i.name, i.description, i.quantity, i.unitUsd, i.monthlyUsd]),
            [
                ["vpc", "NAT gateway hours (Single, 2 AZ)", 1, 32.85, 32.85],
                ["vpc", "public IPv4 address of each NAT gateway", 1, 3.65, 3.65],
                ["alb", "Application Load Balancer hours", 1, 16.425, 16.43],
                ["alb", "public IPv4 address of the ALB in each zone", 2, 3.65, 7.3],
                ["asg", "EC2 t4g.micro × desired capacity", 1, 6.132, 6.13],
                ["asg", "EBS gp3 /dev/xvda 8 GB × 1 instance(s)", 8, 0.08, 0.64],
                ["db", "RDS postgres db.t4g.micro single-AZ", 1, 11.68, 11.68],
                ["db", "RDS gp3 storage", 20, 0.115, 2.3],
            ],
        );
        assert.equal(cost.monthlyUsd, 80.98);
        assert.ok(cost.assumptions.includes("NAT gateway data processing (per GB) is usage-based: not estimated."));
        assert.ok(cost.assumptions.some((a) => a.startsWith("Load balancer capacity units (LCU-hours) are usage-based")));
        assert.ok(cost.assumptions.some((a) => a.startsWith("Data transfer out")));
    });

    it("doubles the database instance and storage for Multi-AZ", () => {
        const single = estimateCost(smallGraph(), options);
        const multi = estimateCost(smallGraph({ multiAz: true }), options);
        assert.deepEqual(line(multi, "RDS postgres").map((i) => i.monthlyUsd), [23.36]);
        assert.deepEqual(line(multi, "RDS gp3 storage").map((i) => i.monthlyUsd), [4.6]);
        assert.equal(Math.round((multi.monthlyUsd - single.monthlyUsd) * 100) / 100, 11.68 + 2.3);
    });

    it("uses ap-northeast-1 prices and lists what that table lacks as not estimated", () => {
        const graph = smallGraph({ engine: "mysql" });
        const cost = estimateCost(graph, { ...options, region: "ap-northeast-1" });
        // NAT 0.062×730 = 45.26; IPv4 3.65; ALB 0.0243×730 = 17.739 → 17.74; 2 IPv4 7.30; t4g.micro 0.0108×730 = 7.884 → 7.88; MySQL micro 0.025×730 = 18.25.
        assert.deepEqual(
            cost.items.map((i) => i.monthlyUsd),
            [45.26, 3.65, 17.74, 7.3, 7.88, 18.25],
        );
        assert.equal(cost.monthlyUsd, 100.08);
        assert.ok(cost.assumptions.some((a) => a.includes("price key ebs.gp3.gbMonth") && a.includes("not estimated")));
        assert.ok(cost.assumptions.some((a) => a.includes("price key rds.gp3.singleAz.gbMonth")));
        assert.ok(cost.assumptions.some((a) => a.startsWith("Prices used but not verified against AWS for ap-northeast-1: nat.hour")));
    });

    it("lists an unknown instance type as not estimated instead of guessing", () => {
        const cost = estimateCost(smallGraph({ instanceType: "m7g.large" }), options);
        assert.equal(line(cost, "EC2").length, 0);
        assert.ok(cost.assumptions.includes('EC2 m7g.large × desired capacity (aws:autoscaling/group:Group "asg", price key ec2.m7g.large.hour) is not estimated: no price for us-east-1 in tools/prices.ts.'));
        assert.equal(cost.monthlyUsd, 74.85);
    });

    it("counts one NAT per zone for OnePerAz, interface endpoints per subnet, and prices S3/CloudFront from config", () => {
        const graph = smallGraph();
        graph.resources[1].inputs = { numberOfAvailabilityZones: 3, natGateways: { strategy: "OnePerAz" } };
        graph.resources.push(
            res("aws:ec2/vpcEndpoint:VpcEndpoint", "ssm", { vpcEndpointType: "Interface", serviceName: "com.amazonaws.us-east-1.ssm", subnetIds: ["a", "b", "c"] }),
            res("aws:s3/bucket:Bucket", "b", {}),
            res("aws:cloudfront/distribution:Distribution", "cdn", {}),
        );
        const cost = estimateCost(graph, { region: "us-east-1", s3ExpectedGb: 100, cloudFrontGbPerMonth: 10 });
        assert.deepEqual(line(cost, "NAT gateway hours").map((i) => [i.quantity, i.monthlyUsd]), [[3, 98.55]]);
        assert.deepEqual(line(cost, "interface endpoint").map((i) => [i.quantity, i.monthlyUsd]), [[3, 21.9]]);
        assert.deepEqual(line(cost, "S3 Standard").map((i) => i.monthlyUsd), [2.3]);
        assert.deepEqual(line(cost, "CloudFront").map((i) => i.monthlyUsd), [0.85]);
    });

    it("every price carries a source and a date", () => {
        for (const [region, table] of Object.entries(PRICES)) {
            for (const [key, price] of Object.entries(table)) {
                assert.ok(price.source.length > 0 && /^\d{4}(-\d{2}){0,2}$/.test(price.date), `${region} ${key}`);
            }
        }
        assert.ok(PRICES["us-east-1"] && PRICES["ap-northeast-1"]);
    });

    describe("shipped stacks (npm run plan)", () => {
        const graphs: Record<string, Graph> = {};
        before(async function () {
            this.timeout(240000);
            graphs.dev = await plan({ stack: "dev" });
            graphs.prod = await plan({ stack: "prod" });
        });

        it("dev: within the 50 USD target, with no NAT gateway and no load balancer", () => {
            const cost = graphs.dev.cost!;
            assert.equal(graphRegion(graphs.dev), "us-east-1");
            assert.ok(cost.monthlyUsd <= 50, `dev ${cost.monthlyUsd}`);
            assert.deepEqual(line(cost, "NAT gateway hours"), []);
            assert.deepEqual(line(cost, "Application Load Balancer hours"), []);
            assert.deepEqual(line(cost, "Elastic IP").map((i) => i.monthlyUsd), [3.65]);
            assert.deepEqual(line(cost, "RDS postgres db.t4g.micro single-AZ").length, 1);
            assert.ok(renderCost(cost).some((l) => /\$\s*\d+\.\d\d {2}total per month/.test(l)));
        });

        it("--preview: what depends on unknown subnets is listed as not priced, and the total reads as a lower bound", async () => {
            const preview = await plan({ stack: "prod", preview: true });
            const cost = preview.cost!;
            assert.equal(cost.complete, false);
            assert.ok(cost.notPriced!.some((n) => /interface endpoint com\.amazonaws\.us-east-1\.ssm .*subnets are unknown until deploy/.test(n)));
            assert.ok(cost.notPriced!.some((n) => /load balancer "web": its subnets are unknown/.test(n)));
            const text = renderCost(cost).join("\n");
            assert.match(text, /at least \$\d+\.\d\d \(\d+ items not priced\) per month/);
            assert.match(text, /Not priced \(\d+\), so the total is a lower bound:/);
            assert.ok(cost.monthlyUsd < graphs.prod.cost!.monthlyUsd);
        });

        it("prod: at most 400 USD a month", () => {
            const cost = graphs.prod.cost!;
            assert.ok(cost.monthlyUsd <= 400, `prod ${cost.monthlyUsd}`);
            assert.deepEqual(line(cost, "NAT gateway hours").map((i) => i.quantity), [3]);
            assert.deepEqual(line(cost, "RDS postgres db.t4g.small Multi-AZ").length, 1);
            assert.equal(line(cost, "interface endpoint").length, 3);
        });
    });
});
