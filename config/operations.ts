import { z } from "zod";
import { associationCronSchedule, section, tagSelector } from "./types";

const amiFactorySchema = z
    .object({
        enabled: z.boolean(),
        /**
         * Bake schedule (State Manager association running the bake runbook): cron only, and only
         * what associations accept (daily, weekly, the Nth weekday of the month, every 1/2/4/8/12
         * hours). Default: the first Sunday of every month, 03:00 UTC.
         */
        bakeSchedule: associationCronSchedule,
        /** Instance imaging schedule. */
        imagingSchedule: associationCronSchedule,
        /** Keep this many baked AMIs; older ones are deregistered with their snapshots. */
        keepBakedImages: z.number().int().min(1).max(100),
        /** Keep this many images per imaged instance. */
        keepInstanceImages: z.number().int().min(1).max(100),
        /** Packages installed into the baked image (dnf names). */
        packages: z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._+-]*$/, "must be a package name")),
        /** Image instances without rebooting them (faster, but the file system may not be consistent). */
        noReboot: z.boolean(),
        /** Start an instance refresh of the web tier after a bake. */
        instanceRefresh: z.boolean(),
        /** Tag that selects instances to image. */
        imagingTag: tagSelector,
    })
    .strict();

export const amiFactorySection = section({
    key: "amiFactory",
    schema: amiFactorySchema,
    defaults: (environment): z.input<typeof amiFactorySchema> => ({
        enabled: true,
        bakeSchedule: "cron(0 3 ? * SUN#1 *)",
        imagingSchedule: "cron(0 4 ? * SAT *)",
        keepBakedImages: environment === "prod" ? 5 : 2,
        keepInstanceImages: environment === "prod" ? 4 : 2,
        packages: ["nginx", "amazon-cloudwatch-agent"],
        noReboot: environment !== "prod",
        instanceRefresh: true,
        imagingTag: { key: "Imaging", value: "true" },
    }),
});

const monitoringSchema = z
    .object({
        /** Monthly AWS Budgets limit in USD. */
        budgetUsd: z.number().positive(),
        cpuHighPercent: z.number().min(1).max(100),
        alb5xxPerMinute: z.number().int().min(1),
        targetResponseTimeSeconds: z.number().positive(),
        rdsCpuHighPercent: z.number().min(1).max(100),
        rdsFreeStorageLowGb: z.number().positive(),
        rdsFreeableMemoryLowMb: z.number().positive(),
        rdsConnectionsHigh: z.number().int().positive(),
    })
    .strict();

export const monitoringSection = section({
    key: "monitoring",
    schema: monitoringSchema,
    defaults: (environment): z.input<typeof monitoringSchema> => ({
        budgetUsd: environment === "prod" ? 400 : 50,
        cpuHighPercent: 80,
        alb5xxPerMinute: 10,
        targetResponseTimeSeconds: 1,
        rdsCpuHighPercent: 80,
        rdsFreeStorageLowGb: 2,
        rdsFreeableMemoryLowMb: 128,
        rdsConnectionsHigh: 80,
    }),
});

const costSchema = z
    .object({
        /** Expected S3 data, for the estimate (GB-month). */
        s3ExpectedGb: z.number().min(0),
        /** Expected CloudFront transfer out (GB per month). */
        cloudFrontGbPerMonth: z.number().min(0),
    })
    .strict();

export const costSection = section({
    key: "cost",
    schema: costSchema,
    defaults: (environment): z.input<typeof costSchema> => ({ s3ExpectedGb: environment === "prod" ? 100 : 5, cloudFrontGbPerMonth: 1 }),
});
