/**
 * Amazon S3's check of an upload's Content-MD5, added to s3rver 3.7.1 (which never makes it).
 *
 * S3 verifies the body of a PutObject or UploadPart against its Content-MD5 and refuses it when
 * they differ: "To ensure that data is not corrupted when traversing the network, specify the
 * Content-MD5 header in the upload part request. Amazon S3 checks the part data against the provided
 * MD5 value. If they do not match, Amazon S3 returns an error." (Amazon S3 API Reference, UploadPart
 * and PutObject, "Content-MD5": https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html). The error is 400 BadDigest
 * for a mismatch and 400 InvalidDigest for a value that is not a base64 MD5 (Amazon S3 API
 * Reference, "Error responses": https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
 * A refused PutObject body is not stored: the object keeps its previous bytes. A refused part is
 * removed (S3 keeps an earlier upload of that part number; the CLI never uploads one twice).
 *
 * components/ssm/backup.sh relies on this check instead of reading its archive back (its
 * "upload" verification), so the tests must see S3 refuse a corrupted upload, not s3rver store it.
 * Only Content-MD5 is modelled (what CLI 2.9.19 sends): not x-amz-content-sha256, not the
 * x-amz-checksum-* headers or aws-chunked trailers of CLIs from 2.23 on.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { Readable, Transform } from "stream";

/** The parts of a Koa context that s3rver's object controller uses here. */
interface Ctx {
    get(header: string): string;
    params: { bucket: string; key: string };
    query: Record<string, string>;
    req: Readable;
    etag: string;
    store: { getResourcePath(bucket: string, key: string | undefined, kind: string): string };
}
type Handler = (ctx: Ctx) => Promise<void>;
type S3ErrorClass = new (code: string, message: string) => Error;

export interface IntegrityOptions {
    /** Appends `<operation> <key> <content-md5: match|absent|mismatch|invalid>` per upload. */
    uploadLog?: string;
    /** While this file exists, one byte of every upload body is flipped on arrival. */
    corruptFlag?: string;
}

/** What an upload's Content-MD5 header says about a body whose MD5 is `actual`. */
export function contentMd5Verdict(header: string, actual: Buffer): "absent" | "invalid" | "match" | "mismatch" {
    if (header === "") return "absent";
    const claimed = Buffer.from(header, "base64");
    // base64 that does not round-trip, or not 128 bits, is not an MD5 at all.
    if (claimed.length !== 16 || claimed.toString("base64") !== header) return "invalid";
    return claimed.equals(actual) ? "match" : "mismatch";
}

/** Flips the middle byte of the first non-empty chunk. */
function corrupting(): Transform {
    let done = false;
    return new Transform({
        transform(chunk: Buffer, _enc, callback) {
            if (!done && chunk.length > 0) {
                chunk = Buffer.from(chunk);
                chunk[chunk.length >> 1] ^= 0x01;
                done = true;
            }
            callback(null, chunk);
        },
    });
}

/** Replaces s3rver's putObject and uploadPart handlers (routes.js looks them up on every request). */
export function enforceContentMd5(objectController: Record<string, Handler>, S3Error: S3ErrorClass, opts: IntegrityOptions): void {
    const putObject = objectController.putObject;
    const uploadPart = objectController.uploadPart;
    const record = (operation: string, key: string, verdict: string) => {
        if (opts.uploadLog) fs.appendFileSync(opts.uploadLog, `${operation} ${key} ${verdict}\n`);
    };
    const corrupt = () => opts.corruptFlag !== undefined && fs.existsSync(opts.corruptFlag);
    const refuse = (verdict: string) =>
        verdict === "invalid"
            ? new S3Error("InvalidDigest", "The Content-MD5 you specified is not valid.")
            : new S3Error("BadDigest", "The Content-MD5 you specified did not match what we received.");

    // PutObject: the body is held until it is checked, so a refused body never replaces the
    // object (the CLI sends bodies above 8 MiB as multipart, so these stay small).
    objectController.putObject = async (ctx) => {
        const chunks: Buffer[] = [];
        for await (const chunk of corrupt() ? ctx.req.pipe(corrupting()) : ctx.req) chunks.push(chunk as Buffer);
        const body = Buffer.concat(chunks);
        const verdict = contentMd5Verdict(ctx.get("Content-MD5"), crypto.createHash("md5").update(body).digest());
        record("PutObject", ctx.params.key, verdict);
        if (verdict === "invalid" || verdict === "mismatch") throw refuse(verdict);
        ctx.req = Readable.from([body]);
        await putObject(ctx);
    };

    // UploadPart: s3rver hashes the part while it stores it; a refused part is removed again, as
    // S3 never stores it (an earlier upload of that part number is gone too, which the CLI never does).
    objectController.uploadPart = async (ctx) => {
        if (corrupt()) ctx.req = ctx.req.pipe(corrupting());
        await uploadPart(ctx);
        const stored = Buffer.from(ctx.etag.replace(/"/g, ""), "hex");
        const verdict = contentMd5Verdict(ctx.get("Content-MD5"), stored);
        record("UploadPart", ctx.params.key, verdict);
        if (verdict === "invalid" || verdict === "mismatch") {
            const part = path.join(ctx.store.getResourcePath(ctx.params.bucket, undefined, "uploads"), ctx.query.uploadId, String(ctx.query.partNumber));
            fs.rmSync(part, { force: true });
            fs.rmSync(`${part}.md5`, { force: true });
            ctx.etag = "";
            throw refuse(verdict);
        }
    };
}
