// Environment variable names: the rules shared by an app's plain `env` and its `secretEnv`.
import { Problems } from "./problems";

/** Env names the program sets itself; neither `env` nor `secretEnv` may override them. */
export const RESERVED_ENV = ["PORT", "DATA_DIR", "POD_NAME", "ADMIN_TOKEN"] as const;

/** What a container env var name must look like (a C identifier: portable to every shell and runtime). */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Adds a problem and returns false if `name` (the last segment of `key`) is not usable as an env name. */
export function checkEnvName(p: Problems, key: string, name: string): boolean {
    if (!ENV_NAME.test(name)) {
        p.say(key, `${JSON.stringify(name)} is not an environment variable name; expected a name matching ${ENV_NAME.source}`);
        return false;
    }
    if ((RESERVED_ENV as readonly string[]).includes(name)) {
        p.say(key, `${name} is set by the program and cannot be overridden (reserved: ${RESERVED_ENV.join(", ")})`);
        return false;
    }
    return true;
}
