// The PR comment's summary of a `pulumi preview --json`: parse.ts reads the JSON, model.ts turns
// its steps into per-resource changes and workload facts, summarize.ts says what happens to each
// app's pods and PVCs, render.ts writes the comment; cli.ts is `npm run preview-summary`.
// What the tests and the end-to-end suite use:
export { parsePreviewJson, UNKNOWN_VALUE } from "./parse";
export type { PreviewDigest, PreviewStep } from "./parse";
export { summarizePreview, summaryByApp } from "./summarize";
export type { AppSummary, PreviewSummary } from "./summarize";
export { parsePolicyViolations, renderComment, renderPolicyMarkdown, renderSummaryMarkdown } from "./render";
export type { PolicyViolation } from "./render";
