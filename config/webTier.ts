import { z } from "zod";
import { instanceFamilyProblem } from "../components/instanceFamilies";
import { checks, section, tagSelector } from "./types";

const webTierSchema = z
    .object({
        /** `asg`: Auto Scaling group behind an ALB; `single`: one instance with an Elastic IP (smallest dev setups). */
        mode: z.enum(["asg", "single"]),
        /** CPU architecture of the AMI; the instance type's family must match it. */
        architecture: z.enum(["arm64", "x86_64"]),
        /** EC2 instance type, e.g. `t4g.small`. */
        instanceType: z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, "must be an EC2 instance type such as t4g.small"),
        minSize: z.number().int().min(0).max(100),
        maxSize: z.number().int().min(1).max(100),
        desiredCapacity: z.number().int().min(0).max(100),
        /** Root volume size (GiB, gp3, encrypted). */
        rootVolumeGb: z.number().int().min(8, "must be at least 8 GiB (the Amazon Linux 2023 image size)").max(16384),
        /** Port the application listens on behind the load balancer. */
        appPort: z.number().int().min(1).max(65535),
        /** Target group health check path; the default app answers it from the release's file at that path. */
        healthCheckPath: z.string().regex(/^\/[A-Za-z0-9\/_.~-]*$/, 'must start with "/" and contain only letters, digits and / _ . ~ - (the default app serves it as a file of the release), e.g. "/healthz"'),
        /** Target-tracking scaling: keep average CPU near this percentage. */
        cpuTargetPercent: z.number().min(10).max(90),
        /** EC2 detailed (1-minute) monitoring. */
        detailedMonitoring: z.boolean(),
        /** SSM parameter the launch template resolves (`resolve:ssm:`); the AMI factory writes baked AMI ids there. */
        amiParameterName: z.string().regex(/^\/[A-Za-z0-9_.\/-]+$/, "must be an SSM parameter path starting with /"),
        /** Tag that marks the tier's instances and volumes for backups and snapshots. */
        backupTag: tagSelector,
        /** EBS snapshots by Data Lifecycle Manager. */
        snapshots: z
            .object({
                enabled: z.boolean(),
                intervalHours: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4), z.literal(6), z.literal(8), z.literal(12), z.literal(24)]),
                /** First snapshot time of day, UTC `hh:mm`. */
                time: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "must be a UTC time hh:mm"),
                retainCount: z.number().int().min(1).max(1000),
            })
            .strict(),
        /** HTTPS certificate for the listener (ACM ARN). The DNS component supplies one when enabled. */
        certificateArn: z.string().regex(/^arn:aws[\w-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[\w-]+$/, "must be an ACM certificate ARN").optional(),
    })
    .strict();

export const webTierSection = section({
    key: "webTier",
    schema: webTierSchema,
    defaults: (environment, stack): z.input<typeof webTierSchema> => ({
        // dev: one instance with an Elastic IP (no load balancer, no NAT): the cheapest setup that works.
        mode: environment === "dev" ? "single" : "asg",
        architecture: "arm64",
        instanceType: environment === "prod" ? "t4g.small" : "t4g.micro",
        minSize: environment === "prod" ? 2 : 1,
        maxSize: environment === "prod" ? 6 : 2,
        desiredCapacity: environment === "prod" ? 3 : 1,
        rootVolumeGb: environment === "prod" ? 20 : 8,
        appPort: 8080,
        healthCheckPath: "/healthz",
        cpuTargetPercent: 60,
        detailedMonitoring: environment === "prod",
        amiParameterName: `/platform/${stack}/web/ami-id`,
        backupTag: { key: "Backup", value: "true" },
        snapshots: { enabled: true, intervalHours: environment === "prod" ? 12 : 24, time: "03:00", retainCount: environment === "prod" ? 14 : 3 },
    }),
    check: checks<z.output<typeof webTierSchema>>(
        (web) => web.minSize > web.maxSize && { path: "minSize", message: `must not exceed maxSize (${web.maxSize})` },
        // Two checks, not one "between" check: a wrong minSize must not hide a desiredCapacity above maxSize.
        (web) => web.desiredCapacity > web.maxSize && { path: "desiredCapacity", message: `must not exceed maxSize (${web.maxSize})` },
        (web) => web.desiredCapacity < web.minSize && { path: "desiredCapacity", message: `must be at least minSize (${web.minSize})` },
        (web) => {
            const problem = instanceFamilyProblem(web.instanceType, web.architecture);
            return problem !== undefined && { path: "instanceType", message: problem };
        },
        (web) => web.mode === "single" && web.certificateArn !== undefined && { path: "certificateArn", message: 'needs mode "asg": single mode has no load balancer to terminate HTTPS' },
    ),
});
