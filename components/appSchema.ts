// One validation contract: an app's settings are valid when they satisfy the chart's
// values.schema.json, the file `helm install` checks too. This module runs that schema with ajv
// and turns its errors into the program's messages: the full key, the bad value and what is
// allowed (the schema's `x-expected` wording, or one derived from enum / integer bounds).
import * as fs from "fs";
import * as path from "path";
import Ajv, { ErrorObject } from "ajv";
import { CHART_DIR } from "./paths";
import { POD_FACTS, POD_FACTS_KEY } from "./podFacts";
import { CONFIG_NAMESPACE, isObject, Json, show } from "./problems";

type Schema = Record<string, any>;
export const APP_SCHEMA: Schema = JSON.parse(fs.readFileSync(path.join(CHART_DIR, "values.schema.json"), "utf8"));

/** Chart values that are not settings a user may set: what the program fills in itself (an app's Secret), and the images' fixed pod facts. */
export const PROGRAM_FILLED_KEYS = ["adminTokenSecret", "secretEnvNames", "secretChecksum", POD_FACTS_KEY] as const;

/** The keys a user may set under `apps.<app>`: the schema's, minus the program-filled ones. */
export const APP_KEYS: readonly string[] = Object.keys(APP_SCHEMA.properties).filter(
    (k) => !(PROGRAM_FILLED_KEYS as readonly string[]).includes(k),
);

// `x-expected` is our message wording: an annotation, not a constraint (Helm ignores it too).
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
ajv.addKeyword({ keyword: "x-expected", schemaType: "string" });
const validate = ajv.compile(APP_SCHEMA);

/** The schema node that governs a JSON-pointer-like path (resolving local $ref and allOf). */
function schemaAt(segments: string[]): Schema | undefined {
    const resolve = (node: Schema | undefined): Schema | undefined => {
        if (node?.$ref) {
            return resolve(node.$ref.replace(/^#\//, "").split("/").reduce((n: any, k: string) => n?.[k], APP_SCHEMA));
        }
        return node;
    };
    let node: Schema | undefined = APP_SCHEMA;
    for (const segment of segments) {
        node = resolve(node);
        const allOf = node?.allOf?.map(resolve) ?? [];
        const candidates = [node, ...allOf];
        const found = candidates
            .map((n) => (/^\d+$/.test(segment) && n?.items) || n?.properties?.[segment] || (isObject(n?.additionalProperties) && n?.additionalProperties))
            .find(Boolean);
        node = found || undefined;
    }
    return node;
}

/** What is allowed at a schema node, in words. */
export function expected(node: Schema | undefined): string {
    if (!node) {
        return "a valid value";
    }
    if (node["x-expected"]) {
        return node["x-expected"];
    }
    if (node.$ref || node.allOf) {
        return expected(resolveRef(node.$ref ?? node.allOf[0].$ref));
    }
    if (node.enum) {
        // An empty string among the choices (e.g. podAntiAffinityPreset's "none") must be visible.
        return `one of ${node.enum.map((v: unknown) => (v === "" ? '""' : v)).join(", ")}`;
    }
    if (node.type === "integer") {
        return node.maximum !== undefined ? `an integer from ${node.minimum} to ${node.maximum}` : `an integer >= ${node.minimum}`;
    }
    if (node.type === "object" && node.properties) {
        return `a map with keys ${Object.keys(node.properties).join(", ")}`;
    }
    return node.type ? `a ${node.type}` : "a valid value";
}

const resolveRef = (ref: string): Schema => ref.replace(/^#\//, "").split("/").reduce((n: any, k: string) => n?.[k], APP_SCHEMA);

/** `/accessModes/0` → `accessModes[0]`; `/resources/limits` → `resources.limits`. */
const keyOf = (segments: string[]) => segments.reduce((key, s) => (/^\d+$/.test(s) ? `${key}[${s}]` : key ? `${key}.${s}` : s), "");

const valueAt = (obj: Json, segments: string[]) =>
    segments.reduce<Json>((v, s) => (isObject(v) || Array.isArray(v) ? (v as any)[s] : undefined), obj);

// Errors that only restate another one: the `if` that led to a `then` error, and property
// names (env names are checked by env.ts, with the message secretEnv shares).
const IGNORED_KEYWORDS = new Set(["if", "propertyNames"]);

/**
 * Validates one app's merged settings (`settings`) against the schema; `userValue` is what the
 * user wrote (a value the user did not set is shown as "nothing"). Returns one message per bad
 * key, prefixed with `stateful-apps:apps.<app>.`.
 */
export function schemaProblems(app: string, settings: Record<string, Json>, userValue: Record<string, Json>): string[] {
    const values = { ...settings, adminTokenSecret: app, secretEnvNames: [], [POD_FACTS_KEY]: POD_FACTS as unknown as Json };
    if (validate(values)) {
        return [];
    }
    const byKey = new Map<string, string>();
    for (const error of validate.errors as ErrorObject[]) {
        if (IGNORED_KEYWORDS.has(error.keyword) || (error as { propertyName?: string }).propertyName !== undefined) {
            continue;
        }
        const segments = error.instancePath.split("/").slice(1).map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
        let message: string;
        if (error.keyword === "additionalProperties") {
            const extra = (error.params as { additionalProperty: string }).additionalProperty;
            segments.push(extra);
            // The parent may be a bare $ref (a list item such as tolerations[0]): its keys are the definition's.
            const parent = schemaAt(segments.slice(0, -1));
            const allowed = segments.length === 1 ? APP_KEYS : Object.keys((parent?.$ref ? resolveRef(parent.$ref) : parent)?.properties ?? {});
            message = `unknown key; allowed keys: ${allowed.join(", ")}`;
        } else {
            if (error.keyword === "required") {
                segments.push((error.params as { missingProperty: string }).missingProperty);
            }
            const shown = valueAt(userValue, segments);
            // The node at the path words what is allowed there; a constraint that only applies
            // in context (e.g. `then` of an `if`) carries its own wording.
            const node = schemaAt(segments);
            const own = (error.parentSchema as Schema | undefined)?.["x-expected"];
            message = `got ${show(shown)}; expected ${node?.["x-expected"] ?? own ?? expected(node ?? error.parentSchema)}`;
        }
        const key = `${CONFIG_NAMESPACE}:apps.${app}.${keyOf(segments)}`;
        if (!byKey.has(key)) {
            byKey.set(key, `${key}: ${message}`);
        }
    }
    return [...byKey.values()];
}
