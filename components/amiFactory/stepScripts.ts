import * as fs from "fs";
import * as path from "path";

/**
 * The runbooks' Python steps (aws:executeScript handlers), kept as files so that they can be
 * compiled and run in tests (tests/runbookSteps.test.ts runs each against moto) and embedded
 * into the documents byte for byte.
 */
export const STEPS_DIR = path.join(__dirname, "steps");
export const STEP_SCRIPT_PATHS = {
    terminateBuilder: path.join(STEPS_DIR, "terminate_builder.py"),
    bakeRetention: path.join(STEPS_DIR, "bake_retention.py"),
    tagSnapshots: path.join(STEPS_DIR, "tag_snapshots.py"),
    instanceImaging: path.join(STEPS_DIR, "instance_imaging.py"),
} as const;
export const TERMINATE_BUILDER_SCRIPT_PATH = STEP_SCRIPT_PATHS.terminateBuilder;

/** A step's Python as the document embeds it: the file's bytes, refused if SSM would rewrite them. */
export function readStepScript(file: string): string {
    const text = fs.readFileSync(file, "utf8");
    // SSM substitutes `{{ ... }}` in every string of a document, the Script input included.
    if (text.includes("{{")) throw new Error(`${path.basename(file)} must not contain '{{' (SSM would treat it as a parameter reference)`);
    return text;
}

export function readTerminateBuilderScript(): string {
    return readStepScript(STEP_SCRIPT_PATHS.terminateBuilder);
}
