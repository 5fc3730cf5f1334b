package main

// The rest of consul-template v0.42.1's pure helpers (template/funcs.go, template/scratch.go)
// that the held-out generator (tools/ct-heldout) uses: strings, regexps, encodings, hashes,
// divide/modulo/minimum/maximum, toJSONPretty and the unescaped JSON encoders, indent, byMeta
// and scratch. Written for this oracle after consul-template's signatures, results and error
// wording (errors.Wrap(err, "f") reads "f: err"). Left out: toTOML (BurntSushi/toml is not
// in Debian's gocode), mergeMap (consul-template's mergo 1.0 differs from Debian's 0.3), and
// everything that reads the host (env, file, timestamp, sockaddr, plugin, writeToFile).

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/template"

	"ct-typed-oracle/dependency"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
)

func moreHelperFuncs(s *Scratch) template.FuncMap {
	return template.FuncMap{
		"base64Decode":          decoder("base64Decode", base64.StdEncoding),
		"base64Encode":          func(s string) (string, error) { return base64.StdEncoding.EncodeToString([]byte(s)), nil },
		"base64URLDecode":       decoder("base64URLDecode", base64.URLEncoding),
		"base64URLEncode":       func(s string) (string, error) { return base64.URLEncoding.EncodeToString([]byte(s)), nil },
		"trim":                  func(cut, s string) (string, error) { return strings.Trim(s, cut), nil },
		"trimPrefix":            func(p, s string) (string, error) { return strings.TrimPrefix(s, p), nil },
		"trimSuffix":            func(p, s string) (string, error) { return strings.TrimSuffix(s, p), nil },
		"trimSpace":             func(s string) (string, error) { return strings.TrimSpace(s), nil },
		"replaceAll":            func(f, t, s string) (string, error) { return strings.ReplaceAll(s, f, t), nil },
		"regexReplaceAll":       regexReplaceAll,
		"regexMatch":            regexMatch,
		"toLower":               func(s string) (string, error) { return strings.ToLower(s), nil },
		"toUpper":               func(s string) (string, error) { return strings.ToUpper(s), nil },
		"toTitle":               func(s string) (string, error) { return cases.Title(language.Und, cases.NoLower).String(s), nil },
		"toJSONPretty":          toJSONPretty,
		"toUnescapedJSON":       unescapedJSON("toUnescapedJSON", ""),
		"toUnescapedJSONPretty": unescapedJSON("toUnescapedJSONPretty", "  "),
		"divide":                divide,
		"modulo":                modulo,
		"minimum":               extreme("minimum", func(a, b float64) bool { return a < b }, func(a, b int64) bool { return a < b }, func(a, b uint64) bool { return a < b }),
		"maximum":               extreme("maximum", func(a, b float64) bool { return a > b }, func(a, b int64) bool { return a > b }, func(a, b uint64) bool { return a > b }),
		"sha256Hex":             func(s string) (string, error) { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]), nil },
		"md5sum":                func(s string) (string, error) { return fmt.Sprintf("%x", md5.Sum([]byte(s))), nil },
		"hmacSHA256Hex":         hmacSHA256Hex,
		"indent":                indent,
		"byMeta":                byMeta,
		"scratch":               func() *Scratch { return s },
	}
}

func decoder(name string, enc *base64.Encoding) func(string) (string, error) {
	return func(s string) (string, error) {
		v, err := enc.DecodeString(s)
		if err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		return string(v), nil
	}
}

func regexReplaceAll(re, repl, s string) (string, error) {
	c, err := regexp.Compile(re)
	if err != nil {
		return "", err
	}
	return c.ReplaceAllString(s, repl), nil
}

func regexMatch(re, s string) (bool, error) {
	c, err := regexp.Compile(re)
	if err != nil {
		return false, err
	}
	return c.MatchString(s), nil
}

func toJSONPretty(v interface{}) (string, error) {
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "", fmt.Errorf("toJSONPretty: %w", err)
	}
	return string(bytes.TrimSpace(out)), nil
}

func unescapedJSON(name, indent string) func(interface{}) (string, error) {
	return func(v interface{}) (string, error) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if indent != "" {
			enc.SetIndent("", indent)
		}
		if err := enc.Encode(v); err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		return strings.TrimRight(buf.String(), "\r\n"), nil
	}
}

type numKind int

const (
	notNum numKind = iota
	intNum
	uintNum
	floatNum
)

func kindOf(v reflect.Value) numKind {
	switch {
	case isInt(v.Kind()):
		return intNum
	case isUint(v.Kind()):
		return uintNum
	case isFloat(v.Kind()):
		return floatNum
	}
	return notNum
}

// divide b a = a / b, in int64 when both are integers of mixed signedness, uint64 when both
// are unsigned, float64 when either is a float. An integer division by zero panics, and
// text/template reports the panic as the call's error, as in consul-template.
func divide(b, a interface{}) (interface{}, error) {
	av, bv := reflect.ValueOf(a), reflect.ValueOf(b)
	ak, bk := kindOf(av), kindOf(bv)
	if ak == notNum {
		return nil, fmt.Errorf("divide: unknown type for %q (%T)", av, a)
	}
	if bk == notNum {
		return nil, fmt.Errorf("divide: unknown type for %q (%T)", bv, b)
	}
	switch {
	case ak == floatNum || bk == floatNum:
		return asFloat(av) / asFloat(bv), nil
	case ak == uintNum && bk == uintNum:
		return av.Uint() / bv.Uint(), nil
	default:
		return asInt(av) / asInt(bv), nil
	}
}

// modulo b a = a % b, integers only.
func modulo(b, a interface{}) (interface{}, error) {
	av, bv := reflect.ValueOf(a), reflect.ValueOf(b)
	ak, bk := kindOf(av), kindOf(bv)
	if ak != intNum && ak != uintNum {
		return nil, fmt.Errorf("modulo: unknown type for %q (%T)", av, a)
	}
	if bk != intNum && bk != uintNum {
		return nil, fmt.Errorf("modulo: unknown type for %q (%T)", bv, b)
	}
	if ak == uintNum && bk == uintNum {
		return av.Uint() % bv.Uint(), nil
	}
	return asInt(av) % asInt(bv), nil
}

// extreme is minimum/maximum: the pair is compared as floats when either is a float, as
// uint64 when both are unsigned, else as int64; the winner keeps its own kind (int64,
// uint64 or float64).
func extreme(name string, fl func(a, b float64) bool, in func(a, b int64) bool, un func(a, b uint64) bool) func(b, a interface{}) (interface{}, error) {
	return func(b, a interface{}) (interface{}, error) {
		av, bv := reflect.ValueOf(a), reflect.ValueOf(b)
		ak, bk := kindOf(av), kindOf(bv)
		if ak == notNum {
			return nil, fmt.Errorf("%s: unknown type for %q (%T)", name, av, a)
		}
		if bk == notNum {
			return nil, fmt.Errorf("%s: unknown type for %q (%T)", name, bv, b)
		}
		var aWins bool
		switch {
		case ak == floatNum || bk == floatNum:
			aWins = fl(asFloat(av), asFloat(bv))
		case ak == uintNum && bk == uintNum:
			aWins = un(av.Uint(), bv.Uint())
		default:
			aWins = in(asInt(av), asInt(bv))
		}
		if aWins {
			return widened(av), nil
		}
		return widened(bv), nil
	}
}

func asFloat(v reflect.Value) float64 {
	switch kindOf(v) {
	case intNum:
		return float64(v.Int())
	case uintNum:
		return float64(v.Uint())
	}
	return v.Float()
}

func asInt(v reflect.Value) int64 {
	if kindOf(v) == uintNum {
		return int64(v.Uint())
	}
	return v.Int()
}

func widened(v reflect.Value) interface{} {
	switch kindOf(v) {
	case intNum:
		return v.Int()
	case uintNum:
		return v.Uint()
	}
	return v.Float()
}

func hmacSHA256Hex(message, key string) (string, error) {
	h := hmac.New(sha256.New, []byte(key))
	h.Write([]byte(message))
	return hex.EncodeToString(h.Sum(nil)), nil
}

func indent(spaces int, s string) (string, error) {
	if spaces < 0 {
		return "", fmt.Errorf("indent value must be a positive integer")
	}
	prefix := strings.Repeat(" ", spaces)
	var out strings.Builder
	atLineStart := true
	for _, c := range []byte(s) {
		if atLineStart && c != '\n' {
			out.WriteString(prefix)
		}
		out.WriteByte(c)
		atLineStart = c == '\n'
	}
	return out.String(), nil
}

// byMeta groups services by one or more ServiceMeta keys ("k1,k2", "k|int" zero-pads).
func byMeta(meta string, services []*dependency.HealthService) (map[string][]*dependency.HealthService, error) {
	bad := regexp.MustCompile("[^a-zA-Z0-9_-]")
	valueOr := func(m map[string]string, key string) string {
		real := strings.TrimSuffix(key, "|int")
		if v := m[real]; v != "" {
			return v
		}
		if strings.HasSuffix(key, "|int") {
			return "0"
		}
		return fmt.Sprintf("_no_%s_", real)
	}
	groups := map[string][]*dependency.HealthService{}
	for _, s := range services {
		var parts []string
		for _, m := range strings.Split(meta, ",") {
			v := valueOr(s.ServiceMeta, m)
			if strings.HasSuffix(m, "|int") {
				i, err := strconv.Atoi(v)
				if err != nil {
					return nil, fmt.Errorf("cannot parse %v as number : %w", v, err)
				}
				v = fmt.Sprintf("%05d", i)
			}
			parts = append(parts, bad.ReplaceAllString(v, "_"))
		}
		key := strings.Join(parts, "_")
		groups[key] = append(groups[key], s)
	}
	return groups, nil
}

// Scratch is consul-template's per-execution scratch pad.
type Scratch struct {
	once sync.Once
	sync.RWMutex
	values map[string]interface{}
}

func (s *Scratch) init() {
	if s.values == nil {
		s.values = map[string]interface{}{}
	}
}

func (s *Scratch) Key(k string) bool {
	_, ok := s.values[k]
	return ok
}

func (s *Scratch) Get(k string) interface{} { return s.values[k] }

func (s *Scratch) Set(k string, v interface{}) string {
	s.init()
	s.values[k] = v
	return ""
}

func (s *Scratch) SetX(k string, v interface{}) string {
	s.init()
	if _, ok := s.values[k]; !ok {
		s.values[k] = v
	}
	return ""
}

func (s *Scratch) MapSet(k, mk string, v interface{}) (string, error) {
	s.init()
	return s.mapSet(k, mk, v, true)
}

func (s *Scratch) MapSetX(k, mk string, v interface{}) (string, error) {
	s.init()
	return s.mapSet(k, mk, v, false)
}

func (s *Scratch) mapSet(k, mk string, v interface{}, overwrite bool) (string, error) {
	if _, ok := s.values[k]; !ok {
		s.values[k] = map[string]interface{}{}
	}
	m, ok := s.values[k].(map[string]interface{})
	if !ok {
		return "", fmt.Errorf("%q is not a map", k)
	}
	if _, ok := m[mk]; overwrite || !ok {
		m[mk] = v
	}
	return "", nil
}

func (s *Scratch) MapValues(k string) ([]interface{}, error) {
	s.init()
	m, ok := s.values[k].(map[string]interface{})
	if !ok {
		return nil, nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]interface{}, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out, nil
}
