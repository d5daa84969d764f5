// The validation library of the stack config: problems collected with the full key, the bad
// value and what is allowed, and thrown together so the user sees every problem at once.
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE } from "./identifiers";

export { CONFIG_NAMESPACE };

/** Thrown with every config problem at once; a RunError prints without a stack trace. */
export class ConfigError extends pulumi.RunError {
    constructor(public readonly problems: string[]) {
        super(
            `Invalid stack config (${problems.length} problem${problems.length === 1 ? "" : "s"}); nothing was deployed:\n` +
                problems.map((p) => `  - ${p}`).join("\n"),
        );
        this.name = "ConfigError";
        // No stack: the SDK never prints a RunError's, but its uncaught-error handler formats every
        // error with util.inspect for a tracing span all the same (@pulumi/pulumi 3.248.0,
        // cmd/run/run.js), which with ts-node's source maps took ~22 s of CPU here: a bad config
        // failed in 25 s instead of 3 s (docs/bench/notes.md).
        this.stack = undefined;
    }
}

export type Json = unknown;
export const isObject = (v: Json): v is Record<string, Json> => typeof v === "object" && v !== null && !Array.isArray(v);
export const show = (v: Json) => (v === undefined ? "nothing" : JSON.stringify(v));
export const oneOf = (values: readonly string[]) => `one of ${values.join(", ")}`;

/** Collects problems, each naming the full config key, the bad value and what is allowed. */
export class Problems {
    readonly list: string[] = [];
    /** A problem with a value that may be shown. */
    add(key: string, value: Json, allowed: string) {
        this.list.push(`${CONFIG_NAMESPACE}:${key}: got ${show(value)}; expected ${allowed}`);
    }
    /** A problem stated without the value (secret values are never echoed). */
    say(key: string, message: string) {
        this.list.push(`${CONFIG_NAMESPACE}:${key}: ${message}`);
    }
    choice<T extends string>(key: string, v: Json, allowed: readonly T[]): v is T {
        if (typeof v === "string" && (allowed as readonly string[]).includes(v)) {
            return true;
        }
        this.add(key, v, oneOf(allowed));
        return false;
    }
}
