// CLI: the pull-request comment for one stack, from `pulumi preview --json` (and the `--diff` text).
//
//   npm run -s preview-summary -- --json preview.json [--diff preview.txt] [--stack prod]
//                                 [--marker stateful-apps-preview:prod] [--format markdown|json]
//   pulumi preview --json | npm run -s preview-summary -- --json -
//
// Prints Markdown (the summary, then the diff in a collapsed <details>) or, with --format json,
// the structured summary. An unreadable JSON (a failed preview prints none) still gives a comment
// with the diff text, which then carries the error; the exit code is 0 unless arguments are wrong.
import * as fs from "fs";
import { renderComment } from "./render";
import { PreviewSummary, summarizePreview } from "./summarize";

const USAGE = "usage: preview-summary --json <file|-> [--diff <file>] [--stack <name>] [--marker <text>] [--max-chars <n>] [--format markdown|json]";

function parseArgs(argv: string[]): Record<string, string> {
    const args: Record<string, string> = {};
    for (let i = 0; i < argv.length; i++) {
        const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
        if (!m) {
            throw new Error(`unexpected argument ${argv[i]}`);
        }
        const value = m[2] ?? argv[++i];
        if (value === undefined) {
            throw new Error(`--${m[1]} needs a value`);
        }
        args[m[1]] = value;
    }
    for (const k of Object.keys(args)) {
        if (!["json", "diff", "stack", "marker", "max-chars", "format"].includes(k)) {
            throw new Error(`unknown option --${k}`);
        }
    }
    if (!args.json) {
        throw new Error("--json is required");
    }
    if (args.format && !["markdown", "json"].includes(args.format)) {
        throw new Error("--format is markdown or json");
    }
    return args;
}

const read = (file: string) => fs.readFileSync(file === "-" ? 0 : file, "utf8");

function main(): number {
    let args: Record<string, string>;
    try {
        args = parseArgs(process.argv.slice(2));
    } catch (e) {
        process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
        return 2;
    }
    let summary: PreviewSummary | undefined;
    let summaryError: string | undefined;
    try {
        summary = summarizePreview(read(args.json));
    } catch (e) {
        summaryError = (e as Error).message.split("\n")[0];
    }
    if (args.format === "json") {
        if (!summary) {
            process.stderr.write(`preview-summary: ${summaryError}\n`);
            return 1;
        }
        process.stdout.write(JSON.stringify(summary, null, 2) + "\n");
        return 0;
    }
    const diff = args.diff !== undefined && (args.diff === "-" || fs.existsSync(args.diff)) ? read(args.diff) : undefined;
    const maxChars = args["max-chars"] !== undefined ? Number(args["max-chars"]) : undefined;
    process.stdout.write(renderComment({ summary, summaryError, diff, stack: args.stack, marker: args.marker, maxChars }));
    return 0;
}

process.exitCode = main();
