// The stateful-apps policy pack: `pulumi preview --policy-pack policy` (README, "Policy pack").
// Loaded by index.js (transpiled, not type-checked: see there). The rules are in rules.ts; here they
// meet the real SDK types (type-checked by `npm --prefix policy run build`).
import { PolicyPack, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { policies } from "./rules";

new PolicyPack("stateful-apps", {
    description: "Data safety of StatefulSets and their PVCs, secret env values and Pod Security for the stateful-apps program, in raw and Helm mode.",
    policies: policies as (ResourceValidationPolicy | StackValidationPolicy)[],
});
