// Entry point of the pack (package.json "main"): loads pack.ts transpiled only, not type-checked.
//
// Why: @pulumi/pulumi's cmd/run-policy-pack (3.248) registers ts-node with typeCheck: true,
// whatever the pack's tsconfig says (it ignores noCheck), so loading the .ts files built a whole
// type-checked program, @pulumi/kubernetes' type declarations included (components/manifests.ts
// imports them for its types): 16.6 s against 2.4 s transpiled, measured on this machine. As for the
// program itself (root tsconfig.json noCheck), the types are checked by a separate step instead:
// `npm --prefix policy run build` (in the PR workflow, before the preview).
//
// This replaces the .ts loader that ts-node installed; a JavaScript entry is needed because the
// entry itself would otherwise go through ts-node's type-checking loader.
const fs = require("fs");
const ts = require("typescript");

const compilerOptions = { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020, esModuleInterop: true, inlineSourceMap: true };
require.extensions[".ts"] = (module, filename) => {
    const { outputText } = ts.transpileModule(fs.readFileSync(filename, "utf8"), { compilerOptions, fileName: filename });
    module._compile(outputText, filename);
};
require("./pack.ts");
