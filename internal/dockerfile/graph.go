// Package dockerfile finds the stages of a Dockerfile and how they depend on
// each other, with BuildKit's own parser, instruction and shell packages, so
// that names, bases and lines agree with what BuildKit will build.
package dockerfile

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// emptyImage is the base that has no image.
const emptyImage = "scratch"

// DepKind says how one stage uses another stage or image.
type DepKind string

const (
	DepFrom  DepKind = "from"  // FROM <stage>
	DepCopy  DepKind = "copy"  // COPY --from=<stage|index|image>
	DepMount DepKind = "mount" // RUN --mount=from=<stage|image>
)

// Dep is one use of another stage (Stage >= 0) or of an external image.
type Dep struct {
	Kind  DepKind `json:"kind"`
	Stage int     `json:"stage"` // index of the stage used, -1 for an image
	Image string  `json:"image,omitempty"`
	Line  int     `json:"line"`
}

// Stage is one FROM section of a Dockerfile.
type Stage struct {
	Index int `json:"index"`
	// Name is the lower-cased name after AS, or stage-N for an unnamed stage:
	// the name BuildKit uses for the stage in its progress output.
	Name  string `json:"name"`
	Named bool   `json:"named"`
	// BaseRaw is the FROM argument as written, Base after ARG expansion.
	BaseRaw string `json:"base_raw"`
	Base    string `json:"base"`
	// BaseStage is the index of the stage Base names, or -1 for an image.
	BaseStage int    `json:"base_stage"`
	Platform  string `json:"platform,omitempty"`
	// Line is the FROM line; EndLine the last line of the stage's last instruction.
	Line       int    `json:"line"`
	EndLine    int    `json:"end_line"`
	DocComment string `json:"doc_comment,omitempty"`
	// SetsCmd / SetsEntrypoint: the stage itself has a CMD / ENTRYPOINT.
	SetsCmd        bool `json:"sets_cmd"`
	SetsEntrypoint bool `json:"sets_entrypoint"`
	// CmdLine is the line of the stage's last CMD or ENTRYPOINT, 0 when none.
	CmdLine int `json:"cmd_line,omitempty"`
	// Runs counts the stage's own RUN instructions; Copies its COPY and ADD.
	Runs   int `json:"runs"`
	Copies int `json:"copies"`
	// Command is the stage's own CMD and ENTRYPOINT as written, "" when it
	// sets neither (see Stage.Command).
	Command string `json:"command,omitempty"`
	// RunTest is the first RUN step that runs a test runner; CmdTest is set
	// when the stage's command (ENTRYPOINT + CMD) runs one, its own or the
	// one it inherits from the stage it is built on (CmdTest.From).
	RunTest *TestCommand `json:"run_test,omitempty"`
	CmdTest *TestCommand `json:"cmd_test,omitempty"`
	// WeakTest is the first RUN step, or the command, that checks a result
	// as shell tests do (RUN test -s /app, grep -q) or runs a script kept
	// with the tests: a test only in a stage named for tests.
	WeakTest *TestCommand `json:"weak_test,omitempty"`
	// BaseError says why the base could not be expanded (an ARG without a
	// value, ${VAR:?message}); Base is then BaseRaw. BuildKit can still list
	// the stage, but not build it.
	BaseError string `json:"base_error,omitempty"`
	// UnsetArgs are the build arguments BaseError asks for.
	UnsetArgs []string `json:"unset_args,omitempty"`
	Deps      []Dep    `json:"deps,omitempty"`
	// Steps is how many progress steps ("[name i/N]") BuildKit shows for the stage.
	Steps int `json:"steps"`

	instructions *instructions.Stage
	// shell is the SHELL its RUN steps run in so far (nil: /bin/sh -c).
	shell []string
	// workdir is its working directory so far; copies are the COPY and ADD
	// from the build context up to here, those of the stage it is built on
	// first; cmdWords are the words of its command (ENTRYPOINT + CMD; a
	// shell-form one is one string, split here); runs are its RUN steps'
	// command lines.
	workdir  string
	copies   []contextCopy
	cmdWords []string
	runs     []runLine
}

// runLine is a RUN step's command line and the line it starts at.
type runLine struct {
	text string
	line int
}

// Graph is the analysed Dockerfile.
type Graph struct {
	File           string   `json:"file"`
	Stages         []*Stage `json:"stages"`
	ExternalImages []string `json:"external_images"`
	// Source is the Dockerfile's bytes; lines are 1-based indexes into it.
	Source []byte `json:"-"`
}

// Options are the inputs that change how FROM lines expand.
type Options struct {
	BuildArgs map[string]string
	// TargetPlatform and BuildPlatform default to the platform stagegate runs on.
	TargetPlatform *ocispecs.Platform
	BuildPlatform  *ocispecs.Platform
	// Context is the build context, where the scripts a stage named for
	// tests runs are read to find its test command (nil: none are read).
	Context fs.FS
}

// Error is a problem with the Dockerfile at a line (0 when there is none).
type Error struct {
	File    string
	Line    int
	EndLine int
	Err     error
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return printable(fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err))
	}
	return printable(fmt.Sprintf("%s: %v", e.File, e.Err))
}

// printable keeps an error that quotes a hostile file readable: bytes that
// are not UTF-8 become U+FFFD and control characters other than newline and
// tab are shown escaped (\x00, \x1b), so no NUL or terminal escape sequence
// reaches whoever prints the error.
func printable(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			b.WriteString(strings.Trim(strconv.QuoteRune(r), "'"))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Parse analyses the Dockerfile held in data; file names it in errors.
func Parse(file string, data []byte, opts Options) (*Graph, error) {
	ast, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, parseError(file, data, err)
	}
	stages, metaArgs, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		return nil, locate(file, err)
	}
	if len(stages) == 0 {
		return nil, &Error{File: file, Err: errors.New("no stage: a Dockerfile needs at least one FROM instruction")}
	}
	g := &Graph{File: file, Source: data}
	lex := shell.NewLex(ast.EscapeToken)
	args, err := metaArgEnv(lex, metaArgs, opts)
	if err != nil {
		return nil, locate(file, err)
	}
	byName := map[string]int{}
	// first is where each name is first defined, to catch a FROM that names
	// its own stage or a later one: BuildKit would take that for an image.
	first := map[string]int{}
	for i := len(stages) - 1; i >= 0; i-- {
		if stages[i].Name != "" {
			first[stages[i].Name] = i
		}
	}
	images := map[string]bool{}
	addImage := func(ref string) {
		if ref != emptyImage && !images[ref] {
			images[ref] = true
			g.ExternalImages = append(g.ExternalImages, ref)
		}
	}
	testBinaries := map[string]bool{} // written by go test -c -o NAME so far
	for i := range stages {
		st, err := newStage(i, &stages[i], lex, args, byName, g.Stages)
		if err != nil {
			return nil, &Error{File: file, Line: firstLine(stages[i].Location), Err: err}
		}
		if st.BaseStage < 0 && st.BaseError == "" {
			// FROM composer AS composer names the image, as in BuildKit; a
			// stage defined further down is almost surely a mistake.
			if j, ok := first[strings.ToLower(st.Base)]; ok && j > i && st.Base != emptyImage {
				return nil, &Error{File: file, Line: st.Line, Err: laterBaseError(st, stages[j].Name, firstLine(stages[j].Location))}
			}
			addImage(st.Base)
		}
		if opts.Context != nil {
			st.findScriptTest(opts.Context)
		}
		for _, run := range st.runs {
			for _, name := range compiledTests(run.text) {
				testBinaries[name] = true
			}
		}
		st.findCompiledTest(testBinaries)
		if st.BaseStage >= 0 && !st.SetsCmd && !st.SetsEntrypoint {
			inheritCommand(st, g.Stages[st.BaseStage])
		}
		g.Stages = append(g.Stages, st)
		if st.Named {
			byName[st.Name] = i
		}
	}
	for _, st := range g.Stages {
		if line, err := g.addCommandDeps(st, lex, byName, addImage); err != nil {
			return nil, &Error{File: file, Line: line, Err: err}
		}
	}
	return g, nil
}

// laterBaseError explains a FROM naming a stage defined further down, at
// line: BuildKit resolves FROM against the stages above it only, so it would
// pull an image of that name instead.
func laterBaseError(st *Stage, name string, line int) error {
	return fmt.Errorf("FROM %s: stage %q is defined after line %d (at line %d), and BuildKit would pull an image called %q instead of building it; move stage %q above stage %q", st.BaseRaw, name, st.Line, line, st.Base, name, st.Name)
}

func newStage(i int, is *instructions.Stage, lex *shell.Lex, args shell.EnvGetter, byName map[string]int, earlier []*Stage) (*Stage, error) {
	st := &Stage{
		Index:        i,
		Name:         is.Name,
		Named:        is.Name != "",
		BaseRaw:      is.BaseName,
		BaseStage:    -1,
		DocComment:   is.DocComment,
		instructions: is,
	}
	if !st.Named {
		st.Name = fmt.Sprintf("stage-%d", i)
	}
	st.Line, st.EndLine = firstLine(is.Location), lastLine(is.Location)
	base, err := expandBase(lex, st.Name, is.BaseName, args)
	if err != nil {
		// BuildKit lists such a stage too; only building it fails.
		base, st.BaseError, st.UnsetArgs = is.BaseName, err.Error(), unsetArgs(is.BaseName, args)
	}
	st.Base = base
	if j, ok := byName[base]; ok && st.BaseError == "" {
		st.BaseStage = j
		st.Deps = append(st.Deps, Dep{Kind: DepFrom, Stage: j, Line: st.Line})
	}
	if is.Platform != "" {
		p, _, err := lex.ProcessWord(is.Platform, args)
		if err != nil {
			return nil, fmt.Errorf("expand platform %q of stage %q: %w", is.Platform, st.Name, err)
		}
		st.Platform = p
	}
	if st.BaseStage < 0 && st.Base != emptyImage {
		st.Steps = 1 // the FROM step
	}
	if st.BaseStage >= 0 {
		// SHELL and WORKDIR are kept in the image, and so are the files.
		base := earlier[st.BaseStage]
		st.shell, st.workdir, st.copies = base.shell, base.workdir, slices.Clone(base.copies)
	}
	var cmdInst, entrypoint instructions.Command
	for _, cmd := range is.Commands {
		if end := lastLine(cmd.Location()); end > st.EndLine {
			st.EndLine = end
		}
		switch c := cmd.(type) {
		case *instructions.AddCommand, *instructions.CopyCommand:
			st.Steps++
			st.Copies++
			if cp, ok := contextCopyOf(cmd, st.workdir); ok {
				st.copies = append(st.copies, cp)
			}
		case *instructions.WorkdirCommand:
			st.Steps++
			st.workdir = inImage(c.Path, st.workdir)
		case *instructions.RunCommand:
			st.Steps++
			st.Runs++
			st.runs = append(st.runs, runLine{strings.Join(c.CmdLine, " "), firstLine(cmd.Location())})
			if st.RunTest == nil {
				st.RunTest = testCommandIn("RUN", cmd, c.ShellDependantCmdLine, findTestCommand)
				if st.RunTest != nil && c.PrependShell {
					st.RunTest.StatusLost = runStatusLost(c.ShellDependantCmdLine, optionsOf(st.shell))
				}
			}
			if st.WeakTest == nil {
				st.WeakTest = testCommandIn("RUN", cmd, c.ShellDependantCmdLine, findWeakTest)
			}
		case *instructions.ShellCommand:
			st.shell = c.Shell
		case *instructions.CmdCommand:
			st.SetsCmd = true
			st.CmdLine = firstLine(cmd.Location())
			cmdInst = c
		case *instructions.EntrypointCommand:
			st.SetsEntrypoint = true
			st.CmdLine = firstLine(cmd.Location())
			entrypoint = c
		}
	}
	var weakCmd *TestCommand
	var argv []string
	st.Command, argv, st.CmdTest, weakCmd = stageCommand(entrypoint, cmdInst)
	st.cmdWords = strings.Fields(strings.Join(argv, " "))
	if st.WeakTest == nil {
		st.WeakTest = weakCmd
	}
	return st, nil
}

// findScriptTest looks, in a stage named for tests that shows no test
// command of its own, into the scripts of the build context that its command
// or its RUN steps run: a test command in one is the stage's.
func (st *Stage) findScriptTest(ctx fs.FS) {
	if named, helper := testName(st); !named || helper != "" || st.RunTest != nil || st.CmdTest != nil {
		return
	}
	if len(st.cmdWords) > 0 {
		if tc, script, lost := scriptTest(ctx, st.copies, st.workdir, st.cmdWords); tc != "" {
			instruction := "CMD"
			if st.SetsEntrypoint {
				instruction = "ENTRYPOINT"
			}
			st.CmdTest = &TestCommand{Command: tc, Instruction: instruction, Line: st.CmdLine, Script: script, StatusLost: lost}
			return
		}
	}
	for _, run := range st.runs {
		for _, c := range simpleCommands(run.text) {
			if tc, script, lost := scriptTest(ctx, st.copies, st.workdir, c.words); tc != "" {
				st.RunTest = &TestCommand{Command: tc, Instruction: "RUN", Line: run.line, Script: script, StatusLost: lost}
				return
			}
		}
	}
}

// findCompiledTest takes the stage's command for its test when it runs a Go
// test binary that a step of it or of an earlier stage compiled (go test -c
// -o NAME, one of binaries): CMD ["/app/service-test"].
func (st *Stage) findCompiledTest(binaries map[string]bool) {
	words := skipPrefix(st.cmdWords)
	if st.CmdTest != nil || len(words) == 0 || !binaries[path.Base(strings.Trim(words[0], `"'`))] {
		return
	}
	instruction := "CMD"
	if st.SetsEntrypoint {
		instruction = "ENTRYPOINT"
	}
	st.CmdTest = &TestCommand{Command: shorten(strings.Join(words, " ")), Instruction: instruction, Line: st.CmdLine}
}

// CommandLine is the line of the CMD or ENTRYPOINT the stage's image runs:
// its own, else the test command's it inherits; 0 when there is neither.
func (st *Stage) CommandLine() int {
	if st.CmdLine == 0 && st.CmdTest != nil {
		return st.CmdTest.Line
	}
	return st.CmdLine
}

// inheritCommand gives st, which sets neither CMD nor ENTRYPOINT, the test
// command of the stage it is built on: its image runs that stage's command
// (or what that stage inherited in turn), as Docker keeps both from the
// FROM image.
func inheritCommand(st, base *Stage) {
	if base.CmdTest == nil {
		return
	}
	tc := *base.CmdTest
	if tc.From == "" {
		tc.From = base.Name
	}
	st.CmdTest = &tc
}

// expandBase expands a FROM argument in the meta ARGs' environment.
func expandBase(lex *shell.Lex, stage, raw string, args shell.EnvGetter) (string, error) {
	base, _, err := lex.ProcessWord(raw, args)
	if err != nil {
		return "", fmt.Errorf("FROM %s of stage %q cannot be expanded (%v): %s", raw, stage, err, unsetArgsHint(raw, args))
	}
	if base == "" {
		return "", fmt.Errorf("FROM %s of stage %q expands to nothing: %s", raw, stage, unsetArgsHint(raw, args))
	}
	return base, nil
}

// argRef finds the variables a word uses: $NAME and ${NAME...}.
var argRef = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`)

// unsetArgs are the variables a FROM uses that have no value.
func unsetArgs(raw string, args shell.EnvGetter) []string {
	var unset []string
	for _, m := range argRef.FindAllStringSubmatch(raw, -1) {
		if v, ok := args.Get(m[1]); (!ok || v == "") && !slices.Contains(unset, m[1]) {
			unset = append(unset, m[1])
		}
	}
	return unset
}

// unsetArgsHint says which build arguments a FROM needs and has no value for.
func unsetArgsHint(raw string, args shell.EnvGetter) string {
	unset := unsetArgs(raw, args)
	if len(unset) == 0 {
		return "give the ARG it uses a value"
	}
	return "set the build argument " + strings.Join(unset, ", ")
}

// testCommandIn is the command find finds in a RUN, CMD or ENTRYPOINT, or nil.
func testCommandIn(instruction string, cmd instructions.Command, line instructions.ShellDependantCmdLine, find func(string) string) *TestCommand {
	texts := []string{strings.Join(line.CmdLine, " ")}
	for _, f := range line.Files {
		texts = append(texts, f.Data)
	}
	for _, text := range texts {
		if c := find(text); c != "" {
			return &TestCommand{Command: c, Instruction: instruction, Line: firstLine(cmd.Location())}
		}
	}
	return nil
}

// runStatusLost says why a shell-form RUN step's test command does not
// fail the step when it fails (see lostTestStatus): the command line, or
// the heredoc scripts it runs, which have no shebang of their own.
func runStatusLost(line instructions.ShellDependantCmdLine, opts shellOptions) string {
	cmdline := strings.Join(line.CmdLine, " ")
	words := strings.Fields(cmdline)
	// RUN <<EOF and RUN bash <<EOF run the heredoc as the script; in
	// RUN python3 <<EOF it is another program's input.
	script := len(words) > 0 && (strings.HasPrefix(words[0], "<<") || (isShell(words[0]) && len(words) == 2 && strings.HasPrefix(words[1], "<<")))
	if len(line.Files) == 0 || !script {
		return lostTestStatus(cmdline, opts)
	}
	for _, f := range line.Files {
		if strings.HasPrefix(f.Data, "#!") {
			continue
		}
		if why := lostTestStatus(f.Data, opts); why != "" {
			return why
		}
	}
	return ""
}

// stageCommand is the stage's own command as written, as the argv a
// container runs (ENTRYPOINT with CMD as its arguments: "ENTRYPOINT ["npm"]"
// + "CMD ["test"]" is "npm test"), and that command when it runs a test
// runner, or when it looks like a test (see findWeakTest).
func stageCommand(entrypoint, cmd instructions.Command) (string, []string, *TestCommand, *TestCommand) {
	var written, argv []string
	var first instructions.Command
	for _, c := range []instructions.Command{entrypoint, cmd} {
		if c == nil {
			continue
		}
		if first == nil {
			first = c
		}
		if s, ok := c.(fmt.Stringer); ok {
			written = append(written, s.String())
		}
		switch c := c.(type) {
		case *instructions.EntrypointCommand:
			argv = append(argv, c.CmdLine...)
		case *instructions.CmdCommand:
			argv = append(argv, c.CmdLine...)
		}
	}
	if first == nil {
		return "", nil, nil, nil
	}
	line := instructions.ShellDependantCmdLine{CmdLine: argv}
	instruction := strings.ToUpper(first.Name())
	return strings.Join(written, " + "), argv, testCommandIn(instruction, first, line, findTestCommand), testCommandIn(instruction, first, line, findWeakTest)
}

// addCommandDeps records COPY --from and RUN --mount=from uses, resolved the
// way BuildKit resolves them: names and (for COPY) indexes of earlier stages,
// anything else an image. An error comes with the line of the instruction.
func (g *Graph) addCommandDeps(st *Stage, lex *shell.Lex, byName map[string]int, addImage func(string)) (int, error) {
	add := func(kind DepKind, from string, line int, allowIndex bool) error {
		if from == "" {
			return nil
		}
		j, isStage := byName[strings.ToLower(from)]
		if !isStage && allowIndex {
			if n, err := strconv.Atoi(from); err == nil {
				if n < 0 || n >= len(g.Stages) {
					return fmt.Errorf("COPY --from=%d: there is no stage %d (stages are numbered 0 to %d)", n, n, len(g.Stages)-1)
				}
				j, isStage = n, true
			}
		}
		if !isStage {
			addImage(from)
			st.Deps = append(st.Deps, Dep{Kind: kind, Stage: -1, Image: from, Line: line})
			return nil
		}
		if j >= st.Index {
			return fmt.Errorf("stage %q uses stage %q, which is not defined before it: move %q above %q", st.Name, g.Stages[j].Name, g.Stages[j].Name, st.Name)
		}
		st.Deps = append(st.Deps, Dep{Kind: kind, Stage: j, Line: line})
		return nil
	}
	for _, cmd := range st.instructions.Commands {
		line := firstLine(cmd.Location())
		switch c := cmd.(type) {
		case *instructions.CopyCommand:
			// BuildKit refuses --from values that shell processing would
			// change ($VAR, quotes, escapes) before it resolves any stage.
			if c.From != "" {
				if w, _, err := lex.ProcessWord(c.From, shell.EnvsFromSlice(nil)); err != nil || w != c.From {
					return line, fmt.Errorf("COPY --from=%s: variable expansion is not supported for --from; define a stage with FROM using a global ARG instead", c.From)
				}
			}
			if err := add(DepCopy, c.From, line, true); err != nil {
				return line, err
			}
		case *instructions.RunCommand:
			for _, m := range instructions.GetMounts(c) {
				if m.Type == instructions.MountTypeSecret || m.Type == instructions.MountTypeSSH {
					continue
				}
				if err := add(DepMount, m.From, line, false); err != nil {
					return line, err
				}
			}
		}
	}
	return 0, nil
}

// metaArgEnv is the environment FROM lines expand in: BuildKit's platform
// args, then the ARGs before the first FROM, overridden by build args.
func metaArgEnv(lex *shell.Lex, metaArgs []instructions.ArgCommand, opts Options) (shell.EnvGetter, error) {
	target := platforms.DefaultSpec()
	if opts.TargetPlatform != nil {
		target = *opts.TargetPlatform
	}
	build := platforms.DefaultSpec()
	if opts.BuildPlatform != nil {
		build = *opts.BuildPlatform
	}
	env := &envList{}
	for _, kv := range [...][2]string{
		{"BUILDPLATFORM", platforms.Format(build)},
		{"BUILDOS", build.OS},
		{"BUILDOSVERSION", build.OSVersion},
		{"BUILDARCH", build.Architecture},
		{"BUILDVARIANT", build.Variant},
		{"TARGETPLATFORM", platforms.FormatAll(target)},
		{"TARGETOS", target.OS},
		{"TARGETOSVERSION", target.OSVersion},
		{"TARGETARCH", target.Architecture},
		{"TARGETVARIANT", target.Variant},
	} {
		v := kv[1]
		if ov, ok := opts.BuildArgs[kv[0]]; ok {
			v = ov
		}
		env.set(kv[0], v)
	}
	for _, cmd := range metaArgs {
		for _, kv := range cmd.Args {
			if v, ok := opts.BuildArgs[kv.Key]; ok {
				env.set(kv.Key, v)
				continue
			}
			if kv.Value == nil {
				continue
			}
			v, _, err := lex.ProcessWord(*kv.Value, env)
			if err != nil {
				return nil, parser.WithLocation(fmt.Errorf("expand ARG %s: %w", kv.Key, err), cmd.Location())
			}
			env.set(kv.Key, v)
		}
	}
	return env, nil
}

// envList is an ordered shell.EnvGetter.
type envList struct {
	keys   []string
	values map[string]string
}

func (e *envList) set(k, v string) {
	if e.values == nil {
		e.values = map[string]string{}
	}
	if _, ok := e.values[k]; !ok {
		e.keys = append(e.keys, k)
	}
	e.values[k] = v
}

func (e *envList) Get(k string) (string, bool) { v, ok := e.values[k]; return v, ok }
func (e *envList) Keys() []string              { return e.keys }

// locate turns BuildKit's located errors into an *Error with the line.
func locate(file string, err error) error {
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		r := le.Locations[0]
		return &Error{File: file, Line: firstLine(r), EndLine: lastLine(r), Err: err}
	}
	return &Error{File: file, Err: err}
}

// parseError places an error from BuildKit's parser on the line it is
// about. The parser stops reading at a line over its size limit and then
// reports what that left (an unterminated heredoc, a file with no
// instructions) a line early; it puts an invalid escape directive on the
// line before it; and it gives a file without instructions its last line.
func parseError(file string, data []byte, err error) error {
	de := locate(file, fmt.Errorf("parse: %w", err)).(*Error)
	if strings.Contains(err.Error(), "invalid escape token") {
		de.Line++
		de.EndLine = de.Line
	}
	if n, size := longLine(data); n > 0 && (de.Line == 0 || max(de.Line, de.EndLine) >= n-1) {
		return &Error{File: file, Line: n, EndLine: n, Err: fmt.Errorf("parse: line %d is %d bytes long; BuildKit reads Dockerfile lines of at most %d bytes", n, size, maxLineBytes)}
	}
	if strings.Contains(err.Error(), "file with no instructions") {
		return &Error{File: file, Err: errors.New("no stage: the file has no instructions, only blank lines and comments; a Dockerfile needs at least one FROM instruction")}
	}
	return de
}

// maxLineBytes is the longest line BuildKit's parser reads (its
// bufio.Scanner's limit, without the newline).
const maxLineBytes = bufio.MaxScanTokenSize - 1

// longLine finds the first line longer than maxLineBytes: its number and
// length, or 0.
func longLine(data []byte) (int, int) {
	for n := 1; len(data) > 0; n++ {
		line, rest, _ := bytes.Cut(data, []byte("\n"))
		if len(line) > maxLineBytes {
			return n, len(line)
		}
		data = rest
	}
	return 0, 0
}

func firstLine(r []parser.Range) int {
	if len(r) == 0 {
		return 0
	}
	return r[0].Start.Line
}

func lastLine(r []parser.Range) int {
	if len(r) == 0 {
		return 0
	}
	return r[len(r)-1].End.Line
}

// Stage finds a stage by name (case-insensitive) or index.
func (g *Graph) Stage(ref string) (*Stage, bool) {
	ref = strings.ToLower(ref)
	for _, st := range g.Stages {
		if st.Name == ref {
			return st, true
		}
	}
	if n, err := strconv.Atoi(ref); err == nil && n >= 0 && n < len(g.Stages) {
		return g.Stages[n], true
	}
	return nil, false
}

// FrontendTarget is the name BuildKit's dockerfile frontend knows a stage
// by: its name, or "" (the default target) for an unnamed last stage. The
// frontend cannot build any other unnamed stage on its own (ok is false).
func (g *Graph) FrontendTarget(st *Stage) (target string, ok bool) {
	switch {
	case st.Named:
		return st.Name, true
	case st.Index == len(g.Stages)-1:
		return "", true
	}
	return "", false
}

// TargetStage is the stage a frontend target names (see FrontendTarget).
func (g *Graph) TargetStage(target string) *Stage {
	if st, ok := g.Stage(target); ok && target != "" {
		return st
	}
	return g.Stages[len(g.Stages)-1]
}

// Names lists the stage names in order.
func (g *Graph) Names() []string {
	names := make([]string, len(g.Stages))
	for i, st := range g.Stages {
		names[i] = st.Name
	}
	return names
}

// Reach returns the stages BuildKit builds for target, in Dockerfile order.
func (g *Graph) Reach(targets ...*Stage) []*Stage {
	seen := make([]bool, len(g.Stages))
	var visit func(i int)
	visit = func(i int) {
		if seen[i] {
			return
		}
		seen[i] = true
		for _, d := range g.Stages[i].Deps {
			if d.Stage >= 0 {
				visit(d.Stage)
			}
		}
	}
	for _, t := range targets {
		visit(t.Index)
	}
	var out []*Stage
	for i, ok := range seen {
		if ok {
			out = append(out, g.Stages[i])
		}
	}
	return out
}

// Plan is what one run builds: the test stages first, then the target.
type Plan struct {
	// Graph is the Dockerfile the plan is for.
	Graph  *Graph
	Target *Stage
	// TargetReason says why the target is the one built.
	TargetReason string
	// Tests are the test stages, in Dockerfile order.
	Tests []TestStage
	// Rejected are stages that looked like test stages and were not picked
	// (only when the test stages were discovered, not named).
	Rejected []Candidate
	// TestsOff is set when testing was turned off ("none"); Discovered when
	// the test stages were found by Discover rather than named.
	TestsOff   bool
	Discovered bool
	// Stages is every stage the tests and the target reach, in Dockerfile order.
	Stages []*Stage
}

// PlanError is a plan that its options make impossible (a target that is no
// stage, a test pattern that matches none). Option is the field of
// PlanOptions at fault, so that a front end can name the setting its user
// set; the message names the value.
type PlanError struct {
	Option PlanOption
	Err    error
}

func (e *PlanError) Error() string { return e.Err.Error() }
func (e *PlanError) Unwrap() error { return e.Err }

// PlanOption names a field of PlanOptions.
type PlanOption string

const (
	PlanTarget       PlanOption = "Target"
	PlanTestPatterns PlanOption = "TestPatterns"
)

// PlanOptions are the choices a run makes about what to build.
type PlanOptions struct {
	// Target is the final stage (name or index); empty means the last stage
	// that is not a test stage.
	Target string
	// TestPatterns are names or globs (path.Match) of test stages; empty
	// means Discover picks them; "none" means no tests.
	TestPatterns []string
	// TestMode is how test stages test (default auto).
	TestMode TestMode
}

// TestMode is how a test stage's tests are run.
type TestMode string

const (
	// TestModeAuto runs the stage's command when it is the stage's test:
	// see Stage.TestMode.
	TestModeAuto TestMode = "auto"
	// TestModeBuild: the tests are RUN steps; building the stage runs them.
	TestModeBuild TestMode = "build"
	// TestModeRun: the stage's CMD/ENTRYPOINT runs in a container after the build.
	TestModeRun TestMode = "run"
)

// TestMode resolves mode for the stage. Auto runs the stage's own CMD or
// ENTRYPOINT, or the test command it inherits from the stage it is built on
// (an image's, like busybox's "sh", is no test), unless the stage's RUN steps
// run a test runner and its own command does not (a "RUN go test" stage
// whose CMD starts the app).
func (st *Stage) TestMode(mode TestMode) TestMode {
	switch {
	case mode == TestModeRun || mode == TestModeBuild:
		return mode
	case st.CmdTest == nil && st.Command == "":
		return TestModeBuild
	case st.RunTest != nil && (st.CmdTest == nil || st.CmdTest.From != ""):
		return TestModeBuild
	}
	return TestModeRun
}

// NoTests is the --test-target value that turns testing off.
const NoTests = "none"

// Plan selects the target and the test stages.
func (g *Graph) Plan(opts PlanOptions) (*Plan, error) {
	p := &Plan{Graph: g, Target: g.Stages[len(g.Stages)-1], TargetReason: "the last stage"}
	if opts.Target != "" {
		st, ok := g.Stage(opts.Target)
		if !ok {
			return nil, &PlanError{Option: PlanTarget, Err: fmt.Errorf("target %q: %s has no such stage; its stages are: %s", opts.Target, g.File, strings.Join(g.Names(), ", "))}
		}
		p.Target, p.TargetReason = st, "named as the target"
	}
	switch {
	case len(opts.TestPatterns) == 1 && strings.EqualFold(strings.TrimSpace(opts.TestPatterns[0]), NoTests):
		p.TestsOff = true
	case len(nonEmpty(opts.TestPatterns)) > 0:
		tests, err := g.selectTests(opts.TestPatterns)
		if err != nil {
			return nil, &PlanError{Option: PlanTestPatterns, Err: err}
		}
		p.Tests = tests
	default:
		p.Discovered = true
		p.Tests, p.Rejected = g.Discover(p.Target)
		if opts.Target == "" {
			g.retarget(p)
		}
	}
	for i := range p.Tests {
		p.Tests[i].Mode = p.Tests[i].TestMode(cmp.Or(opts.TestMode, TestModeAuto))
	}
	p.Stages = g.Reach(append(p.TestStages(), p.Target)...)
	return p, nil
}

// retarget handles a Dockerfile whose last stage is named for tests and
// runs them (FROM build AS test, last): the image is then the last named
// stage that is not a test stage.
func (g *Graph) retarget(p *Plan) {
	last := p.Target
	if named, helper := testName(last); !named || helper != "" {
		return
	}
	if _, ok := p.Test(last); !ok {
		return
	}
	isStage := func(st *Stage) func(TestStage) bool { return func(t TestStage) bool { return t.Stage == st } }
	for i := len(g.Stages) - 2; i >= 0; i-- {
		st := g.Stages[i]
		if !st.Named {
			continue // BuildKit builds an unnamed stage only when it is the last
		}
		tests, rejected := g.Discover(st)
		if slices.ContainsFunc(tests, isStage(st)) || !slices.ContainsFunc(tests, isStage(last)) {
			continue
		}
		p.Target = st
		p.TargetReason = fmt.Sprintf("the last stage that is not a test stage (the last stage, %s, runs tests)", last.Name)
		p.Tests, p.Rejected = tests, rejected
		return
	}
}

// TestStages lists the test stages' stages.
func (p *Plan) TestStages() []*Stage {
	out := make([]*Stage, len(p.Tests))
	for i, t := range p.Tests {
		out[i] = t.Stage
	}
	return out
}

// Test returns the test stage st is, if it is one.
func (p *Plan) Test(st *Stage) (TestStage, bool) {
	for _, t := range p.Tests {
		if t.Stage == st {
			return t, true
		}
	}
	return TestStage{}, false
}

func nonEmpty(list []string) []string {
	var out []string
	for _, s := range list {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

// selectTests resolves test-target patterns to stages, in Dockerfile order.
func (g *Graph) selectTests(patterns []string) ([]TestStage, error) {
	selected := make([]string, len(g.Stages))
	for _, raw := range patterns {
		pat := strings.ToLower(strings.TrimSpace(raw))
		if pat == "" {
			continue
		}
		if _, err := path.Match(pat, ""); err != nil {
			return nil, fmt.Errorf("test target %q is not a valid glob: %w", pat, err)
		}
		matched := false
		for _, st := range g.Stages {
			if ok, _ := path.Match(pat, st.Name); ok || pat == strconv.Itoa(st.Index) {
				if selected[st.Index] == "" {
					selected[st.Index] = pat
				}
				matched = true
			}
		}
		if !matched {
			return nil, fmt.Errorf("test target %q matches no stage in %s; its stages are: %s (use %q to build without tests)", pat, g.File, strings.Join(g.Names(), ", "), NoTests)
		}
	}
	var out []TestStage
	for i, pat := range selected {
		if pat == "" {
			continue
		}
		reason := "named in the test targets"
		if pat != g.Stages[i].Name {
			reason = fmt.Sprintf("matches the test target %q", pat)
		}
		out = append(out, TestStage{Stage: g.Stages[i], Reason: reason})
	}
	return out, nil
}

// Lines returns lines [from, to] (1-based, inclusive) of the Dockerfile.
func (g *Graph) Lines(from, to int) []string {
	lines := strings.Split(strings.ReplaceAll(string(g.Source), "\r\n", "\n"), "\n")
	if from < 1 {
		from = 1
	}
	if to > len(lines) {
		to = len(lines)
	}
	if from > to {
		return nil
	}
	return lines[from-1 : to]
}
