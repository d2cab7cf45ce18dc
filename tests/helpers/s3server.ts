/**
 * A real S3-compatible server for tests and benchmarks: `s3rver` (npm) started in a
 * child process (tests/helpers/s3child.ts) on 127.0.0.1, on a free port chosen by the kernel,
 * storing objects in a fresh temp dir. The child process matters: the backup scripts are run
 * with spawnSync from the test, which blocks this process's event loop, so the server must not
 * live in it. It also lets a test SIGKILL the server mid-upload.
 *
 * With `policy` (an IAM identity policy), the endpoint is a loopback proxy in front of s3rver
 * that answers as Amazon S3 does for a caller holding exactly that policy (tests/helpers/s3Policy.ts):
 * what the policy does not allow gets 403 AccessDenied, and a GetObject/HeadObject of a missing
 * key gets 403 rather than 404 unless the policy grants s3:ListBucket without condition (S3 API
 * Reference, GetObject "Permissions": https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html).
 * s3rver itself enforces no IAM at all, so without this the tests would see 404s that the
 * instance role never gets on AWS.
 *
 * AWS CLI v2.9 ignores AWS_ENDPOINT_URL, so `binDir` holds an `aws` wrapper that
 * execs the real CLI as `aws --endpoint-url http://127.0.0.1:PORT "$@"` (warm by default,
 * tests/helpers/awsCli.ts); put
 * `binDir` first on PATH and the scripts run exactly as on EC2.
 *
 * s3rver 3.7.1 limits (read from its source): multipart upload is supported
 * (initiate/upload part/complete), AbortMultipartUpload is NOT (the CLI's abort after
 * a failed upload gets an error, which it ignores), no flexible checksums
 * (x-amz-checksum-*), ETags are md5 (single part) or md5 of the assembled object
 * (multipart, unlike real S3's "md5-of-md5s-N"), and it checks no Content-MD5: the child adds
 * that check as S3 makes it (tests/helpers/s3Integrity.ts), because backup.sh's default
 * verification is S3's check of every part it uploads.
 */
import { spawn, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { PolicyDocument } from '../../components/bucket';
import { tempDir } from '../support/tmp';
import { awsCliCommand } from './awsCli';

export interface S3Server {
  port: number;
  endpoint: string;
  bucket: string;
  /** s3rver's storage root; objects live under `${dir}/${bucket}/...` */
  dir: string;
  /** directory holding the `aws` wrapper; prepend to PATH */
  binDir: string;
  /** environment for child processes: wrapper first on PATH, dummy creds, no IMDS */
  env: NodeJS.ProcessEnv;
  /** graceful stop + temp dir removal */
  stop(): Promise<void>;
  /** SIGKILL the server process (simulates S3 becoming unreachable) */
  kill(): Promise<void>;
  /** Replaces the caller's IAM policy (only for a server started with `policy`). */
  setPolicy(policy: PolicyDocument): void;
  /** The file the proxy re-reads the policy from on every request (with `policy`): a script may swap it. */
  policyFile?: string;
  /** `<operation> <key or prefix> <status>` of every request since the last call (with `policy`). */
  takeRequests(): string[];
  /**
   * `<PutObject|UploadPart> <key> <match|absent|mismatch|invalid>` (what the upload's Content-MD5
   * said about the body that arrived) of every upload since the last call.
   */
  takeUploads(): string[];
  /** While on, one byte of every upload body is flipped on arrival (a fault on the network): S3 refuses it (BadDigest). */
  corruptUploads(on: boolean): void;
}

const CHILD = path.join(__dirname, 's3child.ts');

/**
 * Throttle used by the wrapper when AWS_WRAPPER_THROTTLE_BPS is set and the CLI is
 * uploading from stdin: it slows the stream down so a test can kill the server
 * reliably in the middle of a multipart upload.
 */
const THROTTLE_SCRIPT = `
const bps = Number(process.argv[1]);
const chunk = 64 * 1024;
const delay = Math.max(1, Math.round((chunk / bps) * 1000));
process.stdout.on('error', () => process.exit(141));
process.stdin.on('readable', function pump() {
  let buf;
  while ((buf = process.stdin.read(chunk)) !== null) {
    process.stdin.removeListener('readable', pump);
    process.stdout.write(buf, () => setTimeout(() => {
      process.stdin.on('readable', pump); pump();
    }, delay));
    return;
  }
});
`;

/** The lines a log holds, emptying it. */
function takeLines(log: string): string[] {
  const lines = fs.readFileSync(log, 'utf8').split('\n').filter(Boolean);
  fs.writeFileSync(log, '');
  return lines;
}

export function awsEnv(binDir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${binDir}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_PAGER: '',
    AWS_MAX_ATTEMPTS: '2',
    AWS_RETRY_MODE: 'standard',
  };
}

export async function startS3Server(opts: {
  bucket?: string;
  policy?: PolicyDocument;
  /** The wrapper execs /usr/bin/aws itself rather than the tests' warm CLI (tests/helpers/awsCli.ts): for timings. */
  directCli?: boolean;
} = {}): Promise<S3Server> {
  const bucket = opts.bucket ?? 'backups';
  const root = tempDir('s3rver-');
  const dir = path.join(root, 'data');
  const binDir = path.join(root, 'bin');
  const policyFile = path.join(root, 'policy.json');
  const requestLog = path.join(root, 'requests.log');
  const uploadLog = path.join(root, 'uploads.log');
  const corruptFlag = path.join(root, 'corrupt-uploads');
  fs.mkdirSync(dir);
  fs.writeFileSync(uploadLog, '');
  fs.mkdirSync(binDir);
  const policyArgs = opts.policy ? [policyFile, requestLog] : [];
  if (opts.policy) {
    fs.writeFileSync(policyFile, JSON.stringify(opts.policy));
    fs.writeFileSync(requestLog, '');
  }

  const child: ChildProcess = spawn(
    process.execPath,
    ['-r', path.join(__dirname, '..', '..', 'tools', 'register.js'), CHILD, require.resolve('s3rver'), dir, bucket, ...policyArgs],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PLATFORM_S3_UPLOAD_LOG: uploadLog, PLATFORM_S3_CORRUPT_FLAG: corruptFlag } },
  );
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`s3rver did not start: ${stderr}`)), 15000);
    child.stdout!.on('data', (d) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(JSON.parse(out.slice(0, nl)).port);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited with ${code}: ${stderr}`));
    });
  });
  child.removeAllListeners('exit');

  const endpoint = `http://127.0.0.1:${port}`;
  const cli = await awsCliCommand({ direct: opts.directCli });
  const throttlePath = path.join(binDir, 'throttle.js');
  fs.writeFileSync(throttlePath, THROTTLE_SCRIPT);
  fs.writeFileSync(
    path.join(binDir, 'aws'),
    [
      '#!/bin/bash',
      '# Test wrapper: the real AWS CLI v2, pointed at a local s3rver (CLI 2.9 ignores AWS_ENDPOINT_URL).',
      `if [ -n "\${AWS_WRAPPER_THROTTLE_BPS:-}" ] && [ "\${1:-}" = s3 ] && [ "\${2:-}" = cp ] && [ "\${3:-}" = - ]; then`,
      `  ${JSON.stringify(process.execPath)} ${JSON.stringify(throttlePath)} "$AWS_WRAPPER_THROTTLE_BPS" | ${cli} --endpoint-url ${endpoint} "$@"`,
      '  exit "${PIPESTATUS[1]}"',
      'fi',
      `exec ${cli} --endpoint-url ${endpoint} "$@"`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );

  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });

  return {
    port,
    endpoint,
    bucket,
    dir,
    binDir,
    env: awsEnv(binDir),
    ...(opts.policy ? { policyFile } : {}),
    setPolicy(policy: PolicyDocument) {
      if (!opts.policy) throw new Error('setPolicy: this server was started without a policy');
      fs.writeFileSync(policyFile, JSON.stringify(policy));
    },
    takeRequests() {
      if (!opts.policy) throw new Error('takeRequests: this server was started without a policy');
      return takeLines(requestLog);
    },
    takeUploads() {
      return takeLines(uploadLog);
    },
    corruptUploads(on: boolean) {
      if (on) fs.writeFileSync(corruptFlag, '');
      else fs.rmSync(corruptFlag, { force: true });
    },
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
