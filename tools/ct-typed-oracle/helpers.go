package main

// consul-template helpers whose Go signatures decide what templates see: the static types they
// return ([]string, map[string]string, int64, map[int][]interface{}, <-chan int64) and the
// argument checks text/template makes against their parameter types ([]interface{},
// []*dependency.KeyPair, map[string]interface{}). Written for this oracle after consul-template
// v0.42.1's template/funcs.go: same names, signatures, results and error wording.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"ct-typed-oracle/dependency"

	yaml "gopkg.in/yaml.v2"
)

func helperFuncs() template.FuncMap {
	return template.FuncMap{
		"split":          split,
		"splitToMap":     splitToMap,
		"join":           func(sep string, a []string) (string, error) { return strings.Join(a, sep), nil },
		"contains":       func(v, l interface{}) (bool, error) { return inList(l, v) },
		"in":             inList,
		"containsAll":    containsSome(true, true),
		"containsAny":    containsSome(false, false),
		"containsNone":   containsSome(true, false),
		"containsNotAll": containsSome(false, true),
		"explode":        explode,
		"explodeMap":     explodeMap,
		"byKey":          byKey,
		"byPort":         byPort,
		"byTag":          byTag,
		"parseInt":       parseInt,
		"parseUint":      parseUint,
		"parseFloat":     parseFloat,
		"parseBool":      parseBool,
		"parseJSON":      parseJSON,
		"parseYAML":      parseYAML,
		"toJSON":         toJSON,
		"toYAML":         toYAML,
		"add":            arith("add"),
		"subtract":       arith("subtract"),
		"multiply":       arith("multiply"),
		"loop":           loop,
	}
}

func split(sep, s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return []string{}, nil
	}
	return strings.Split(s, sep), nil
}

func splitToMap(sep1, sep2, s string) (map[string]string, error) {
	out := map[string]string{}
	s = strings.TrimSpace(s)
	if s == "" {
		return out, nil
	}
	for _, item := range strings.Split(s, sep1) {
		if k, v, ok := strings.Cut(item, sep2); ok {
			out[k] = v
		}
	}
	return out, nil
}

// inList: is v an element of the slice l (ints with ints, floats with floats, strings of the
// same type), or a substring of the string l.
func inList(l, v interface{}) (bool, error) {
	lv, vv := reflect.ValueOf(l), reflect.ValueOf(v)
	switch lv.Kind() {
	case reflect.Array, reflect.Slice:
		for i := 0; i < lv.Len(); i++ {
			e := lv.Index(i)
			if e.Kind() == reflect.Interface {
				e = reflect.ValueOf(e.Interface())
			}
			if sameValue(e, vv) {
				return true, nil
			}
		}
	case reflect.String:
		if vv.IsValid() && vv.Type() == lv.Type() && strings.Contains(lv.String(), vv.String()) {
			return true, nil
		}
	}
	return false, nil
}

func isInt(k reflect.Kind) bool {
	return k >= reflect.Int && k <= reflect.Int64
}

func isUint(k reflect.Kind) bool {
	return k >= reflect.Uint && k <= reflect.Uintptr
}

func isFloat(k reflect.Kind) bool {
	return k == reflect.Float32 || k == reflect.Float64
}

func sameValue(e, v reflect.Value) bool {
	if !e.IsValid() || !v.IsValid() {
		return false
	}
	switch {
	case isInt(e.Kind()):
		return isInt(v.Kind()) && e.Int() == v.Int()
	case isFloat(e.Kind()):
		return isFloat(v.Kind()) && e.Float() == v.Float()
	case e.Kind() == reflect.String:
		return v.Type() == e.Type() && v.String() == e.String()
	}
	return false
}

// containsSome makes containsAll (true, true), containsAny (false, false), containsNone
// (true, false) and containsNotAll (false, true): retTrue is the answer when the loop ends,
// invert flips the membership test that ends it early.
func containsSome(retTrue, invert bool) func([]interface{}, interface{}) (bool, error) {
	return func(v []interface{}, l interface{}) (bool, error) {
		for _, x := range v {
			if ok, _ := inList(l, x); ok == invert {
				continue
			}
			return !retTrue, nil
		}
		return retTrue, nil
	}
}

func explodeInto(m map[string]interface{}, k string, v interface{}, path string) error {
	top, rest, nested := strings.Cut(k, "/")
	if !nested {
		if k != "" {
			m[k] = v
		}
		return nil
	}
	if _, ok := m[top]; !ok {
		m[top] = map[string]interface{}{}
	}
	inner, ok := m[top].(map[string]interface{})
	if !ok {
		return fmt.Errorf("not a map: %q: %q already has value %q", path, top, m[top])
	}
	return explodeInto(inner, rest, v, k)
}

func explode(pairs []*dependency.KeyPair) (map[string]interface{}, error) {
	m := map[string]interface{}{}
	for _, p := range pairs {
		if err := explodeInto(m, p.Key, p.Value, p.Key); err != nil {
			return nil, fmt.Errorf("explode: %w", err)
		}
	}
	return m, nil
}

func explodeMap(in map[string]interface{}) (map[string]interface{}, error) {
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	m := map[string]interface{}{}
	for _, k := range keys {
		if err := explodeInto(m, k, in[k], k); err != nil {
			return nil, fmt.Errorf("explodeMap: %w", err)
		}
	}
	return m, nil
}

func byKey(pairs []*dependency.KeyPair) (map[string]map[string]*dependency.KeyPair, error) {
	m := map[string]map[string]*dependency.KeyPair{}
	for _, p := range pairs {
		top, key, _ := strings.Cut(p.Key, "/")
		if key == "" {
			continue
		}
		if m[top] == nil {
			m[top] = map[string]*dependency.KeyPair{}
		}
		copied := *p
		copied.Key = key
		m[top][key] = &copied
	}
	return m, nil
}

func byPort(in interface{}) (map[int][]interface{}, error) {
	m := map[int][]interface{}{}
	switch services := in.(type) {
	case nil:
	case []*dependency.HealthService:
		for _, s := range services {
			m[s.Port] = append(m[s.Port], s)
		}
	default:
		return nil, fmt.Errorf("byPort: wrong argument type %T", in)
	}
	return m, nil
}

func byTag(in interface{}) (map[string][]interface{}, error) {
	m := map[string][]interface{}{}
	switch services := in.(type) {
	case nil:
	case []*dependency.CatalogSnippet:
		for _, s := range services {
			for _, t := range s.Tags {
				m[t] = append(m[t], s)
			}
		}
	case []*dependency.HealthService:
		for _, s := range services {
			for _, t := range s.Tags {
				m[t] = append(m[t], s)
			}
		}
	default:
		return nil, fmt.Errorf("byTag: wrong argument type %T", in)
	}
	return m, nil
}

func parseInt(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parseInt: %w", err)
	}
	return n, nil
}

func parseUint(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parseUint: %w", err)
	}
	return n, nil
}

func parseFloat(s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("parseFloat: %w", err)
	}
	return n, nil
}

func parseBool(s string) (bool, error) {
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("parseBool: %w", err)
	}
	return b, nil
}

func parseJSON(s string) (interface{}, error) {
	if s == "" {
		return map[string]interface{}{}, nil
	}
	var data interface{}
	if err := json.Unmarshal([]byte(s), &data); err != nil {
		return nil, err
	}
	return data, nil
}

func parseYAML(s string) (interface{}, error) {
	if s == "" {
		return map[string]interface{}{}, nil
	}
	var data interface{}
	if err := yaml.Unmarshal([]byte(s), &data); err != nil {
		return nil, err
	}
	return data, nil
}

func toJSON(i interface{}) (string, error) {
	out, err := json.Marshal(i)
	if err != nil {
		return "", fmt.Errorf("toJSON: %w", err)
	}
	return string(bytes.TrimSpace(out)), nil
}

func toYAML(i interface{}) (string, error) {
	out, err := yaml.Marshal(i)
	if err != nil {
		return "", fmt.Errorf("toYAML: %w", err)
	}
	return string(bytes.TrimSpace(out)), nil
}

// arith: add, subtract, multiply (arguments reversed for pipes: `{{ 2 | add 1 }}`): int64
// for integers, uint64 for two unsigned, float64 when either is a float.
func arith(name string) func(b, a interface{}) (interface{}, error) {
	return func(b, a interface{}) (interface{}, error) {
		av, bv := reflect.ValueOf(a), reflect.ValueOf(b)
		num := func(v reflect.Value) bool { return isInt(v.Kind()) || isUint(v.Kind()) || isFloat(v.Kind()) }
		if !num(av) {
			return nil, fmt.Errorf("%s: unknown type for %q (%T)", name, av, a)
		}
		if !num(bv) {
			return nil, fmt.Errorf("%s: unknown type for %q (%T)", name, bv, b)
		}
		toF := func(v reflect.Value) float64 {
			switch {
			case isInt(v.Kind()):
				return float64(v.Int())
			case isUint(v.Kind()):
				return float64(v.Uint())
			}
			return v.Float()
		}
		toI := func(v reflect.Value) int64 {
			if isInt(v.Kind()) {
				return v.Int()
			}
			return int64(v.Uint())
		}
		switch {
		case isFloat(av.Kind()) || isFloat(bv.Kind()):
			x, y := toF(av), toF(bv)
			switch name {
			case "add":
				return x + y, nil
			case "subtract":
				return x - y, nil
			}
			return x * y, nil
		case isUint(av.Kind()) && isUint(bv.Kind()):
			x, y := av.Uint(), bv.Uint()
			switch name {
			case "add":
				return x + y, nil
			case "subtract":
				return x - y, nil
			}
			return x * y, nil
		}
		x, y := toI(av), toI(bv)
		switch name {
		case "add":
			return x + y, nil
		case "subtract":
			return x - y, nil
		}
		return x * y, nil
	}
}

func loop(args ...interface{}) (<-chan int64, error) {
	to64 := func(i interface{}) (int64, error) {
		v := reflect.ValueOf(i)
		switch {
		case isInt(v.Kind()):
			return v.Int(), nil
		case isUint(v.Kind()):
			return int64(v.Uint()), nil
		case v.Kind() == reflect.String:
			return parseInt(v.String())
		}
		return 0, fmt.Errorf("loop: bad argument type: %T", i)
	}
	var from, to interface{}
	switch len(args) {
	case 1:
		from, to = 0, args[0]
	case 2:
		from, to = args[0], args[1]
	default:
		return nil, fmt.Errorf("loop: wrong number of arguments, expected 1 or 2, but got %d", len(args))
	}
	start, err := to64(from)
	if err != nil {
		return nil, err
	}
	stop, err := to64(to)
	if err != nil {
		return nil, err
	}
	ch := make(chan int64)
	go func() {
		for i := start; i < stop; i++ {
			ch <- i
		}
		close(ch)
	}()
	return ch, nil
}
