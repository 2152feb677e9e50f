// Command dockerfile-check checks the Dockerfile and .dockerignore without a
// Docker engine (deploy/check-deploy.sh runs it):
//
//   - parses the Dockerfile with BuildKit's own parser and runs BuildKit's
//     lint rules (those of `docker build --check`); any warning fails;
//   - checks the facts the deployment relies on: the targets, the base
//     images, CGO_ENABLED=0, -trimpath, the version ldflags, USER, ENTRYPOINT,
//     CMD, HEALTHCHECK, STOPSIGNAL, EXPOSE;
//   - applies .dockerignore to the repository like the Docker client does and
//     checks that the build context holds everything `go build` needs and none
//     of the local state; with -export DIR it copies the context there, so the
//     Go build can be run on exactly what Docker would send.
//
// Usage: dockerfile-check -root REPO [-target NAME]... [-export DIR]
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

var problems []string

func fail(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }

func main() {
	root := flag.String("root", ".", "repository root (the build context)")
	export := flag.String("export", "", "copy the build context (after .dockerignore) into this directory")
	var targets multiFlag
	flag.Var(&targets, "target", "a build target that must exist (repeatable), e.g. from docker-compose.yml")
	flag.Parse()

	stages := checkDockerfile(filepath.Join(*root, "Dockerfile"), targets)
	files := checkContext(*root, stages)
	if *export != "" && len(problems) == 0 {
		if err := copyFiles(*root, *export, files); err != nil {
			fail("export context: %v", err)
		}
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, "dockerfile-check: "+p)
		}
		os.Exit(1)
	}
	fmt.Printf("dockerfile-check: %d stages, targets %s, build context %d files: ok\n", len(stages), strings.Join(names(stages), " "), len(files))
}

func names(stages []instructions.Stage) []string {
	var out []string
	for _, s := range stages {
		if s.Name != "" {
			out = append(out, s.Name)
		}
	}
	return out
}

// ---------------------------------------------------------------- Dockerfile

func checkDockerfile(path string, targets []string) []instructions.Stage {
	f, err := os.Open(path)
	if err != nil {
		fail("%v", err)
		return nil
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		fail("parse: %v", err)
		return nil
	}
	for _, w := range res.Warnings {
		fail("parser warning line %d: %s", w.Location.Start.Line, w.Short)
	}
	lint := linter.New(&linter.Config{Warn: func(rule, _, url, msg string, loc []parser.Range) {
		line := 0
		if len(loc) > 0 {
			line = loc[0].Start.Line
		}
		fail("lint %s (line %d): %s %s", rule, line, msg, url)
	}})
	stages, metaArgs, err := instructions.Parse(res.AST, lint)
	if err != nil {
		fail("instructions: %v", err)
		return nil
	}
	meta := map[string]string{}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if kv.Value != nil {
				meta[kv.Key] = *kv.Value
			}
		}
	}
	expand := func(s string) string {
		return os.Expand(s, func(k string) string { return meta[k] })
	}

	byName := map[string]*instructions.Stage{}
	for i := range stages {
		if stages[i].Name != "" {
			byName[stages[i].Name] = &stages[i]
		}
	}
	for _, t := range append([]string{"worker", "worker-debug", "cognito-emulator"}, targets...) {
		if byName[t] == nil {
			fail("no stage named %q (a compose build target or a documented target)", t)
		}
	}
	if len(stages) == 0 || stages[len(stages)-1].Name != "worker" {
		fail("the last stage (the default target) must be \"worker\"")
	}
	// COPY --from must name an earlier stage.
	for i, s := range stages {
		for _, c := range s.Commands {
			if cp, ok := c.(*instructions.CopyCommand); ok && cp.From != "" {
				j := slices.IndexFunc(stages[:i], func(x instructions.Stage) bool { return x.Name == cp.From })
				if j < 0 {
					fail("stage %q: COPY --from=%s names no earlier stage", s.Name, cp.From)
				}
			}
		}
	}

	goMod, _ := os.ReadFile(filepath.Join(filepath.Dir(path), "go.mod"))
	checkBuilder(byName["build-base"], byName["build-worker"], byName["build-emulator"], expand, string(goMod))
	checkRuntime(byName["worker"], expand, "gcr.io/distroless/static-debian12:nonroot", "/worker", []string{"/worker", "healthcheck"}, []string{"run"}, "9090")
	checkRuntime(byName["worker-debug"], expand, "gcr.io/distroless/static-debian12:debug-nonroot", "/worker", []string{"/worker", "healthcheck"}, []string{"run"}, "9090")
	checkRuntime(byName["cognito-emulator"], expand, "gcr.io/distroless/static-debian12:nonroot", "/cognito-emulator", []string{"/cognito-emulator", "-healthcheck"}, nil, "9229")
	return stages
}

func runLines(s *instructions.Stage) string {
	var b strings.Builder
	for _, c := range s.Commands {
		if r, ok := c.(*instructions.RunCommand); ok {
			b.WriteString(strings.Join(r.CmdLine, " "))
			b.WriteString("\n")
		}
	}
	return b.String()
}

func stageArgs(s *instructions.Stage) []string {
	var out []string
	for _, c := range s.Commands {
		if a, ok := c.(*instructions.ArgCommand); ok {
			for _, kv := range a.Args {
				out = append(out, kv.Key)
			}
		}
	}
	return out
}

func checkBuilder(base, worker, emu *instructions.Stage, expand func(string) string, goMod string) {
	if base == nil || worker == nil || emu == nil {
		fail("stages build-base, build-worker and build-emulator are required")
		return
	}
	img := expand(base.BaseName)
	m := regexp.MustCompile(`^golang:(\d+\.\d+(?:\.\d+)?)(?:[-@]|$)`).FindStringSubmatch(img)
	if m == nil {
		fail("build-base must start FROM golang:VERSION, got %q", img)
	} else if want := goModVersion(goMod); want == "" {
		fail("go.mod has no go directive")
	} else if m[1] != want {
		// The golang images set GOTOOLCHAIN=local: an older patch release
		// cannot build the module, a newer one is not what go.mod asks for.
		fail("builder image %s must be golang:%s, the version go.mod requires", img, want)
	}
	w := runLines(worker)
	for _, want := range []string{"CGO_ENABLED=0", "go build", "-trimpath", "-s -w", "-X main.version=${VERSION}", "-X main.commit=${COMMIT}", "./cmd/worker"} {
		if !strings.Contains(w, want) {
			fail("build-worker: RUN lacks %q", want)
		}
	}
	for _, a := range []string{"VERSION", "COMMIT", "TARGETOS", "TARGETARCH"} {
		if !slices.Contains(stageArgs(worker), a) {
			fail("build-worker: ARG %s is not declared in the stage (it would be empty)", a)
		}
	}
	e := runLines(emu)
	for _, want := range []string{"CGO_ENABLED=0", "go build", "-trimpath", "./cmd/cognito-emulator"} {
		if !strings.Contains(e, want) {
			fail("build-emulator: RUN lacks %q", want)
		}
	}
}

// goModVersion is the Go version go.mod requires: its toolchain directive
// (go1.X.Y) when present, else its go directive.
func goModVersion(goMod string) string {
	if t := regexp.MustCompile(`(?m)^toolchain go(\d+\.\d+(?:\.\d+)?)\s*$`).FindStringSubmatch(goMod); t != nil {
		return t[1]
	}
	if g := regexp.MustCompile(`(?m)^go (\d+\.\d+(?:\.\d+)?)\s*$`).FindStringSubmatch(goMod); g != nil {
		return g[1]
	}
	return ""
}

func checkRuntime(s *instructions.Stage, expand func(string) string, base, entry string, health, cmd []string, port string) {
	if s == nil {
		return
	}
	if got := expand(s.BaseName); got != base {
		fail("stage %s: FROM %s, want %s", s.Name, got, base)
	}
	var user, signal string
	var entrypoint, command, check []string
	var ports []string
	for _, c := range s.Commands {
		switch c := c.(type) {
		case *instructions.UserCommand:
			user = c.User
		case *instructions.StopSignalCommand:
			signal = c.Signal
		case *instructions.EntrypointCommand:
			if c.PrependShell {
				fail("stage %s: ENTRYPOINT must use the exec (JSON) form: the image has no shell", s.Name)
			}
			entrypoint = c.CmdLine
		case *instructions.CmdCommand:
			if c.PrependShell {
				fail("stage %s: CMD must use the exec (JSON) form", s.Name)
			}
			command = c.CmdLine
		case *instructions.HealthCheckCommand:
			check = c.Health.Test
		case *instructions.ExposeCommand:
			ports = append(ports, c.Ports...)
		}
	}
	if user != "nonroot" && user != "nonroot:nonroot" && user != "65532" && user != "65532:65532" {
		fail("stage %s: USER %q, want nonroot", s.Name, user)
	}
	if signal != "SIGTERM" {
		fail("stage %s: STOPSIGNAL %q, want SIGTERM", s.Name, signal)
	}
	if !slices.Equal(entrypoint, []string{entry}) {
		fail("stage %s: ENTRYPOINT %q, want [%q]", s.Name, entrypoint, entry)
	}
	if cmd != nil && !slices.Equal(command, cmd) {
		fail("stage %s: CMD %q, want %q", s.Name, command, cmd)
	}
	if !slices.Equal(check, append([]string{"CMD"}, health...)) {
		fail("stage %s: HEALTHCHECK %q, want CMD %q (exec form: no shell in the image)", s.Name, check, health)
	}
	if !slices.Contains(ports, port) {
		fail("stage %s: EXPOSE %s missing", s.Name, port)
	}
}

// ------------------------------------------------------------- build context

func checkContext(root string, stages []instructions.Stage) []string {
	var patterns []string
	if f, err := os.Open(filepath.Join(root, ".dockerignore")); err == nil {
		patterns, err = ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			fail(".dockerignore: %v", err)
			return nil
		}
	} else {
		fail(".dockerignore: %v", err)
		return nil
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		fail(".dockerignore: %v", err)
		return nil
	}
	var included, goFiles []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		// Go files of the main module (not of nested modules such as this tool).
		if !d.IsDir() && strings.HasSuffix(rel, ".go") && !strings.HasPrefix(rel, "deploy/") && !strings.HasPrefix(rel, ".git/") {
			goFiles = append(goFiles, rel)
		}
		if d.IsDir() && rel == ".git" {
			// Always excluded by our .dockerignore; checked below without walking it.
			if ok, _ := pm.MatchesOrParentMatches(rel); !ok {
				fail(".git is part of the build context")
			}
			return filepath.SkipDir
		}
		excluded, err := pm.MatchesOrParentMatches(rel)
		if err != nil {
			return err
		}
		if !excluded && !d.IsDir() {
			included = append(included, rel)
		}
		return nil
	})
	if err != nil {
		fail("walk %s: %v", root, err)
		return nil
	}
	for _, must := range []string{"go.mod", "go.sum"} {
		if !slices.Contains(included, must) {
			fail("%s is excluded from the build context (or missing)", must)
		}
	}
	for _, g := range goFiles {
		if !slices.Contains(included, g) {
			fail("%s is excluded from the build context by .dockerignore", g)
		}
	}
	for _, f := range included {
		base := filepath.Base(f)
		if strings.HasSuffix(base, ".tfstate") || strings.Contains(f, ".terraform/") || base == ".env" || strings.HasPrefix(base, ".env.") {
			fail("%s would be sent to the Docker daemon: exclude it in .dockerignore", f)
		}
	}
	if len(goFiles) == 0 {
		fail("no Go file in the main module")
	}
	return included
}

func copyFiles(root, dst string, files []string) error {
	for _, f := range files {
		src := filepath.Join(root, filepath.FromSlash(f))
		info, err := os.Lstat(src)
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			continue
		}
		out := filepath.Join(dst, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		if err := copyFile(src, out, info.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string, perm fs.FileMode) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, out.Close()) }()
	_, err = io.Copy(out, in)
	return err
}
