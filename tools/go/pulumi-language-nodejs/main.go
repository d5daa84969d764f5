// pulumi-language-nodejs: a small Node.js language host of our own for the Pulumi v3.248 engine.
//
// Why it exists: the upstream host of v3.248 lives in a module the Go module proxy does not serve
// (README.md). The older host we used before (sdk/v3@v3.68.0) puts a *monitor proxy* between the
// Node SDK and the engine; that proxy predates RegisterResourceHook, so resource hooks failed with
// UNIMPLEMENTED, and it ignores the runtime options of Pulumi.yaml. This host does what the engine
// needs for preview/up/destroy/refresh/stack output/config and nothing else:
//
//   - GetRequiredPackages / GetRequiredPlugins: the resource plugins declared by the installed npm
//     packages, so the engine loads (never downloads, here) exactly the providers the SDKs target;
//   - Run: starts the project's own `@pulumi/pulumi/cmd/run` with node and points it at the
//     engine's REAL resource monitor, so every monitor RPC the SDK knows (hooks included) reaches
//     the engine unchanged;
//   - RunPlugin for policy packs (kind "analyzer"): the v3.248 engine runs a `runtime: nodejs`
//     PulumiPolicy.yaml through the nodejs language host whenever one is installed, never through
//     the old `pulumi-analyzer-policy` script, so `pulumi preview --policy-pack` needs it;
//   - GetPluginInfo and About (the update metadata asks for the runtime's executable and version).
//
// Everything else is left to the embedded Unimplemented server: the engine falls back or reports
// a clear "unimplemented" error (pulumi new/convert/install/package are not used by this project).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/shlex"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/contract"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// The SDK's exit code for "the program already showed the user an actionable error"
// (cmd/run/index.js, nodeJSProcessExitedAfterLoggingUserActionableMessage): the engine must then
// bail out without printing a second, generic error.
const exitCodeBail = 32

func main() {
	// The engine launches language hosts as `pulumi-language-nodejs [--logtostderr] [-v=N]
	// [--tracing URL] ENGINE_ADDRESS` (sdk plugin.buildPluginArguments); -v and -logtostderr are
	// glog-style flags registered by the logging package, so flag.Parse accepts them.
	var tracing string
	flag.StringVar(&tracing, "tracing", "", "Emit tracing to a Zipkin-compatible tracing endpoint")
	flag.Parse()
	logging.InitLogging(false, 0, false)
	cmdutil.InitTracing("pulumi-language-nodejs", "pulumi-language-nodejs", tracing)

	var engineAddress string
	if args := flag.Args(); len(args) > 0 {
		engineAddress = args[0]
	}

	// Stop serving when the engine goes away (a killed `pulumi` must not leave us behind).
	ctx, cancel := context.WithCancel(context.Background())
	stop := make(chan bool)
	go func() { <-ctx.Done(); close(stop) }()

	// ... and when the engine closes its plugins: it sends SIGINT to our process group and kills
	// us only after 5 s. A command started in the background by a non-interactive shell
	// (`pulumi preview &`) starts with SIGINT *ignored*, which exec passes on to us; a Go program
	// keeps an inherited SIG_IGN unless it asks for the signal, so every such command waited the
	// full 5 s on its language host. Asking for it removes that wait; Ctrl+C works as before.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() { <-signals; cancel() }()
	if engineAddress != "" {
		if err := rpcutil.Healthcheck(ctx, engineAddress, 5*time.Minute, cancel); err != nil {
			cmdutil.Exit(fmt.Errorf("could not start health check host RPC server: %w", err))
		}
	}

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stop,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, &host{engineAddress: engineAddress, tracing: tracing})
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start language host RPC server: %w", err))
	}
	// The engine reads our port from the first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host RPC stopped serving: %w", err))
	}
}

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	engineAddress string
	tracing       string
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil // set with -ldflags -X by setup-pulumi.sh
}

func (h *host) About(ctx context.Context, _ *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("failed to execute '%s --version': %w", node, err)
	}
	return &pulumirpc.AboutResponse{Executable: node, Version: strings.TrimSpace(string(out))}, nil
}

// ── Required plugins ─────────────────────────────────────────────────────────────────────────

// GetRequiredPackages is what the v3.248 engine asks first (GetRequiredPlugins is its fallback for
// older hosts; both are served from the same scan).
func (h *host) GetRequiredPackages(
	_ context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	pkgs, err := requiredPackages(req.GetInfo())
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: pkgs}, nil
}

func (h *host) GetRequiredPlugins(
	_ context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	info := req.GetInfo()
	if info == nil { //nolint:staticcheck // very old engines send only the program directory
		info = &pulumirpc.ProgramInfo{ProgramDirectory: req.GetProgram(), RootDirectory: req.GetProgram()}
	}
	pkgs, err := requiredPackages(info)
	if err != nil {
		return nil, err
	}
	plugins := make([]*pulumirpc.PluginDependency, 0, len(pkgs))
	for _, p := range pkgs {
		if p.Parameterization == nil { // a parameterized package is not a plugin of its own
			plugins = append(plugins, &pulumirpc.PluginDependency{
				Name: p.Name, Kind: p.Kind, Version: p.Version, Server: p.Server,
			})
		}
	}
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: plugins}, nil
}

// requiredPackages lists the resource plugins declared by the installed npm packages: every
// package.json with `"pulumi": {"resource": true, ...}` (the v3.68 host's getPluginsFromDir rule).
//
// Unlike that host, which walked every directory under the program (source trees, other apps'
// node_modules, virtualenvs...), it reads only package manifests: the node_modules directories
// Node itself would resolve from, i.e. in the program directory and its parents up to the project
// root, and, recursively, the node_modules nested in installed packages (npm puts a second version
// of a package there). That is every installed package, transitive ones included, in a few dozen
// file reads; packages elsewhere in the tree cannot be loaded by the program anyway.
func requiredPackages(info *pulumirpc.ProgramInfo) ([]*pulumirpc.PackageDependency, error) {
	dir := info.GetProgramDirectory()
	if dir == "" {
		return nil, errors.New("the engine sent no program directory")
	}
	root := info.GetRootDirectory()
	s := &scan{seen: map[string]bool{}, found: map[string]bool{}}
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		s.nodeModules(filepath.Join(d, "node_modules"))
		if root == "" || d == filepath.Clean(root) || d == filepath.Dir(d) {
			break
		}
	}
	if len(s.errs) > 0 {
		// Like the v3.68 host: a broken manifest must not stop a deployment; it is logged (-v=3).
		logging.V(3).Infof("errors while discovering plugins: %v", errors.Join(s.errs...))
	}
	return s.pkgs, nil
}

type scan struct {
	seen  map[string]bool // node_modules directories already read (by real path: npm links)
	found map[string]bool // name@version already reported
	pkgs  []*pulumirpc.PackageDependency
	errs  []error
}

func (s *scan) nodeModules(dir string) {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil || s.seen[real] {
		return // no node_modules here (the usual case in parent directories), or already read
	}
	s.seen[real] = true
	entries, err := os.ReadDir(real)
	if err != nil {
		s.errs = append(s.errs, err)
		return
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, "."): // .bin, .package-lock.json, .cache
		case strings.HasPrefix(name, "@"): // a scope: its children are the packages
			scoped, err := os.ReadDir(filepath.Join(real, name))
			if err != nil {
				continue // a file named @something: not a scope
			}
			for _, se := range scoped {
				s.pkg(filepath.Join(real, name, se.Name()))
			}
		default:
			s.pkg(filepath.Join(real, name))
		}
	}
}

// packageJSON is the part of package.json that declares a plugin.
type packageJSON struct {
	Name    string                  `json:"name"`
	Version string                  `json:"version"`
	Pulumi  plugin.PulumiPluginJSON `json:"pulumi"`
}

func (s *scan) pkg(dir string) {
	s.nodeModules(filepath.Join(dir, "node_modules"))
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return // not a package (a stray file or directory)
	}
	var p packageJSON
	if err := json.Unmarshal(b, &p); err != nil {
		s.errs = append(s.errs, fmt.Errorf("%s: %w", filepath.Join(dir, "package.json"), err))
		return
	}
	if !p.Pulumi.Resource {
		return
	}
	dep, err := packageDependency(p)
	if err != nil {
		s.errs = append(s.errs, fmt.Errorf("%s: %w", filepath.Join(dir, "package.json"), err))
		return
	}
	key := dep.Name + "@" + dep.Version
	if dep.Parameterization != nil {
		key += "/" + dep.Parameterization.Name + "@" + dep.Parameterization.Version
	}
	if !s.found[key] {
		s.found[key] = true
		s.pkgs = append(s.pkgs, dep)
	}
}

// packageDependency applies the naming rules of the upstream host: the plugin name comes from the
// "pulumi" section, else from an @pulumi/NAME package name (third-party packages must name it);
// the version likewise, with a leading "v".
func packageDependency(p packageJSON) (*pulumirpc.PackageDependency, error) {
	name := p.Pulumi.Name
	if name == "" {
		if !strings.HasPrefix(p.Name, "@pulumi/") {
			return nil, fmt.Errorf("package %q declares a resource plugin but no \"pulumi\".\"name\"", p.Name)
		}
		name = strings.TrimPrefix(p.Name, "@pulumi/")
	}
	v := p.Pulumi.Version
	if v == "" {
		v = p.Version
	}
	if v == "" {
		return nil, errors.New(`missing "version"`)
	}
	if !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	dep := &pulumirpc.PackageDependency{Name: name, Kind: "resource", Version: v, Server: p.Pulumi.Server}
	if pz := p.Pulumi.Parameterization; pz != nil {
		dep.Parameterization = &pulumirpc.PackageParameterization{Name: pz.Name, Version: pz.Version, Value: pz.Value}
	}
	return dep, nil
}

// ── Run ──────────────────────────────────────────────────────────────────────────────────────

// runtimeOptions are Pulumi.yaml's `runtime.options` for nodejs that matter to running a program.
// The v3.248 engine sends them in ProgramInfo.options (it no longer passes them as host flags).
// `packagemanager` only matters to `pulumi install`, which this host does not implement.
type runtimeOptions struct {
	typescript bool     // default true: cmd/run registers ts-node
	tsconfig   string   // a tsconfig other than ./tsconfig.json
	nodeargs   []string // extra node arguments, e.g. --max-old-space-size=4096
}

func parseOptions(o *structpb.Struct) (runtimeOptions, error) {
	opts := runtimeOptions{typescript: true}
	m := o.AsMap() // nil-safe
	switch v := m["typescript"].(type) {
	case nil:
	case bool:
		opts.typescript = v
	case string:
		opts.typescript = v != "false"
	default:
		return opts, fmt.Errorf("runtime option typescript: want a boolean, got %v", v)
	}
	if v, ok := m["tsconfig"].(string); ok {
		opts.tsconfig = v
	}
	if v, ok := m["nodeargs"].(string); ok {
		args, err := shlex.Split(v)
		if err != nil {
			return opts, fmt.Errorf("runtime option nodeargs: %w", err)
		}
		opts.nodeargs = args
	}
	return opts, nil
}

// Run starts the program with the project's own @pulumi/pulumi/cmd/run and waits for it.
func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	opts, err := parseOptions(req.GetInfo().GetOptions())
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not find node on the $PATH: %v", err)}, nil
	}
	programDir := req.GetInfo().GetProgramDirectory()
	if programDir == "" {
		programDir = req.GetPwd()
	}
	runPath, err := findRunScript(programDir)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	configJSON, err := constructConfig(req.GetConfig())
	if err != nil {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("failed to serialize configuration: %v", err)}, nil
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretKeysJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("failed to serialize configuration secret keys: %v", err)}, nil
	}

	// The same environment as the v3.68 host: config and secret keys for runtime/config.js, and
	// the TypeScript switches read by cmd/run/run.js.
	env := append(os.Environ(),
		"PULUMI_CONFIG="+configJSON,
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretKeysJSON))
	if opts.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}

	args := append(append([]string{}, opts.nodeargs...), h.runArguments(req, runPath)...)
	logging.V(5).Infof("language host launching process: %s %s", node, strings.Join(args, " "))

	cmd := exec.Command(node, args...)
	cmd.Stdout, cmd.Stderr, cmd.Env = os.Stdout, os.Stderr, env
	err = cmd.Run()
	// Node writes to pipes asynchronously: make sure its last words reach the engine's log.
	contract.IgnoreError(os.Stdout.Sync())
	contract.IgnoreError(os.Stderr.Sync())
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() == exitCodeBail:
		return &pulumirpc.RunResponse{Bail: true}, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() > 0:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode())}, nil
	case errors.As(err, &exitErr):
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited unexpectedly: %v", exitErr)}, nil // a signal
	default:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Problem executing program (could not run node): %v", err)}, nil
	}
}

// findRunScript finds @pulumi/pulumi/cmd/run the way Node resolves a package: in node_modules of
// the program directory, then of each parent. It is the project's own SDK (3.248.0 here), so the
// engine and the SDK speak the same protocol version.
func findRunScript(programDir string) (string, error) {
	for d := filepath.Clean(programDir); ; d = filepath.Dir(d) {
		p := filepath.Join(d, "node_modules", "@pulumi", "pulumi", "cmd", "run")
		if _, err := os.Stat(filepath.Join(p, "index.js")); err == nil {
			return p, nil
		}
		if d == filepath.Dir(d) {
			return "", fmt.Errorf("@pulumi/pulumi not found in node_modules of %s or its parents: "+
				"it looks like the Pulumi SDK has not been installed (npm install)", programDir)
		}
	}
}

// runArguments is the command line of cmd/run: exactly the flags its minimist parser reads in
// @pulumi/pulumi 3.248 (cmd/run/index.js). Compared with the v3.68 host: --monitor is the engine's
// own monitor (no proxy), --root-directory is new (pulumi.runtime.getRootDirectory()), and
// --sync (synchronous invokes through the proxy's pipes) and --query-mode are gone: the 3.248 SDK
// makes no synchronous invokes and reads no query mode.
func (h *host) runArguments(req *pulumirpc.RunRequest, runPath string) []string {
	args := []string{runPath}
	add := func(k, v string) {
		if v != "" {
			args = append(args, "--"+k, v)
		}
	}
	add("monitor", req.GetMonitorAddress())
	add("engine", h.engineAddress)
	add("organization", req.GetOrganization())
	add("project", req.GetProject())
	add("root-directory", req.GetInfo().GetRootDirectory())
	add("stack", req.GetStack())
	add("pwd", req.GetPwd())
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	add("parallel", fmt.Sprint(req.GetParallel()))
	add("tracing", h.tracing)
	// The entry point relative to --pwd; "." lets cmd/run use package.json's "main".
	program := req.GetProgram() //nolint:staticcheck // = Info.EntryPoint, sent by v3.248 too
	if program == "" {
		program = "."
	}
	return append(append(args, program), req.GetArgs()...)
}

// constructConfig serializes the configuration for PULUMI_CONFIG with keys in the
// "<namespace>:config:<name>" form, as the v3.68 host did (the SDK accepts both forms).
func constructConfig(cfg map[string]string) (string, error) {
	out := make(map[string]string, len(cfg))
	for k, v := range cfg {
		pk, err := config.ParseKey(k)
		if err != nil {
			return "", err
		}
		out[pk.Namespace()+":config:"+pk.Name()] = v
	}
	b, err := json.Marshal(out)
	return string(b), err
}

// ── Policy packs ─────────────────────────────────────────────────────────────────────────────

// RunPlugin runs a Node.js policy pack (`pulumi preview --policy-pack DIR`, DIR with a
// PulumiPolicy.yaml of `runtime: nodejs`): the v3.248 engine asks the language host for it
// (sdk/go/common/resource/plugin/analyzer_plugin.go, NewPolicyAnalyzer) and reads the pack's gRPC
// port from the first line of its stdout, which we stream back. What runs is the pack's own
// `@pulumi/pulumi/cmd/run-policy-pack` (from DIR's node_modules, as the upstream
// `pulumi-analyzer-policy` script resolves it), started in DIR with the engine's arguments and
// "." as the program, exactly the command line that script gets. Resource and tool plugins written
// in Node.js are not supported (the project has none).
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	if req.GetKind() != "analyzer" {
		return status.Errorf(codes.Unimplemented, "RunPlugin: only policy packs (kind analyzer) are supported, not %q", req.GetKind())
	}
	opts, err := parseOptions(req.GetInfo().GetOptions())
	if err != nil {
		return err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetPwd()
	}
	script, err := findPackageScript(dir, "run-policy-pack")
	if err != nil {
		return err
	}
	args := append(append(append([]string{}, opts.nodeargs...), script), req.GetArgs()...)
	args = append(args, ".")
	logging.V(5).Infof("language host launching policy pack in %s: %s %s", dir, node, strings.Join(args, " "))

	cmd := exec.CommandContext(server.Context(), node, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), req.GetEnv()...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("could not start the policy pack with node: %w", err)
	}
	// Both streams are forwarded as they come (the port line must not wait for the pack to exit);
	// Send is not safe for concurrent use, hence the lock.
	var mu sync.Mutex
	var wg sync.WaitGroup
	forward := func(r interface{ Read([]byte) (int, error) }, wrap func([]byte) *pulumirpc.RunPluginResponse) {
		defer wg.Done()
		buf := make([]byte, 32*1024)
		for {
			n, rerr := r.Read(buf)
			if n > 0 {
				chunk := append([]byte(nil), buf[:n]...)
				mu.Lock()
				contract.IgnoreError(server.Send(wrap(chunk)))
				mu.Unlock()
			}
			if rerr != nil {
				return
			}
		}
	}
	wg.Add(2)
	go forward(stdout, func(b []byte) *pulumirpc.RunPluginResponse {
		return &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: b}}
	})
	go forward(stderr, func(b []byte) *pulumirpc.RunPluginResponse {
		return &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: b}}
	})
	wg.Wait()
	code := int32(0)
	if werr := cmd.Wait(); werr != nil {
		var exitErr *exec.ExitError
		if !errors.As(werr, &exitErr) {
			return werr
		}
		code = int32(exitErr.ExitCode()) // -1 when killed by a signal (the engine closing it)
	}
	return server.Send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: code}})
}

// findPackageScript finds @pulumi/pulumi/cmd/NAME from dir up, like Node's resolution (and
// findRunScript): a policy pack uses the SDK installed beside it.
func findPackageScript(dir, name string) (string, error) {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		p := filepath.Join(d, "node_modules", "@pulumi", "pulumi", "cmd", name)
		if _, err := os.Stat(filepath.Join(p, "index.js")); err == nil {
			return p, nil
		}
		if d == filepath.Dir(d) {
			return "", fmt.Errorf("@pulumi/pulumi/cmd/%s not found in node_modules of %s or its parents: "+
				"it looks like the policy pack's dependencies are not installed (npm ci in %s)", name, dir, dir)
		}
	}
}
