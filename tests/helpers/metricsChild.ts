/**
 * The child process of tests/helpers/metricsServer.ts: a loopback endpoint that answers the AWS CLI's
 * CloudWatch PutMetricData (query protocol, API version 2010-08-01) as CloudWatch answers a caller
 * holding exactly the given IAM policy, and records every accepted call.
 *
 * argv: <policy file> <record file>
 * Prints one JSON line `{"port": N}` once listening. The policy file is re-read on every request.
 * Each accepted call appends one JSON line `{"namespace", "data": [{metricName, value, unit,
 * dimensions: {Name: Value}}]}` to the record file, decoded from the form the CLI sent: what the
 * script's `--metric-data` became after the CLI parsed and validated it against the service model.
 *
 * Authorization: cloudwatch:PutMetricData has no resource type ("*") and one condition key,
 * cloudwatch:namespace, the request's Namespace (Service Authorization Reference, "Actions,
 * resources, and condition keys for Amazon CloudWatch":
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html).
 */
import * as fs from "fs";
import * as http from "http";
import type { AddressInfo } from "net";
import * as zlib from "zlib";
import { evaluate } from "./s3Policy";

const [policyFile, recordFile] = process.argv.slice(2);
const XMLNS = "http://monitoring.amazonaws.com/doc/2010-08-01/";

interface Datum {
    metricName: string;
    value: number;
    unit?: string;
    dimensions: Record<string, string>;
}

/** Decodes `MetricData.member.N.*` of a query-protocol PutMetricData. */
export function decodePutMetricData(form: URLSearchParams): { namespace: string; data: Datum[] } {
    const members = new Map<number, Record<string, string>>();
    for (const [k, v] of form) {
        const m = /^MetricData\.member\.(\d+)\.(.+)$/.exec(k);
        if (!m) continue;
        const n = Number(m[1]);
        members.set(n, { ...(members.get(n) ?? {}), [m[2]]: v });
    }
    const data = [...members.entries()]
        .sort(([a], [b]) => a - b)
        .map(([, f]) => {
            const dimensions: Record<string, string> = {};
            for (let i = 1; f[`Dimensions.member.${i}.Name`] !== undefined; i++) dimensions[f[`Dimensions.member.${i}.Name`]] = f[`Dimensions.member.${i}.Value`];
            return { metricName: f.MetricName, value: Number(f.Value), unit: f.Unit, dimensions };
        });
    return { namespace: form.get("Namespace") ?? "", data };
}

function reply(res: http.ServerResponse, status: number, body: string): void {
    res.writeHead(status, { "Content-Type": "text/xml", "Content-Length": Buffer.byteLength(body), "x-amzn-RequestId": "00000000-0000-0000-0000-000000000000" });
    res.end(body);
}

const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
        let body = Buffer.concat(chunks);
        if (req.headers["content-encoding"] === "gzip") body = zlib.gunzipSync(body);
        const form = new URLSearchParams(body.toString("utf8"));
        const error = (status: number, code: string, message: string) =>
            reply(res, status, `<ErrorResponse xmlns="${XMLNS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>0</RequestId></ErrorResponse>`);
        if (form.get("Action") !== "PutMetricData" || form.get("Version") !== "2010-08-01") {
            error(400, "InvalidAction", `not modelled: ${form.get("Action")} ${form.get("Version")}`);
            return;
        }
        const call = decodePutMetricData(form);
        const policy = JSON.parse(fs.readFileSync(policyFile, "utf8"));
        if (evaluate(policy, "cloudwatch:PutMetricData", "*", { "cloudwatch:namespace": call.namespace }) !== "Allow") {
            error(403, "AccessDenied", `not authorized to perform: cloudwatch:PutMetricData in namespace ${call.namespace}`);
            return;
        }
        fs.appendFileSync(recordFile, JSON.stringify(call) + "\n");
        reply(res, 200, `<PutMetricDataResponse xmlns="${XMLNS}"><ResponseMetadata><RequestId>0</RequestId></ResponseMetadata></PutMetricDataResponse>`);
    });
});

server.listen(0, "127.0.0.1", () => process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port }) + "\n"));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
