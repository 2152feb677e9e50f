// Command iamcheck compares the worker's task role with the AWS calls the
// worker's Go code makes (deploy/check-deploy.sh runs it).
//
// The operations are not a hand-written list: they are the methods of the
// SDK clients (*sqs.Client, *dynamodb.Client) found by reflection, each with
// the signature of an API operation (ctx, *OpInput, ...func(*Options))
// (*OpOutput, error). The uses are found in the syntax trees (go/ast) of every
// non-test .go file of the module's packages that the worker binary is built
// from (`go list -deps ./cmd/worker`), with their type information (go/types):
// a selector X.Op, called or handed to a helper as a method value, whose
// method takes *Op Input of that service's SDK package as its second
// parameter. That covers calls through the narrow interfaces the code declares
// where it consumes a client, and leaves out methods that only share a name
// (bufio.Scanner.Scan is no dynamodb:Scan). The tools and tests around the
// worker (cmd/bench, cmd/demo, internal/devenv, internal/testenv) never run
// under the task role and are not part of that set.
//
// Each operation maps to its IAM action (SQS batch operations to the action of
// the single one: SendMessageBatch is authorised by sqs:SendMessage). The
// granted actions are deploy/terraform/worker-iam-actions.json, the file the
// Terraform module builds the task role policy from. iamcheck fails when the
// code calls an operation whose action is not granted, and when an action is
// granted that no call needs, except those in the file's awaiting_code list
// (granted ahead of code on another branch), which it only reports.
//
// Usage: iamcheck -root REPO [-pkg ./cmd/worker] [-actions FILE]
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"golang.org/x/tools/go/packages"
)

// service is one AWS service whose client the worker may call.
type service struct {
	prefix     string // IAM action prefix, e.g. "sqs"
	importPath string // the SDK package
	client     reflect.Type
}

var services = []service{
	{"sqs", "github.com/aws/aws-sdk-go-v2/service/sqs", reflect.TypeOf(&sqs.Client{})},
	{"dynamodb", "github.com/aws/aws-sdk-go-v2/service/dynamodb", reflect.TypeOf(&dynamodb.Client{})},
}

// operations returns the API operations of an SDK client type: the methods
// shaped func(context.Context, *NameInput, ...func(*Options)) (*NameOutput, error).
func operations(client reflect.Type) map[string]bool {
	ops := map[string]bool{}
	for i := range client.NumMethod() {
		m := client.Method(i)
		t := m.Type // In(0) is the receiver
		if t.NumIn() != 4 || !t.IsVariadic() || t.NumOut() != 2 {
			continue
		}
		in, out := t.In(2), t.Out(0)
		if in.Kind() != reflect.Pointer || in.Elem().Name() != m.Name+"Input" ||
			out.Kind() != reflect.Pointer || out.Elem().Name() != m.Name+"Output" ||
			t.In(1).String() != "context.Context" || t.Out(1).String() != "error" {
			continue
		}
		ops[m.Name] = true
	}
	return ops
}

// Call is one call of an API operation in the code.
type Call struct {
	Action string // IAM action, e.g. sqs:SendMessage
	Op     string // the operation, e.g. SendMessageBatch
	Pos    string // file:line
}

// errNoAction: an operation whose IAM actions cannot be derived from its name.
var errNoAction = errors.New("no IAM action derivable")

// action maps an operation to the IAM action that authorises it.
func action(prefix, op string, ops map[string]bool) (string, error) {
	switch {
	case prefix == "sqs" && strings.HasSuffix(op, "Batch") && ops[strings.TrimSuffix(op, "Batch")]:
		// SendMessageBatch, DeleteMessageBatch, ChangeMessageVisibilityBatch
		// are authorised by the action of the single operation.
		return prefix + ":" + strings.TrimSuffix(op, "Batch"), nil
	case prefix == "dynamodb" && strings.HasPrefix(op, "Transact"):
		// TransactWriteItems/TransactGetItems need the actions of the items
		// they touch (PutItem, UpdateItem, ConditionCheckItem, ...): not
		// derivable from the call alone.
		return "", fmt.Errorf("%w: dynamodb:%s is authorised by the item actions it performs; list them by hand here", errNoAction, op)
	}
	return prefix + ":" + op, nil
}

// FindCalls returns the API operation uses in the packages: each selector
// X.Op whose method has an SDK operation's input (*svc.OpInput) as its second
// parameter, called or taken as a method value.
func FindCalls(pkgs []*packages.Package) ([]Call, error) {
	opsOf := map[string]map[string]bool{}
	for _, s := range services {
		opsOf[s.importPath] = operations(s.client)
	}
	var calls []Call
	for _, pkg := range pkgs {
		if len(pkg.Errors) > 0 {
			return nil, fmt.Errorf("%s: %v", pkg.PkgPath, pkg.Errors[0])
		}
		for _, file := range pkg.Syntax {
			var ferr error
			ast.Inspect(file, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok || ferr != nil {
					return ferr == nil
				}
				s, op, ok := sdkOperation(pkg.TypesInfo, sel, opsOf)
				if !ok {
					return true
				}
				pos := pkg.Fset.Position(sel.Sel.Pos())
				a, err := action(s.prefix, op, opsOf[s.importPath])
				if err != nil {
					ferr = fmt.Errorf("%s: %w", pos, err)
					return false
				}
				calls = append(calls, Call{Action: a, Op: op, Pos: pos.String()})
				return true
			})
			if ferr != nil {
				return nil, ferr
			}
		}
	}
	return calls, nil
}

// sdkOperation reports whether sel selects a method (of an SDK client, of an
// interface the code declares, of a wrapper) shaped like an SDK operation:
// named Op, second parameter *svc.OpInput from the service's package.
func sdkOperation(info *types.Info, sel *ast.SelectorExpr, opsOf map[string]map[string]bool) (service, string, bool) {
	selection := info.Selections[sel]
	if selection == nil || (selection.Kind() != types.MethodVal && selection.Kind() != types.MethodExpr) {
		return service{}, "", false
	}
	fn, ok := selection.Obj().(*types.Func)
	if !ok {
		return service{}, "", false
	}
	params := fn.Type().(*types.Signature).Params()
	if params.Len() < 2 {
		return service{}, "", false
	}
	ptr, ok := params.At(1).Type().(*types.Pointer)
	if !ok {
		return service{}, "", false
	}
	named, ok := ptr.Elem().(*types.Named)
	if !ok || named.Obj().Pkg() == nil || named.Obj().Name() != fn.Name()+"Input" {
		return service{}, "", false
	}
	for _, s := range services {
		if named.Obj().Pkg().Path() == s.importPath && opsOf[s.importPath][fn.Name()] {
			return s, fn.Name(), true
		}
	}
	return service{}, "", false
}

// Granted is worker-iam-actions.json: action lists per resource, and the
// actions granted ahead of the code that will call them.
type Granted struct {
	Lists        map[string][]string
	AwaitingCode []string
}

// LoadGranted reads worker-iam-actions.json.
func LoadGranted(path string) (Granted, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Granted{}, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return Granted{}, fmt.Errorf("%s: %w", path, err)
	}
	g := Granted{Lists: map[string][]string{}}
	for k, v := range m {
		if strings.HasPrefix(k, "_") {
			continue
		}
		var list []string
		if err := json.Unmarshal(v, &list); err != nil {
			return Granted{}, fmt.Errorf("%s: %s: %w", path, k, err)
		}
		if k == "awaiting_code" {
			g.AwaitingCode = list
		} else {
			g.Lists[k] = list
		}
	}
	return g, nil
}

// Report is the comparison of calls and grants.
type Report struct {
	Missing  map[string][]string // action called but not granted -> call sites
	Unused   []string            // granted, never called, not awaiting code
	Awaiting []string            // granted ahead of code, not called yet
	NowUsed  []string            // in awaiting_code but called now
	Called   []string            // every called action
}

// OK reports whether the task role matches the code.
func (r Report) OK() bool { return len(r.Missing) == 0 && len(r.Unused) == 0 }

// Compare compares the code's calls with the granted actions.
func Compare(calls []Call, g Granted) Report {
	called := map[string][]string{}
	for _, c := range calls {
		called[c.Action] = append(called[c.Action], c.Op+" at "+c.Pos)
	}
	granted := map[string]bool{}
	for _, l := range g.Lists {
		for _, a := range l {
			granted[a] = true
		}
	}
	r := Report{Missing: map[string][]string{}}
	for a, sites := range called {
		r.Called = append(r.Called, a)
		if !granted[a] {
			r.Missing[a] = sites
		}
	}
	for a := range granted {
		_, isCalled := called[a]
		awaiting := slices.Contains(g.AwaitingCode, a)
		switch {
		case isCalled && awaiting:
			r.NowUsed = append(r.NowUsed, a)
		case !isCalled && awaiting:
			r.Awaiting = append(r.Awaiting, a)
		case !isCalled:
			r.Unused = append(r.Unused, a)
		}
	}
	for _, l := range [][]string{r.Unused, r.Awaiting, r.NowUsed, r.Called} {
		sort.Strings(l)
	}
	return r
}

// Print writes the report for people.
func (r Report) Print(w io.Writer) {
	fmt.Fprintf(w, "actions the worker's code needs: %s\n", strings.Join(r.Called, ", "))
	for _, a := range sortedKeys(r.Missing) {
		fmt.Fprintf(w, "FAIL %s is called but the task role does not grant it (add it to worker-iam-actions.json):\n", a)
		for _, s := range r.Missing[a] {
			fmt.Fprintf(w, "       %s\n", s)
		}
	}
	for _, a := range r.Unused {
		fmt.Fprintf(w, "FAIL %s is granted but no code of the worker calls it (remove it from worker-iam-actions.json)\n", a)
	}
	for _, a := range r.Awaiting {
		fmt.Fprintf(w, "NOTE %s is granted ahead of its code (awaiting_code)\n", a)
	}
	for _, a := range r.NowUsed {
		fmt.Fprintf(w, "NOTE %s is called now: remove it from awaiting_code\n", a)
	}
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// loadWorker loads, with syntax and type information, the main module's
// packages that pkg is built from (test files excluded).
func loadWorker(root, pkg string) ([]*packages.Package, error) {
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if .Module}}{{if .Module.Main}}{{.ImportPath}}{{end}}{{end}}", pkg)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w: %s", err, stderr.String())
	}
	paths := strings.Fields(string(out))
	if len(paths) == 0 {
		return nil, fmt.Errorf("no packages of the main module found for %s in %s", pkg, root)
	}
	cfg := &packages.Config{
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo,
		Dir:  root,
	}
	return packages.Load(cfg, paths...)
}

func main() {
	root := flag.String("root", ".", "repository root (the worker's module)")
	pkg := flag.String("pkg", "./cmd/worker", "the package of the binary the task role runs")
	actions := flag.String("actions", "", "granted actions (default ROOT/deploy/terraform/worker-iam-actions.json)")
	flag.Parse()
	if *actions == "" {
		*actions = filepath.Join(*root, "deploy", "terraform", "worker-iam-actions.json")
	}
	pkgs, err := loadWorker(*root, *pkg)
	var calls []Call
	if err == nil {
		calls, err = FindCalls(pkgs)
	}
	var g Granted
	if err == nil {
		g, err = LoadGranted(*actions)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "iamcheck:", err)
		os.Exit(2)
	}
	fmt.Printf("%d packages of %s type-checked, %d uses of SQS/DynamoDB operations\n", len(pkgs), *pkg, len(calls))
	r := Compare(calls, g)
	r.Print(os.Stdout)
	if !r.OK() {
		os.Exit(1)
	}
}
