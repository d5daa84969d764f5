// npm run drift — has anyone changed the cluster behind Pulumi's back? For each stack,
// `pulumi preview --refresh --expect-no-changes --json`: the refresh reads every object as it is
// in the cluster, and the preview then shows what `pulumi up` would do to bring it back, which
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
import { parseUrn } from "./preview-summary/parse";

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
        .filter((s) => s.op === "create" && parseUrn(s.urn).type === PVC_PATCH_TYPE)
        .map((s) => parseUrn(s.urn).name)
        .filter(hadOrdinal)
        .map((pvc) => `PVC ${pvc} is gone from the cluster, and its data with it; \`pulumi up\` cannot restore the data (the StatefulSet re-creates the PVC empty when its pod starts again)`);
}
const PVC_PATCH_TYPE = "kubernetes:core/v1:PersistentVolumeClaimPatch";

/** The replicas of an app whose workload the preview leaves as it is (its StatefulSet or release in the state). */
function deployedReplicas(digest: PreviewDigest, app: string): number {
    const workload = (digest.steps ?? []).find((s) => {
        const urn = parseUrn(s.urn);
        return urn.name === app && (urn.type === "kubernetes:apps/v1:StatefulSet" || urn.type === "kubernetes:helm.sh/v3:Release");
    });
    const inputs = (workload?.oldState ?? workload?.newState)?.inputs as { spec?: { replicas?: unknown }; values?: { replicas?: unknown } } | undefined;
    const replicas = inputs?.spec?.replicas ?? inputs?.values?.replicas;
    return typeof replicas === "number" ? replicas : 0;
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
    return {
        drifted: true,
        text: [
            `✗ ${stack}: drift: the cluster differs from the stack; \`pulumi up --stack ${stack}\` would:`,
            "",
            renderSummaryMarkdown(summary, { stack }).trimEnd(),
            ...(lost.length > 0 ? ["", ...lost.map((l) => `- ⚠ ${l}`)] : []),
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
