// Command pulumi-language-nodejs is istio-canary's stand-in for Pulumi's Node.js language
// host, which the Go module proxy reachable here does not serve (see e2e/tools/README.md).
//
// It implements the part of the LanguageRuntime gRPC service (pulumi/proto/language.proto,
// github.com/pulumi/pulumi/sdk/v3/proto/go) that the Pulumi CLI uses to run a `runtime:
// nodejs` project and a Node.js policy pack:
//
//   - Handshake, GetPluginInfo, About, RuntimeOptionsPrompts, Cancel;
//   - GetRequiredPlugins / GetRequiredPackages: the packages under node_modules whose
//     package.json carries `"pulumi": {"resource": true, ...}`;
//   - GetProgramDependencies: the program's package.json dependencies as installed;
//   - Run: `node @pulumi/pulumi/cmd/run` with the flags and environment the SDK's entry
//     point reads (cmd/run/index.js, runtime/state.js, runtime/config.js);
//   - RunPlugin: `node @pulumi/pulumi/cmd/run-policy-pack` (analyzers) or `cmd/run-plugin`
//     (other kinds), its output streamed back to the engine;
//   - InstallDependencies: installs nothing and says so (npm ci is the project's job).
//
// Like every plugin it prints the port it listens on, then serves until the engine
// interrupts it (SIGINT to its process group), terminates it, or stops answering (a killed
// engine: its address is polled every engineCheckInterval).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// version is what GetPluginInfo reports; e2e/tools/build.sh sets it to the CLI's version.
var version = "3.248.0"

// bailExitCode is the exit code with which @pulumi/pulumi/cmd/run says that it has already
// reported the program's error to the user (nodeJSProcessExitedAfterLoggingUserActionableMessage).
const bailExitCode = 32

// stopGrace is how long a child gets between SIGTERM and SIGKILL when its work is cancelled.
const stopGrace = 5 * time.Second

// engineCheckInterval is how often the engine's address is polled; when it stops answering
// (the CLI was killed and cannot interrupt its plugins) the host stops its children and exits.
const engineCheckInterval = 2 * time.Second

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	mu            sync.Mutex
	engineAddress string
	tracing       string
	children      map[*exec.Cmd]struct{}

	// engineGone ends when the engine stops answering; watching starts once its address is known.
	engineGone  context.Context
	engineLost  context.CancelFunc
	watchEngine sync.Once
}

func main() {
	flags := flag.NewFlagSet("pulumi-language-nodejs", flag.ContinueOnError)
	// The flags the engine passes to every plugin (sdk/go/common/resource/plugin/plugin.go,
	// buildPluginArguments); logging is not forwarded anywhere, tracing is passed to node.
	tracing := flags.String("tracing", "", "a Zipkin-compatible tracing endpoint, passed on to the program")
	flags.Bool("logtostderr", false, "accepted for the engine; this host logs nothing itself")
	flags.Int("v", 0, "accepted for the engine; this host logs nothing itself")
	flags.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: pulumi-language-nodejs [--tracing URL] [--logtostderr] [-v=N] [ENGINE_ADDRESS]")
	}
	if err := flags.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if flags.NArg() > 1 {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: expected at most one argument (the engine address), got %q\n", flags.Args())
		os.Exit(2)
	}

	h := &host{engineAddress: flags.Arg(0), tracing: *tracing, children: map[*exec.Cmd]struct{}{}}
	h.engineGone, h.engineLost = context.WithCancel(context.Background())
	if h.engineAddress != "" {
		h.watch(h.engineAddress)
	}
	cancel := make(chan bool)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancel,
		Init: func(s *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(s, h)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: %v\n", err)
		os.Exit(1)
	}
	// The engine reads this one line to learn where to connect.
	fmt.Printf("%d\n", handle.Port)

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	select {
	case err := <-handle.Done:
		if err != nil {
			fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: %v\n", err)
			os.Exit(1)
		}
	case <-signals:
		h.shutDown(cancel, handle)
	case <-h.engineGone.Done():
		h.shutDown(cancel, handle)
	}
}

// shutDown stops what still runs, lets in-flight calls return, and leaves.
func (h *host) shutDown(cancel chan bool, handle rpcutil.ServeHandle) {
	h.terminateChildren()
	close(cancel)
	select {
	case <-handle.Done:
	case <-time.After(stopGrace + time.Second):
	}
}

// watch polls the engine at addr (once per host) and ends engineGone when it stops answering.
func (h *host) watch(addr string) {
	h.watchEngine.Do(func() {
		if err := rpcutil.Healthcheck(h.engineGone, addr, engineCheckInterval, h.engineLost); err != nil {
			fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: cannot watch the engine at %s: %v\n", addr, err)
		}
	})
}

// ---- the service ------------------------------------------------------------------------

func (h *host) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		h.mu.Lock()
		h.engineAddress = req.GetEngineAddress()
		h.mu.Unlock()
		h.watch(req.GetEngineAddress())
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (h *host) GetRequiredPlugins(_ context.Context, req *pulumirpc.GetRequiredPluginsRequest) (*pulumirpc.GetRequiredPluginsResponse, error) {
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetPwd()
	}
	pkgs, err := resourcePackages(dir)
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetRequiredPluginsResponse{}
	for _, p := range pkgs {
		resp.Plugins = append(resp.Plugins, &pulumirpc.PluginDependency{Name: p.Name, Kind: "resource", Version: p.Version, Server: p.Server})
	}
	return resp, nil
}

func (h *host) GetRequiredPackages(_ context.Context, req *pulumirpc.GetRequiredPackagesRequest) (*pulumirpc.GetRequiredPackagesResponse, error) {
	pkgs, err := resourcePackages(req.GetInfo().GetProgramDirectory())
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetRequiredPackagesResponse{}
	for _, p := range pkgs {
		resp.Packages = append(resp.Packages, &pulumirpc.PackageDependency{Name: p.Name, Kind: "resource", Version: p.Version, Server: p.Server})
	}
	return resp, nil
}

func (h *host) GetProgramDependencies(_ context.Context, req *pulumirpc.GetProgramDependenciesRequest) (*pulumirpc.GetProgramDependenciesResponse, error) {
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetPwd()
	}
	deps, err := programDependencies(dir, req.GetTransitiveDependencies())
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

func (h *host) About(ctx context.Context, _ *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := nodeBinary()
	if err != nil {
		return nil, err
	}
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --version: %w", node, err)
	}
	return &pulumirpc.AboutResponse{
		Executable: node,
		Version:    strings.TrimPrefix(strings.TrimSpace(string(out)), "v"),
		Metadata:   map[string]string{"host": "istio-canary stand-in for pulumi-language-nodejs"},
	}, nil
}

func (h *host) RuntimeOptionsPrompts(context.Context, *pulumirpc.RuntimeOptionsRequest) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest, server grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse]) error {
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetDirectory()
	}
	modules, err := findNodeModules(dir)
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("pulumi-language-nodejs (istio-canary's stand-in) installs no dependencies; using %s (install them with npm ci)\n", modules)
	return server.Send(&pulumirpc.InstallDependenciesResponse{Stdout: []byte(msg)})
}

func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.terminateChildren()
	return &emptypb.Empty{}, nil
}

// Run runs the program: `node [nodeargs] @pulumi/pulumi/cmd/run FLAGS PROGRAM ARGS...` in
// the program's directory, with the config in PULUMI_CONFIG / PULUMI_CONFIG_SECRET_KEYS and
// the TypeScript options in PULUMI_NODEJS_TYPESCRIPT / PULUMI_NODEJS_TSCONFIG_PATH. Its
// output goes to this host's stdout and stderr, which the engine shows.
func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	opts, err := runtimeOptions(info)
	if err != nil {
		return nil, err
	}
	pwd := req.GetPwd()
	if pwd == "" {
		pwd = info.GetProgramDirectory()
	}
	node, err := nodeBinary()
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	runJS, err := resolveModule(ctx, node, pwd, "@pulumi/pulumi/cmd/run")
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}

	args := append(append([]string{}, opts.nodeArgs...), runJS)
	args = append(args, "--monitor="+req.GetMonitorAddress())
	h.mu.Lock()
	engine := h.engineAddress
	h.mu.Unlock()
	if engine != "" {
		args = append(args, "--engine="+engine)
	}
	if req.GetOrganization() != "" {
		args = append(args, "--organization="+req.GetOrganization())
	}
	args = append(args, "--project="+req.GetProject(), "--stack="+req.GetStack(), "--pwd="+pwd)
	if root := info.GetRootDirectory(); root != "" {
		args = append(args, "--root-directory="+root)
	}
	if req.GetParallel() != 0 {
		args = append(args, "--parallel="+strconv.Itoa(int(req.GetParallel())))
	}
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	if req.GetQueryMode() {
		args = append(args, "--query-mode")
	}
	if h.tracing != "" {
		args = append(args, "--tracing="+h.tracing)
	}
	program := req.GetProgram()
	if program == "" {
		program = info.GetEntryPoint()
	}
	if program == "" {
		program = "."
	}
	args = append(args, program)
	args = append(args, req.GetArgs()...)

	config, err := json.Marshal(nonNilMap(req.GetConfig()))
	if err != nil {
		return nil, err
	}
	secretKeys, err := json.Marshal(nonNilSlice(req.GetConfigSecretKeys()))
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(),
		"PULUMI_CONFIG="+string(config),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretKeys),
		"PULUMI_NODEJS_TYPESCRIPT="+strconv.FormatBool(opts.typescript),
	)
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}

	cmd := h.command(ctx, node, args, pwd, env)
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	err = h.runChild(cmd)
	var exit *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exit):
		if status, ok := exit.Sys().(syscall.WaitStatus); ok && status.Signaled() {
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program was stopped by signal %v", status.Signal())}, nil
		}
		if exit.ExitCode() == bailExitCode {
			return &pulumirpc.RunResponse{Bail: true}, nil
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exit.ExitCode())}, nil
	default:
		return nil, fmt.Errorf("starting %s: %w", node, err)
	}
}

// RunPlugin runs a plugin written in Node.js: for an analyzer (a policy pack),
// `node @pulumi/pulumi/cmd/run-policy-pack ARGS... PROGRAM`, resolved from and run in the
// pack's folder (where its PulumiPolicy.yaml and tsconfig.json are); for other kinds
// `@pulumi/pulumi/cmd/run-plugin`. Its stdout (whose first line is the port it serves) and
// stderr are streamed back, then its exit code.
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server grpc.ServerStreamingServer[pulumirpc.RunPluginResponse]) error {
	ctx := server.Context()
	info := req.GetInfo()
	opts, err := runtimeOptions(info)
	if err != nil {
		return err
	}
	dir := info.GetProgramDirectory()
	if dir == "" {
		dir = req.GetPwd()
	}
	module := "@pulumi/pulumi/cmd/run-plugin"
	if req.GetKind() == "analyzer" {
		module = "@pulumi/pulumi/cmd/run-policy-pack"
	}
	node, err := nodeBinary()
	if err != nil {
		return err
	}
	entry, err := resolveModule(ctx, node, dir, module)
	if err != nil {
		return err
	}
	program := info.GetEntryPoint()
	if program == "" {
		program = "."
	}
	args := append(append([]string{}, opts.nodeArgs...), entry)
	args = append(args, req.GetArgs()...)
	args = append(args, program)
	env := req.GetEnv()
	if len(env) == 0 {
		env = os.Environ()
	}

	cmd := h.command(ctx, node, args, dir, env)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	var sendMu sync.Mutex
	send := func(r *pulumirpc.RunPluginResponse) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		return server.Send(r)
	}
	if err := h.startChild(cmd); err != nil {
		return fmt.Errorf("starting %s: %w", node, err)
	}
	defer h.forget(cmd)
	var pumps sync.WaitGroup
	pump := func(r io.Reader, wrap func([]byte) *pulumirpc.RunPluginResponse) {
		defer pumps.Done()
		buf := make([]byte, 32<<10)
		for {
			n, rerr := r.Read(buf)
			if n > 0 {
				// A failed send means the engine went away; the context then stops the child.
				_ = send(wrap(append([]byte{}, buf[:n]...)))
			}
			if rerr != nil {
				return
			}
		}
	}
	pumps.Add(2)
	go pump(stdout, func(b []byte) *pulumirpc.RunPluginResponse {
		return &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: b}}
	})
	go pump(stderr, func(b []byte) *pulumirpc.RunPluginResponse {
		return &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: b}}
	})
	pumps.Wait()
	werr := cmd.Wait()
	code := 0
	var exit *exec.ExitError
	if errors.As(werr, &exit) {
		code = exit.ExitCode()
	} else if werr != nil {
		return werr
	}
	if ctx.Err() != nil {
		return nil // the engine cancelled it: nobody listens for the exit code
	}
	return send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(code)}})
}

// ---- children ---------------------------------------------------------------------------

// command makes a child that is asked to stop (SIGTERM, then SIGKILL after stopGrace) when ctx
// ends, i.e. when the engine cancels the call.
func (h *host) command(ctx context.Context, name string, args []string, dir string, env []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = stopGrace
	return cmd
}

func (h *host) startChild(cmd *exec.Cmd) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	h.mu.Lock()
	h.children[cmd] = struct{}{}
	h.mu.Unlock()
	return nil
}

func (h *host) forget(cmd *exec.Cmd) {
	h.mu.Lock()
	delete(h.children, cmd)
	h.mu.Unlock()
}

func (h *host) runChild(cmd *exec.Cmd) error {
	if err := h.startChild(cmd); err != nil {
		return err
	}
	defer h.forget(cmd)
	return cmd.Wait()
}

// terminateChildren asks every running child to stop.
func (h *host) terminateChildren() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for cmd := range h.children {
		if cmd.Process != nil {
			_ = cmd.Process.Signal(syscall.SIGTERM)
		}
	}
}

// ---- Node.js ----------------------------------------------------------------------------

type options struct {
	typescript bool
	tsconfig   string
	nodeArgs   []string
}

// runtimeOptions reads Pulumi.yaml's `runtime.options` that this host supports: typescript
// (default true), tsconfig and nodeargs. packagemanager is accepted (nothing is installed);
// any other option is an error naming it.
func runtimeOptions(info *pulumirpc.ProgramInfo) (options, error) {
	opts := options{typescript: true}
	for key, value := range info.GetOptions().AsMap() {
		switch key {
		case "typescript":
			b, ok := value.(bool)
			if !ok {
				return opts, fmt.Errorf("runtime option typescript must be true or false, got %v", value)
			}
			opts.typescript = b
		case "tsconfig":
			s, ok := value.(string)
			if !ok {
				return opts, fmt.Errorf("runtime option tsconfig must be a path, got %v", value)
			}
			opts.tsconfig = s
		case "nodeargs":
			s, ok := value.(string)
			if !ok {
				return opts, fmt.Errorf("runtime option nodeargs must be a string, got %v", value)
			}
			opts.nodeArgs = strings.Fields(s)
		case "packagemanager":
		default:
			return opts, fmt.Errorf("runtime option %q is not supported by this pulumi-language-nodejs (istio-canary's stand-in); "+
				"supported: typescript, tsconfig, nodeargs, packagemanager", key)
		}
	}
	return opts, nil
}

func nodeBinary() (string, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", errors.New("node is not on PATH: install Node.js (>= 20) to run this program")
	}
	return node, nil
}

// resolveModule resolves a module as Node.js does from dir (node_modules up the tree, NODE_PATH).
func resolveModule(ctx context.Context, node, dir, module string) (string, error) {
	cmd := exec.CommandContext(ctx, node, "-e", "process.stdout.write(require.resolve(process.argv[1]))", module)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("cannot find module '%s' from %s: is @pulumi/pulumi installed there (npm ci)?", module, dir)
	}
	return string(out), nil
}

// findNodeModules is the first node_modules folder at dir or above it.
func findNodeModules(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		candidate := filepath.Join(d, "node_modules")
		if st, err := os.Stat(candidate); err == nil && st.IsDir() {
			return candidate, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no node_modules folder at %s or above it: install the program's dependencies with npm ci", abs)
		}
	}
}

type packageJSON struct {
	Name            string            `json:"name"`
	Version         string            `json:"version"`
	Dependencies    map[string]string `json:"dependencies"`
	DevDependencies map[string]string `json:"devDependencies"`
	Pulumi          *struct {
		Resource bool   `json:"resource"`
		Name     string `json:"name"`
		Version  string `json:"version"`
		Server   string `json:"server"`
	} `json:"pulumi"`
}

type resourcePackage struct{ Name, Version, Server string }

// readPackage reads dir/package.json; ok is false when there is none.
func readPackage(dir string) (pkg packageJSON, ok bool, err error) {
	data, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if errors.Is(err, os.ErrNotExist) {
		return pkg, false, nil
	}
	if err != nil {
		return pkg, false, err
	}
	if err := json.Unmarshal(data, &pkg); err != nil {
		return pkg, false, fmt.Errorf("%s: %w", filepath.Join(dir, "package.json"), err)
	}
	return pkg, true, nil
}

// installedPackages visits every package installed under a node_modules folder, nested
// node_modules included, each real folder once.
func installedPackages(modules string, visit func(dir string, pkg packageJSON) error) error {
	seen := map[string]bool{}
	var walk func(modules string) error
	walk = func(modules string) error {
		entries, err := os.ReadDir(modules)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		var dirs []string
		for _, e := range entries {
			name := e.Name()
			if strings.HasPrefix(name, ".") {
				continue
			}
			if strings.HasPrefix(name, "@") {
				scoped, err := os.ReadDir(filepath.Join(modules, name))
				if err != nil {
					continue
				}
				for _, s := range scoped {
					dirs = append(dirs, filepath.Join(modules, name, s.Name()))
				}
				continue
			}
			dirs = append(dirs, filepath.Join(modules, name))
		}
		for _, dir := range dirs {
			real, err := filepath.EvalSymlinks(dir)
			if err != nil || seen[real] {
				continue
			}
			seen[real] = true
			pkg, ok, err := readPackage(dir)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			if err := visit(dir, pkg); err != nil {
				return err
			}
			if err := walk(filepath.Join(dir, "node_modules")); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(modules)
}

// resourcePackages lists the Pulumi resource packages installed for the program in dir: those
// whose package.json says `"pulumi": {"resource": true}`, named by pulumi.name (else the
// package name without its @pulumi/ scope) at pulumi.version (else the package's version).
func resourcePackages(dir string) ([]resourcePackage, error) {
	modules, err := findNodeModules(dir)
	if err != nil {
		return nil, err
	}
	found := map[resourcePackage]bool{}
	err = installedPackages(modules, func(_ string, pkg packageJSON) error {
		if pkg.Pulumi == nil || !pkg.Pulumi.Resource {
			return nil
		}
		p := resourcePackage{Name: pkg.Pulumi.Name, Version: pkg.Pulumi.Version, Server: pkg.Pulumi.Server}
		if p.Name == "" {
			p.Name = strings.TrimPrefix(pkg.Name, "@pulumi/")
		}
		if p.Version == "" {
			p.Version = pkg.Version
		}
		p.Version = strings.TrimPrefix(p.Version, "v")
		found[p] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]resourcePackage, 0, len(found))
	for p := range found {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Version < out[j].Version
	})
	return out, nil
}

// programDependencies lists the program's dependencies (package.json's dependencies and
// devDependencies) at their installed versions, or with transitive every installed package.
func programDependencies(dir string, transitive bool) ([]*pulumirpc.DependencyInfo, error) {
	modules, err := findNodeModules(dir)
	if err != nil {
		return nil, err
	}
	project, ok, err := readPackage(dir)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("no package.json in %s", dir)
	}
	versions := map[string]string{}
	if transitive {
		err = installedPackages(modules, func(_ string, pkg packageJSON) error {
			if _, dup := versions[pkg.Name]; !dup {
				versions[pkg.Name] = pkg.Version
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	} else {
		for _, deps := range []map[string]string{project.Dependencies, project.DevDependencies} {
			for name := range deps {
				pkg, ok, err := readPackage(filepath.Join(modules, name))
				if err != nil {
					return nil, err
				}
				if !ok {
					return nil, fmt.Errorf("dependency %s of %s is not installed in %s: run npm ci", name, dir, modules)
				}
				versions[name] = pkg.Version
			}
		}
	}
	names := make([]string, 0, len(versions))
	for name := range versions {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make([]*pulumirpc.DependencyInfo, 0, len(names))
	for _, name := range names {
		out = append(out, &pulumirpc.DependencyInfo{Name: name, Version: versions[name]})
	}
	return out, nil
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func nonNilSlice(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
