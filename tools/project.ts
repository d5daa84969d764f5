// What the tooling around the program (tests/, cluster/, e2e/, bench/, tools/) shares: the
// project's paths and its committed stack files. The program itself (components/) never imports
// this: it runs from a workspace that holds only its own files (cluster/workspace.ts).
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { CHART_DIR, PROJECT_DIR } from "../components/paths";

export { CHART_DIR, PROJECT_DIR };

/** A deep copy of a JSON value, to change a loaded config without touching the original. */
export const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));

/** The `config:` map of a committed Pulumi.<stack>.yaml (a fresh copy on every call). */
export function loadStackFile(stack: string): Record<string, any> {
    const doc = yaml.load(fs.readFileSync(path.join(PROJECT_DIR, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, any> };
    return clone(doc.config);
}
