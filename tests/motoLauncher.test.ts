/**
 * Why tests/helpers/moto_server.py exists: moto 5.2.1 as it ships (`python3 -m moto.server`) has
 * the two bugs the launcher works around, shown here on the unpatched server. When a moto
 * upgrade fixes them these tests fail, and the launcher's fixes can go (the launcher also
 * refuses to run with another moto version).
 */
import { strict as assert } from "assert";
import { Moto, startMoto } from "./helpers/moto";
import { tempDir } from "./support/tmp";
import { requireTools } from "./support/tools";

let unpatchedPort: number | undefined;

describe("moto 5.2.1 unpatched: the bugs tests/helpers/moto_server.py works around", function () {
    this.timeout(60_000);
    let moto: Moto;
    before(async function () {
        requireTools(this, ["moto"]);
        moto = await startMoto(tempDir("moto-unpatched-"), { unpatched: true });
        unpatchedPort = moto.port;
    });
    after(async () => {
        if (moto) await moto.stop();
    });

    it("with IAM enforced, a signed ListObjectsV2 whose query holds '/' fails SignatureDoesNotMatch, while a PutObject by the same caller passes", async () => {
        const policy = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] };
        const [, , , key] = await moto.botoOk([
            { service: "s3", op: "create_bucket", params: { Bucket: "launcher-probe" } },
            { service: "iam", op: "create_user", params: { UserName: "probe" } },
            { service: "iam", op: "put_user_policy", params: { UserName: "probe", PolicyName: "s3", PolicyDocument: JSON.stringify(policy) } },
            { service: "iam", op: "create_access_key", params: { UserName: "probe" } },
        ]);
        await moto.enforceIam(true);
        try {
            const r = await moto.boto([
                { service: "s3", op: "put_object", params: { Bucket: "launcher-probe", Key: "backups/dev/x", Body: "x" } },
                { service: "s3", op: "list_objects_v2", params: { Bucket: "launcher-probe", Prefix: "backups/dev/" } },
            ], key.AccessKey);
            assert.equal(r[0].ok, true, JSON.stringify(r[0]));
            assert.deepEqual([r[1].ok, (r[1] as { code: string }).code], [false, "SignatureDoesNotMatch"]);
        } finally {
            await moto.enforceIam(false);
        }
    });

    it("SendCommand to one instance id is recorded as sent to every instance", async () => {
        const [amazon] = await moto.botoOk([{ service: "ec2", op: "describe_images", params: { Owners: ["amazon"] } }]);
        const [launched] = await moto.botoOk([{ service: "ec2", op: "run_instances", params: { ImageId: amazon.Images[0].ImageId, MinCount: 2, MaxCount: 2 } }]);
        const [one, other] = launched.Instances.map((i: { InstanceId: string }) => i.InstanceId);
        const [sent] = await moto.botoOk([{ service: "ssm", op: "send_command", params: { DocumentName: "AWS-RunShellScript", InstanceIds: [one], Parameters: { commands: ["true"] } } }]);
        assert.ok(sent.Command.InstanceIds.includes(other), `sent to ${one} only, moto records ${sent.Command.InstanceIds}`);
    });
});

describe("a moto server handed from one test file to the next (tests/helpers/moto.ts)", function () {
    this.timeout(60_000);
    const noSuchKey = { AccessKeyId: "AKIAUNKNOWN000000000", SecretAccessKey: "unknown" };
    const state = (m: Moto) =>
        m.boto([
            { service: "s3", op: "list_buckets" },
            { service: "iam", op: "list_users" },
            { service: "ec2", op: "describe_images", params: { Owners: ["amazon"] } },
            { service: "ec2", op: "describe_instances" },
        ], noSuchKey);

    it("is the same server, reset to what a fresh start holds: no buckets, users or instances of the files before, IAM enforcement off, the default images back", async function () {
        requireTools(this, ["moto"]);
        const first = await startMoto(tempDir("moto-handed-"));
        await first.botoOk([
            { service: "s3", op: "create_bucket", params: { Bucket: "left-behind" } },
            { service: "iam", op: "create_user", params: { UserName: "left-behind" } },
            { service: "ec2", op: "run_instances", params: { ImageId: "ami-12c6146b", MinCount: 1, MaxCount: 1 } },
        ]);
        await first.enforceIam(true);
        assert.equal((await state(first))[0].ok, false, "an unknown key is refused while IAM is enforced");
        await first.stop();

        const next = await startMoto(tempDir("moto-handed-"));
        try {
            assert.equal(next.port, first.port, "the server the previous file gave back is reused");
            const [buckets, users, images, instances] = await state(next);
            assert.ok(buckets.ok && users.ok && images.ok && instances.ok, JSON.stringify([buckets, users, images, instances]).slice(0, 500));
            const result = (r: typeof buckets) => (r as { result: Record<string, unknown[]> }).result;
            assert.deepEqual([result(buckets).Buckets, result(users).Users, result(instances).Reservations], [[], [], []]);
            assert.ok(result(images).Images.length > 0, "moto's default AMIs are re-created by the reset");
        } finally {
            await next.stop();
        }
    });

    it("an unpatched server (moto as it ships, which does not watch its stdin) is stopped, not kept: it would outlive the test process", async function () {
        requireTools(this, ["moto"]);
        if (unpatchedPort === undefined) this.skip();
        await assert.rejects(fetch(`http://127.0.0.1:${unpatchedPort}/moto-api/`), "the previous suite's unpatched moto still answers");
    });
});
