// Secret config. Pulumi marks a whole top-level config key secret as soon as one leaf under it
// was set with `--secret` (verified with the CLI 3.248: `pulumi config set --secret --path
// 'stateful-apps:apps.x.env.P' v` makes all of `stateful-apps:apps` secret at run time, and the
// program cannot tell which leaf was secret). So secret values get a top-level key of their own,
// `stateful-apps:secretEnv`, and a secret anywhere else is rejected: the program would use it in
// plain text (env values, image, names), visible in previews, diffs and state.
import * as pulumi from "@pulumi/pulumi";
import { checkEnvName } from "./env";
import { CONFIG_NAMESPACE, isObject, Json, Problems } from "./problems";
import { isConfigSecret } from "./sdkInternals";

/** The top-level key holding secret env values: `secretEnv.<app>.<NAME>: <secret value>`. */
export const SECRET_ENV_KEY = "secretEnv";

/** The command that sets one secret env value, for error messages and docs. */
export const SECRET_ENV_COMMAND = `pulumi config set --secret --path '${CONFIG_NAMESPACE}:${SECRET_ENV_KEY}.<app>.<NAME>' <value>`;

/** The full keys (`stateful-apps:<key>`) of the current stack's config that Pulumi marks secret. */
export function secretConfigKeys(keys: string[]): string[] {
    return keys.filter((k) => isConfigSecret(k));
}

/**
 * Rejects secret config outside `secretEnv` (top-level keys without the namespace). Returns the
 * keys whose content must not be validated further: validation messages echo values.
 */
export function checkSecretPlacement(p: Problems, secretKeys: readonly string[]): Set<string> {
    const misplaced = new Set(secretKeys.filter((k) => k !== SECRET_ENV_KEY));
    for (const key of misplaced) {
        p.say(
            key,
            `holds a secret value (set with --secret), but the program uses this key in plain text (env values, image and ` +
                `every other setting show in previews, diffs and state). Secret values belong in ` +
                `${CONFIG_NAMESPACE}:${SECRET_ENV_KEY}.<app>.<NAME>, which reaches the container through the app's Secret: ` +
                `${SECRET_ENV_COMMAND}; then remove the secret from ${CONFIG_NAMESPACE}:${key} (pulumi config rm --path ...)`,
        );
    }
    return misplaced;
}

/** Validated secret env, per app: names (plain, they appear in manifests) and values (secret). */
export type SecretEnv = Record<string, Record<string, string>>;

/**
 * Validates `secretEnv`: a map from an app of `apps` to a map of env names to values. Values are
 * never put into a message. `plainEnv` is each app's plain env names (a name may not be both), or
 * undefined when `apps` could not be read (then that problem is already reported, and the apps
 * are not checked here).
 */
export function validateSecretEnv(
    p: Problems,
    value: Json,
    isSecret: boolean,
    plainEnv: ReadonlyMap<string, readonly string[]> | undefined,
): SecretEnv | undefined {
    if (value === undefined) {
        return {};
    }
    const before = p.list.length;
    if (!isObject(value)) {
        p.say(SECRET_ENV_KEY, `expected a map from app name to a map of environment variable names to secret values (the value is not shown)`);
        return undefined;
    }
    const hasValues = Object.values(value).some((env) => isObject(env) && Object.keys(env).length > 0);
    if (hasValues && !isSecret) {
        p.say(
            SECRET_ENV_KEY,
            `is stored in plain text in the stack config; set each value with ${SECRET_ENV_COMMAND}`,
        );
    }
    const result: SecretEnv = {};
    for (const [app, env] of Object.entries(value)) {
        const key = `${SECRET_ENV_KEY}.${app}`;
        if (plainEnv && !plainEnv.has(app)) {
            p.say(key, `no app ${JSON.stringify(app)} in ${CONFIG_NAMESPACE}:apps; expected one of ${[...plainEnv.keys()].join(", ") || "(none)"}`);
            continue;
        }
        if (!isObject(env)) {
            p.say(key, "expected a map of environment variable names to secret values (the value is not shown)");
            continue;
        }
        result[app] = {};
        for (const [name, v] of Object.entries(env)) {
            if (!checkEnvName(p, `${key}.${name}`, name)) {
                continue;
            }
            if (plainEnv?.get(app)?.includes(name)) {
                p.say(`${key}.${name}`, `${name} is also set in ${CONFIG_NAMESPACE}:apps.${app}.env; set it in one of the two`);
            } else if (!["string", "number", "boolean"].includes(typeof v)) {
                p.say(`${key}.${name}`, "expected a string, number or boolean (the value is not shown: it is secret)");
            } else {
                result[app][name] = String(v);
            }
        }
    }
    return p.list.length > before ? undefined : result;
}

/** One app's secret env as a Pulumi secret, so no value reaches a preview, a diff or plain state. */
export function secretEnvOutput(values: Record<string, string> | undefined): pulumi.Output<Record<string, string>> {
    return pulumi.secret(values ?? {});
}
