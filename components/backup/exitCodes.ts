/**
 * Exit codes of components/ssm/drill.sh (its header and components/ssm/README.md say the same;
 * tests/backup.test.ts keeps the three in step). A module of its own, without the Pulumi SDKs:
 * `npm run ops` reads it, and its usage and argument errors must not wait for them to load.
 */
export const DRILL_EXIT_CODES: Readonly<Record<number, string>> = {
    1: "unexpected internal error",
    2: "bad arguments",
    3: "nothing to drill: no committed snapshot under the prefix",
    4: "S3 failure (listing or download)",
    5: "verification failed: checksum, manifest or chain, or the restored tree differs from the manifest",
    6: "another drill is running on this instance",
    7: "extraction failed",
    8: "not found: a snapshot or chain member is missing, or a configured directory has no snapshot",
    9: "a required tool is missing",
    11: "every directory verified, but publishing the metrics failed",
};
