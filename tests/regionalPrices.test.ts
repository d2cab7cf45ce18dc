/**
 * Prices in the regions users deploy to: the shipped dev and prod stacks, planned through the offline
 * engine with only `aws:region` changed, in each of the eight regions tools/prices.ts covers. A price
 * key the table lacks for a region must show as "not priced" (the total is then a lower bound, never a
 * silent $0.00), and every figure the table holds carries its source and date. The expected coverage is
 * written out below so that a figure dropped from (or added to) the table shows up here as a change.
 */
import { strict as assert } from "assert";
import { parseStackConfig } from "../config";
import { estimateCost, graphRegion } from "../tools/cost";
import { CostEstimate } from "../tools/graph";
import { renderCost } from "../tools/planReport";
import { HOURS_PER_MONTH, PRICES } from "../tools/prices";
import { serialRun, tempStackFile } from "./support/stacks";

const REGIONS = ["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1", "ap-southeast-1", "ap-southeast-2"] as const;
type Region = (typeof REGIONS)[number];

/** Charged at one rate wherever the stack runs, or documented as one rate (see sameEverywhere in tools/prices.ts). */
const CARRIED = ["budgets.budget.month", "ipv4.hour", "vpce.gateway.month"];

/**
 * prod ships with DNS on: its zone, health check and the failover's CloudFront distribution, global
 * services priced the same from every region (sameEverywhere in tools/prices.ts).
 */
const PROD_DNS = ["cloudfront.gbOut", "route53.healthCheck.aws.month", "route53.zone.month"];

/** The price keys each shipped stack's estimate can price in each region, by the table as sourced (tools/prices.ts). */
const EXPECTED_PRICED: Record<"dev" | "prod", Record<Region, string[]>> = {
    dev: {
        "us-east-1": [
            "budgets.budget.month", "cloudwatch.alarm.month", "cloudwatch.dashboard.month", "ebs.gp3.gbMonth", "ec2.t4g.micro.hour", "ipv4.hour", "kms.key.month",
            "rds.gp3.singleAz.gbMonth", "rds.postgres.db.t4g.micro.singleAz.hour", "s3.standard.gbMonth", "secretsmanager.secret.month", "vpce.gateway.month",
        ],
        "us-east-2": CARRIED,
        "us-west-2": CARRIED,
        "eu-west-1": CARRIED,
        "eu-central-1": CARRIED,
        "ap-northeast-1": [...CARRIED, "ec2.t4g.micro.hour"],
        "ap-southeast-1": [...CARRIED, "ebs.gp3.gbMonth", "rds.gp3.singleAz.gbMonth"],
        "ap-southeast-2": CARRIED,
    },
    prod: {
        "us-east-1": [
            "alb.hour", "budgets.budget.month", "cloudwatch.alarm.month", "cloudwatch.dashboard.month", "ebs.gp3.gbMonth", "ec2.t4g.small.hour", "ipv4.hour", "kms.key.month",
            "nat.hour", "rds.gp3.multiAz.gbMonth", "rds.postgres.db.t4g.small.multiAz.hour", "s3.standard.gbMonth", "secretsmanager.secret.month", "vpce.gateway.month",
            "vpce.interface.azHour", ...PROD_DNS,
        ],
        "us-east-2": [...CARRIED, ...PROD_DNS, "nat.hour"],
        "us-west-2": [...CARRIED, ...PROD_DNS, "nat.hour"],
        "eu-west-1": [...CARRIED, ...PROD_DNS, "alb.hour"],
        "eu-central-1": [...CARRIED, ...PROD_DNS],
        "ap-northeast-1": [...CARRIED, ...PROD_DNS, "alb.hour", "nat.hour", "vpce.interface.azHour"],
        "ap-southeast-1": [...CARRIED, ...PROD_DNS, "alb.hour", "ebs.gp3.gbMonth", "nat.hour"],
        "ap-southeast-2": [...CARRIED, ...PROD_DNS],
    },
};

const pricedKeys = (c: CostEstimate) => [...new Set(c.items.map((i) => i.priceKey ?? "(none)"))].sort();
const keysNamedNotPriced = (c: CostEstimate) => [...new Set((c.notPriced ?? []).map((n) => /price key (\S+)\)/.exec(n)?.[1]).filter((k): k is string => !!k))].sort();

describe("prices in the eight regions users deploy to (dev and prod planned with aws:region changed)", function () {
    this.timeout(300_000);
    const costs: Record<string, CostEstimate> = {};

    before(async () => {
        // The offline engine, then the estimate exactly as `npm run plan` makes it (tools/plan.ts), without
        // the policy pack, which does not touch the cost. serialRun: the engine is process-global.
        for (const stack of ["dev", "prod"] as const) {
            for (const region of REGIONS) {
                const { graph, settings } = await serialRun({ stack, configFile: tempStackFile(stack, { "aws:region": region }) });
                assert.equal(graphRegion(graph), region, `${stack} planned in ${region}`);
                costs[`${stack}/${region}`] = estimateCost(graph, { region: graphRegion(graph), ...parseStackConfig(settings.config, graph.project, graph.stack).cost });
            }
        }
    });

    for (const stack of ["dev", "prod"] as const) {
        it(`${stack}: prices exactly the keys the table sources for each region, and names every other one as not priced`, () => {
            // The keys the stack needs: all priced in us-east-1, where the table is complete for the shipped stacks.
            const needed = pricedKeys(costs[`${stack}/us-east-1`]);
            for (const region of REGIONS) {
                const c = costs[`${stack}/${region}`];
                assert.deepEqual(pricedKeys(c), [...EXPECTED_PRICED[stack][region]].sort(), `${stack} ${region}: priced keys`);
                const missing = needed.filter((k) => !PRICES[region][k]);
                assert.deepEqual(keysNamedNotPriced(c), missing, `${stack} ${region}: not-priced keys`);
                for (const item of c.items) assert.ok(item.priceKey && PRICES[region][item.priceKey], `${stack} ${region}: ${item.priceKey} priced from the region's own table`);
            }
        });

        it(`${stack}: the total is marked partial exactly when something is not priced, and reads as a lower bound`, () => {
            for (const region of REGIONS) {
                const c = costs[`${stack}/${region}`];
                const partial = (c.notPriced ?? []).length > 0;
                assert.equal(c.complete, !partial, `${stack} ${region}`);
                const sum = Math.round(c.items.reduce((s, i) => s + i.monthlyUsd, 0) * 100) / 100;
                assert.equal(c.monthlyUsd, sum, `${stack} ${region}: total is the sum of its lines`);
                const text = renderCost(c).join("\n");
                if (partial) assert.match(text, /at least \$\d+\.\d\d \(\d+ items? not priced\) per month/, `${stack} ${region}`);
                else assert.doesNotMatch(text, /at least/, `${stack} ${region}`);
            }
            // Only us-east-1 is complete for the shipped stacks today; the others are honest lower bounds.
            assert.deepEqual(REGIONS.filter((r) => costs[`${stack}/${r}`].complete), ["us-east-1"]);
        });
    }

    it("prices a regional figure at that region's rate (NAT gateways: $0.045/h in Ohio, $0.059/h in Singapore)", () => {
        const nat = (region: Region) => costs[`prod/${region}`].items.filter((i) => i.priceKey === "nat.hour").map((i) => [i.quantity, i.monthlyUsd]);
        assert.deepEqual(nat("us-east-2"), [[3, Math.round(3 * 0.045 * HOURS_PER_MONTH * 100) / 100]]);
        assert.deepEqual(nat("ap-southeast-1"), [[3, Math.round(3 * 0.059 * HOURS_PER_MONTH * 100) / 100]]);
        assert.deepEqual(nat("eu-central-1"), [], "no sourced NAT price for Frankfurt: not priced, not guessed");
    });

    it("every figure in every region's table has a source, a date, and is verified only when it comes from AWS or a Price List extract", () => {
        for (const region of REGIONS) {
            for (const [key, price] of Object.entries(PRICES[region])) {
                assert.ok(price.source.trim().length > 10, `${region} ${key}: source`);
                assert.match(price.date, /^\d{4}(-\d{2}){0,2}$/, `${region} ${key}: date`);
                assert.ok(Number.isFinite(price.usd) && price.usd >= 0, `${region} ${key}: usd`);
                if (price.verified) assert.match(price.source, /\bAWS\b|amazon\.com|infracost/i, `${region} ${key}: a verified figure names AWS or a Price List extract`);
            }
        }
    });
});
