// The chart's values.yaml, parsed: the per-app defaults (config.ts chartDefaults) and the images'
// fixed pod facts (podFacts.ts) are both read from it. A leaf module, so both can import it.
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { CHART_DIR } from "./paths";

/** A fresh parse of values.yaml (callers may change what they get). */
export function readChartValues(): Record<string, unknown> {
    return yaml.load(fs.readFileSync(path.join(CHART_DIR, "values.yaml"), "utf8")) as Record<string, unknown>;
}
