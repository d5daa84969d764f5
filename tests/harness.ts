// Runs the whole Pulumi program (index.ts) under Pulumi's mocks and records every resource
// it registers, with the options it was registered with. No engine, no cluster, no network.
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { APP_COMPONENT_TYPES, K8S_TYPES } from "../components/identifiers";
import { CHART_DIR, clone, loadStackFile, PROJECT_DIR } from "../tools/project";

export { CHART_DIR, clone, loadStackFile, PROJECT_DIR };
export const SHIPPED_STACKS = ["dev", "staging", "prod"] as const;

/** The token the mocked RandomPassword returns: it must only ever appear inside secrets. */
export const MOCK_TOKEN_PREFIX = "mock-admin-token-";

export interface RegisteredResource {
    type: string;
    name: string;
    inputs: any;
    opts: pulumi.CustomResourceOptions & pulumi.ComponentResourceOptions;
}

export interface ProgramRun {
    resources: RegisteredResource[];
    /** Names of the resource hooks the program registered with the engine (RegisterResourceHook). */
    registeredHooks: string[];
    /** The hooks attached to resources (their `hooks` option), each once. */
    hooks: pulumi.ResourceHook[];
    /** What each component registered with registerOutputs, by resource name. */
    componentOutputs: Record<string, any>;
    /** Stack outputs, resolved to plain values. */
    outputs: Record<string, any>;
    /** Paths (like `apps.python-app.adminToken`) of the outputs that are secret. */
    secretOutputs: string[];
    /** The raw exported Outputs of index.ts. */
    exports: Record<string, any>;
    ofType(type: string): RegisteredResource[];
    /** The one resource of this type whose Kubernetes metadata.name (or Pulumi name) is `name`. */
    get(type: string, name: string): RegisteredResource;
}

/** Kubernetes/Pulumi type tokens used by the tests. */
export const T = {
    ...K8S_TYPES,
    randomPassword: "random:index/randomPassword:RandomPassword",
    randomId: "random:index/randomId:RandomId",
    stackReference: "pulumi:pulumi:StackReference",
    rawApp: APP_COMPONENT_TYPES.raw,
    helmApp: APP_COMPONENT_TYPES.helm,
} as const;

/** `stateful-apps:apps` of a config map, for tests that tweak one app. */
export function appsOf(config: Record<string, unknown>): Record<string, any> {
    return config["stateful-apps:apps"] as Record<string, any>;
}

/** What a registered resource's dependsOn names, as `<type>::<name>` (the tail of each URN), sorted. */
export async function dependencyNames(resource: RegisteredResource): Promise<string[]> {
    const deps = (resource.opts.dependsOn ?? []) as pulumi.Resource[];
    const urns = await Promise.all(deps.map((d) => new Promise<string>((resolve) => d.urn.apply(resolve))));
    return urns.map((u) => u.split("$").pop()!).sort();
}

/** A config value set with `pulumi config set --secret`: Pulumi marks its whole top-level key secret. */
export class SecretConfig {
    constructor(public readonly value: unknown) {}
}
export const secretConfig = (value: unknown) => new SecretConfig(value);

/**
 * Pulumi passes config to programs as strings, structured values as JSON, and the list of keys
 * that are secret: do the same.
 */
function encodeConfig(config: Record<string, unknown>): { values: Record<string, string>; secretKeys: string[] } {
    const values: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [k, v] of Object.entries(config)) {
        const plain = v instanceof SecretConfig ? v.value : v;
        if (v instanceof SecretConfig) {
            secretKeys.push(k);
        }
        values[k] = typeof plain === "string" ? plain : JSON.stringify(plain);
    }
    return { values, secretKeys };
}

/**
 * Runs index.ts with the given full config map (keys like `stateful-apps:apps`).
 * Rejects with the program's error if it throws.
 */
/** How the simulated engine answers a hook registration. */
export interface EngineOptions {
    /** false: like a language host that cannot register hooks (UNIMPLEMENTED). @default true */
    resourceHooks?: boolean;
    /** What the stack's last update exported (read by the program's StackReference to itself). @default {} (never deployed) */
    lastOutputs?: Record<string, unknown>;
    /** Which of lastOutputs were secret. @default [] */
    lastSecretOutputs?: string[];
}

export async function runProgram(
    config: Record<string, unknown>,
    stack = "test",
    resources: RegisteredResource[] = [],
    engine: EngineOptions = {},
): Promise<ProgramRun> {
    const registeredHooks: string[] = [];
    const componentOutputs: Record<string, any> = {};
    const optsByUrnName = new Map<string, pulumi.CustomResourceOptions>();
    await pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs) {
                const state = { ...args.inputs };
                if (args.type === T.randomPassword) {
                    state.result = `${MOCK_TOKEN_PREFIX}${args.name}`;
                }
                if (args.type === T.stackReference) {
                    state.outputs = engine.lastOutputs ?? {};
                    state.secretOutputNames = engine.lastSecretOutputs ?? [];
                }
                if (args.type === T.randomId) {
                    state.hex = `hex-of-${JSON.stringify(args.inputs.keepers)}`;
                }
                resources.push({ type: args.type, name: args.name, inputs: args.inputs, opts: optsByUrnName.get(`${args.type}::${args.name}`) ?? {} });
                return { id: `${args.name}-id`, state };
            },
            call: (args: pulumi.runtime.MockCallArgs) => args.inputs,
        },
        "stateful-apps",
        stack,
        false,
    );
    const { values, secretKeys } = encodeConfig(config);
    pulumi.runtime.setAllConfig(values, secretKeys);
    answerEngineRpcs(registeredHooks, componentOutputs, engine);

    let programExports: Record<string, any> = {};
    await pulumi.runtime.runInPulumiStack(async () => {
        // Record each resource's options (dependsOn, retainOnDelete, ...) as it is declared.
        pulumi.runtime.registerStackTransformation((args) => {
            optsByUrnName.set(`${args.type}::${args.name}`, args.opts);
            return undefined;
        });
        const entry = require.resolve(path.join(PROJECT_DIR, "index.ts"));
        delete require.cache[entry];
        // index.ts exports an async main (it registers the pod-cleanup hook first).
        const main = require(entry);
        programExports = typeof main === "function" ? await main() : main;
        return programExports;
    });
    await new Promise((resolve) => setImmediate(resolve));

    const outputs: Record<string, any> = {};
    const secretOutputs: string[] = [];
    for (const [key, value] of Object.entries(programExports)) {
        outputs[key] = await resolveDeep(value, key, secretOutputs);
    }
    const attached = resources.flatMap((r) => Object.values(r.opts.hooks ?? {}).flat() as pulumi.ResourceHook[]);
    const run: ProgramRun = {
        resources,
        registeredHooks,
        hooks: [...new Set(attached)],
        componentOutputs,
        outputs,
        secretOutputs,
        exports: programExports,
        ofType: (type) => resources.filter((r) => r.type === type),
        get(type, name) {
            const found = resources.filter((r) => r.type === type && (r.inputs?.metadata?.name ?? r.name) === name);
            if (found.length !== 1) {
                throw new Error(`expected exactly one ${type} named ${name}, found ${found.length}`);
            }
            return found[0];
        },
    };
    return run;
}

/**
 * Two ResourceMonitor RPCs that Pulumi's mock monitor lacks, answered as the engine would on the
 * monitor the SDK talks to (pulumi.runtime.getMonitor()): RegisterResourceHook (the SDK's own
 * callback server sends it; recorded, or refused like an engine without hooks) and
 * RegisterResourceOutputs (recorded: what a component's hook will get as its old outputs).
 */
function answerEngineRpcs(registeredHooks: string[], componentOutputs: Record<string, any>, engine: EngineOptions) {
    type Callback = (err: Error | null, response?: unknown) => void;
    const monitor = pulumi.runtime.getMonitor() as unknown as {
        registerResourceHook?: (req: { getName(): string }, callback: Callback) => void;
        registerResourceOutputs: (req: { getUrn(): string; getOutputs(): { toJavaScript(): unknown } | undefined }, callback: Callback) => void;
    };
    monitor.registerResourceHook = (req, callback) => {
        if (engine.resourceHooks === false) {
            callback(new Error("12 UNIMPLEMENTED: unknown method RegisterResourceHook for service pulumirpc.ResourceMonitor"));
            return;
        }
        registeredHooks.push(req.getName());
        callback(null, {});
    };
    const registerResourceOutputs = monitor.registerResourceOutputs.bind(monitor);
    monitor.registerResourceOutputs = (req, callback) => {
        const name = String(req.getUrn()).split("::").pop()!;
        componentOutputs[name] = req.getOutputs()?.toJavaScript();
        return registerResourceOutputs(req, callback);
    };
}

/** Resolves an exported value (Outputs nested in plain objects), noting the paths of secrets. */
async function resolveDeep(value: any, at: string, secrets: string[]): Promise<any> {
    if (pulumi.Output.isInstance(value)) {
        if (await pulumi.isSecret(value)) {
            secrets.push(at);
        }
        const inner = await new Promise<any>((resolve) => value.apply((v: any) => resolve(v)));
        return resolveDeep(inner, at, secrets);
    }
    if (Array.isArray(value)) {
        return Promise.all(value.map((v, i) => resolveDeep(v, `${at}[${i}]`, secrets)));
    }
    if (value && typeof value === "object") {
        const entries: [string, any][] = [];
        for (const [k, v] of Object.entries(value)) {
            entries.push([k, await resolveDeep(v, `${at}.${k}`, secrets)]);
        }
        return Object.fromEntries(entries);
    }
    return value;
}

/** Runs the program expecting it to fail; returns the error and whatever it registered. */
export async function runProgramExpectingError(
    config: Record<string, unknown>,
    engine: EngineOptions = {},
): Promise<{ error: Error; resources: RegisteredResource[] }> {
    const resources: RegisteredResource[] = [];
    try {
        await runProgram(config, "test", resources, engine);
    } catch (error) {
        return { error: error as Error, resources };
    }
    throw new Error("expected the program to fail, but it succeeded");
}
