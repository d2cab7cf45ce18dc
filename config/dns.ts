import { z } from "zod";
import { isDnsName, isDnsLabel } from "../components/dnsNames";
import { checks, section } from "./types";

export { isDnsName };

const subdomainOk = (subdomain: string) => subdomain === "" || isDnsLabel(subdomain);


/** The stack's domain: `<subdomain>.<parentDomain>`, or the parent domain itself when subdomain is empty. */
export function stackDomain(dns: { parentDomain: string; subdomain: string }): string {
    return dns.subdomain ? `${dns.subdomain}.${dns.parentDomain}` : dns.parentDomain;
}

const dnsSchema = z
    .object({
        /** Manage DNS (zone, certificate, records). Off: the load balancer's own name is used over HTTP. */
        enabled: z.boolean(),
        /** The parent domain, e.g. `example.com` (checked in `check`, so it is reported with the other DNS problems). */
        parentDomain: z.string(),
        /** This stack's label under the parent domain (e.g. `dev` for dev.example.com); empty for the apex. */
        subdomain: z.string(),
        /** Create the stack's public zone (and print its NS records to delegate) or look an existing zone up by name. */
        createZone: z.boolean(),
        /** DNSSEC signing of the public zone (KMS key in us-east-1). */
        dnssec: z.boolean(),
        /** Route 53 query logging to CloudWatch Logs (us-east-1). */
        queryLogging: z.boolean(),
        /** Route 53 health check on the public endpoint. */
        healthCheck: z.object({ enabled: z.boolean(), path: z.string().optional() }).strict(),
        /** Failover routing to a maintenance page on CloudFront when the health check fails. */
        failover: z.boolean(),
        /** Private hosted zone for internal names, associated with the VPC. */
        privateZoneName: z.string(),
    })
    .strict();

export const dnsSection = section({
    key: "dns",
    schema: dnsSchema,
    defaults: (environment, stack): z.input<typeof dnsSchema> => ({
        enabled: false,
        parentDomain: "example.com",
        subdomain: stack.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 63),
        createZone: true,
        dnssec: false,
        queryLogging: environment === "prod",
        healthCheck: { enabled: environment === "prod", path: "/healthz" },
        failover: environment === "prod",
        privateZoneName: `${stack.toLowerCase().replace(/[^a-z0-9-]/g, "-")}.internal`,
    }),
    // Here rather than in the schema: a schema error would skip these checks, and one config
    // error must name every DNS problem at once.
    check: checks<z.output<typeof dnsSchema>>(
        (dns) => !isDnsName(dns.parentDomain) && { path: "parentDomain", message: "must be a valid DNS name such as example.com (lower-case labels of letters, digits and '-')" },
        (dns) => !subdomainOk(dns.subdomain) && { path: "subdomain", message: "must be one DNS label: lower-case letters, digits and '-', not starting or ending with '-'" },
        (dns) => !isDnsName(dns.privateZoneName) && { path: "privateZoneName", message: "must be a valid DNS name such as dev.internal" },
        (dns) => dns.failover && !(dns.healthCheck.enabled && dns.healthCheck.path) && { path: "healthCheck.path", message: "failover needs a health check: set healthCheck.enabled true and a path starting with /" },
        (dns) => dns.healthCheck.path !== undefined && !/^\/\S*$/.test(dns.healthCheck.path) && { path: "healthCheck.path", message: 'must start with "/" and contain no spaces' },
        (dns) =>
            isDnsName(dns.parentDomain) &&
            subdomainOk(dns.subdomain) &&
            dns.subdomain !== "" &&
            !isDnsName(`${dns.subdomain}.${dns.parentDomain}`) && { path: "subdomain", message: `${dns.subdomain}.${dns.parentDomain} is longer than a DNS name may be (253 characters)` },
    ),
});
