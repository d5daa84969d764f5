// Reading `pulumi preview --json`: the PreviewDigest of the Pulumi CLI (pkg/display/json.go,
// v3.248), `steps[]` with `op`, `urn`, `oldState`/`newState` (apitype.ResourceV3: `type`, `inputs`,
// `outputs`, `parent`, `retainOnDelete`, `resourceHooks`, ...), `diffReasons`, `replaceReasons`,
// `detailedDiff` (property path -> {kind, inputDiff}); plus `config`, `diagnostics`,
// `changeSummary`. By default it lists neither unchanged resources (except the stack) nor the
// `create-replacement` / `delete-replaced` halves of a replacement (only with --show-sames /
// --show-replacement-steps); both forms are understood (model.ts). Secrets are serialized as
// "[secret]", unknown values as UNKNOWN_VALUE. Only what the summary reads is typed here.

import { CONFIG_NAMESPACE, DeployMethod } from "../../components/identifiers";

/** How Pulumi serializes a value that is unknown during preview. */
export const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export interface ResourceState {
    urn?: string;
    custom?: boolean;
    id?: string;
    type: string;
    inputs?: Record<string, any>;
    outputs?: Record<string, any>;
    parent?: string;
    retainOnDelete?: boolean;
    resourceHooks?: Record<string, string[]>;
    [key: string]: unknown;
}

export interface PropertyDiff {
    kind: string;
    inputDiff: boolean;
}

export interface PreviewStep {
    op: string;
    urn: string;
    provider?: string;
    oldState?: ResourceState;
    newState?: ResourceState;
    diffReasons?: string[];
    replaceReasons?: string[];
    detailedDiff?: Record<string, PropertyDiff> | null;
}

export interface PreviewDiagnostic {
    urn?: string;
    prefix?: string;
    message?: string;
    severity?: string;
}

export interface PreviewDigest {
    config?: Record<string, string>;
    steps?: PreviewStep[];
    diagnostics?: PreviewDiagnostic[];
    duration?: number;
    changeSummary?: Record<string, number>;
    maybeCorrupt?: boolean;
}

/**
 * Parses the output of `pulumi preview --json`. Tolerates text around the JSON document (as when
 * stdout and stderr were captured together).
 */
export function parsePreviewJson(text: string): PreviewDigest {
    try {
        return JSON.parse(text) as PreviewDigest;
    } catch (first) {
        // The CLI prints the document indented, starting with a line "{": try each such line.
        const end = text.lastIndexOf("}");
        for (const m of text.matchAll(/^\{/gm)) {
            try {
                return JSON.parse(text.slice(m.index, end + 1)) as PreviewDigest;
            } catch {
                // not this one
            }
        }
        throw first;
    }
}

export interface ParsedUrn {
    stack: string;
    project: string;
    /** The resource's own type token. */
    type: string;
    /** The type tokens of its ancestors, outermost first. */
    parentTypes: string[];
    name: string;
}

/** `urn:pulumi:<stack>::<project>::<parent-type>$<type>::<name>` */
export function parseUrn(urn: string): ParsedUrn {
    const parts = urn.replace(/^urn:pulumi:/, "").split("::");
    const types = (parts[2] ?? "").split("$");
    return {
        stack: parts[0] ?? "",
        project: parts[1] ?? "",
        type: types[types.length - 1],
        parentTypes: types.slice(0, -1),
        name: parts.slice(3).join("::"),
    };
}

/** The stack config the preview ran with: the apps (`stateful-apps:apps`, if readable), the deploy method and namespace. */
export function previewConfig(config: Record<string, string> | undefined): { apps: string[]; deployMethod: DeployMethod; namespace?: string } {
    const value = (key: string) => config?.[`${CONFIG_NAMESPACE}:${key}`];
    const deployMethod = value("deployMethod") === "helm" ? "helm" : "raw";
    const namespace = value("namespace");
    let apps: string[] = [];
    try {
        const parsed = JSON.parse(value("apps") ?? "{}");
        apps = parsed && typeof parsed === "object" && !Array.isArray(parsed) ? Object.keys(parsed) : [];
    } catch {
        // "[secret]" or absent
    }
    return { apps, deployMethod, namespace };
}

/**
 * Engine ops that change nothing: `same`, and `read` (the program reads its own stack's last
 * outputs through a StackReference on every run, components/deployedState.ts).
 */
export const UNCHANGING_OPS = new Set(["same", "read"]);
