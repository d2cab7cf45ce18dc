/**
 * Plain HTTP from the internet: an internet-facing load balancer must not forward HTTP to its
 * targets (only redirect it to HTTPS). Mandatory in production, advisory elsewhere: two rules
 * with the same check, each judging the listeners of its environments, because a rule has one
 * enforcement level.
 *
 * A listener belongs to the load balancer its `loadBalancerArn` came from (the property
 * dependency, also known in preview), and a listener rule to its listener through `listenerArn`.
 * A listener whose load balancer is not in the stack cannot be judged (internal or not is unknown).
 */

import type { PolicyResource, ReportViolation, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { RuleMetadata, UNKNOWN, bool, environmentFromTags, get, getArray, isProduction, msg } from "./util";

export const LOAD_BALANCER_TYPES = ["aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"];
export const LISTENER_TYPES = ["aws:lb/listener:Listener", "aws:alb/listener:Listener"];
export const LISTENER_RULE_TYPES = ["aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule"];

/** The environment of a resource: its tags, its provider's default tags, else the policy config's `environment`. */
function environmentOf(r: PolicyResource, configured: string | undefined): string | undefined {
    return environmentFromTags(get(r.props, "tags")) ??
        environmentFromTags(get(r.props, "tagsAll")) ??
        environmentFromTags(get(r.provider?.props, "defaultTags", "tags")) ??
        configured;
}

/** True when `action` forwards to targets (`type: forward`, either the short or the weighted form). */
function forwards(action: unknown): boolean {
    return get(action, "type") === "forward";
}

/** The load balancer a listener is on, when the stack has it. */
function loadBalancerOf(listener: PolicyResource, all: PolicyResource[]): PolicyResource | undefined {
    const fromDeps = (listener.propertyDependencies?.loadBalancerArn ?? []).find(d => d && LOAD_BALANCER_TYPES.includes(d.type));
    if (fromDeps) {
        return fromDeps;
    }
    const arn = get(listener.props, "loadBalancerArn");
    return typeof arn === "string" ? all.find(r => LOAD_BALANCER_TYPES.includes(r.type) && [get(r.props, "arn"), get(r.props, "id")].includes(arn)) : undefined;
}

/** HTTP is the default protocol of an ALB listener (and what port 80 without a protocol means). */
function isPlainHttp(listener: PolicyResource): boolean | typeof UNKNOWN {
    const protocol = get(listener.props, "protocol");
    if (protocol === UNKNOWN) {
        return UNKNOWN;
    }
    return protocol === undefined || String(protocol).toUpperCase() === "HTTP";
}

interface Finding {
    urn: string;
    environment: string | undefined;
    message: string;
}

/** Every HTTP listener (or listener rule on one) of an internet-facing load balancer that forwards. */
export function plainHttpForwards(resources: PolicyResource[], configuredEnvironment: string | undefined): Finding[] {
    const findings: Finding[] = [];
    for (const listener of resources.filter(r => LISTENER_TYPES.includes(r.type))) {
        const lb = loadBalancerOf(listener, resources);
        if (!lb) {
            continue;
        }
        const internal = bool(get(lb.props, "internal"));
        const lbType = get(lb.props, "loadBalancerType");
        if (internal === true || internal === UNKNOWN || (lbType !== undefined && lbType !== "application")) {
            continue;
        }
        if (isPlainHttp(listener) !== true) {
            continue;
        }
        const environment = environmentOf(listener, configuredEnvironment) ?? environmentOf(lb, configuredEnvironment);
        const actions = getArray(listener.props, "defaultActions");
        if (actions !== UNKNOWN && actions.some(forwards)) {
            findings.push({
                urn: listener.urn,
                environment,
                message: `Listener '${listener.name}' on internet-facing load balancer '${lb.name}' forwards plain HTTP (port ${String(get(listener.props, "port") ?? 80)}) to its targets.`,
            });
        }
        const rules = resources.filter(r => LISTENER_RULE_TYPES.includes(r.type) && (r.propertyDependencies?.listenerArn ?? []).some(d => d?.urn === listener.urn));
        for (const rule of rules) {
            const ruleActions = getArray(rule.props, "actions");
            if (ruleActions !== UNKNOWN && ruleActions.some(forwards)) {
                findings.push({
                    urn: rule.urn,
                    environment: environmentOf(rule, configuredEnvironment) ?? environment,
                    message: `Listener rule '${rule.name}' on the plain HTTP listener '${listener.name}' of internet-facing load balancer '${lb.name}' forwards to targets.`,
                });
            }
        }
    }
    return findings;
}

const FIX = "serve HTTPS on 443 with an ACM certificate and make the HTTP listener only redirect " +
    "(defaultActions: [{ type: \"redirect\", redirect: { protocol: \"HTTPS\", port: \"443\", statusCode: \"HTTP_301\" } }]).";

const configSchema = {
    properties: {
        environment: { type: "string" as const, description: "Environment of the stack (dev|staging|prod) when resources are not tagged." },
    },
};

function check(wantProduction: boolean) {
    return (args: StackValidationArgs, reportViolation: ReportViolation) => {
        const configured = args.getConfig<{ environment?: unknown }>().environment;
        for (const f of plainHttpForwards(args.resources, typeof configured === "string" ? configured : undefined)) {
            if (isProduction(f.environment) === wantProduction) {
                reportViolation(msg(`${f.message}${wantProduction ? ` Production (Environment=${f.environment}) never serves plain HTTP from the internet.` : ""}`, FIX), f.urn);
            }
        }
    };
}

export const noPlainHttpInProduction: StackValidationPolicy = {
    name: "lb-no-plain-http-forward-in-production",
    description: "In production (Environment = prod), an internet-facing load balancer's HTTP listeners only redirect to HTTPS; nothing forwards plain HTTP.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: `In production, ${FIX}`,
    configSchema,
    validateStack: check(true),
};

export const noPlainHttp: StackValidationPolicy = {
    name: "lb-no-plain-http-forward",
    description: "Outside production, internet-facing load balancers that forward plain HTTP are reported (advisory): HTTPS with an HTTP redirect is the safe default.",
    enforcementLevel: "advisory",
    severity: "medium",
    remediationSteps: FIX,
    configSchema,
    validateStack: check(false),
};

export const loadBalancerPolicies = [noPlainHttpInProduction, noPlainHttp];

export const loadBalancerMetadata: RuleMetadata[] = loadBalancerPolicies.map(p => ({
    name: p.name,
    description: p.description,
    enforcementLevel: p.enforcementLevel!,
    severity: p.severity!,
    concern: "load-balancers",
    kind: "stack",
    remediation: p.remediationSteps!,
}));
