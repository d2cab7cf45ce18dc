/**
 * The price table the offline cost estimate (`tools/cost.ts`) reads: on-demand list prices
 * per region, in USD, each with where it came from and when. Nothing here is fetched at run
 * time: the plan must work without a network or an AWS account, so the table is kept by hand.
 *
 * `verified: false` marks a figure taken from a third party (a blog, a wiki, a public repo
 * quoting the AWS Price List API) that nobody here checked against the AWS pricing page; the
 * estimate still uses it and the README says so. Update a figure by changing `usd`, `source`
 * and `date` together.
 */

export interface Price {
    /** USD per `unit`. */
    usd: number;
    /** What one `usd` buys, e.g. `hour`, `GB-month`, `AZ-hour`. */
    unit: string;
    /** Where the figure comes from. */
    source: string;
    /** When the figure was read (YYYY-MM-DD or YYYY-MM). */
    date: string;
    /** False when the figure is second-hand and was not checked against AWS's own pricing. */
    verified: boolean;
}

/** Hours in the month AWS bills against (365 × 24 / 12). */
export const HOURS_PER_MONTH = 730;

const INFRACOST = "infracost test data";
const JP_SOURCE = "public repositories quoting the AWS Price List API (not checked against aws.amazon.com)";

function p(usd: number, unit: string, source: string, date: string, verified = true): Price {
    return { usd, unit, source, date, verified };
}

/**
 * Price keys (one namespace per service):
 * - `nat.hour`, `nat.gb`; `vpce.interface.azHour`, `vpce.interface.gb`; `vpce.gateway.month`
 * - `ipv4.hour` (every public IPv4 address, in use or idle)
 * - `ec2.<instanceType>.hour` (Linux on-demand), `ebs.gp3.gbMonth`
 * - `alb.hour`, `alb.lcuHour`
 * - `rds.<engine>.<class>.<singleAz|multiAz>.hour`, `rds.gp3.<singleAz|multiAz>.gbMonth`
 * - `route53.zone.month`, `route53.healthCheck.aws.month`, `route53.healthCheck.other.month`
 * - `s3.standard.gbMonth`, `s3.standardIa.gbMonth`, `s3.glacierIr.gbMonth`, `s3.deepArchive.gbMonth`
 * - `secretsmanager.secret.month`, `secretsmanager.10kCalls`, `kms.key.month`
 * - `cloudwatch.alarm.month`, `cloudwatch.dashboard.month`, `cloudfront.gbOut`, `budgets.budget.month`
 */
const PRICES_BY_REGION: Record<string, Record<string, Price>> = {
    "us-east-1": {
        "nat.hour": p(0.045, "hour", `${INFRACOST} (nat_gateway_test)`, "2024-07-01"),
        "nat.gb": p(0.045, "GB processed", `${INFRACOST} (nat_gateway_test)`, "2024-07-01"),
        "vpce.interface.azHour": p(0.01, "AZ-hour", `${INFRACOST} (vpc_endpoint_test)`, "2024-07-01"),
        "vpce.interface.gb": p(0.01, "GB processed", `${INFRACOST} (vpc_endpoint_test)`, "2024-07-01"),
        "vpce.gateway.month": p(0, "endpoint-month", "AWS PrivateLink pricing: gateway endpoints (S3, DynamoDB) have no charge", "2024-07-01"),
        "ipv4.hour": p(0.005, "hour", "AWS announcement: public IPv4 address charge from 2024-02-01", "2024-02-01"),
        "ec2.t4g.micro.hour": p(0.0084, "hour", "third-party wiki (unverified)", "2026-08", false),
        "ec2.t4g.small.hour": p(0.0168, "hour", "commonly quoted figure (unverified)", "2026-11", false),
        // infracost's autoscaling_group_test gives $7.59/month; 7.592 / 730 h.
        "ec2.t3.micro.hour": p(0.0104, "hour", `${INFRACOST} (autoscaling_group_test: $7.59/month)`, "2024-07-01"),
        "ebs.gp3.gbMonth": p(0.08, "GB-month", "estimate, not verified: third-party EBS article (menuvis1-blip.github.io, 2026-02-24)", "2026-02-24", false),
        "alb.hour": p(0.0225, "hour", `${INFRACOST} (lb_test)`, "2024-07-01"),
        "alb.lcuHour": p(0.008, "LCU-hour", `${INFRACOST} (lb_test)`, "2024-07-01"),
        "rds.postgres.db.t4g.micro.singleAz.hour": p(0.016, "hour", "infratally.com RDS pricing article (third-party)", "2026", false),
        "rds.postgres.db.t4g.micro.multiAz.hour": p(0.032, "hour", "infratally.com RDS pricing article (third-party)", "2026", false),
        "rds.postgres.db.t4g.small.singleAz.hour": p(0.032, "hour", "infratally.com RDS pricing article (third-party)", "2026", false),
        "rds.postgres.db.t4g.small.multiAz.hour": p(0.064, "hour", "infratally.com RDS pricing article (third-party)", "2026", false),
        "rds.postgres.db.t4g.medium.singleAz.hour": p(0.065, "hour", "infratally.com RDS pricing article (third-party)", "2026", false),
        "rds.postgres.db.t4g.medium.multiAz.hour": p(0.13, "hour", "infratally.com RDS pricing article (third-party)", "2026", false),
        "rds.gp3.singleAz.gbMonth": p(0.115, "GB-month", "estimate, not verified: commonly quoted RDS gp3 figure", "2026-11", false),
        "rds.gp3.multiAz.gbMonth": p(0.23, "GB-month", "estimate, not verified: commonly quoted RDS gp3 figure, doubled for Multi-AZ", "2026-11", false),
        "route53.zone.month": p(0.5, "zone-month", `${INFRACOST} (route53 tests)`, "2024-07-01"),
        "route53.healthCheck.aws.month": p(0.5, "health-check-month", `${INFRACOST} (route53 tests), AWS endpoint`, "2024-07-01"),
        "route53.healthCheck.other.month": p(0.75, "health-check-month", `${INFRACOST} (route53 tests), non-AWS endpoint`, "2024-07-01"),
        "s3.standard.gbMonth": p(0.023, "GB-month", `${INFRACOST} (s3_bucket_test)`, "2026-05-03"),
        "s3.standardIa.gbMonth": p(0.0125, "GB-month", `${INFRACOST} (s3_bucket_test)`, "2026-05-03"),
        "s3.glacierIr.gbMonth": p(0.004, "GB-month", `${INFRACOST} (s3_bucket_test), unverified`, "2026-05-03", false),
        "s3.deepArchive.gbMonth": p(0.00099, "GB-month", `${INFRACOST} (s3_bucket_test)`, "2026-05-03"),
        "secretsmanager.secret.month": p(0.4, "secret-month", 'https://aws.amazon.com/secrets-manager/pricing/ pricing example ("$0.40 / secret / month"), as transcribed verbatim in github.com/api-evangelist/amazon-secrets-manager plans/amazon-secrets-manager-plans-pricing.yml', "2026-09-20", false),
        "secretsmanager.10kCalls": p(0.05, "10,000 API calls", 'https://aws.amazon.com/secrets-manager/pricing/ pricing example ("$0.05/10,000 calls"), as transcribed in github.com/api-evangelist/amazon-secrets-manager', "2026-09-20", false),
        "kms.key.month": p(1, "key-month", "estimate, not verified: commonly quoted AWS KMS customer managed key price", "2026-11", false),
        "cloudwatch.alarm.month": p(0.1, "alarm-month", "estimate, not verified: c3x.dev aws_cloudwatch_metric_alarm page (standard resolution)", "2026-11", false),
        "cloudwatch.dashboard.month": p(3, "dashboard-month", "estimate, not verified: commonly quoted CloudWatch dashboard price (first 3 per account free)", "2026-11", false),
        "cloudfront.gbOut": p(0.085, "GB out", "estimate, not verified: commonly quoted CloudFront first-10-TB US/Europe rate", "2026-11", false),
        "budgets.budget.month": p(0, "budget-month", "AWS Budgets pricing: the first two budgets per account are free", "2026-11", false),
    },
};

/**
 * Charges AWS bills at one rate whatever the stack's region: Route 53 and AWS Budgets are
 * global services, CloudFront is priced by edge location (not by the origin's region), gateway
 * endpoints are free, and the public IPv4 charge was announced as one hourly rate. The
 * us-east-1 figures above are carried with their sources; `verified` is false where nobody
 * here checked that the rate is the same in that region.
 */
function sameEverywhere(region: string): Record<string, Price> {
    const us = PRICES_BY_REGION["us-east-1"];
    const carry = (key: string, verified: boolean, why: string): [string, Price] => {
        const x = us[key];
        return [key, { ...x, source: `${x.source}; ${why}`, verified: verified && x.verified }];
    };
    return Object.fromEntries([
        carry("route53.zone.month", true, "Route 53 is a global service"),
        carry("route53.healthCheck.aws.month", true, "Route 53 is a global service"),
        carry("route53.healthCheck.other.month", true, "Route 53 is a global service"),
        carry("budgets.budget.month", true, "AWS Budgets is a global service"),
        carry("cloudfront.gbOut", false, "CloudFront bills by edge location, not by the stack's region"),
        carry("vpce.gateway.month", true, "gateway endpoints have no charge in any region"),
        carry("ipv4.hour", region === "us-east-1", "the announcement gives one hourly rate for public IPv4 addresses (not checked per region)"),
    ]);
}

/**
 * An AWS bill for May 2025 (Asia Pacific (Singapore) line items, AWS's own wording, e.g. "$0.059 per NAT
 * Gateway Hour"), reproduced in a public repository. The figures are AWS's billed rates, but the copy is
 * third-party, so they are not marked verified.
 */
const SG_BILL = "AWS bill, May 2025, Asia Pacific (Singapore) line items, as reproduced in github.com/rahmat-ullah/DocParser backend/sample_full_document.md @ d890afd";
/** api-evangelist's transcription of https://aws.amazon.com/vpc/pricing/ (each price quoted verbatim from the page's US East (Ohio) example). */
const VPC_PAGE_OHIO = "https://aws.amazon.com/vpc/pricing/ US East (Ohio) example, as transcribed verbatim in github.com/api-evangelist/amazon-vpc plans/amazon-vpc-plans-pricing.yml";

/** Region-specific figures other than us-east-1, each read from the page named in its source. */
const REGIONAL: Record<string, Record<string, Price>> = {
    "us-east-2": {
        "nat.hour": p(0.045, "hour", `${VPC_PAGE_OHIO} ("$0.045 per hour"); also rajesh.medampudi.com, 'AWS NAT Gateway Pricing: The Hidden Tax'`, "2026-09-20", false),
        "nat.gb": p(0.045, "GB processed", `${VPC_PAGE_OHIO} ("a charge of $0.045 per GB")`, "2026-09-20", false),
    },
    "us-west-2": {
        "nat.hour": p(0.045, "hour", "cloudpipelines.pages.dev, 'AWS NAT Gateway pricing 2026' (US West (Oregon): ~$0.045/h)", "2026", false),
    },
    "eu-west-1": {
        "alb.hour": p(0.0252, "hour", "cal53.calculator.city AWS ALB cost calculator region table (Europe (Ireland): $0.0252/h)", "2026", false),
    },
    "eu-central-1": {},
    "ap-southeast-1": {
        "nat.hour": p(0.059, "hour", `${SG_BILL} ("$0.059 per NAT Gateway Hour"); also basavytix.com, 'AWS NAT Gateway pricing'`, "2025-05", false),
        "nat.gb": p(0.059, "GB processed", `${SG_BILL} ("$0.059 per GB Data Processed by NAT Gateways")`, "2025-05", false),
        "ipv4.hour": p(0.005, "hour", `${SG_BILL} ("$0.005 per In-use public IPv4 address per hour")`, "2025-05", false),
        "ec2.t3.small.hour": p(0.0264, "hour", `${SG_BILL} ("$0.0264 per On Demand Linux t3.small Instance Hour")`, "2025-05", false),
        "ebs.gp3.gbMonth": p(0.096, "GB-month", `${SG_BILL} ("$0.096 per GB-month of General Purpose (gp3) provisioned storage")`, "2025-05", false),
        "alb.hour": p(0.0252, "hour", `${SG_BILL} ("$0.0252 per Application LoadBalancer-hour")`, "2025-05", false),
        "rds.postgres.db.t3.small.singleAz.hour": p(0.056, "hour", `${SG_BILL} ("USD 0.056 per db.t3.small Single-AZ instance hour ... running PostgreSQL")`, "2025-05", false),
        "rds.postgres.db.t3.small.multiAz.hour": p(0.112, "hour", `${SG_BILL} ("USD 0.112 per db.t3.small Multi-AZ instance hour ... running PostgreSQL")`, "2025-05", false),
        "rds.gp3.singleAz.gbMonth": p(0.138, "GB-month", `${SG_BILL} ("$0.138 per GB-month of provisioned GP3 storage running PostgreSQL")`, "2025-05", false),
    },
    "ap-southeast-2": {},
    "ap-northeast-1": {
        "nat.hour": p(0.062, "hour", JP_SOURCE, "2026-08", false),
        "nat.gb": p(0.062, "GB processed", JP_SOURCE, "2026-08", false),
        "vpce.interface.azHour": p(0.014, "AZ-hour", JP_SOURCE, "2026-08", false),
        "vpce.gateway.month": p(0, "endpoint-month", "AWS PrivateLink pricing: gateway endpoints (S3, DynamoDB) have no charge", "2024-07-01"),
        "ipv4.hour": p(0.005, "hour", JP_SOURCE, "2026-09", false),
        "ec2.t4g.micro.hour": p(0.0108, "hour", JP_SOURCE, "2026-09", false),
        "alb.hour": p(0.0243, "hour", JP_SOURCE, "2026-09", false),
        "alb.lcuHour": p(0.008, "LCU-hour", JP_SOURCE, "2026-09", false),
        "rds.mysql.db.t4g.micro.singleAz.hour": p(0.025, "hour", JP_SOURCE, "2026-09", false),
        "budgets.budget.month": p(0, "budget-month", "AWS Budgets pricing: the first two budgets per account are free", "2026-11", false),
    },
};

/** Every region's table: its own figures over the ones that are the same everywhere. */
export const PRICES: Record<string, Record<string, Price>> = Object.fromEntries(
    [...new Set([...Object.keys(PRICES_BY_REGION), ...Object.keys(REGIONAL)])].map((region) => [
        region,
        { ...(region === "us-east-1" ? {} : sameEverywhere(region)), ...(REGIONAL[region] ?? {}), ...(PRICES_BY_REGION[region] ?? {}) },
    ]),
);

/** The regions the table knows. */
export function pricedRegions(): string[] {
    return Object.keys(PRICES);
}
