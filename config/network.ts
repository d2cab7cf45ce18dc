import { z } from "zod";
import { layoutSubnets, parseCidr } from "../components/network/subnetLayout";
import { checks, section } from "./types";

/** CloudWatch Logs accepts only these retention periods (days). */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

const subnetMask = z.number().int().min(16).max(28);

const networkSchema = z
    .object({
        /** The VPC's IPv4 range. Give each stack its own so stacks can be peered later. */
        vpcCidr: z.string().superRefine((v, ctx) => {
            const parsed = parseCidr(v);
            if (typeof parsed === "string") {
                ctx.addIssue({ code: "custom", message: parsed });
            } else if (parsed.prefix < 16 || parsed.prefix > 24) {
                ctx.addIssue({ code: "custom", message: "must be between /16 and /24 (the sizes a VPC allows, with room for subnets)" });
            }
        }),
        /** Availability zones to spread subnets over: 2 or more (ALB and RDS need two). */
        azCount: z.number().int().min(2, "must be at least 2 (a load balancer and an RDS subnet group need two zones)").max(6, "must be at most 6"),
        /** `none` (no egress from private subnets except VPC endpoints), `single`, or `onePerAz`. */
        natGateways: z.enum(["none", "single", "onePerAz"]),
        /** Subnet sizes per tier (prefix lengths, /16 to /28). */
        subnetMasks: z.object({ public: subnetMask, private: subnetMask, isolated: subnetMask }).strict(),
        /** Interface endpoints for ssm, ssmmessages and ec2messages (SSM without NAT). */
        interfaceEndpoints: z.boolean(),
        /** Zones that get interface endpoint ENIs: cost is per zone, so dev may use one. */
        interfaceEndpointAzCount: z.number().int().min(1).max(6),
        flowLogs: z
            .object({
                enabled: z.boolean(),
                retentionDays: z
                    .number()
                    .int()
                    .refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), `must be one of CloudWatch Logs' retention periods: ${LOG_RETENTION_DAYS.join(", ")}`),
                trafficType: z.enum(["ALL", "ACCEPT", "REJECT"]),
            })
            .strict(),
    })
    .strict();

export const networkSection = section({
    key: "network",
    schema: networkSchema,
    defaults: (environment): z.input<typeof networkSchema> => ({
        vpcCidr: "10.0.0.0/16",
        azCount: environment === "prod" ? 3 : 2,
        // dev has no NAT gateway: its single web instance has a public address (see webTier.mode).
        natGateways: environment === "prod" ? "onePerAz" : environment === "staging" ? "single" : "none",
        subnetMasks: { public: 24, private: 20, isolated: 24 },
        interfaceEndpoints: environment === "prod",
        interfaceEndpointAzCount: environment === "prod" ? 3 : 1,
        flowLogs: { enabled: true, retentionDays: environment === "prod" ? 365 : 14, trafficType: environment === "prod" ? "ALL" : "REJECT" },
    }),
    check: checks<z.output<typeof networkSchema>>(
        (network) => {
            const layout = layoutSubnets(network.vpcCidr, network.azCount, network.subnetMasks);
            return Array.isArray(layout) ? layout.map((message) => ({ path: "subnetMasks", message })) : undefined;
        },
        (network) => network.interfaceEndpointAzCount > network.azCount && { path: "interfaceEndpointAzCount", message: `must not exceed azCount (${network.azCount})` },
        (network, { environment }) =>
            environment === "prod" &&
            network.natGateways === "single" && { path: "natGateways", message: 'a single NAT gateway is a single point of failure: prod must use "onePerAz" (or "none" with interface endpoints)' },
    ),
});
