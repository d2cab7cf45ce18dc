/**
 * The child process of tests/helpers/s3server.ts: s3rver on 127.0.0.1 and, when a policy file
 * is given, a loopback proxy in front of it that answers as Amazon S3 does for a caller holding
 * exactly that IAM policy (tests/helpers/s3Policy.ts): requests the policy does not allow get 403
 * AccessDenied, and a GetObject/HeadObject of a missing key gets 403 instead of s3rver's 404
 * unless the policy grants s3:ListBucket without condition. Everything else is passed through
 * byte for byte (headers included, so s3rver's signature check still sees the signed Host).
 *
 * argv: <s3rver module> <storage dir> <bucket> [<policy file> <request log>]
 * Prints one JSON line `{"port": N}` (the proxy's port when there is one) once listening.
 * The policy file is re-read on every request, so a test can change what the caller may do.
 * Each proxied request appends `<operation> <key or prefix> <status>` to the request log.
 *
 * Whether or not there is a proxy, s3rver checks an upload's Content-MD5 as Amazon S3 does
 * (tests/helpers/s3Integrity.ts), which s3rver 3.7.1 itself never does. The environment names the
 * files for it: PLATFORM_S3_UPLOAD_LOG (one line per PutObject/UploadPart: what its Content-MD5
 * was) and PLATFORM_S3_CORRUPT_FLAG (while that file exists, a byte of every upload body is
 * flipped on arrival, as a network fault would).
 */
import * as fs from "fs";
import * as http from "http";
import type { AddressInfo } from "net";
import * as path from "path";
import { enforceContentMd5 } from "./s3Integrity";
import { evaluate, missingKeyStatus, s3Authorization } from "./s3Policy";

const [s3rverModule, dir, bucket, policyFile, requestLog] = process.argv.slice(2);
// eslint-disable-next-line @typescript-eslint/no-var-requires
const S3rver = require(s3rverModule);
const s3rverLib = path.dirname(require.resolve(s3rverModule));
enforceContentMd5(require(path.join(s3rverLib, "controllers", "object")), require(path.join(s3rverLib, "models", "error")), {
    uploadLog: process.env.PLATFORM_S3_UPLOAD_LOG,
    corruptFlag: process.env.PLATFORM_S3_CORRUPT_FLAG,
});

function errorXml(code: string, message: string): string {
    return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>0000000000000000</RequestId><HostId>test-proxy</HostId></Error>`;
}

function proxy(upstreamPort: number): http.Server {
    return http.createServer((req, res) => {
        const url = new URL(req.url ?? "/", "http://127.0.0.1");
        const answer = (status: number, code: string, message: string, what: string) => {
            fs.appendFileSync(requestLog, `${what} ${status}\n`);
            const body = req.method === "HEAD" ? "" : errorXml(code, message);
            res.writeHead(status, { "Content-Type": "application/xml", "Content-Length": Buffer.byteLength(body), "x-amz-request-id": "0000000000000000" });
            res.end(body);
            req.resume();
        };
        let auth;
        try {
            auth = s3Authorization(req.method ?? "GET", url.pathname, url.searchParams, req.headers);
        } catch (err) {
            // Not modelled: fail loudly (the CLI prints this) rather than allow or deny by guess.
            answer(501, "NotImplemented", (err as Error).message, `UNMODELLED ${req.method} ${url.pathname}`);
            return;
        }
        const what = `${auth.operation} ${auth.context["s3:prefix"] ?? auth.resource.replace(/^arn:aws:s3:::[^/]+\/?/, "")}`;
        const policy = JSON.parse(fs.readFileSync(policyFile, "utf8"));
        if (evaluate(policy, auth.action, auth.resource, auth.context) !== "Allow") {
            answer(403, "AccessDenied", "Access Denied", what);
            return;
        }
        const headers = { ...req.headers };
        // Not signed by the CLI (botocore never signs Expect); s3rver need not see it.
        delete headers.expect;
        const upstream = http.request({ host: "127.0.0.1", port: upstreamPort, method: req.method, path: req.url, headers }, (up) => {
            if (auth.action === "s3:GetObject" && up.statusCode === 404 && missingKeyStatus(policy, `arn:aws:s3:::${bucket}`) === 403) {
                up.resume();
                answer(403, "AccessDenied", "Access Denied", what);
                return;
            }
            fs.appendFileSync(requestLog, `${what} ${up.statusCode}\n`);
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
        });
        upstream.on("error", (err) => res.destroy(err));
        req.pipe(upstream);
    });
}

async function main(): Promise<void> {
    const server = new S3rver({ address: "127.0.0.1", port: 0, directory: dir, silent: true, configureBuckets: [{ name: bucket }] });
    const addr: AddressInfo = await server.run();
    let port = addr.port;
    let front: http.Server | undefined;
    if (policyFile) {
        front = proxy(addr.port);
        await new Promise<void>((resolve) => front!.listen(0, "127.0.0.1", resolve));
        port = (front.address() as AddressInfo).port;
    }
    process.stdout.write(JSON.stringify({ port }) + "\n");
    process.on("SIGTERM", () => {
        front?.close();
        server.close().finally(() => process.exit(0));
    });
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
