// Where the program's files are: the checkout, or a workspace copy of the program
// (cluster/workspace.ts). A leaf module, so the tooling outside components/ (tools/project.ts)
// finds the chart through the same definition.
import * as path from "path";

export const PROJECT_DIR = path.join(__dirname, "..");
/** The project's Helm chart, relative to the project directory. */
export const CHART_RELATIVE_PATH = "charts/stateful-app";
/** The chart; its values.yaml and values.schema.json hold each app's defaults and contract. */
export const CHART_DIR = path.join(PROJECT_DIR, CHART_RELATIVE_PATH);
