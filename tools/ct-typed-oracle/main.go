// ct-typed-oracle renders a consul-template template with Go's text/template the way
// consul-template v0.42.1 does, with its data functions answering TYPED values
// (*dependency.HealthService, api.HealthChecks, dependency.ServiceTags, ...) read from a
// fixture JSON file, plus the whole sprig_* function map and Go's builtins.
//
//	ct-typed-oracle [-fixture F.json] [-error-on-missing-key] [-left-delim L] [-right-delim R]
//	                [-name NAME] [-missing error|empty] [-passes] TEMPLATE|-
//	ct-typed-oracle -version
//
// See README.md for the fixture format and the rendering model (consul-template renders a
// template several times while its data arrives; an error in any pass is fatal).
package main

import (
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"text/template"

	sprig "github.com/Masterminds/sprig/v3"

	"ct-typed-oracle/dependency"
)

// Exit statuses.
const (
	exitOK       = 0
	exitUsage    = 2
	exitFixture  = 3  // the fixture lacks an entry, or an entry does not decode
	exitTemplate = 14 // parse / execute error (consul-template's CLI exits 14 too)
	exitNever    = 75 // consul-template would wait forever (key that does not exist, empty safeLs/safeTree)
)

// Query syntax of consul-template's dependency package (v0.42.1).
const (
	reDC      = `(@(?P<dc>[[:word:]\.\-\_]+))?`
	reKey     = `/?(?P<key>[^@\?]+)`
	reFilter  = `(\|(?P<filter>[[:word:]\,]+))?`
	reSvcName = `(?P<name>[[:word:]\-\_]+)`
	reQuery   = `(\?(?P<query>[[:word:]\-\_\=\&]+))?`
	reNode    = `(?P<name>[[:word:]\.\-\_]+)`
	reNear    = `(~(?P<near>[[:word:]\.\-\_]+))?`
	rePrefix  = `/?(?P<prefix>[^@\?]+)`
	reTag     = `((?P<tag>[[:word:]=:\.\-\_]+)\.)?`
)

var (
	healthRe   = regexp.MustCompile(`\A` + reTag + reSvcName + reQuery + reDC + reNear + reFilter + `\z`)
	nodeRe     = regexp.MustCompile(`\A` + reNode + reQuery + reDC + `\z`)
	nodesRe    = regexp.MustCompile(`\A` + reQuery + reDC + reNear + `\z`)
	servicesRe = regexp.MustCompile(`\A` + reQuery + reDC + `\z`)
	kvGetRe    = regexp.MustCompile(`\A` + reKey + reQuery + reDC + `\z`)
	kvListRe   = regexp.MustCompile(`\A` + rePrefix + reQuery + reDC + `\z`)
)

func groups(re *regexp.Regexp, s string) map[string]string {
	m := map[string]string{}
	sub := re.FindStringSubmatch(s)
	if sub == nil {
		return m
	}
	for i, n := range re.SubexpNames() {
		if n != "" {
			m[n] = sub[i]
		}
	}
	return m
}

// queryParams validates the "?ns=..&peer=.." part as consul-template does.
func queryParams(m map[string]string, label string) (url.Values, error) {
	v := url.Values{}
	raw := m["query"]
	if raw == "" {
		return v, nil
	}
	v, err := url.ParseQuery(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: invalid query: %q: %s", label, raw, err)
	}
	for k := range v {
		switch k {
		case "ns", "peer", "partition", "sameness-group":
		default:
			return nil, fmt.Errorf("%s: invalid query parameter key %q in query %q: supported keys: %s,%s,%s,%s",
				label, k, raw, "ns", "peer", "partition", "sameness-group")
		}
	}
	return v, nil
}

func checkHealth(s string) error {
	if !healthRe.MatchString(s) {
		return fmt.Errorf("health.service: invalid format: %q", s)
	}
	m := groups(healthRe, s)
	if f := m["filter"]; f != "" {
		for _, x := range strings.Split(f, ",") {
			switch x = strings.TrimSpace(x); x {
			case "any", "passing", "warning", "critical", "maintenance", "":
			default:
				return fmt.Errorf("health.service: invalid filter: %q in %q", x, s)
			}
		}
	}
	q, err := queryParams(m, "health.service")
	if err != nil {
		return err
	}
	if q.Get("sameness-group") != "" && q.Get("peer") != "" {
		return fmt.Errorf("health.service: cannot specify both %s and %s", "peer", "sameness-group")
	}
	return nil
}

func checkSimple(re *regexp.Regexp, s, label string, emptyOK bool) error {
	if (!emptyOK || s != "") && !re.MatchString(s) {
		return fmt.Errorf("%s: invalid format: %q", label, s)
	}
	_, err := queryParams(groups(re, s), label)
	return err
}

type oracle struct {
	fix        map[string]json.RawMessage
	emptyMode  bool            // -missing empty
	avail      map[string]bool // dependencies whose data has arrived (found in an earlier pass)
	used       []string
	missing    map[string]bool
	never      map[string]string // dependency -> why consul-template would never render
	fixErr     error
	passTraces []string
}

func depName(group, arg string) string {
	if arg == "" {
		return group
	}
	return group + " " + arg
}

// get returns the fixture entry for a call, or ok=false when consul-template would not have
// the data yet in this pass (the function then answers its "no data yet" value).
func (o *oracle) get(fn, group, arg string) (json.RawMessage, bool) {
	dep := depName(group, arg)
	o.used = append(o.used, dep)
	if !o.avail[dep] {
		o.missing[dep] = true
		return nil, false
	}
	if raw, ok := o.fix[depName(fn, arg)]; ok {
		return raw, true
	}
	if raw, ok := o.fix[dep]; ok {
		return raw, true
	}
	if o.emptyMode {
		return nil, false
	}
	if o.fixErr == nil {
		o.fixErr = fmt.Errorf("fixture has no entry %q (needed by %s)", dep, fn)
	}
	return nil, false
}

func (o *oracle) decode(dep string, raw json.RawMessage, v interface{}) bool {
	if err := json.Unmarshal(raw, v); err != nil {
		if o.fixErr == nil {
			o.fixErr = fmt.Errorf("fixture entry %q: %v", dep, err)
		}
		return false
	}
	return true
}

func sortedTags(t dependency.ServiceTags) dependency.ServiceTags {
	out := make(dependency.ServiceTags, 0, len(t))
	out = append(out, t...)
	sort.Strings(out)
	return out
}

func (o *oracle) funcs() template.FuncMap {
	return template.FuncMap{
		"service": func(s ...string) ([]*dependency.HealthService, error) {
			result := []*dependency.HealthService{}
			if len(s) == 0 || s[0] == "" {
				return result, nil
			}
			q := strings.Join(s, "|")
			if err := checkHealth(q); err != nil {
				return nil, err
			}
			raw, ok := o.get("service", "service", q)
			if !ok {
				return result, nil
			}
			var v []*dependency.HealthService
			if !o.decode("service "+q, raw, &v) {
				return result, nil
			}
			for _, x := range v {
				if x != nil {
					x.Tags = sortedTags(x.Tags)
				}
			}
			if v == nil {
				v = []*dependency.HealthService{}
			}
			return v, nil
		},
		"services": func(s ...string) ([]*dependency.CatalogSnippet, error) {
			result := []*dependency.CatalogSnippet{}
			q := strings.Join(s, "")
			if err := checkSimple(servicesRe, q, "catalog.services", false); err != nil {
				return nil, err
			}
			raw, ok := o.get("services", "services", q)
			if !ok {
				return result, nil
			}
			var v []*dependency.CatalogSnippet
			if !o.decode(depName("services", q), raw, &v) {
				return result, nil
			}
			for _, x := range v {
				if x != nil {
					x.Tags = sortedTags(x.Tags)
				}
			}
			return v, nil
		},
		"node": func(s ...string) (interface{}, error) {
			q := strings.Join(s, "")
			if err := checkSimple(nodeRe, q, "catalog.node", true); err != nil {
				return nil, err
			}
			raw, ok := o.get("node", "node", q)
			if !ok {
				return nil, nil
			}
			var v *dependency.CatalogNode
			if !o.decode(depName("node", q), raw, &v) {
				return nil, nil
			}
			if v == nil { // consul-template answers an empty CatalogNode for an unknown node
				v = &dependency.CatalogNode{}
			}
			for _, x := range v.Services {
				if x != nil {
					x.Tags = sortedTags(x.Tags)
				}
			}
			return v, nil
		},
		"nodes": func(s ...string) ([]*dependency.Node, error) {
			result := []*dependency.Node{}
			q := strings.Join(s, "")
			if err := checkSimple(nodesRe, q, "catalog.nodes", false); err != nil {
				return nil, err
			}
			raw, ok := o.get("nodes", "nodes", q)
			if !ok {
				return result, nil
			}
			var v []*dependency.Node
			if !o.decode(depName("nodes", q), raw, &v) {
				return result, nil
			}
			if v == nil {
				v = []*dependency.Node{}
			}
			return v, nil
		},
		"key": func(s string) (string, error) {
			if len(s) == 0 {
				return "", nil
			}
			if err := checkSimple(kvGetRe, s, "kv.get", true); err != nil {
				return "", err
			}
			raw, ok := o.get("key", "key", s)
			if !ok {
				return "", nil
			}
			var v *string
			if !o.decode("key "+s, raw, &v) {
				return "", nil
			}
			if v == nil { // `key` blocks until the key exists
				o.missing["key "+s] = true
				o.never["key "+s] = "key " + strconvQuote(s) + " does not exist (consul-template's key waits for it)"
				return "", nil
			}
			return *v, nil
		},
		"keyExists": func(s string) (bool, error) {
			if len(s) == 0 {
				return false, nil
			}
			if err := checkSimple(kvGetRe, s, "kv.get", true); err != nil {
				return false, err
			}
			raw, ok := o.get("keyExists", "key", s)
			if !ok {
				return false, nil
			}
			var v *string
			if !o.decode("key "+s, raw, &v) {
				return false, nil
			}
			return v != nil, nil
		},
		"keyOrDefault": func(s, def string) (string, error) {
			if len(s) == 0 {
				return def, nil
			}
			if err := checkSimple(kvGetRe, s, "kv.get", true); err != nil {
				return "", err
			}
			raw, ok := o.get("keyOrDefault", "key", s)
			if !ok {
				return def, nil
			}
			var v *string
			if !o.decode("key "+s, raw, &v) {
				return def, nil
			}
			if v == nil || *v == "" {
				return def, nil
			}
			return *v, nil
		},
		"ls":       o.list("ls", true, true),
		"safeLs":   o.list("safeLs", true, false),
		"tree":     o.list("tree", false, true),
		"safeTree": o.list("safeTree", false, false),
		"datacenters": func(i ...bool) ([]string, error) {
			result := []string{}
			ignore := false
			switch len(i) {
			case 0:
			case 1:
				ignore = i[0]
			default:
				return result, fmt.Errorf("datacenters: wrong number of arguments, expected 0 or 1"+
					", but got %d", len(i))
			}
			arg := ""
			if ignore {
				arg = "true"
			}
			raw, ok := o.get("datacenters", "datacenters", arg)
			if !ok {
				return result, nil
			}
			var v []string
			if !o.decode(depName("datacenters", arg), raw, &v) {
				return result, nil
			}
			sort.Strings(v)
			return v, nil
		},
	}
}

func strconvQuote(s string) string { return fmt.Sprintf("%q", s) }

// list implements ls/safeLs (top-level keys only) and tree/safeTree (no folder keys). The
// fixture entry ("ls PREFIX", shared by all four) is the raw key list of the prefix as
// consul-template's kv.list dependency holds it; the function filters it.
func (o *oracle) list(fn string, topOnly, emptyIsSafe bool) func(string) ([]*dependency.KeyPair, error) {
	return func(s string) ([]*dependency.KeyPair, error) {
		result := []*dependency.KeyPair{}
		if len(s) == 0 {
			return result, nil
		}
		if err := checkSimple(kvListRe, s, "kv.list", true); err != nil {
			return result, err
		}
		raw, ok := o.get(fn, "ls", s)
		if !ok {
			return result, nil
		}
		var v []*dependency.KeyPair
		if !o.decode("ls "+s, raw, &v) {
			return result, nil
		}
		for _, p := range v {
			if topOnly {
				if p.Key != "" && !strings.Contains(p.Key, "/") {
					result = append(result, p)
				}
			} else {
				parts := strings.Split(p.Key, "/")
				if parts[len(parts)-1] != "" {
					result = append(result, p)
				}
			}
		}
		if len(result) == 0 && !emptyIsSafe {
			o.missing["ls "+s] = true
			o.never["ls "+s] = fn + " " + strconvQuote(s) + " is empty (consul-template waits for keys)"
		}
		return result, nil
	}
}

func sprigFuncs() template.FuncMap {
	m := template.FuncMap{}
	for k, v := range sprig.HermeticTxtFuncMap() {
		m["sprig_"+k] = v
	}
	// sprig v3.3.0 (consul-template's) added sha512sum; Debian ships v3.2.3.
	if _, ok := m["sprig_sha512sum"]; !ok {
		m["sprig_sha512sum"] = func(input string) string {
			h := sha512.Sum512([]byte(input))
			return hex.EncodeToString(h[:])
		}
	}
	return m
}

func main() {
	fixture := flag.String("fixture", "", "fixture JSON: {\"service web\": [...], \"key app/x\": \"v\", ...}")
	errMissingKey := flag.Bool("error-on-missing-key", false, "consul-template's error_on_missing_key (missingkey=error; default missingkey=zero)")
	left := flag.String("left-delim", "", "left delimiter (consul-template's left_delimiter)")
	right := flag.String("right-delim", "", "right delimiter (consul-template's right_delimiter)")
	name := flag.String("name", "", "template source name for error messages (default: the TEMPLATE argument)")
	missing := flag.String("missing", "error", "a call without fixture entry: error (exit 3) or empty (answer the no-data-yet value)")
	passes := flag.Bool("passes", false, "trace the rendering passes on stderr")
	version := flag.Bool("version", false, "print the Go version that built this oracle")
	flag.Parse()
	if *version {
		fmt.Println(runtime.Version())
		return
	}
	if flag.NArg() != 1 || (*missing != "error" && *missing != "empty") {
		fmt.Fprintln(os.Stderr, "usage: ct-typed-oracle [-fixture F.json] [-error-on-missing-key] [-left-delim L] [-right-delim R] [-name NAME] [-missing error|empty] [-passes] TEMPLATE|-")
		os.Exit(exitUsage)
	}
	path := flag.Arg(0)
	var src []byte
	var err error
	if path == "-" {
		src, err = io.ReadAll(os.Stdin)
	} else {
		src, err = os.ReadFile(path)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(exitUsage)
	}
	if *name == "" {
		*name = path
	}
	o := &oracle{fix: map[string]json.RawMessage{}, emptyMode: *missing == "empty", avail: map[string]bool{}}
	if *fixture != "" {
		raw, err := os.ReadFile(*fixture)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(exitUsage)
		}
		if err := json.Unmarshal(raw, &o.fix); err != nil {
			fmt.Fprintln(os.Stderr, "fixture:", err)
			os.Exit(exitFixture)
		}
	}
	sp := sprigFuncs()
	for pass := 1; ; pass++ {
		o.used, o.missing, o.never, o.fixErr = nil, map[string]bool{}, map[string]string{}, nil
		// As consul-template's Template.Execute: a fresh template named "", delimiters,
		// its functions, missingkey=zero (or error), then Parse and Execute with nil data.
		t := template.New("")
		t.Delims(*left, *right)
		t.Funcs(o.funcs())
		t.Funcs(sp)
		t.Funcs(helperFuncs())
		t.Funcs(moreHelperFuncs(&Scratch{})) // a fresh scratch per execution, as consul-template's Execute
		if *errMissingKey {
			t.Option("missingkey=error")
		} else {
			t.Option("missingkey=zero")
		}
		t, err := t.Parse(string(src))
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: parse: %v\n", *name, err)
			os.Exit(exitTemplate)
		}
		var b bytes.Buffer
		err = t.Execute(&b, nil)
		if o.fixErr != nil {
			fmt.Fprintln(os.Stderr, "ct-typed-oracle:", o.fixErr)
			os.Exit(exitFixture)
		}
		if *passes {
			fmt.Fprintf(os.Stderr, "pass %d: used %q missing %d err %v\n", pass, o.used, len(o.missing), err)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: execute: %v\n", *name, err)
			os.Exit(exitTemplate)
		}
		if len(o.missing) == 0 {
			os.Stdout.Write(b.Bytes())
			return
		}
		progress := false
		var nevers []string
		for d := range o.missing {
			if why, ok := o.never[d]; ok {
				nevers = append(nevers, why)
				continue
			}
			if !o.avail[d] {
				o.avail[d] = true
				progress = true
			}
		}
		if !progress {
			sort.Strings(nevers)
			fmt.Fprintf(os.Stderr, "%s: consul-template would never render this (it waits): %s\n", *name, strings.Join(nevers, "; "))
			os.Exit(exitNever)
		}
	}
}
