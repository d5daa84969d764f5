// npm run drift — has anyone changed the cluster behind Pulumi's back? For each stack,
// `pulumi preview --refresh --expect-no-changes --json`: the refresh reads every object as it is
// in the cluster, and the preview then shows what `pulumi up --refresh` would do to bring it back, which
// is reported per app in the words of the PR summary (ci/preview-summary/).
//
//   npm run -s drift -- [--stack dev]... [--cwd <project or workspace dir>]
//
// Default: every stack with a Pulumi.<stack>.yaml in the directory. Uses the caller's Pulumi
// environment (PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE, KUBECONFIG, ...). Exit 0: no drift;
// 1: drift (or a failed preview) in some stack; 2: bad arguments.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parsePreviewJson, PreviewDigest, PreviewSummary, renderSummaryMarkdown, summarizePreview } from "./preview-summary";
import { parseUrn, UNCHANGING_OPS } from "./preview-summary/parse";
import { K8S_TYPES } from "../components/identifiers";

/**
 * What the cluster lost that `pulumi up` cannot give back: a PVC, with its data. The refresh finds
 * the PVC gone and drops its resize patch from the state, so the preview creates the patch again
 * for an ordinal the app already had (a scale-up creates patches only for its new ordinals).
 */
function lostVolumes(digest: PreviewDigest, summary: PreviewSummary): string[] {
    const hadOrdinal = (pvc: string) => summary.apps.some((a) => {
        const m = new RegExp(`-${a.app}-(\\d+)$`).exec(pvc);
        return m !== null && Number(m[1]) < (a.replicas.from ?? deployedReplicas(digest, a.app));
    });
    return (digest.steps ?? [])
        .filter((s) => s.op === "create" && parseUrn(s.urn).type === K8S_TYPES.pvcPatch)
        .map((s) => parseUrn(s.urn).name)
        .filter(hadOrdinal)
        .map((pvc) => `PVC ${pvc} is gone from the cluster, and its data with it; \`pulumi up\` cannot restore the data (the StatefulSet re-creates the PVC empty when its pod starts again)`);
}

/** The replicas of an app whose workload the preview leaves as it is (its StatefulSet or release in the state). */
function deployedReplicas(digest: PreviewDigest, app: string): number {
    const workload = (digest.steps ?? []).find((s) => {
        const urn = parseUrn(s.urn);
        return urn.name === app && (urn.type === K8S_TYPES.statefulSet || urn.type === K8S_TYPES.release);
    });
    const inputs = (workload?.oldState ?? workload?.newState)?.inputs as { spec?: { replicas?: unknown }; values?: { replicas?: unknown } } | undefined;
    const replicas = inputs?.spec?.replicas ?? inputs?.values?.replicas;
    return typeof replicas === "number" ? replicas : 0;
}

/** The value at a detailed-diff path (`spec.template.spec.containers[0].image`, `metadata.labels["a/b"]`). */
function valueAt(obj: unknown, path: string): unknown {
    const keys = [...path.matchAll(/([^.[\]"]+)|\["([^"]+)"\]|\[(\d+)\]/g)].map((m) => m[1] ?? m[2] ?? Number(m[3]));
    return keys.reduce<any>((o, k) => (o == null ? undefined : o[k]), obj);
}
const show = (v: unknown) => (v === undefined ? "absent" : JSON.stringify(v));

/**
 * What differs, field by field: the cluster as the refresh read it (old outputs) against what the
 * stack declares (new inputs), for each object the preview would change, grouped by app (the
 * component its object belongs to). The summary's own model compares the stack's old and new
 * inputs, which a refresh leaves equal, so it alone would call a drifted app unchanged.
 */
function driftedFields(digest: PreviewDigest): string[] {
    const lines: string[] = [];
    for (const step of digest.steps ?? []) {
        if (UNCHANGING_OPS.has(step.op) || step.op === "refresh") {
            continue;
        }
        const urn = parseUrn(step.urn);
        if (urn.type === "pulumi:pulumi:Stack") {
            continue;
        }
        const parent = step.newState?.parent ?? step.oldState?.parent;
        const app = parent ? parseUrn(parent).name : undefined;
        const what = `${app && app !== urn.name ? `${app}: ` : `${urn.name}: `}${urn.type.slice(urn.type.lastIndexOf(":") + 1)} ${urn.name}`;
        const fields = Object.keys(step.detailedDiff ?? {});
        if (fields.length === 0) {
            lines.push(`${what}: ${step.op}`);
        }
        for (const field of fields) {
            const live = valueAt(step.oldState?.outputs, field);
            const declared = valueAt(step.newState?.inputs, field);
            lines.push(`${what}: ${field} is ${show(live)} in the cluster, ${show(declared)} in the stack`);
        }
    }
    return lines;
}

/** The drift report of one stack, from its refresh preview. */
export function driftReport(stack: string, previewJson: string, exitCode: number): { drifted: boolean; text: string } {
    let summary: PreviewSummary;
    let digest: PreviewDigest;
    try {
        digest = parsePreviewJson(previewJson);
        summary = summarizePreview(digest);
    } catch (e) {
        return { drifted: true, text: `✗ ${stack}: the refresh preview failed (exit ${exitCode}) and printed no readable JSON: ${(e as Error).message.split("\n")[0]}` };
    }
    if (summary.errors.length > 0) {
        // Whole messages: the provider's reason (e.g. a field-manager conflict) is on the later lines.
        const errors = [...new Set(summary.errors)].map((e) => `  - ${e.trim().replace(/\n/g, "\n    ")}`);
        return { drifted: true, text: `✗ ${stack}: the refresh preview failed:\n${errors.join("\n")}` };
    }
    if (!summary.hasChanges && exitCode === 0) {
        return { drifted: false, text: `✓ ${stack}: no drift: the cluster is as the stack says` };
    }
    const lost = lostVolumes(digest, summary);
    const fields = driftedFields(digest);
    return {
        drifted: true,
        text: [
            `✗ ${stack}: drift: the cluster differs from the stack.`,
            ...(fields.length > 0 ? ["", `What differs (\`pulumi up --refresh --stack ${stack}\` sets it back to the stack's value; a plain \`pulumi up\` compares with the state and sees nothing):`, ...fields.map((f) => `- ${f}`)] : []),
            ...(lost.length > 0 ? ["", ...lost.map((l) => `- ⚠ ${l}`)] : []),
            // The PR comment's table, when it sees a change (it compares the stack's old and new
            // inputs, which a refresh leaves equal: for a drift alone it would say "Unchanged").
            ...(summary.apps.some((a) => a.workload !== "unchanged")
                ? ["", `\`pulumi up --refresh --stack ${stack}\` would:`, "", renderSummaryMarkdown(summary, { stack }).trimEnd()]
                : []),
        ].join("\n"),
    };
}

function parseArgs(argv: string[]): { stacks: string[]; cwd: string } {
    const stacks: string[] = [];
    let cwd = process.cwd();
    for (let i = 0; i < argv.length; i++) {
        const value = argv[i + 1];
        if ((argv[i] === "--stack" || argv[i] === "--cwd") && value === undefined) {
            throw new Error(`${argv[i]} needs a value`);
        }
        if (argv[i] === "--stack") {
            stacks.push(value);
        } else if (argv[i] === "--cwd") {
            cwd = path.resolve(value);
        } else {
            throw new Error(`unexpected argument ${argv[i]}`);
        }
        i++;
    }
    if (stacks.length === 0) {
        stacks.push(...fs.readdirSync(cwd).flatMap((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1] ?? []).sort());
    }
    return { stacks, cwd };
}

function main(): number {
    let args: { stacks: string[]; cwd: string };
    try {
        args = parseArgs(process.argv.slice(2));
    } catch (e) {
        process.stderr.write(`${(e as Error).message}\nusage: drift [--stack <name>]... [--cwd <dir>]\n`);
        return 2;
    }
    let drifted = false;
    for (const stack of args.stacks) {
        const res = spawnSync("pulumi", ["preview", "--refresh", "--expect-no-changes", "--json", "--non-interactive", "--stack", stack], {
            cwd: args.cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024,
        });
        const report = driftReport(stack, res.stdout ?? "", res.status ?? -1);
        drifted ||= report.drifted;
        process.stdout.write(`${report.text}\n\n`);
    }
    return drifted ? 1 : 0;
}

if (require.main === module) {
    process.exitCode = main();
}
