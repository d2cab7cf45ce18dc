/**
 * lb-no-plain-http-forward-in-production (mandatory) and lb-no-plain-http-forward (advisory):
 * an internet-facing load balancer's HTTP listeners only redirect to HTTPS in production.
 */
import * as assert from "assert";
import { expectPass, expectViolation, graph, res, violationsOf } from "./helpers";
import { runPolicies } from "../../tools/policyCheck";
import { stackRun, serialRun, tempStackFile, devWithLoadBalancer } from "../support/stacks";

const LB = "aws:lb/loadBalancer:LoadBalancer";
const LISTENER = "aws:lb/listener:Listener";
const RULE = "aws:lb/listenerRule:ListenerRule";
const PROD = "lb-no-plain-http-forward-in-production";
const ELSEWHERE = "lb-no-plain-http-forward";

const redirect = [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }];
const forward = [{ type: "forward", targetGroupArn: "<computed>" }];

function balancer(env: string, extra: Record<string, unknown> = {}) {
    return res(LB, `web-${env}`, { loadBalancerType: "application", internal: false, tags: { Environment: env }, ...extra });
}
function listener(name: string, lb: ReturnType<typeof res>, inputs: Record<string, unknown>) {
    return res(LISTENER, name, { loadBalancerArn: "<computed>", ...inputs }, { loadBalancerArn: [lb] });
}

describe("policies: load balancers (plain HTTP from the internet)", () => {
    it("passes production HTTPS with an HTTP listener that only redirects", async () => {
        const lb = balancer("prod");
        const https = listener("web-https", lb, { port: 443, protocol: "HTTPS", certificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/x", defaultActions: forward });
        const http = listener("web-http", lb, { port: 80, protocol: "HTTP", defaultActions: redirect });
        await expectPass(graph(lb, https, http), PROD);
        await expectPass(graph(lb, https, http), ELSEWHERE);
    });

    it("passes an internal load balancer forwarding HTTP, even in production", async () => {
        const lb = balancer("prod", { internal: true });
        await expectPass(graph(lb, listener("internal-http", lb, { port: 80, protocol: "HTTP", defaultActions: forward })), PROD);
    });

    it("reports a production HTTP listener that forwards, as mandatory (protocol unset means HTTP)", async () => {
        const lb = balancer("prod");
        const http = listener("web-http", lb, { port: 80, protocol: "HTTP", defaultActions: forward });
        const unset = listener("web-8080", lb, { port: 8080, defaultActions: [{ type: "forward", forward: { targetGroups: [{ arn: "<computed>" }] } }] });
        const g = graph(lb, http, unset);
        await expectViolation(g, PROD, http, { level: "mandatory", match: /forwards plain HTTP \(port 80\).*Production.*Fix: serve HTTPS/ });
        await expectViolation(g, PROD, unset, { level: "mandatory", match: /port 8080/ });
        await expectPass(g, ELSEWHERE);
    });

    it("reports a forwarding rule on a production HTTP listener whose default only redirects", async () => {
        const lb = balancer("prod");
        const http = listener("web-http", lb, { port: 80, protocol: "HTTP", defaultActions: redirect });
        const rule = res(RULE, "api-plain", { listenerArn: "<computed>", priority: 10, actions: forward, conditions: [{ pathPattern: { values: ["/api/*"] } }] }, { listenerArn: [http] });
        const vs = await violationsOf(graph(lb, http, rule), PROD);
        assert.deepStrictEqual(vs.map((v) => v.urn), [rule.urn]);
        assert.match(vs[0].message, /Listener rule 'api-plain' on the plain HTTP listener 'web-http'/);
    });

    it("outside production the same listener is advisory, and the mandatory rule is silent", async () => {
        const lb = balancer("dev");
        const http = listener("web-http", lb, { port: 80, protocol: "HTTP", defaultActions: forward });
        await expectViolation(graph(lb, http), ELSEWHERE, http, { level: "advisory" });
        await expectPass(graph(lb, http), PROD);
    });

    it("reads the environment from the provider's default tags or the policy config when resources are untagged", async () => {
        const lb = res(LB, "web", { loadBalancerType: "application", internal: false });
        const http = listener("web-http", lb, { port: 80, protocol: "HTTP", defaultActions: forward });
        const provider = res("pulumi:providers:aws", "aws", { region: "us-east-1", defaultTags: { tags: { Environment: "prod" } } }, {}, { custom: true });
        const viaProvider = graph(provider, { ...lb, provider: `${provider.urn}::${provider.id}` }, { ...http, provider: `${provider.urn}::${provider.id}` });
        await expectViolation(viaProvider, PROD, http, { level: "mandatory" });
        await expectViolation(graph(lb, http), PROD, http, { config: { [PROD]: { environment: "prod" } } });
        await expectPass(graph(lb, http), PROD);
    });

    it("can't judge a listener whose load balancer is outside the stack, or a network load balancer", async () => {
        const orphan = res(LISTENER, "elsewhere", { loadBalancerArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x/0123", protocol: "HTTP", defaultActions: forward, tags: { Environment: "prod" } });
        const nlb = balancer("prod", { loadBalancerType: "network" });
        await expectPass(graph(orphan, nlb, listener("tcp", nlb, { port: 80, protocol: "TCP", defaultActions: forward })), PROD);
    });

    describe("on the shipped stacks", function () {
        this.timeout(120_000);

        it("prod: the HTTP listener redirects, HTTPS forwards, no finding", async () => {
            const { graph: prod } = await stackRun("prod");
            const listeners = prod.resources.filter((r) => r.type === LISTENER);
            assert.deepStrictEqual(listeners.map((l) => `${l.inputs.protocol} ${(l.inputs.defaultActions as any[])[0].type}`).sort(), ["HTTP redirect", "HTTPS forward"]);
            const vs = (await runPolicies(prod)).filter((v) => v.policy === PROD || v.policy === ELSEWHERE);
            assert.deepStrictEqual(vs, []);
        });

        it("a dev stack with a load balancer and no certificate gets the advisory finding only", async () => {
            const { graph: dev } = await serialRun({ stack: "dev", configFile: tempStackFile("dev", devWithLoadBalancer()) });
            const vs = (await runPolicies(dev)).filter((v) => v.policy === PROD || v.policy === ELSEWHERE);
            assert.deepStrictEqual(vs.map((v) => [v.policy, v.level]), [[ELSEWHERE, "advisory"]]);
        });
    });
});
