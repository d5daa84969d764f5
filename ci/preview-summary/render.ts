// The summary as the pull-request comment shows it: a one-line verdict, a table of the changed
// apps, warnings and notes, then the full `pulumi preview --diff` in a collapsed block.
import { UNCHANGING_OPS } from "./parse";
import { AppSummary, appLabel, PreviewSummary } from "./summarize";

function workloadText(a: AppSummary): string {
    const k = a.workloadKind;
    if (a.namespace) {
        return `⚠️ ${k} **replaced into namespace \`${a.namespace.to}\`** (from \`${a.namespace.from}\`)`;
    }
    switch (a.workload) {
        case "unchanged": return "unchanged";
        case "updated": return a.deployMethod === "helm" ? `${k} upgraded in place` : `${k} updated in place`;
        case "replaced": return a.deployMethod === "helm" ? `⚠️ ${k} **replaced** (uninstall + install)` : `${k} **replaced** (pods kept)`;
        case "created": return `${k} created`;
        case "deleted": return `⚠️ ${k} **deleted**`;
    }
}

/** Words for the pods column. */
function podText(a: AppSummary): string {
    const r = a.podRestarts;
    let text: string;
    if (r === "none") {
        text = a.workload === "created" ? "start" : "no restart";
    } else if (r === "rolling") {
        text = "**rolling restart**, one by one";
    } else if (r === "all-at-once") {
        text = "⚠️ **all restart at once**";
    } else if (r === "on-delete") {
        text = "none until deleted (OnDelete)";
    } else if (r === "deleted") {
        text = "⚠️ **deleted**";
    } else if (r === "orphaned") {
        text = "⚠️ **left running** (orphaned)";
    } else {
        text = `canary: only ordinals ≥ ${r.slice("partition>=".length)} restart`;
    }
    if (a.namespace) {
        text = `${r === "orphaned" ? `⚠️ **left running** in \`${a.namespace.from}\` (orphaned)` : `⚠️ **deleted** in \`${a.namespace.from}\``}; new ones start in \`${a.namespace.to}\``;
    }
    const { from, to } = a.replicas;
    if (from !== undefined && to !== undefined && from !== to) {
        text += `; scale ${from} → ${to}`;
    } else if (a.workload === "created" && to !== undefined) {
        text += ` (${to})`;
    }
    return text;
}

function list(names: string[], max = 4): string {
    const shown = names.slice(0, max).map((n) => `\`${n}\``).join(", ");
    return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

/** Words for the PVCs column. */
function pvcText(a: AppSummary): string {
    const parts: string[] = [];
    const { created, resized, deleted } = a.pvcs;
    if (a.namespace) {
        parts.push(`⚠️ **${created.length} new, EMPTY** in \`${a.namespace.to}\`${created.length > 0 ? ` (${list(created)})` : ""}`);
    } else if (created.length > 0) {
        parts.push(`${created.length} created (${list(created)})`);
    }
    if (resized.length > 0) {
        const sizes = [...new Set(resized.map((r) => `${r.from ?? "?"} → ${r.to ?? "?"}`))].join(", ");
        parts.push(`${resized.length} resized ${sizes}`);
    }
    if (deleted.length > 0) {
        parts.push(`⚠️ **${deleted.length} deleted** (${list(deleted)})`);
    } else if (a.namespace) {
        parts.push(`the old ones stay in \`${a.namespace.from}\``);
    }
    return parts.length > 0 ? parts.join("; ") : a.workload === "deleted" || a.workload === "replaced" ? "kept" : "untouched";
}

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** The summary as Markdown: a one-line verdict, a table of the changed apps, then warnings and notes. */
export function renderSummaryMarkdown(summary: PreviewSummary, options: { stack?: string } = {}): string {
    const lines: string[] = [];
    const where = options.stack ? ` \`${options.stack}\`` : "";
    const counts = Object.entries(summary.changeSummary)
        .filter(([op, n]) => !UNCHANGING_OPS.has(op) && n > 0)
        .map(([op, n]) => `${n} to ${op}`)
        .join(", ");
    if (summary.errors.length > 0) {
        lines.push(`### ❌ Preview${where} failed`, "");
        for (const e of summary.errors) {
            lines.push(`- ${cell(e.split("\n")[0])}`);
        }
        lines.push("");
    } else if (!summary.hasChanges) {
        lines.push(`### Preview${where}: no changes`, "");
        return lines.join("\n");
    } else {
        lines.push(`### Preview${where}: ${counts || "changes"}`, "");
    }

    const changed = summary.apps.filter((a) => a.workload !== "unchanged" || a.pvcs.created.length + a.pvcs.resized.length + a.pvcs.deleted.length + a.otherDeletes.length + a.otherChanges.length + a.released.length > 0);
    const unchanged = summary.apps.filter((a) => !changed.includes(a));
    if (changed.length > 0) {
        lines.push("| app | workload | pods | PVCs | also deleted |", "| --- | --- | --- | --- | --- |");
        for (const a of changed) {
            const deletes = a.otherDeletes.length > 0 ? list(a.otherDeletes, 8) : "–";
            lines.push(`| **${appLabel(a, summary)}** | ${cell(workloadText(a))} | ${cell(podText(a))} | ${cell(pvcText(a))} | ${cell(deletes)} |`);
        }
        lines.push("");
    }
    if (summary.errors.length > 0) {
        if (changed.length > 0) {
            lines.push("The preview stopped at the error: the changes above are only those it reached.", "");
        }
    } else if (unchanged.length > 0) {
        lines.push(`Unchanged: ${unchanged.map((a) => `**${a.app}**`).join(", ")}.`, "");
    }
    const warnings = changed.flatMap((a) => a.warnings.map((w) => `- ⚠️ **${appLabel(a, summary)}**: ${w}`));
    const notes = changed.flatMap((a) => [
        ...a.notes.map((n) => `- **${appLabel(a, summary)}**: ${n}`),
        ...(a.otherChanges.length > 0 ? [`- **${appLabel(a, summary)}**: also ${a.otherChanges.join(", ")}.`] : []),
        ...(a.released.length > 0 ? [`- **${appLabel(a, summary)}**: dropped from Pulumi, kept in the cluster: ${a.released.join(", ")}.`] : []),
    ]);
    if (summary.other.length > 0) {
        notes.push(`- Outside the apps: ${summary.other.join(", ")}.`);
    }
    lines.push(...warnings, ...notes);
    return lines.join("\n").trimEnd() + "\n";
}

// ---------------------------------------------------------------------------------------------
// Policy pack (policy/, `pulumi preview --policy-pack policy`)

export interface PolicyViolation {
    level: string;
    policy: string;
    /** `type: name` of the resource, or the stack's for a stack policy. */
    resource: string;
    message: string;
}

/**
 * The policy violations in a preview's text output. `pulumi preview --json` carries none (with
 * the 3.248 CLI its diagnostics say only "error: preview failed"), so they are read from the
 * text: with `--diff`, one line `<pack>@v<version> [<level>]  <policy>  (<type>: <name>)<description>`
 * and the message on the next line; without, a `Policies:` block of `- [<level>]  <policy>  (<type>: <name>)`,
 * the description and the message, each on its own indented line.
 */
export function parsePolicyViolations(text: string): PolicyViolation[] {
    const lines = text.replace(/\x1b\[[0-9;]*m/g, "").split("\n");
    const out: PolicyViolation[] = [];
    for (let i = 0; i < lines.length; i++) {
        const diffForm = /^\s*\S+@v\S+ \[(\w+)\]\s+(\S+)\s+\(([^)]*)\)/.exec(lines[i]);
        const blockForm = /^\s+- \[(\w+)\]\s+(\S+)\s+\(([^)]*)\)\s*$/.exec(lines[i]);
        const m = diffForm ?? blockForm;
        const message = (diffForm ? lines[i + 1] : lines[i + 2])?.trim();
        if (m && message) {
            out.push({ level: m[1], policy: m[2], resource: m[3], message });
        }
    }
    // The same violation appears once per form when both outputs were captured together.
    return out.filter((v, i) => out.findIndex((w) => JSON.stringify(w) === JSON.stringify(v)) === i);
}

/** The policy pack's result for the comment: mandatory violations first; none: no section. */
export function renderPolicyMarkdown(violations: PolicyViolation[]): string {
    if (violations.length === 0) {
        return "";
    }
    const mandatory = violations.filter((v) => v.level === "mandatory");
    const title = mandatory.length > 0
        ? `#### ❌ Policy pack: ${mandatory.length} mandatory violation${mandatory.length === 1 ? "" : "s"} (the preview fails)`
        : `#### ⚠️ Policy pack: ${violations.length} advisory`;
    const sorted = [...mandatory, ...violations.filter((v) => v.level !== "mandatory")];
    return [title, "", ...sorted.map((v) => `- **${v.level}** \`${v.policy}\` (${cell(v.resource)}): ${cell(v.message)}`), ""].join("\n");
}

/** The longest run of backticks in a text, so a fence around it can be longer. */
function fenceFor(text: string): string {
    const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((m) => m.length));
    return "`".repeat(longest + 1);
}

/** GitHub rejects comments over 65536 characters. */
const MAX_COMMENT_CHARS = 65000;

/**
 * The whole PR comment for one stack: a marker (to find and update the comment), the summary,
 * then the full `pulumi preview --diff` text in a collapsed <details>, cut to fit a comment.
 */
export function renderComment(args: { summary: PreviewSummary | undefined; diff?: string; stack?: string; marker?: string; maxChars?: number; summaryError?: string }): string {
    const { summary, stack } = args;
    const max = args.maxChars ?? MAX_COMMENT_CHARS;
    const head: string[] = [];
    if (args.marker) {
        head.push(`<!-- ${args.marker} -->`);
    }
    if (summary) {
        head.push(renderSummaryMarkdown(summary, { stack }));
    } else {
        head.push(`### ⚠️ Preview${stack ? ` \`${stack}\`` : ""}: no summary`, "", `The preview's JSON could not be read (${args.summaryError ?? "missing"}); see the full output below.`, "");
    }
    if (args.diff !== undefined) {
        const policy = renderPolicyMarkdown(parsePolicyViolations(args.diff));
        if (policy) {
            head.push(policy);
        }
    }
    let body = head.join("\n");
    if (args.diff !== undefined) {
        let diff = args.diff.replace(/\x1b\[[0-9;]*m/g, "").trimEnd();
        const fence = fenceFor(diff);
        const open = `\n<details><summary>Full <code>pulumi preview --diff</code>${stack ? ` (${stack})` : ""}</summary>\n\n${fence}diff\n`;
        const close = `\n${fence}\n</details>\n`;
        const room = max - body.length - open.length - close.length - 200;
        if (diff.length > room) {
            const cut = Math.max(0, room);
            diff = `${diff.slice(0, cut)}\n… (${diff.length - cut} more characters: run \`pulumi preview --diff${stack ? ` -s ${stack}` : ""}\` or see the workflow log)`;
        }
        body += open + diff + close;
    }
    return body;
}
