// The three facts this program needs from the Pulumi SDK that it has no public API for, in one
// place. Checked against @pulumi/pulumi 3.248.0 (pinned in package.json); tests/sdkInternals.test.ts
// fails if one moves, so an SDK upgrade cannot silently change what they mean.
import * as pulumi from "@pulumi/pulumi";

/**
 * Whether a config key was set as a secret (`pulumi config set --secret`). The SDK keeps this in
 * runtime/config's isConfigSecret (it backs Config.get's "use getSecret" warning). If it ever
 * disappears, fail rather than treat every secret as plain.
 */
export function isConfigSecret(key: string): boolean {
    const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret?: (key: string) => boolean };
    if (typeof runtimeConfig.isConfigSecret !== "function") {
        throw new Error("@pulumi/pulumi no longer exposes runtime/config isConfigSecret: cannot tell secret config from plain config");
    }
    return runtimeConfig.isConfigSecret(key);
}

/**
 * The registration of a resource hook with the engine. The SDK starts it in the ResourceHook
 * constructor and keeps the promise in `__registered`; a failure surfaces only when a resource
 * uses the hook, too late to deploy without it.
 */
export function hookRegistration(hook: pulumi.ResourceHook): Promise<void> {
    const registered = (hook as unknown as { __registered?: Promise<void> }).__registered;
    if (!(registered instanceof Promise)) {
        throw new Error("@pulumi/pulumi's ResourceHook no longer keeps its registration in __registered");
    }
    return registered;
}

/**
 * What a registration failure says when hooks cannot be registered at all: a CLI or language host
 * without RegisterResourceHook (gRPC UNIMPLEMENTED), or the SDK's own check of the engine's features.
 */
export const HOOKS_UNSUPPORTED = /UNIMPLEMENTED|does not support resource hooks/;

/**
 * Whether the monitor the program talks to has no RegisterResourceHook RPC at all, asked before a
 * hook is created: Pulumi's unit-test mock monitor (setMocks, 3.248.0) has none, and a hook
 * created there leaves the SDK's keep-alive of that RPC pending for good (the program then ends
 * with "promises were still active"). Also how the program knows it runs under those mocks, with
 * no cluster to ask (lostClaims.ts).
 */
export function monitorLacksHookRpc(): boolean {
    const monitor = pulumi.runtime.getMonitor() as unknown as { registerResourceHook?: unknown } | undefined;
    return monitor !== undefined && typeof monitor.registerResourceHook !== "function";
}
