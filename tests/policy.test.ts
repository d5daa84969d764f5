// The policy pack (policy/rules.ts, the rules policy/index.ts registers) run on the resources
// the REAL program declares under the project's mocks (tests/harness.ts), in raw and Helm mode:
// each rule passes on what the shipped stacks declare and fails on a changed stack config, or,
// where the program itself refuses the setting (e.g. whenDeleted Delete in Helm mode) or cannot
// produce it (a StatefulSet without the orphan annotation), on a mutated copy of its resources.
// A tiny harness stands in for the analyzer: @pulumi/policy 1.21.0 exports no test helpers.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { parsePolicyViolations, renderComment } from "../ci/preview-summary";
import { policies, ResourceArgs, ResourcePolicy, StackPolicy, SECRET_NAME, stackOf } from "../policy/rules";
import { appsOf, clone, loadStackFile, RegisteredResource, runProgram, secretConfig, T } from "./harness";

interface Violation { policy: string; level: string; message: string }
type Mode = "raw" | "helm";
const APP = "python-app";

/** A resource as the analyzer shows it to a policy: type, name, URN (with the stack), inputs, visible options. */
type PolicyResource = Omit<ResourceArgs, "getConfig">;
function asPolicyResources(resources: RegisteredResource[], stack: string): PolicyResource[] {
    return resources.map((r) => ({
        type: r.type,
        name: r.name,
        urn: `urn:pulumi:${stack}::stateful-apps::${r.type}::${r.name}`,
        props: clone(r.inputs ?? {}),
        // Exactly the options PolicyResourceOptions carries (no retainOnDelete, no replaceOnChanges).
        opts: { protect: r.opts?.protect === true, deleteBeforeReplace: r.opts?.deleteBeforeReplace },
    }));
}

/** Every policy on every resource, then the stack policies; the violations, with their level. */
function check(resources: PolicyResource[], config: object = {}): Violation[] {
    const out: Violation[] = [];
    for (const p of policies) {
        const report = (message: string) => out.push({ policy: p.name, level: p.enforcementLevel, message });
        if ("validateResource" in p) {
            for (const r of resources) {
                (p as ResourcePolicy).validateResource({ ...r, getConfig: <C>() => config as C } as ResourceArgs, report);
            }
        } else {
            (p as StackPolicy).validateStack({ resources, getConfig: <C>() => config as C }, report);
        }
    }
    return out;
}

const prodConfig = (mode: Mode) => ({ ...loadStackFile("prod"), "stateful-apps:deployMethod": mode });
async function declared(config: Record<string, unknown>, stack: string) {
    return asPolicyResources((await runProgram(config, stack)).resources, stack);
}
const mandatory = (v: Violation[]) => v.filter((x) => x.level === "mandatory");
const named = (v: Violation[], policy: string) => v.filter((x) => x.policy === policy);
function withApp(config: Record<string, unknown>, change: (app: any) => void) {
    const c = clone(config);
    change(appsOf(c)[APP]);
    return c;
}
/** The one resource of `type` for the app (StatefulSet or Release), to mutate a copy of. */
const workload = (rs: PolicyResource[], mode: Mode) =>
    rs.find((r) => r.type === (mode === "raw" ? T.statefulSet : T.release) && r.name === APP)!;

/** Asserts exactly one violation of `policy`, naming the app, the resource and a fix. */
function assertOne(v: Violation[], policy: string, ...mentions: string[]) {
    const hits = named(v, policy);
    assert.strictEqual(hits.length, 1, `expected one ${policy} violation, got: ${JSON.stringify(v, null, 1)}`);
    for (const m of [`app ${APP}`, "Fix:", ...mentions]) {
        assert.ok(hits[0].message.includes(m), `"${hits[0].message}" should mention ${m}`);
    }
}

for (const mode of ["raw", "helm"] as const) {
    describe(`policy pack on the program's resources (${mode} mode)`, function () {
        this.timeout(60000);
        let prod: PolicyResource[];
        before(async () => {
            prod = await declared(prodConfig(mode), "prod");
        });

        it("the shipped prod stack passes every rule, the advisory spreading one included (it ships a topology spread)", () => {
            assert.deepStrictEqual(check(prod), []);
        });

        it("every shipped stack passes every mandatory rule", async () => {
            for (const stack of ["dev", "staging"]) {
                const rs = await declared({ ...loadStackFile(stack), "stateful-apps:deployMethod": mode }, stack);
                assert.deepStrictEqual(mandatory(check(rs)), [], stack);
            }
        });

        it("replacement/deletion: fails without the orphan annotation (raw) or with whenDeleted Delete (Helm)", () => {
            const rs = clone(prod);
            const w = workload(rs, mode);
            if (mode === "raw") {
                delete w.props.metadata.annotations["pulumi.com/deletionPropagationPolicy"];
                assertOne(check(rs), "statefulset-replacement-keeps-pods-and-pvcs", "StatefulSet stateful-apps-prod/python-app", "orphan");
            } else {
                // The program refuses this in Helm mode (components/appRules.ts); the pack must too.
                w.props.values.pvcRetentionPolicy.whenDeleted = "Delete";
                const v = check(rs);
                assertOne(v, "statefulset-replacement-keeps-pods-and-pvcs", "Release stateful-apps-prod/python-app", "whenDeleted' Retain");
            }
        });

        it("replacement/deletion: a Pulumi-managed PVC must be protected; a PVC patch must not get an owner", () => {
            const rs = clone(prod);
            const patch = rs.find((r) => r.type === T.pvcPatch && r.name === `data-${APP}-0`)!;
            const pvcType = "kubernetes:core/v1:PersistentVolumeClaim";
            const pvc: PolicyResource = { ...clone(patch), type: pvcType, urn: patch.urn.replace(T.pvcPatch, pvcType), opts: { protect: false } };
            assertOne(check([...rs, pvc]), "statefulset-replacement-keeps-pods-and-pvcs", "PersistentVolumeClaim stateful-apps-prod/data-python-app-0", "protect: true");
            pvc.opts.protect = true;
            assert.deepStrictEqual(named(check([...rs, pvc]), "statefulset-replacement-keeps-pods-and-pvcs"), []);
            patch.props.metadata.ownerReferences = [{ apiVersion: "apps/v1", kind: "StatefulSet", name: APP, uid: "u" }];
            assertOne(check(rs), "statefulset-replacement-keeps-pods-and-pvcs", "PersistentVolumeClaimPatch stateful-apps-prod/data-python-app-0", "ownerReferences");
        });

        it("PVC retention Delete: fails in the prod stack, passes in staging", async () => {
            // whenScaled Delete is valid config in both modes; whenDeleted Delete only in raw mode.
            const when = mode === "raw" ? "whenDeleted" : "whenScaled";
            const config = withApp(prodConfig(mode), (a) => (a.pvcRetentionPolicy = { ...a.pvcRetentionPolicy, [when]: "Delete" }));
            assertOne(check(await declared(config, "prod")), "no-pvc-delete-in-production", `pvcRetentionPolicy.${when} is Delete`, "-s prod");
            assert.deepStrictEqual(named(check(await declared(config, "staging")), "no-pvc-delete-in-production"), []);
            // The production stacks are policy config: staging marked production fails too.
            assert.strictEqual(named(check(await declared(config, "staging"), { productionStacks: ["staging"] }), "no-pvc-delete-in-production").length, 1);
        });

        it("secret-looking env: a literal API_KEY fails; the same name through secretEnv (a secretKeyRef) passes", async () => {
            const literal = withApp(prodConfig(mode), (a) => (a.env = { API_KEY: "literal-not-a-real-key", LOG_LEVEL: "info" }));
            assertOne(check(await declared(literal, "prod")), "secret-env-from-secret", "API_KEY", "stateful-apps:secretEnv.python-app.API_KEY");
            const viaSecret = { ...prodConfig(mode), "stateful-apps:secretEnv": secretConfig({ [APP]: { API_KEY: "from-a-secret" } }) };
            const rs = await declared(viaSecret, "prod");
            assert.deepStrictEqual(named(check(rs), "secret-env-from-secret"), []);
            if (mode === "raw") {
                const env = workload(rs, mode).props.spec.template.spec.containers[0].env;
                assert.ok(env.some((e: any) => e.name === "API_KEY" && e.valueFrom?.secretKeyRef), "secretEnv reaches the container by reference");
            }
        });

        it("pod security restricted: fails when the pod spec is lowered (raw) or the values/chart cannot guarantee it (Helm)", () => {
            if (mode === "raw") {
                const lowerings: [string, (spec: any) => void][] = [
                    ["runAsNonRoot is false", (s) => { s.securityContext.runAsNonRoot = false; s.containers[0].securityContext.runAsNonRoot = false; }],
                    ["allowPrivilegeEscalation is unset", (s) => delete s.containers[0].securityContext.allowPrivilegeEscalation],
                    ["capabilities.drop is []", (s) => (s.containers[0].securityContext.capabilities.drop = [])],
                    ["seccompProfile is unset", (s) => delete s.securityContext.seccompProfile],
                    ["seccompProfile is Unconfined", (s) => (s.securityContext.seccompProfile.type = "Unconfined")],
                ];
                for (const [problem, lower] of lowerings) {
                    const rs = clone(prod);
                    lower(workload(rs, mode).props.spec.template.spec);
                    assertOne(check(rs), "pod-security-restricted", "StatefulSet stateful-apps-prod/python-app", problem);
                }
            } else {
                const rs = clone(prod);
                workload(rs, mode).props.values.podSecurityContext = { runAsUser: 0 };
                assertOne(check(rs), "pod-security-restricted", "values podSecurityContext");
                const other = clone(prod);
                workload(other, mode).props.chart = "oci://registry.example.com/charts/other-app";
                assertOne(check(other), "pod-security-restricted", "is not the program's chart");
            }
        });

        it("production PDB: fails without one (raw: PDB removed; Helm: a chart that renders none), passes outside production", () => {
            const rs = mode === "raw" ? clone(prod).filter((r) => !(r.type === T.pdb && r.name === APP)) : clone(prod);
            if (mode === "helm") {
                workload(rs, mode).props.chart = "oci://registry.example.com/charts/other-app";
            }
            assertOne(check(rs), "production-replicas-have-pdb", "3 replicas in production stack prod");
            const dev = rs.map((r) => ({ ...r, urn: r.urn.replace("urn:pulumi:prod::", "urn:pulumi:dev::") }));
            assert.strictEqual(stackOf(dev[0].urn), "dev");
            assert.deepStrictEqual(named(check(dev), "production-replicas-have-pdb"), []);
        });

        it("production spreading (advisory): reported per app without spreading, silent with a spread constraint or an anti-affinity preset", async () => {
            const unspread = clone(prodConfig(mode));
            for (const app of Object.values(appsOf(unspread))) {
                delete app.topologySpreadConstraints;
                delete app.podAntiAffinityPreset;
            }
            const v = named(check(await declared(unspread, "prod")), "production-replicas-spread");
            assert.deepStrictEqual(v.map((x) => x.level), ["advisory", "advisory"]);
            assert.ok(v.some((x) => x.message.includes(`app ${APP}`) && x.message.includes("Fix:")));
            const preset = withApp(unspread, (a) => (a.podAntiAffinityPreset = "soft"));
            assert.strictEqual(named(check(await declared(preset, "prod")), "production-replicas-spread").length, 1, "only js-app is left");
        });

        it("storage shrink: a PVC patch below the app's template size fails; equal sizes pass", async () => {
            const rs = clone(prod);
            assert.deepStrictEqual(named(check(rs), "no-storage-shrink"), []);
            const patch = rs.find((r) => r.type === T.pvcPatch && r.name === `data-${APP}-1`)!;
            patch.props.spec.resources.requests.storage = "512Mi";
            assertOne(check(rs), "no-storage-shrink", "PersistentVolumeClaimPatch stateful-apps-prod/data-python-app-1", "512Mi", "1Gi");
            // A grown template (storageSize 2Gi) with its patches: the program's real resize passes.
            const grown = await declared(withApp(prodConfig(mode), (a) => (a.storageSize = "2Gi")), "prod");
            assert.deepStrictEqual(named(check(grown), "no-storage-shrink"), []);
        });
    });
}

describe("policy pack: secret-looking env names", () => {
    it("matches TOKEN, PASSWORD, SECRET, CREDENTIAL anywhere and KEY as a word", () => {
        for (const n of ["ADMIN_TOKEN", "GITHUBTOKEN", "DB_PASSWORD", "PASSWD", "CLIENT_SECRET", "AWS_ACCESS_KEY_ID", "API_KEY", "APIKEY", "KEY", "SIGNING_KEYS", "GCP_CREDENTIALS"]) {
            assert.ok(SECRET_NAME.test(n), n);
        }
        for (const n of ["MONKEY", "KEYCLOAK_URL", "PORT", "LOG_LEVEL", "DATA_DIR", "HOCKEY_TEAM"]) {
            assert.ok(!SECRET_NAME.test(n), n);
        }
    });
});

describe("policy pack in the PR comment (ci/preview-summary/)", () => {
    const fixture = (f: string) => fs.readFileSync(path.join(__dirname, "fixtures", "policy", f), "utf8");

    it("reads every violation of a real --diff preview, mandatory first in the comment", () => {
        const diff = fixture("prod-pvc-delete.diff.txt");
        const v = parsePolicyViolations(diff);
        assert.deepStrictEqual(v.map((x) => [x.level, x.policy, x.resource]).sort(), [
            ["advisory", "production-replicas-spread", "kubernetes:apps/v1:StatefulSet: js-app"],
            ["advisory", "production-replicas-spread", "kubernetes:apps/v1:StatefulSet: python-app"],
            ["mandatory", "no-pvc-delete-in-production", "kubernetes:apps/v1:StatefulSet: python-app"],
        ]);
        assert.ok(v.find((x) => x.level === "mandatory")!.message.startsWith("app python-app: StatefulSet stateful-apps-prod/python-app: pvcRetentionPolicy.whenDeleted is Delete"));
        const comment = renderComment({ summary: undefined, summaryError: "no JSON", diff, stack: "prod" });
        const section = comment.slice(comment.indexOf("#### ❌ Policy pack: 1 mandatory violation (the preview fails)"), comment.indexOf("<details>"));
        assert.ok(section.length > 0, comment.slice(0, 600));
        assert.match(section, /^- \*\*mandatory\*\* `no-pvc-delete-in-production` \(kubernetes:apps\/v1:StatefulSet: python-app\): app python-app/m);
        assert.ok(section.indexOf("mandatory** `no-pvc") < section.indexOf("advisory** `production-replicas-spread"));
    });

    it("reads the Policies block of a plain preview (Helm mode)", () => {
        assert.deepStrictEqual(parsePolicyViolations(fixture("staging-literal-api-key.txt")).map((x) => [x.level, x.policy, x.resource]), [
            ["mandatory", "secret-env-from-secret", "kubernetes:helm.sh/v3:Release: python-app"],
        ]);
    });

    it("a passing pack adds no section", () => {
        const diff = "Policies:\n    ✅ stateful-apps@v0.1.0 (local: /work/policy)\n\nResources:\n    + 24 to create\n";
        assert.deepStrictEqual(parsePolicyViolations(diff), []);
        assert.ok(!renderComment({ summary: undefined, diff }).includes("Policy pack"));
    });
});
