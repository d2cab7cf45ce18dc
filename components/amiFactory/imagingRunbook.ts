/** The instance imaging runbook: images every tagged instance of the stack on a schedule. */
import type { SsmDocumentContent } from "../ssmDocument";
import { IMAGED_BY } from "./bakeRunbook";
import { readStepScript, STEP_SCRIPT_PATHS } from "./stepScripts";

export interface ImagingRunbookOptions {
    stack: string;
    serviceRoleArn: string;
    tag: { key: string; value: string };
    keepImages: number;
    noReboot: boolean;
}

/** Images every tagged instance of the stack and keeps the newest N available images per instance (components/amiFactory/steps/instance_imaging.py). */
export const IMAGING_SCRIPT = readStepScript(STEP_SCRIPT_PATHS.instanceImaging);

/** The instance imaging runbook (pure: exported for tests). */
export function imagingRunbookContent(o: ImagingRunbookOptions): SsmDocumentContent {
    return {
        schemaVersion: "0.3",
        description: `Images the ${o.stack} instances tagged ${o.tag.key}=${o.tag.value} and keeps the newest images per instance.`,
        assumeRole: "{{ AutomationAssumeRole }}",
        parameters: {
            AutomationAssumeRole: { type: "String", description: "Role the automation runs as.", default: o.serviceRoleArn, allowedPattern: "^arn:aws[a-z-]*:iam::\\d{12}:role/[\\w+=,.@/-]+$" },
            KeepImages: { type: "Integer", description: "Images to keep per instance.", default: o.keepImages },
            NoReboot: { type: "Boolean", description: "Image without rebooting (faster; the file system may be inconsistent).", default: o.noReboot },
        },
        mainSteps: [
            {
                name: "ImageTaggedInstances",
                action: "aws:executeScript",
                timeoutSeconds: 600,
                inputs: {
                    Runtime: "python3.11",
                    Handler: "handler",
                    Script: IMAGING_SCRIPT,
                    InputPayload: { Stack: o.stack, TagKey: o.tag.key, TagValue: o.tag.value, CreatedBy: IMAGED_BY, Keep: "{{ KeepImages }}", NoReboot: "{{ NoReboot }}" },
                },
                outputs: [{ Name: "Created", Selector: "$.Payload.Created", Type: "StringList" }],
                isEnd: true,
            },
        ],
        outputs: ["ImageTaggedInstances.Created"],
    };
}

