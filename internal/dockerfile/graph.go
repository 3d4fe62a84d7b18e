// Package dockerfile finds the stages of a Dockerfile and how they depend on
// each other, with BuildKit's own parser, instruction and shell packages, so
// that names, bases and lines agree with what BuildKit will build.
package dockerfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"path"
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
	// Runs counts the stage's own RUN instructions.
	Runs int   `json:"runs"`
	Deps []Dep `json:"deps,omitempty"`
	// Steps is how many progress steps ("[name i/N]") BuildKit shows for the stage.
	Steps int `json:"steps"`

	instructions *instructions.Stage
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
	for i := range stages {
		st, err := newStage(i, &stages[i], lex, args, byName)
		if err != nil {
			return nil, &Error{File: file, Line: firstLine(stages[i].Location), Err: err}
		}
		if st.BaseStage < 0 {
			if j, ok := first[strings.ToLower(st.Base)]; ok && j >= i && st.Base != emptyImage {
				return nil, &Error{File: file, Line: st.Line, Err: laterBaseError(st, stages[j].Name, firstLine(stages[j].Location), j == i)}
			}
			addImage(st.Base)
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

// laterBaseError explains a FROM naming its own stage (self) or a stage
// defined further down, at line: BuildKit resolves FROM against the stages
// above it only, so it would pull an image of that name instead.
func laterBaseError(st *Stage, name string, line int, self bool) error {
	if self {
		return fmt.Errorf("stage %q uses itself as its base: FROM %s names the stage it starts, and BuildKit would pull an image called %q instead; give the stage another name, or write the image's full reference (e.g. docker.io/library/%s)", name, st.BaseRaw, st.Base, name)
	}
	return fmt.Errorf("FROM %s: stage %q is defined after line %d (at line %d), and BuildKit would pull an image called %q instead of building it; move stage %q above stage %q", st.BaseRaw, name, st.Line, line, st.Base, name, st.Name)
}

func newStage(i int, is *instructions.Stage, lex *shell.Lex, args shell.EnvGetter, byName map[string]int) (*Stage, error) {
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
	base, _, err := lex.ProcessWord(is.BaseName, args)
	if err != nil {
		return nil, fmt.Errorf("expand base %q of stage %q: %w", is.BaseName, st.Name, err)
	}
	if base == "" {
		return nil, fmt.Errorf("base of stage %q (%s) expands to nothing: set the ARG it uses or give it a default", st.Name, is.BaseName)
	}
	st.Base = base
	if j, ok := byName[base]; ok {
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
	for _, cmd := range is.Commands {
		if end := lastLine(cmd.Location()); end > st.EndLine {
			st.EndLine = end
		}
		switch cmd.(type) {
		case *instructions.AddCommand, *instructions.CopyCommand, *instructions.WorkdirCommand:
			st.Steps++
		case *instructions.RunCommand:
			st.Steps++
			st.Runs++
		case *instructions.CmdCommand:
			st.SetsCmd = true
			st.CmdLine = firstLine(cmd.Location())
		case *instructions.EntrypointCommand:
			st.SetsEntrypoint = true
			st.CmdLine = firstLine(cmd.Location())
		}
	}
	return st, nil
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
	Tests  []*Stage
	Target *Stage
	// Stages is every stage the tests and the target reach, in Dockerfile order.
	Stages []*Stage
}

// NoTests is the --test-target value that turns testing off.
const NoTests = "none"

// DefaultTestStage is the test stage used when none is named.
const DefaultTestStage = "test"

// Plan selects the target (default: the last stage) and the test stages.
// testPatterns are names or globs (path.Match); empty means the stage named
// "test" when there is one; "none" means no tests.
func (g *Graph) Plan(target string, testPatterns []string) (*Plan, error) {
	p := &Plan{Target: g.Stages[len(g.Stages)-1]}
	if target != "" {
		st, ok := g.Stage(target)
		if !ok {
			return nil, fmt.Errorf("target %q: %s has no such stage; its stages are: %s", target, g.File, strings.Join(g.Names(), ", "))
		}
		p.Target = st
	}
	tests, err := g.SelectTests(testPatterns)
	if err != nil {
		return nil, err
	}
	p.Tests = tests
	p.Stages = g.Reach(append(slices.Clone(tests), p.Target)...)
	return p, nil
}

// SelectTests resolves test-target patterns to stages, in Dockerfile order.
func (g *Graph) SelectTests(patterns []string) ([]*Stage, error) {
	if len(patterns) == 0 {
		if st, ok := g.Stage(DefaultTestStage); ok && st.Named {
			return []*Stage{st}, nil
		}
		return nil, nil
	}
	if len(patterns) == 1 && strings.EqualFold(patterns[0], NoTests) {
		return nil, nil
	}
	selected := make([]bool, len(g.Stages))
	for _, pat := range patterns {
		pat = strings.ToLower(strings.TrimSpace(pat))
		if pat == "" {
			continue
		}
		if _, err := path.Match(pat, ""); err != nil {
			return nil, fmt.Errorf("test target %q is not a valid glob: %w", pat, err)
		}
		matched := false
		for _, st := range g.Stages {
			if ok, _ := path.Match(pat, st.Name); ok || pat == strconv.Itoa(st.Index) {
				selected[st.Index] = true
				matched = true
			}
		}
		if !matched {
			return nil, fmt.Errorf("test target %q matches no stage in %s; its stages are: %s (use %q to build without tests)", pat, g.File, strings.Join(g.Names(), ", "), NoTests)
		}
	}
	var out []*Stage
	for i, ok := range selected {
		if ok {
			out = append(out, g.Stages[i])
		}
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
