package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/moby/buildkit/util/progress/progressui"
	"github.com/spf13/cobra"
	"github.com/stagegate/stagegate/internal/assemble"
	"github.com/stagegate/stagegate/internal/budget"
	"github.com/stagegate/stagegate/internal/build"
	"github.com/stagegate/stagegate/internal/dockerfile"
	"github.com/stagegate/stagegate/internal/gate"
	"github.com/stagegate/stagegate/internal/options"
	"github.com/stagegate/stagegate/internal/report"
	"github.com/stagegate/stagegate/internal/result"
	"github.com/stagegate/stagegate/internal/sizes"
)

// flagError marks errors in the command line itself.
type flagError struct{ error }

func isFlagError(err error) bool {
	var fe flagError
	return errors.As(err, &fe)
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "stagegate",
		Short:         "Build a Dockerfile's test stages, then its final stage, and report every stage",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return flagError{err} })
	root.AddCommand(newBuildCommand(), newStagesCommand(), newCheckCommand(), newDiffCommand())
	return root
}

type buildFlags struct {
	file          string
	target        string
	testTargets   []string
	buildArgs     []string
	labels        []string
	noCache       bool
	platforms     []string
	progress      string
	host          string
	builder       string
	tls           build.TLS
	reportJSON    string
	summaryMD     string
	noSizes       bool
	testMode      string
	testEnv       []string
	testNetwork   bool
	testTimeout   time.Duration
	timeout       time.Duration
	testReports   []string
	failFast      bool
	failOn        string
	testPlatforms []string
	registryAuth  []string
	secretFiles   []string
	requireTs     bool
	tags          []string
	push          bool
	load          bool
	cacheFrom     []string
	cacheTo       []string
	secrets       []string
	ssh           []string
	contexts      []string
	provenance    string
	sbom          bool
	compare       string
	budgets       []string
	// parsedBudgets are budgets as config read them.
	parsedBudgets []budget.Budget
}

func newBuildCommand() *cobra.Command {
	var f buildFlags
	return buildCommand(&f)
}

// buildCommand is `stagegate build` reading its flags into f.
func buildCommand(f *buildFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "build [flags] [CONTEXT]",
		Short: "Build the test stages, then the final target, and report each stage",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			contextDir := "."
			if len(args) == 1 {
				contextDir = args[0]
			}
			cfg, err := f.config(contextDir)
			if err != nil {
				return err
			}
			cmp, err := readComparison(f.compare, f.parsedBudgets)
			if err != nil {
				return err
			}
			cfg.Out = cmd.ErrOrStderr()
			res, err := gate.Run(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			cmp.apply(res)
			if res.NoTests == result.NoTestsFound && !cfg.RequireTests {
				fmt.Fprintln(cmd.ErrOrStderr(), "stagegate: warning: no test stage found; the image was built without tests (name test stages with --test-target, or pass --test-target none)")
			}
			if err := writeReports(cmd, res, f.reportJSON, f.summaryMD); err != nil {
				return err
			}
			failOn, _ := options.ParseFailOn(f.failOn) // checked by config
			if code, why := options.Verdict(res, failOn); code != options.ExitPassed {
				if why != "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "stagegate: %s\n", why)
				}
				return buildFailedError{}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.file, "file", "f", "", "the Dockerfile (default CONTEXT/Dockerfile)")
	fl.StringVar(&f.target, "target", "", "the final stage to build (default: the last stage)")
	fl.StringSliceVar(&f.testTargets, "test-target", nil, `test stages, built first: names or globs like "test*", repeatable or comma-separated; "none" for no tests (default: the stages that run tests, found from their names and commands)`)
	fl.BoolVar(&f.requireTs, "require-tests", true, "fail when no test ran: no test stage was found, or a test stage runs no test (--test-target none is an explicit choice and passes)")
	fl.StringArrayVar(&f.buildArgs, "build-arg", nil, "build-time variable KEY=VALUE (repeatable)")
	fl.StringArrayVar(&f.labels, "label", nil, "image label KEY=VALUE (repeatable)")
	fl.BoolVar(&f.noCache, "no-cache", false, "do not use the build cache")
	fl.StringSliceVar(&f.platforms, "platform", nil, "target platform(s), e.g. linux/amd64")
	fl.StringVar(&f.progress, "progress", "auto", "progress output: auto, plain, tty or quiet")
	fl.StringVar(&f.host, "buildkit-host", "", "BuildKit address (default: $BUILDKIT_HOST, then the Docker Engine, then "+build.DefaultBuildKitSocket+")")
	fl.StringVar(&f.builder, "builder", "", "a buildx docker-container builder on the Docker Engine, by name")
	fl.StringVar(&f.tls.CA, "tls-ca", "", "CA certificate for a tcp:// builder")
	fl.StringVar(&f.tls.Cert, "tls-cert", "", "client certificate for a tcp:// builder")
	fl.StringVar(&f.tls.Key, "tls-key", "", "client key for a tcp:// builder")
	fl.StringVar(&f.tls.ServerName, "tls-server-name", "", "server name to verify (default: the address's host)")
	fl.StringSliceVar(&f.testPlatforms, "test-platform", nil, "platform(s) the test stages are built and run for (default: the builder's)")
	fl.StringArrayVar(&f.registryAuth, "registry-auth", nil, "registry credentials registry=HOST,username=USER,password=TOKEN (repeatable; default: the docker config's)")
	fl.StringArrayVar(&f.secretFiles, "secret-file", nil, "secret for RUN --mount=type=secret from a file: ID=PATH (repeatable)")
	fl.StringVar(&f.reportJSON, "report-json", "", "write the JSON report to this file")
	fl.StringVar(&f.summaryMD, "summary-md", "", "write the Markdown summary to this file")
	fl.BoolVar(&f.noSizes, "no-sizes", false, "do not measure stage image sizes")
	fl.StringVar(&f.testMode, "test-mode", "auto", "how test stages test: run (their CMD/ENTRYPOINT, in a container), build (their RUN steps), or auto (run when the stage sets CMD or ENTRYPOINT itself)")
	fl.StringArrayVar(&f.testEnv, "test-env", nil, "KEY=VALUE added to a test run's environment (repeatable)")
	fl.BoolVar(&f.testNetwork, "test-network", false, "give test runs the network (default: none)")
	fl.DurationVar(&f.testTimeout, "test-timeout", 0, "stop a test run after this long, e.g. 10m (default: no limit)")
	fl.StringSliceVar(&f.testReports, "test-report", nil, "test reports to read from the test stages, e.g. /reports/*.xml (JUnit XML or go test -json; repeatable)")
	fl.DurationVar(&f.timeout, "timeout", 0, "stop the build after this long, e.g. 30m (default: no limit)")
	fl.BoolVar(&f.failFast, "fail-fast", true, "skip the final target when a test stage fails (false: build it anyway and report both)")
	fl.StringVar(&f.failOn, "fail-on", "failure", "what fails the run: failure, warnings (also any Dockerfile check warning) or never (report only)")
	fl.StringArrayVarP(&f.tags, "tag", "t", nil, "name of the final image, e.g. ghcr.io/o/app:1.2 (repeatable)")
	fl.BoolVar(&f.push, "push", false, "push the final image to its tags' registries (only when the tests pass)")
	fl.BoolVar(&f.load, "load", false, "load the final image into the Docker Engine under its tags (only when the tests pass)")
	fl.StringArrayVar(&f.cacheFrom, "cache-from", nil, "cache source, as buildx: type=registry,ref=IMAGE | type=local,src=DIR | type=gha (repeatable)")
	fl.StringArrayVar(&f.cacheTo, "cache-to", nil, "cache destination, as buildx: type=registry,ref=IMAGE,mode=max | type=local,dest=DIR | type=inline | type=gha (repeatable)")
	fl.StringArrayVar(&f.secrets, "secret", nil, "secret for RUN --mount=type=secret: id=ID,env=VAR or id=ID,src=FILE (repeatable)")
	fl.StringArrayVar(&f.ssh, "ssh", nil, "SSH agent or keys for RUN --mount=type=ssh: default or ID=SOCKET|KEY (repeatable)")
	fl.StringArrayVar(&f.contexts, "build-context", nil, "named context: NAME=DIR, NAME=docker-image://REF or NAME=target:STAGE (repeatable)")
	fl.StringVar(&f.provenance, "provenance", "", "provenance attestation: mode=min or mode=max (default: none)")
	fl.BoolVar(&f.sbom, "sbom", false, "attach an SBOM attestation")
	fl.StringVar(&f.compare, "compare", "", "compare every stage's size, compressed size and layers with an earlier run's JSON report (--report-json)")
	fl.StringArrayVar(&f.budgets, "budget", nil, "a size budget, e.g. final<=50MB, final:+5%, *:layers+0 (repeatable or comma-separated); exceeding one fails the build")
	return cmd
}

func (f *buildFlags) config(contextDir string) (*gate.Config, error) {
	buildArgs, err := options.ParseKeyValues("build-arg", f.buildArgs, os.LookupEnv)
	if err != nil {
		return nil, asFlagError(err)
	}
	labels, err := options.ParseKeyValues("label", f.labels, os.LookupEnv)
	if err != nil {
		return nil, asFlagError(err)
	}
	testEnv, err := options.ParseKeyValues("test-env", f.testEnv, os.LookupEnv)
	if err != nil {
		return nil, asFlagError(err)
	}
	env := make([]string, 0, len(testEnv))
	for _, k := range slices.Sorted(maps.Keys(testEnv)) {
		env = append(env, k+"="+testEnv[k])
	}
	testMode, err := options.ParseTestMode(f.testMode)
	if err != nil {
		return nil, asFlagError(err)
	}
	if _, err := options.ParsePlatforms("platform", f.platforms); err != nil {
		return nil, asFlagError(err)
	}
	if _, err := options.ParsePlatforms("test-platform", f.testPlatforms); err != nil {
		return nil, asFlagError(err)
	}
	if _, err := options.ParseFailOn(f.failOn); err != nil {
		return nil, asFlagError(err)
	}
	provenance, err := options.ParseProvenance(f.provenance)
	if err != nil {
		return nil, asFlagError(err)
	}
	if f.parsedBudgets, err = options.ParseBudgets(f.budgets, f.noSizes); err != nil {
		return nil, asFlagError(err)
	}
	if f.timeout < 0 || f.testTimeout < 0 {
		name, v := "timeout", f.timeout
		if f.testTimeout < 0 {
			name, v = "test-timeout", f.testTimeout
		}
		return nil, asFlagError(&build.OptionError{Option: name, Value: v.String(), Expected: "a duration like 90s, 10m or 1h30m"})
	}
	mode := progressui.DisplayMode(f.progress)
	switch mode {
	case progressui.AutoMode, progressui.PlainMode, progressui.TtyMode, progressui.QuietMode:
	default:
		return nil, flagError{fmt.Errorf("--progress %q: expected auto, plain, tty or quiet", f.progress)}
	}
	cfg := &gate.Config{
		ContextDir:     contextDir,
		File:           f.file,
		Target:         f.target,
		TestTargets:    f.testTargets,
		BuildArgs:      buildArgs,
		Labels:         labels,
		NoCache:        f.noCache,
		Platforms:      f.platforms,
		TestPlatforms:  f.testPlatforms,
		SkipSizes:      f.noSizes,
		LayerCachePath: sizes.DefaultLayerCachePath(),
		TestMode:       testMode,
		TestEnv:        env,
		TestNetwork:    f.testNetwork,
		TestTimeout:    f.testTimeout,
		Timeout:        f.timeout,
		TestReports:    f.testReports,
		NoFailFast:     !f.failFast,
		RequireTests:   f.requireTs,
		Progress:       mode,
		Connect:        build.ConnectOptions{Host: f.host, Builder: f.builder, TLS: f.tls},
		Tags:           f.tags,
		Push:           f.push,
		Load:           f.load,
		Provenance:     provenance,
		SBOM:           f.sbom,
	}
	if err := f.buildOptions(cfg); err != nil {
		return nil, asFlagError(err)
	}
	return cfg, nil
}

// asFlagError says an option error the way a command-line user writes the
// option: --flag "value": expected ...
func asFlagError(err error) error {
	var oe *build.OptionError
	if !errors.As(err, &oe) {
		return flagError{err}
	}
	msg := fmt.Sprintf("--%s %q: expected %s", strings.TrimPrefix(oe.Option, "--"), oe.Value, oe.Expected)
	if oe.Err != nil {
		msg += ": " + oe.Err.Error()
	}
	return flagError{errors.New(msg)}
}

// buildOptions parses the options that name caches, secrets, SSH agents,
// contexts and credentials.
func (f *buildFlags) buildOptions(cfg *gate.Config) error {
	scope := build.GHAScope(os.Getenv("GITHUB_REF_NAME"), cfg.DockerfilePath())
	var err error
	if cfg.CacheFrom, err = build.ParseCache("cache-from", f.cacheFrom, build.CacheEnv{Scope: scope}); err != nil {
		return err
	}
	if cfg.CacheTo, err = build.ParseCache("cache-to", f.cacheTo, build.CacheEnv{Scope: scope}); err != nil {
		return err
	}
	if len(f.secrets)+len(f.secretFiles) > 0 {
		// A secret's value never goes on a command line (other processes
		// can read it): id=ID,env=VAR or id=ID,src=FILE only.
		for _, s := range f.secrets {
			if !strings.HasPrefix(s, "id=") {
				return &build.OptionError{Option: "secret", Value: s, Expected: "id=ID,env=VAR or id=ID,src=FILE"}
			}
		}
		if cfg.Secrets, err = build.ParseSecrets(f.secrets, f.secretFiles, os.Getenv, ""); err != nil {
			return err
		}
	}
	if len(f.ssh) > 0 {
		if cfg.SSH, err = build.ParseSSH(f.ssh, ""); err != nil {
			return err
		}
	}
	if len(f.contexts) > 0 {
		if cfg.BuildContexts, err = options.ParseKeyValues("build-context", f.contexts, func(string) (string, bool) { return "", false }); err != nil {
			return err
		}
	}
	if cfg.RegistryAuth, err = build.LoadRegistryAuth(dockerConfigDir(), f.registryAuth); err != nil {
		return err
	}
	return nil
}

// dockerConfigDir is where docker keeps its config: DOCKER_CONFIG, else ~/.docker.
func dockerConfigDir() string {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return d
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".docker")
	}
	return ""
}

func writeReports(cmd *cobra.Command, res *result.Result, jsonPath, mdPath string) error {
	var errs []error
	if err := report.Table(cmd.OutOrStdout(), res); err != nil {
		errs = append(errs, fmt.Errorf("print table: %w", err))
	}
	if jsonPath != "" {
		if err := report.WriteJSONFile(jsonPath, res); err != nil {
			errs = append(errs, fmt.Errorf("write JSON report: %w", err))
		}
	}
	if mdPath != "" {
		var buf bytes.Buffer
		err := report.Markdown(&buf, res)
		if err == nil {
			err = os.WriteFile(mdPath, buf.Bytes(), 0o644)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("write Markdown summary: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if res.Result != result.Passed {
		return buildFailedError{}
	}
	return nil
}

func newStagesCommand() *cobra.Command {
	var file, format, target, testMode string
	var testTargets, buildArgs []string
	cmd := &cobra.Command{
		Use:   "stages [flags] [CONTEXT]",
		Short: "Show the plan: the Dockerfile's stages, the final target, the test stages and why",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := analysisConfig(args, file, buildArgs)
			if err != nil {
				return err
			}
			cfg.Target, cfg.TestTargets, cfg.TestMode = target, testTargets, gate.TestMode(testMode)
			switch cfg.TestMode {
			case gate.TestModeAuto, gate.TestModeBuild, gate.TestModeRun:
			default:
				return flagError{fmt.Errorf("--test-mode %q: expected auto, build or run", testMode)}
			}
			plan, err := gate.Prepare(cfg)
			var dfErr *dockerfile.Error
			if errors.As(err, &dfErr) {
				return &gate.UsageError{Err: err}
			}
			if err != nil {
				return err
			}
			for _, st := range plan.Graph.Stages {
				if st.BaseError != "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "stagegate: warning: %s:%d: %s (--build-arg %s=...)\n", plan.Graph.File, st.Line, st.BaseError, strings.Join(st.UnsetArgs, "=... --build-arg "))
				}
			}
			p := assemble.Plan(plan)
			w := cmd.OutOrStdout()
			switch format {
			case "table":
				if err := report.StagesTable(w, p.Stages); err != nil {
					return err
				}
				return report.PlanText(w, p)
			case "json":
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(p)
			case "mermaid":
				_, err := fmt.Fprint(w, report.Mermaid(p.Stages))
				return err
			default:
				return flagError{fmt.Errorf("--format %q: expected table, json or mermaid", format)}
			}
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&file, "file", "f", "", "the Dockerfile (default CONTEXT/Dockerfile)")
	fl.StringVar(&format, "format", "table", "output: table, json or mermaid")
	fl.StringVar(&target, "target", "", "the final stage (default: the last stage that is not a test stage)")
	fl.StringSliceVar(&testTargets, "test-target", nil, `test stages (names or globs; "none" for none; default: found)`)
	fl.StringVar(&testMode, "test-mode", "auto", "how test stages test: auto, build or run")
	fl.StringArrayVar(&buildArgs, "build-arg", nil, "build-time variable KEY=VALUE (repeatable)")
	return cmd
}

// analysisConfig is the configuration of the commands that read the
// Dockerfile: the context argument, --file and --build-arg.
func analysisConfig(args []string, file string, buildArgs []string) (*gate.Config, error) {
	contextDir := "."
	if len(args) == 1 {
		contextDir = args[0]
	}
	ba, err := options.ParseKeyValues("build-arg", buildArgs, os.LookupEnv)
	if err != nil {
		return nil, asFlagError(err)
	}
	return &gate.Config{ContextDir: contextDir, File: file, BuildArgs: ba}, nil
}

func newCheckCommand() *cobra.Command {
	var file, target string
	var testTargets, buildArgs []string
	var connect build.ConnectOptions
	cmd := &cobra.Command{
		Use:   "check [flags] [CONTEXT]",
		Short: "Run BuildKit's Dockerfile checks (lint) for every target a build would build, without building",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := analysisConfig(args, file, buildArgs)
			if err != nil {
				return err
			}
			cfg.Target, cfg.TestTargets, cfg.Connect = target, testTargets, connect
			plan, err := gate.Prepare(cfg)
			if err != nil {
				return err
			}
			checks, err := gate.Check(cmd.Context(), cfg, plan)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			for _, c := range checks {
				fmt.Fprintf(w, "%s:%d: %s: %s\n", c.File, c.Line, c.Rule, c.Message)
				if c.URL != "" {
					fmt.Fprintf(w, "  %s\n", c.URL)
				}
			}
			if len(checks) > 0 {
				fmt.Fprintf(w, "%d check warning(s)\n", len(checks))
				return buildFailedError{}
			}
			fmt.Fprintln(w, "no check warnings")
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&file, "file", "f", "", "the Dockerfile (default CONTEXT/Dockerfile)")
	fl.StringVar(&target, "target", "", "the final stage (default: the last stage)")
	fl.StringSliceVar(&testTargets, "test-target", nil, "test stages (names or globs)")
	fl.StringArrayVar(&buildArgs, "build-arg", nil, "build-time variable KEY=VALUE (repeatable)")
	fl.StringVar(&connect.Host, "buildkit-host", "", "BuildKit address (as build's)")
	fl.StringVar(&connect.Builder, "builder", "", "a buildx docker-container builder on the Docker Engine, by name")
	fl.StringVar(&connect.TLS.CA, "tls-ca", "", "CA certificate for a tcp:// builder")
	fl.StringVar(&connect.TLS.Cert, "tls-cert", "", "client certificate for a tcp:// builder")
	fl.StringVar(&connect.TLS.Key, "tls-key", "", "client key for a tcp:// builder")
	fl.StringVar(&connect.TLS.ServerName, "tls-server-name", "", "server name to verify (default: the address's host)")
	return cmd
}
