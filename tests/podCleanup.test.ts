// Destroy and app removal leave no pods; replacement keeps them. The StatefulSet is always deleted
// with orphan propagation (so a replacement keeps its pods), and the app's ComponentResource, which
// only goes away when the app does, carries an afterDelete hook that deletes the app's pods.
import * as assert from "assert";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import {
    deleteAppPods, HOOK_RBAC, isTransient, kubernetesPodApi, onAppDeleted, PodApi, PodCleanupTarget, POD_CLEANUP_HOOK, withRetries,
} from "../components/podCleanup";
import { appsOf, clone, loadStackFile, runProgram, T } from "./harness";

/** A fake API server state: pods per namespace, each with labels; deletions take `graceRounds` lists. */
function fakePodApi(pods: { ns: string; name: string; labels: Record<string, string> }[], graceRounds = 0) {
    const calls: string[] = [];
    let deletedAt: number | undefined;
    let lists = 0;
    const matching = (ns: string, selector: string) =>
        pods.filter((p) => p.ns === ns && selector.split(",").every((kv) => p.labels[kv.split("=")[0]] === kv.split("=")[1]));
    const api: PodApi = {
        async deletePods(ns, selector) {
            calls.push(`delete ${ns} ${selector}`);
            if (!pods.some((p) => p.ns === ns) && ns === "gone") {
                return false;
            }
            deletedAt = lists;
            return true;
        },
        async listPods(ns, selector) {
            calls.push(`list ${ns} ${selector}`);
            lists++;
            const found = matching(ns, selector);
            if (deletedAt !== undefined && lists - deletedAt > graceRounds) {
                for (const p of found) {
                    pods.splice(pods.indexOf(p), 1);
                }
                return [];
            }
            return found.map((p) => p.name);
        },
        async deletePvcs(ns, selector) {
            calls.push(`delete-pvcs ${ns} ${selector}`);
        },
    };
    return { api, calls, pods };
}

const SELECTOR = { "app.kubernetes.io/name": "python-app", "app.kubernetes.io/instance": "python-app" };
const TARGET: PodCleanupTarget = { namespace: "ns1", podSelector: SELECTOR };
const podsOf = (app: string, ns = "ns1", n = 2) =>
    Array.from({ length: n }, (_, i) => ({ ns, name: `${app}-${i}`, labels: { "app.kubernetes.io/name": app, "app.kubernetes.io/instance": app } }));

describe("pod cleanup hook: wiring", () => {
    for (const stack of ["dev", "staging", "prod"]) {
        it(`${stack}: each app component, and nothing else, carries the afterDelete hook`, async () => {
            const run = await runProgram(loadStackFile(stack), stack);
            assert.deepStrictEqual(run.registeredHooks, [POD_CLEANUP_HOOK], "registered once");
            assert.deepStrictEqual(run.hooks.map((h) => h.name), [POD_CLEANUP_HOOK], "one hook object on every component");
            const withHooks = run.resources.filter((r) => r.opts.hooks);
            const componentType = stack === "staging" ? T.helmApp : T.rawApp;
            assert.deepStrictEqual(withHooks.map((r) => `${r.type}/${r.name}`).sort(), [`${componentType}/js-app`, `${componentType}/python-app`]);
            for (const r of withHooks) {
                assert.deepStrictEqual(r.opts.hooks!.afterDelete!.map((h) => h.name), [POD_CLEANUP_HOOK]);
                assert.deepStrictEqual(Object.keys(r.opts.hooks!), ["afterDelete"]);
            }
        });
    }

    it("the hook is registered even when no app is left (the engine calls it for the removed apps)", async () => {
        const config = clone(loadStackFile("dev"));
        config["stateful-apps:apps"] = {};
        const run = await runProgram(config);
        assert.deepStrictEqual(run.registeredHooks, [POD_CLEANUP_HOOK]);
        assert.deepStrictEqual(run.ofType(T.rawApp), []);
    });

    it("a replacing change (storage, podManagementPolicy) replaces the StatefulSet, not the component that carries the hook", async () => {
        const run = await runProgram(loadStackFile("dev"), "dev");
        const component = run.get(T.rawApp, "python-app");
        assert.deepStrictEqual(component.inputs ?? {}, {}, "no inputs, so nothing can make the engine replace it");
        assert.strictEqual(component.opts.replaceOnChanges, undefined);
        const sts = run.get(T.statefulSet, "python-app");
        assert.strictEqual(sts.inputs.metadata.annotations["pulumi.com/deletionPropagationPolicy"], "orphan", "replacement keeps the pods");
        assert.strictEqual(sts.opts.hooks, undefined, "no hook on the StatefulSet: its replacement must not delete pods");
    });

    it("each component registers where its pods are, and the hook deletes exactly those from its outputs", async () => {
        const run = await runProgram(loadStackFile("prod"), "prod");
        const outputs = run.componentOutputs["js-app"];
        assert.strictEqual(outputs.namespace, "stateful-apps-prod");
        assert.deepStrictEqual(outputs.podSelector, { "app.kubernetes.io/name": "js-app", "app.kubernetes.io/instance": "js-app" });
        const fake = fakePodApi([...podsOf("js-app", "stateful-apps-prod", 3), ...podsOf("python-app", "stateful-apps-prod", 3)]);
        await onAppDeleted({ urn: "urn", id: "", name: "js-app", type: T.rawApp, oldOutputs: outputs }, () => fake.api);
        assert.deepStrictEqual(fake.pods.map((p) => p.name), ["python-app-0", "python-app-1", "python-app-2"], "only js-app's pods are gone");
    });

    it("the program still deploys, with a warning, where the language host cannot register hooks", async () => {
        const warnings: string[] = [];
        const warn = pulumi.log.warn;
        (pulumi.log as any).warn = async (msg: string) => { warnings.push(msg); };
        try {
            const run = await runProgram(loadStackFile("dev"), "dev", [], { resourceHooks: false });
            assert.deepStrictEqual(run.registeredHooks, []);
            assert.deepStrictEqual(run.hooks, []);
            assert.strictEqual(run.ofType(T.statefulSet).length, 2);
        } finally {
            (pulumi.log as any).warn = warn;
        }
        assert.strictEqual(warnings.length, 1);
        assert.match(warnings[0], /cannot register resource hooks .*UNIMPLEMENTED.*leave the app's pods running.*kubectl delete pod/);
    });
});

describe("pod cleanup hook: deleting the pods", () => {
    it("deletes the app's pods by label selector and returns only when none is left", async () => {
        const fake = fakePodApi([...podsOf("python-app"), ...podsOf("js-app")], 2);
        await deleteAppPods(fake.api, TARGET, { pollMs: 1 });
        const selector = "app.kubernetes.io/name=python-app,app.kubernetes.io/instance=python-app";
        assert.deepStrictEqual(fake.calls, [`delete ns1 ${selector}`, ...Array(3).fill(`list ns1 ${selector}`)], "waits while pods terminate");
        assert.deepStrictEqual(fake.pods.map((p) => p.name), ["js-app-0", "js-app-1"]);
    });

    it("pvcRetentionPolicy.whenDeleted Delete: the PVCs are deleted too, after the pods; by default never", async () => {
        const fake = fakePodApi(podsOf("python-app"));
        await deleteAppPods(fake.api, { ...TARGET, deletePvcs: true }, { pollMs: 1 });
        assert.deepStrictEqual(fake.calls.map((c) => c.split(" ")[0]), ["delete", "list", "delete-pvcs"]);
        const kept = fakePodApi(podsOf("python-app"));
        await deleteAppPods(kept.api, TARGET, { pollMs: 1 });
        assert.ok(!kept.calls.some((c) => c.startsWith("delete-pvcs")));
    });

    it("the component records whenDeleted: Delete for the hook, and only then", async () => {
        const config = clone(loadStackFile("dev"));
        appsOf(config)["python-app"].pvcRetentionPolicy = { whenDeleted: "Delete" };
        const run = await runProgram(config);
        assert.strictEqual(run.componentOutputs["python-app"].deletePvcs, true);
        assert.strictEqual(run.componentOutputs["js-app"].deletePvcs, false);
    });

    it("a namespace that no longer exists means there is nothing to delete", async () => {
        const fake = fakePodApi([]);
        await deleteAppPods(fake.api, { ...TARGET, namespace: "gone" }, { pollMs: 1 });
        assert.deepStrictEqual(fake.calls.length, 1);
    });

    it("fails, naming the pods and the manual command, when pods outlive the timeout", async () => {
        const fake = fakePodApi(podsOf("python-app"), Number.MAX_SAFE_INTEGER);
        await assert.rejects(
            deleteAppPods(fake.api, TARGET, { pollMs: 1, timeoutMs: 20 }),
            /pods still present after 0 s in namespace ns1: python-app-0, python-app-1; check them and delete them with: kubectl delete pod -n ns1 -l app.kubernetes.io\/name=python-app,app.kubernetes.io\/instance=python-app/,
        );
    });
});

/** An API error as @kubernetes/client-node throws it: an HTTP status in `code`. */
const apiError = (code: number, message = `HTTP-Code: ${code}`) => Object.assign(new Error(message), { code });

describe("pod cleanup hook: retries and what a failure says (issue 20 item 3)", () => {
    const FAST = { retry: { backoffMs: 1 }, pollMs: 1 };

    it("transient failures (429, 5xx, refused connections) are retried with backoff; the cleanup completes", async () => {
        const fake = fakePodApi(podsOf("python-app"));
        const failures = [apiError(503), apiError(429), Object.assign(new Error("connect ECONNREFUSED 10.0.0.1:443"), { code: "ECONNREFUSED" })];
        const deletePods = fake.api.deletePods;
        fake.api.deletePods = async (ns, sel) => {
            const next = failures.shift();
            if (next) throw next;
            return deletePods(ns, sel);
        };
        const logs: string[] = [];
        await deleteAppPods(fake.api, TARGET, { ...FAST, log: (m) => logs.push(m) });
        assert.strictEqual(fake.pods.length, 0);
        assert.deepStrictEqual(logs.filter((l) => /attempt/.test(l)).map((l) => l.replace(/ in \d+ ms$/, "")), [
            "deleting the pods failed (HTTP-Code: 503); attempt 2 of 5",
            "deleting the pods failed (HTTP-Code: 429); attempt 3 of 5",
            "deleting the pods failed (connect ECONNREFUSED 10.0.0.1:443); attempt 4 of 5",
        ]);
    });

    it("the backoff doubles", async () => {
        const started = Date.now();
        let calls = 0;
        await assert.rejects(withRetries("x", async () => { calls++; throw apiError(500); }, { attempts: 4, backoffMs: 20 }), /HTTP-Code: 500/);
        assert.strictEqual(calls, 4);
        assert.ok(Date.now() - started >= 20 + 40 + 80, `waited ${Date.now() - started} ms`);
    });

    it("permissions are not retried: the message names the RBAC the hook needs, what is left and the commands", async () => {
        const fake = fakePodApi(podsOf("python-app"));
        let calls = 0;
        fake.api.deletePods = async () => { calls++; throw apiError(403, 'pods is forbidden: User "system:serviceaccount:ns1:deployer" cannot deletecollection resource "pods"'); };
        await assert.rejects(deleteAppPods(fake.api, { ...TARGET, deletePvcs: true }, FAST), (e: Error) => {
            assert.match(e.message, /^deleting the pods failed: 403: pods is forbidden: User "system:serviceaccount:ns1:deployer" cannot deletecollection resource "pods"\./);
            assert.ok(e.message.includes(`The hook needs ${HOOK_RBAC} in ns1.`), e.message);
            assert.match(e.message, /Left behind: the pods of app.kubernetes.io\/name=python-app,app.kubernetes.io\/instance=python-app in namespace ns1 and the PVCs of .* \(pvcRetentionPolicy.whenDeleted: Delete\)/);
            assert.match(e.message, /finish with: kubectl delete pod -n ns1 -l \S+ && kubectl delete pvc -n ns1 -l \S+$/);
            return true;
        });
        assert.strictEqual(calls, 1);
    });

    it("a failed PVC step after the pods are gone is reported as such, with only the PVC command", async () => {
        const fake = fakePodApi(podsOf("python-app"));
        fake.api.deletePvcs = async () => { throw apiError(422, "Unprocessable"); };
        await assert.rejects(deleteAppPods(fake.api, { ...TARGET, deletePvcs: true }, FAST),
            /^Error: the pods are gone, but deleting the PVCs failed: 422: Unprocessable\. Left behind: the PVCs of \S+ in namespace ns1; finish with: kubectl delete pvc -n ns1 -l \S+$/);
    });

    it("a failure says what the API server said (the Status message of the client's ApiException body)", async () => {
        const fake = fakePodApi(podsOf("python-app"));
        fake.api.deletePods = async () => {
            throw Object.assign(new Error("HTTP-Code: 403\nMessage: Unknown API Status Code!\nBody: ..."), {
                code: 403,
                body: JSON.stringify({ kind: "Status", message: 'pods is forbidden: User "x" cannot deletecollection resource "pods"', code: 403 }),
            });
        };
        await assert.rejects(deleteAppPods(fake.api, TARGET, FAST), /^Error: deleting the pods failed: 403: pods is forbidden: User "x" cannot deletecollection resource "pods"\. The hook needs/);
    });

    it("classifies errors: statuses and socket errors", () => {
        for (const e of [apiError(500), apiError(502), apiError(503), apiError(504), apiError(429), new Error("fetch failed"), Object.assign(new Error("x"), { code: "ECONNRESET" })]) {
            assert.ok(isTransient(e), String(e));
        }
        for (const e of [apiError(401), apiError(403), apiError(404), apiError(409), apiError(422), new Error("kubernetes:cluster is not a cluster")]) {
            assert.ok(!isTransient(e), String(e));
        }
    });
});

describe("pod cleanup hook: the Kubernetes client", () => {
    // A stand-in API server: answers the two calls the hook makes, and records them.
    let server: http.Server;
    let requests: string[];
    let podsLeft: string[];
    let kubeconfigFile: string;
    before(async () => {
        server = http.createServer((req, res) => {
            requests.push(`${req.method} ${decodeURIComponent(req.url!)}`);
            res.setHeader("content-type", "application/json");
            if (req.url!.startsWith("/api/v1/namespaces/missing/")) {
                res.statusCode = 404;
                res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", code: 404 }));
            } else if (req.method === "DELETE") {
                res.end(JSON.stringify({ kind: "PodList", apiVersion: "v1", items: [] }));
            } else {
                const items = podsLeft.map((name) => ({ metadata: { name } }));
                podsLeft = [];
                res.end(JSON.stringify({ kind: "PodList", apiVersion: "v1", metadata: {}, items }));
            }
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const { port } = server.address() as { port: number };
        kubeconfigFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "kubeconfig-")), "config");
        fs.writeFileSync(kubeconfigFile, [
            "apiVersion: v1", "kind: Config", "current-context: wrong",
            "clusters:", `- name: fake`, `  cluster: {server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true}`, `- name: other`, `  cluster: {server: "http://127.0.0.1:1", insecure-skip-tls-verify: true}`,
            "users:", "- name: u", "  user: {token: t}",
            "contexts:", "- name: fake", "  context: {cluster: fake, user: u}", "- name: wrong", "  context: {cluster: other, user: u}",
        ].join("\n"));
    });
    after(() => server.close());
    beforeEach(() => {
        requests = [];
        podsLeft = ["python-app-0"];
    });
    const withConfig = async (config: Record<string, string>, fn: () => Promise<void>) => {
        const saved = pulumi.runtime.allConfig();
        pulumi.runtime.setAllConfig({ ...saved, ...config });
        try {
            await fn();
        } finally {
            pulumi.runtime.setAllConfig(saved);
        }
    };

    it("uses the stack's kubernetes:kubeconfig (a path) and kubernetes:context, deletes by selector, then lists until none is left", async () => {
        await withConfig({ "kubernetes:kubeconfig": kubeconfigFile, "kubernetes:context": "fake" }, async () => {
            await deleteAppPods(kubernetesPodApi(), TARGET, { pollMs: 1 });
        });
        const selector = "labelSelector=app.kubernetes.io/name=python-app,app.kubernetes.io/instance=python-app";
        assert.deepStrictEqual(requests, [
            `DELETE /api/v1/namespaces/ns1/pods?${selector}`,
            `GET /api/v1/namespaces/ns1/pods?${selector}`,
            `GET /api/v1/namespaces/ns1/pods?${selector}`,
        ]);
    });

    it("takes kubeconfig contents as well as a path, and a missing namespace is not an error", async () => {
        const contents = fs.readFileSync(kubeconfigFile, "utf8").replace("current-context: wrong", "current-context: fake");
        await withConfig({ "kubernetes:kubeconfig": contents }, async () => {
            await deleteAppPods(kubernetesPodApi(), { ...TARGET, namespace: "missing" }, { pollMs: 1 });
        });
        assert.strictEqual(requests.length, 1);
        assert.match(requests[0], /^DELETE \/api\/v1\/namespaces\/missing\/pods\?/);
    });

    it("the hook the program registers deletes the deleted app's pods through the stack's kubeconfig", async () => {
        const config = {
            ...clone(loadStackFile("dev")),
            "kubernetes:kubeconfig": kubeconfigFile,
            "kubernetes:context": "fake",
        };
        const run = await runProgram(config, "dev");
        const [hook] = run.hooks;
        // What the engine hands the hook when the component is deleted: its last registered outputs.
        await hook.callback({ urn: "urn", id: "", name: "js-app", type: T.rawApp, oldOutputs: run.componentOutputs["js-app"] });
        // The state holds the selector's labels in key order.
        const selector = "labelSelector=app.kubernetes.io/instance=js-app,app.kubernetes.io/name=js-app";
        assert.deepStrictEqual(requests.slice(0, 2), [
            `DELETE /api/v1/namespaces/stateful-apps-dev/pods?${selector}`,
            `GET /api/v1/namespaces/stateful-apps-dev/pods?${selector}`,
        ]);
    });

    it("honours kubernetes:cluster like the provider: the current context's user at that cluster", async () => {
        // The current context (wrong) points at a closed port; kubernetes:cluster moves it to fake.
        await withConfig({ "kubernetes:kubeconfig": kubeconfigFile, "kubernetes:context": "wrong", "kubernetes:cluster": "fake" }, async () => {
            await deleteAppPods(kubernetesPodApi(), TARGET, { pollMs: 1 });
        });
        assert.strictEqual(requests[0].split("?")[0], "DELETE /api/v1/namespaces/ns1/pods");
        await withConfig({ "kubernetes:kubeconfig": kubeconfigFile, "kubernetes:cluster": "nope" }, async () => {
            assert.throws(() => kubernetesPodApi(), /kubernetes:cluster "nope" is not a cluster of the kubeconfig \(it has: fake, other\)/);
        });
    });

    it("an unreachable API server is retried, then reported with what is left and the command", async () => {
        // Context `wrong` points at a closed port.
        await withConfig({ "kubernetes:kubeconfig": kubeconfigFile, "kubernetes:context": "wrong" }, async () => {
            await assert.rejects(deleteAppPods(kubernetesPodApi(), TARGET, { pollMs: 1, retry: { attempts: 2, backoffMs: 1 } }),
                /^Error: deleting the pods failed: .*ECONNREFUSED.*Left behind: the pods of \S+ in namespace ns1; finish with: kubectl delete pod -n ns1 -l \S+$/s);
        });
    });

    it("without stack config, reads $KUBECONFIG like the provider", async () => {
        const saved = process.env.KUBECONFIG;
        process.env.KUBECONFIG = kubeconfigFile;
        try {
            await withConfig({ "kubernetes:context": "fake" }, async () => {
                await deleteAppPods(kubernetesPodApi(), TARGET, { pollMs: 1 });
            });
        } finally {
            process.env.KUBECONFIG = saved;
            if (saved === undefined) delete process.env.KUBECONFIG;
        }
        assert.strictEqual(requests[0].split("?")[0], "DELETE /api/v1/namespaces/ns1/pods");
    });
});
