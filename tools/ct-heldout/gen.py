#!/usr/bin/env python3
"""Seeded generator of consul-template templates for the held-out agreement measurement.

    gen.py --seed S --count N --out DIR     writes DIR/fixture.json and DIR/hSEED_NNNN.tmpl

Each template mixes Consul data functions (with tags, filters, @dc), field access on their
typed results (every field of consul-template v0.42.1's dependency structs, nested), range /
with / if / else / variables, comparisons, len / index / slice, printf verbs and flags, the
consul-template helpers, sprig functions, and deliberate errors (bad arguments, bad fields,
nil pointers, parse errors). Most fragments print typed values (`{{ . }}` of structs, maps,
slices, pointers). Only Python's standard library; the same seed gives the same files.

Left out on purpose (another work item owns them, see README.md): sprig's date and
certificate functions, `loop`'s len/index, toTOML, complex constants, sockaddr, sprig merge.
"""

import argparse
import json
import os
import random

import fixture as fx

# ---- the type model: field name -> type tag, for each struct of v0.42.1 -------------------

FIELDS = {
    "hs": [("Node", "str"), ("NodeID", "str"), ("NodeAddress", "str"),
           ("NodeTaggedAddresses", "smap"), ("NodeMeta", "smap"), ("ServiceMeta", "smap"),
           ("Address", "str"), ("ServiceTaggedAddresses", "saddrs"), ("ID", "str"),
           ("Name", "str"), ("Tags", "strs"), ("Checks", "checks"), ("Status", "str"),
           ("Port", "int"), ("Weights", "weights")],
    "check": [("Node", "str"), ("CheckID", "str"), ("Name", "str"), ("Status", "str"),
              ("Notes", "str"), ("Output", "str"), ("ServiceID", "str"), ("ServiceName", "str"),
              ("ServiceTags", "strs"), ("Type", "str"), ("Namespace", "str"), ("Partition", "str"),
              ("ExposedPort", "int"), ("PeerName", "str"), ("Definition", "def"),
              ("CreateIndex", "uint"), ("ModifyIndex", "uint")],
    "def": [("HTTP", "str"), ("Header", "hdr"), ("Method", "str"), ("Body", "str"),
            ("TLSServerName", "str"), ("TLSSkipVerify", "bool"), ("TCP", "str"),
            ("TCPUseTLS", "bool"), ("UDP", "str"), ("GRPC", "str"), ("OSService", "str"),
            ("GRPCUseTLS", "bool"), ("IntervalDuration", "dur"), ("TimeoutDuration", "dur"),
            ("DeregisterCriticalServiceAfterDuration", "dur"), ("SessionName", "str"),
            ("Interval", "rdur"), ("Timeout", "rdur"), ("DeregisterCriticalServiceAfter", "rdur")],
    "weights": [("Passing", "int"), ("Warning", "int")],
    "saddr": [("Address", "str"), ("Port", "int")],
    "snippet": [("Name", "str"), ("Tags", "strs")],
    "node": [("ID", "str"), ("Node", "str"), ("Address", "str"), ("Datacenter", "str"),
             ("TaggedAddresses", "smap"), ("Meta", "smap")],
    "cnode": [("Node", "node"), ("Services", "cnsvcs")],
    "cnsvc": [("ID", "str"), ("Service", "str"), ("Tags", "strs"), ("Meta", "smap"),
              ("Port", "int"), ("Address", "str"), ("EnableTagOverride", "bool")],
    "pair": [("Path", "str"), ("Key", "str"), ("Value", "str"), ("CreateIndex", "uint"),
             ("ModifyIndex", "uint"), ("LockIndex", "uint"), ("Flags", "uint"), ("Session", "str")],
}
ELEM = {"hslist": "hs", "checks": "check", "snippets": "snippet", "nodes": "node",
        "cnsvcs": "cnsvc", "pairs": "pair", "strs": "str"}
MAP_KEYS = {"smap": ["env", "team", "version", "lan", "wan", "rack", "nope", "engine"],
            "saddrs": ["lan", "wan", "nope"], "hdr": ["X-Nope"]}
STRUCTS = set(FIELDS)
# Values whose %d/%x/%p would show heap addresses: never given integer verbs.
POINTERISH = {"hs", "check", "snippet", "node", "cnode", "cnsvc", "pair", "hslist", "checks",
              "snippets", "nodes", "cnsvcs", "pairs"}

KEYS = [k for k, _ in fx.KV] + ["app/missing"]


def quote(s):
    return json.dumps(s)


class Gen:
    def __init__(self, rng, documented=True):
        self.r = rng
        self.vars = 0
        self.documented = documented  # generate the documented Go-version differences

    def pick(self, seq):
        return self.r.choice(seq)

    def chance(self, p):
        return self.r.random() < p

    def var(self):
        self.vars += 1
        return f"$v{self.vars}"

    # ---- data sources ------------------------------------------------------------------

    def source(self):
        """A data call and the type of its result."""
        k = self.r.randrange(100)
        if k < 40:
            q = self.pick(fx.SERVICE_QUERIES)
            name, _, filt = q.partition("|")
            if filt and self.chance(0.5):
                return f"service {quote(name)} {quote(filt)}", "hslist"
            return f"service {quote(q)}", "hslist"
        if k < 50:
            return self.pick(["services", 'services "@dc1"']), "snippets"
        if k < 58:
            return self.pick(["nodes", 'nodes "@dc1"']), "nodes"
        if k < 68:
            q = self.pick(fx.NODE_QUERIES)
            return (f"node {quote(q)}" if q else "node"), "cnode"
        if k < 85:
            f = self.pick(["ls", "tree", "safeLs", "tree", "ls"])
            return f"{f} {quote(self.pick(fx.LIST_PREFIXES))}", "pairs"
        if k < 95:
            key = self.pick(KEYS)
            f = self.pick(["key", "keyOrDefault", "keyExists", "key"])
            if f == "keyOrDefault":
                return f"keyOrDefault {quote(key)} {quote('dflt')}", "str"
            if f == "keyExists":
                return f"keyExists {quote(key)}", "bool"
            if key == "app/missing":
                key = "app/name"  # key of a missing key never renders: rare on purpose
            return f"key {quote(key)}", "str"
        return self.pick(["datacenters", "datacenters true"]), "strs"

    # ---- printing ----------------------------------------------------------------------

    def verb(self, t):
        verbs = ["%v", "%+v", "%#v", "%T", "%s", "%q", "%v", "%10v", "%-8v|"]
        if t in ("int", "uint"):
            verbs += ["%d", "%5d", "%-5d|", "%x", "%X", "%o", "%b", "%05d", "%+d", "%c", "%U", "%e", "%f"]
        elif t in ("str", "strs", "smap"):
            verbs += ["%x", "% x", "%X", "%q", "%-12s|", "%.3s", "%10.4q"]
        elif t == "float":
            verbs += ["%5.2f", "%e", "%g", "%.1f", "%8.3f", "%d"]
        elif t == "bool":
            verbs += ["%t", "%5t", "%d"]
        if t not in POINTERISH and self.chance(0.1):
            verbs.append("%d")
        return self.pick(verbs)

    def show(self, expr, t):
        """An action printing `expr` (type t) one way or another."""
        k = self.r.randrange(100)
        if k < 35:
            return "{{ %s }}" % expr
        if k < 65:
            return "{{ printf %s %s }}" % (quote(self.verb(t)), paren(expr))
        if k < 75:
            return "{{ %s | printf %s }}" % (expr, quote(self.verb(t) + " and %v"))
        if k < 85:
            f = self.pick(["toJSON", "toJSONPretty", "toYAML", "sprig_toJson", "sprig_toString",
                           "toUnescapedJSON", "sprig_kindOf", "sprig_typeOf", "print", "println", "len"])
            return "{{ %s | %s }}" % (expr, f)
        if k < 92:
            return "{{ with %s }}[{{ . }}]{{ else }}empty{{ end }}" % expr
        return "{{ if %s }}yes{{ else }}no{{ end }}" % expr

    # ---- bodies by the type of dot -------------------------------------------------------

    def body(self, t, depth):
        """A fragment for dot of type t."""
        if depth > 3 or self.chance(0.2):
            return self.show(".", t)
        if t in ELEM:
            return self.list_body(t, depth)
        if t in STRUCTS:
            return self.struct_body(t, depth)
        if t in ("smap", "saddrs", "hdr"):
            return self.map_body(t, depth)
        return self.scalar_body(".", t)

    def list_body(self, t, depth):
        e = ELEM[t]
        k = self.r.randrange(100)
        if k < 35:
            sep = self.pick([";", ",", "\n", " | ", ""])
            return "{{ range . }}%s%s{{ end }}" % (self.body(e, depth + 1), sep)
        if k < 50:
            i, v = self.var(), self.var()
            return "{{ range %s, %s := . }}{{ %s }}:%s;{{ else }}none{{ end }}" % (
                i, v, i, self.scalar_or_field(v, e))
        if k < 60:
            return "{{ with . }}{{ with index . %d }}%s{{ end }}{{ end }}" % (
                self.pick([0, 0, 1, 2]) if self.chance(0.9) else 9, self.body(e, depth + 1))
        if k < 66:
            return "{{ len . }}"
        if k < 72:
            a = self.pick([0, 1, 1, 2, 5])
            return "{{ with . }}{{ slice . %d }}{{ end }}" % a if self.chance(0.8) else "{{ slice . 1 2 }}"
        if k < 85:
            return self.list_helper(t, depth)
        return self.show(".", t)

    def scalar_or_field(self, v, e):
        if e in FIELDS:
            name, ft = self.pick(FIELDS[e])
            return "{{ %s.%s }}" % (v, name)
        return "{{ %s }}" % v

    def list_helper(self, t, depth):
        if t == "hslist":
            k = self.pick(["byTag", "byPort", "byMeta", "first", "toJSON", "contains", "byKey"])
            if k == "byTag":
                return "{{ range $t, $s := byTag . }}{{ $t }}=[{{ range $s }}{{ .ID }} {{ end }}]{{ end }}"
            if k == "byPort":
                return "{{ range $p, $s := byPort . }}{{ $p }}:{{ len $s }}({{ printf \"%T\" $p }});{{ end }}"
            if k == "byMeta":
                m = self.pick(["team", "version", "team,version", "shard|int", "nope"])
                return "{{ range $k, $s := byMeta %s . }}{{ $k }}={{ len $s }};{{ end }}" % quote(m)
            if k == "first":
                return "{{ %s }}" % self.pick(["sprig_first .", "sprig_last .", "sprig_rest . | len", "sprig_initial . | len", "sprig_reverse . | len"])
            if k == "byKey":
                return "{{ byKey . }}"  # an argument type error, as in consul-template
            if k == "contains":
                return "{{ contains \"web-1\" . }}"
            return "{{ toJSON . }}"
        if t == "pairs":
            k = self.pick(["byKey", "explode", "range", "toJSON", "tojson"])
            if k == "byKey":
                return "{{ range $top, $pairs := byKey . }}{{ $top }}:{{ range $k, $p := $pairs }}{{ $k }}={{ $p.Value }} {{ end }};{{ end }}"
            if k == "explode":
                return "{{ %s }}" % self.pick(["explode .", "explode . | toJSON", "explode . | toYAML", "(explode .).app", "index (explode .) \"config\""])
            if k == "range":
                return "{{ range . }}{{ .Key }}={{ .Value | %s }};{{ end }}" % self.string_func()
            return "{{ toJSONPretty . }}"
        if t == "strs":
            return "{{ %s }}" % self.pick([
                "join \",\" .", ". | join \"-\"", "sprig_join \";\" .", "sprig_sortAlpha .",
                "contains \"dc1\" .", "in . \"dc2\"", "sprig_has \"dc1\" .", "sprig_first .",
                "sprig_uniq .", "containsAll (sprig_list \"dc1\") .", "containsAny . \"x\"",
                "index . 0", "sprig_last . | toUpper", "toJSON .", "toYAML ."])
        if t == "snippets":
            return "{{ range $t, $s := byTag . }}{{ $t }}:{{ range $s }}{{ .Name }},{{ end }};{{ end }}"
        return "{{ toJSON . }}"

    def struct_body(self, t, depth):
        k = self.r.randrange(100)
        fields = FIELDS[t]
        if k < 45:
            parts = []
            for _ in range(self.r.randint(1, 3)):
                name, ft = self.pick(fields)
                parts.append(self.field_use("." + name, ft, depth))
            return " ".join(parts)
        if k < 65:
            name, ft = self.pick(fields)
            return "{{ with .%s }}%s{{ else }}-{{ end }}" % (name, self.body(ft, depth + 1))
        if k < 72:
            if self.chance(0.4):
                bad = self.pick(["Nope", "NodeDatacenter", "Kind", "Namespace", "Exists", "Meta", "Checks", "Port"])
                return "{{ .%s }}" % bad
            return "{{ printf \"%%T|%%v\" . . }}"
        if k < 80 and t == "check":
            return "{{ .Definition.Interval }} {{ .Definition.IntervalDuration }} {{ printf \"%v %d\" .Definition.TimeoutDuration .Definition.TimeoutDuration }}"
        if k < 85 and t == "hs":
            return "{{ .Checks.AggregatedStatus }} {{ len .Checks }}"
        if k < 90 and t == "cnode":
            return "{{ .Node.Node }} {{ range .Services }}{{ .Service }}:{{ .Port }} {{ end }}"
        return self.show(".", t)

    def field_use(self, path, ft, depth):
        if ft in ("smap", "saddrs", "hdr"):
            key = self.pick(MAP_KEYS[ft])
            return self.pick([
                "{{ %s.%s }}" % (path, key),
                "{{ index %s %s }}" % (path, quote(key)),
                "{{ %s }}" % path,
                "{{ printf \"%%q\" (index %s %s) }}" % (path, quote(key)),
                "{{ %s | toJSON }}" % path,
                "{{ len %s }}" % path,
            ])
        if ft in FIELDS:
            name, sub = self.pick(FIELDS[ft])
            return self.field_use(f"{path}.{name}", sub, depth)
        if ft in ELEM:
            return self.pick(["{{ len %s }}" % path, "{{ %s }}" % path,
                              "{{ range %s }}%s,{{ end }}" % (path, self.body(ELEM[ft], depth + 2)),
                              "{{ printf \"%%v|%%T\" %s %s }}" % (path, path)])
        return self.scalar_body(path, ft)

    def map_body(self, t, depth):
        k = self.r.randrange(100)
        key = self.pick(MAP_KEYS[t])
        if k < 30:
            return "{{ range $k, $v := . }}{{ $k }}=%s;{{ end }}" % (
                "{{ $v }}" if t != "saddrs" else "{{ $v.Address }}:{{ $v.Port }}")
        if k < 55:
            return "{{ .%s }}|{{ index . %s }}" % (key, quote(key))
        if k < 65:
            return "{{ if .%s }}has{{ else }}no{{ end }} {{ sprig_hasKey . %s }}" % (key, quote(key))
        if k < 75:
            return "{{ explodeMap . }}"
        return self.show(".", t)

    # ---- scalars -----------------------------------------------------------------------

    def string_func(self):
        return self.pick([
            "toUpper", "toLower", "toTitle", "trimSpace", "sha256Hex", "md5sum", "base64Encode",
            "base64URLEncode", "split \",\"", "replaceAll \"a\" \"A\"", "regexReplaceAll \"[0-9]+\" \"#\"",
            "regexMatch \"^[a-z]+$\"", "trim \"s\"", "trimPrefix \"ap\"", "trimSuffix \"e\"",
            "parseInt", "parseBool", "parseFloat", "parseJSON", "parseYAML", "splitToMap \",\" \"=\"",
            "sprig_upper", "sprig_title", "sprig_quote", "sprig_squote", "sprig_b64enc",
            "sprig_sha1sum", "sprig_sha256sum", "sprig_adler32sum", "sprig_trunc 3", "sprig_abbrev 6",
            "sprig_repeat 2", "sprig_nospace", "sprig_initials", "sprig_wrap 4", "sprig_substr 1 3",
            "sprig_splitList \"/\"", "sprig_replace \"e\" \"3\"", "sprig_plural \"one\" \"many\"",
            "sprig_contains \"a\"", "sprig_hasPrefix \"w\"", "sprig_regexFindAll \"[a-z]\" 2",
            "sprig_default \"dflt\"", "sprig_empty", "sprig_indent 2", "sprig_nindent 2",
            "sprig_b32enc", "sprig_toStrings", "sprig_atoi", "sprig_int64", "sprig_float64",
            "indent 2", "toJSON", "sprig_cat \"x\"", "sprig_base", "sprig_ext", "sprig_dir",
            "sprig_urlquery", "sprig_trimAll \"/\"",
        ])

    def scalar_body(self, expr, t):
        k = self.r.randrange(100)
        if k < 30:
            return self.show(expr, t)
        if t == "str":
            if k < 60:
                return "{{ %s | %s }}" % (expr, self.string_func())
            if k < 72:
                return "{{ if eq %s %s }}eq{{ else if ne %s \"\" }}ne{{ else }}empty{{ end }}" % (
                    expr, quote(self.pick(["web", "passing", "alpha", "10.0.0.1", ""])), expr)
            if k < 80:
                return "{{ %s | printf %s }}" % (expr, quote(self.pick(["%-10s|", "%10.3s|", "%q", "%x", "%5.1q"])))
            if k < 88:
                return "{{ range split %s %s }}[{{ . }}]{{ end }}" % (quote(self.pick([",", ".", "/", "0"])), expr)
            return "{{ if lt %s \"m\" }}lt{{ else }}ge{{ end }}" % expr
        if t in ("int", "uint"):
            n = self.pick(["1", "3", "0", "100", "-2", "2.5", "\"7\""])
            op = self.pick(["add", "subtract", "multiply", "divide", "modulo", "minimum", "maximum",
                            "sprig_add", "sprig_max", "sprig_mul", "sprig_add1"])
            if k < 60:
                if op == "sprig_add1":
                    return "{{ %s | sprig_add1 }}" % expr
                return "{{ %s %s %s }}" % (op, n, paren(expr))
            if k < 75:
                c = self.pick(["eq", "ne", "lt", "le", "gt", "ge"])
                return "{{ if %s %s %s }}T{{ else }}F{{ end }}" % (c, paren(expr), self.pick(["80", "0", "443", "1000", "5"]))
            return "{{ printf %s %s }}" % (quote(self.verb(t)), paren(expr))
        if t == "bool":
            return "{{ if %s }}on{{ else }}off{{ end }} {{ not %s }} {{ and %s 1 }} {{ or %s \"x\" }}" % (
                expr, paren(expr), paren(expr), paren(expr))
        return self.show(expr, t)

    # ---- whole templates ---------------------------------------------------------------

    def data_fragment(self):
        src, t = self.source()
        k = self.r.randrange(100)
        if k < 45:
            return "{{ with %s }}%s{{ end }}" % (src, self.body(t, 0)) if t not in ("str", "bool") \
                else self.scalar_body(paren(src), t)
        if k < 75:
            if t in ELEM:
                return "{{ range %s }}%s\n{{ end }}" % (src, self.body(ELEM[t], 1))
            return self.scalar_body(paren(src), t) if t in ("str", "bool") else self.show(src, t)
        if k < 88:
            v = self.var()
            return "{{ %s := %s }}%s" % (v, src, self.body(t, 1).replace("{{ . }}", "{{ %s }}" % v)
                                          if t in ("str", "bool") else
                                          "{{ with %s }}%s{{ end }}" % (v, self.body(t, 1)))
        return self.show(src, t)

    def helper_fragment(self):
        return self.pick([
            "{{ $s := scratch }}{{ $s.Set \"a\" %s }}{{ $s.Get \"a\" }} {{ $s.Key \"a\" }} {{ $s.Key \"b\" }}" % self.literal(),
            "{{ scratch.MapSet \"m\" \"b\" 2 }}{{ scratch.MapSet \"m\" \"a\" %s }}{{ scratch.MapValues \"m\" }}" % self.literal(),
            "{{ scratch.SetX \"x\" 1 }}{{ scratch.SetX \"x\" 2 }}{{ scratch.Get \"x\" }}{{ scratch.Get \"nope\" }}",
            "{{ range loop %d }}{{ . }},{{ end }}" % self.r.randint(0, 4),
            "{{ range $i := loop 2 %d }}{{ $i }};{{ end }}" % self.r.randint(2, 6),
            "{{ key \"app/json\" | parseJSON }}",
            "{{ with key \"app/json\" | parseJSON }}{{ .a }} {{ .b }} {{ .c.d }} {{ index .b 0 }} {{ printf \"%T %T\" .a .b }}{{ end }}",
            "{{ key \"app/list\" | parseJSON | toJSON }}",
            "{{ (key \"app/yaml\" | parseYAML).b }} {{ key \"app/yaml\" | parseYAML | printf \"%v\" }}",
            "{{ key \"app/kv\" | splitToMap \",\" \"=\" }} {{ (key \"app/kv\" | splitToMap \",\" \"=\").k9 }}",
            "{{ key \"app/flags\" | split \",\" | join \"+\" }} {{ key \"app/flags\" | split \",\" | printf \"%T %q\" }}",
            "{{ key \"app/num\" | parseInt | add 8 }} {{ key \"app/num\" | parseInt | printf \"%T\" }}",
            "{{ key \"app/float\" | parseFloat | multiply 2 }} {{ divide 4 (key \"app/num\" | parseInt) }}",
            "{{ key \"app/bool\" | parseBool }} {{ parseBool \"\" }}",
            "{{ key \"app/b64\" | base64Decode }} {{ base64URLDecode \"aGk_\" }}",
            "{{ key \"app/spaces\" | trimSpace | printf \"%q\" }}",
            "{{ key \"app/name\" | toUpper | sprig_repeat 2 }} {{ key \"app/name\" | sha256Hex }}",
            "{{ keyOrDefault \"app/empty\" \"fallback\" }} {{ keyOrDefault \"app/missing\" \"def\" }} {{ keyExists \"app/missing\" }} {{ keyExists \"app/empty\" }}",
            "{{ add 1 2 }} {{ subtract 1 2 }} {{ multiply 2 2.5 }} {{ divide 2 7 }} {{ modulo 3 7 }} {{ divide 2.0 7 }} {{ maximum 3 7 }} {{ minimum 2.5 (parseUint \"3\") }}",
            "{{ indent 4 \"a\\nb\\n\" }}{{ indent 0 \"x\" }}",
            "{{ toTitle \"hello wORLD\" }} {{ toLower \"ABC\" }} {{ \"a-b-c\" | replaceAll \"-\" \"_\" }}",
            "{{ regexMatch \"^a\" \"abc\" }}",
            "{{ regexReplaceAll \"(\\\\w+)@(\\\\w+)\" \"$2 at $1\" \"user@host\" }}",
            "{{ %s | toJSON }} {{ %s | toYAML }}" % (self.literal(), self.literal()),
            "{{ sprig_list 1 \"a\" 2.5 | toJSON }} {{ sprig_dict \"a\" 1 \"b\" \"x\" | toJSON }}",
            "{{ $d := sprig_dict \"k\" \"v\" }}{{ $d.k }} {{ $d.nope }} {{ sprig_get $d \"k\" }} {{ printf \"%T\" $d }}",
            "{{ sprig_ternary \"y\" \"n\" true }} {{ sprig_coalesce \"\" \"b\" }} {{ sprig_default 3 0 }}",
            "{{ sprig_until 3 }} {{ sprig_seq 1 3 }} {{ sprig_untilStep 0 6 2 }}",
            "{{ printf \"%5.2f|%-8s|%08.3f|%+d|%x|%X|%o|%q|%U\" 3.14159 \"ab\" 2.5 5 255 255 8 \"q\" 65 }}",
            "{{ printf \"%v %v\" 1 }} {{ printf \"%d\" \"x\" }} {{ printf \"%!\" }} {{ printf \"%s\" nil }} {{ printf \"%v\" 1 2 }}",
            "{{ index \"abc\" 1 }} {{ slice \"abcdef\" 1 3 }} {{ len \"héllo\" }} {{ index (sprig_list 1 2 3) 2 }}",
            "{{ html \"<a>\" }} {{ js \"it's\" }} {{ urlquery \"a b&c\" }} {{ print 1 2 \"x\" 3 }} {{ println \"a\" 1 }}",
            "{{ eq 1 1 2 }} {{ ne \"a\" \"b\" }} {{ le 2 2 }} {{ eq \"a\" \"b\" \"a\" }}",
            "{{ containsAll (sprig_list \"a\" \"b\") (split \",\" \"a,b,c\") }} {{ containsNone (sprig_list \"x\") \"abc\" }}",
            "{{ explodeMap (sprig_dict \"a/b\" 1 \"a/c\" 2 \"d\" 3) | toJSON }}",
            "{{ md5sum \"x\" }} {{ hmacSHA256Hex \"msg\" \"key\" }} {{ base64URLEncode \"?>?\" }}",
        ])

    def mix_fragment(self):
        """Typed values meeting Go's builtins, comparisons, sprig and printf together."""
        svc = quote(self.pick(["web", "web|any", "db|any", "v1.web", "consul", "nosuch"]))
        verb = self.pick(["%v", "%+v", "%#v", "%T", "%q", "%s", "%d", "%x", "%5v", "%-6v|"])
        return self.pick([
            "{{ range service %s }}{{ printf %s .Weights .ServiceTaggedAddresses .NodeMeta }};{{ end }}" % (svc, quote(" ".join([verb] * 3))),
            "{{ range service %s }}{{ if and (eq .Status \"passing\") (gt .Port 100) }}{{ .ID }}{{ else if lt .Weights.Passing 5 }}low{{ else }}{{ .Weights }}{{ end }};{{ end }}" % svc,
            "{{ range service %s }}{{ range .Checks }}{{ if eq .CreateIndex 5 }}serf{{ else }}{{ .CheckID }}@{{ .ModifyIndex }}{{ end }} {{ end }}{{ end }}" % svc,
            "{{ range service %s }}{{ with .ServiceTaggedAddresses.lan }}{{ .Address }}:{{ .Port }} {{ printf %s . }}{{ else with .NodeTaggedAddresses.wan }}wan {{ . }}{{ else }}none{{ end }};{{ end }}" % (svc, quote(verb)),
            "{{ range $p, $s := service %s | byPort }}{{ add $p 1 }} {{ printf \"%%T\" (add $p 1) }} {{ range $s }}{{ .ID }}{{ end }};{{ end }}" % svc,
            "{{ range $i, $s := service %s }}{{ if $i }}, {{ end }}{{ $s.Node }}={{ index $s.NodeMeta \"env\" | sprig_default \"none\" }}{{ end }}" % svc,
            "{{ $all := service %s }}{{ range $all }}{{ if eq .Node \"beta\" }}{{ continue }}{{ end }}{{ .ID }} {{ if ge .Port 8000 }}{{ break }}{{ end }}{{ end }}|{{ len $all }}" % svc,
            "{{ with service %s }}{{ $x := index . 0 }}{{ $x = \"replaced\" }}{{ $x }}{{ end }}" % svc,
            "{{ range service %s }}{{ sprig_toPrettyJson .Weights }} {{ sprig_toJson .ServiceMeta }} {{ .Tags | sprig_join \"+\" }} {{ sprig_keys .NodeTaggedAddresses }}{{ end }}" % svc,
            "{{ range service %s }}{{ sprig_list .ID .Port .Tags | printf %s }} {{ sprig_dict \"id\" .ID \"w\" .Weights | toJSON }}{{ end }}" % (svc, quote(verb)),
            "{{ range service %s }}{{ .Checks | toJSON }}{{ end }}" % svc,
            "{{ range service %s }}{{ printf \"%%v|%%s|%%d\" .Checks.AggregatedStatus .Status .Port }} {{ eq .Checks.AggregatedStatus .Status }}{{ end }}" % svc,
            "{{ range services }}{{ .Name }}:{{ if .Tags }}{{ index .Tags 0 }}{{ else }}-{{ end }}/{{ len .Tags }}/{{ printf %s .Tags }} {{ end }}" % quote(verb),
            "{{ range nodes }}{{ .Node }}{{ with .Meta.env }}({{ . }}){{ end }}{{ if eq .Meta.env \"prod\" \"dev\" }}!{{ end }} {{ end }}",
            "{{ with node %s }}{{ printf %s .Node }} {{ range .Services }}{{ printf %s . }} {{ end }}{{ end }}" % (
                quote(self.pick(["alpha", "beta", "delta", "nosuch"])), quote(verb), quote(verb)),
            "{{ range tree \"app\" }}{{ if sprig_hasSuffix \"json\" .Key }}{{ .Value | parseJSON | printf %s }}{{ end }}{{ end }}" % quote(verb),
            "{{ range ls \"team\" }}{{ printf %s .Value }}{{ printf \"%%d-%%d\" .CreateIndex .Flags }} {{ end }}" % quote(verb),
            "{{ $m := key \"app/kv\" | splitToMap \",\" \"=\" }}{{ range $k, $v := $m }}{{ $k }}={{ $v }} {{ end }}{{ $m.k1 }}{{ printf %s $m }}" % quote(verb),
            "{{ $l := key \"app/flags\" | split \",\" }}{{ index $l 1 }} {{ slice $l 1 }} {{ len $l }} {{ printf %s $l }} {{ $l | sprig_last }}" % quote(verb),
            "{{ with datacenters }}{{ printf %s . }} {{ index . 0 }}{{ end }} {{ datacenters | len }}" % quote(verb),
            "{{ printf %s (keyExists \"app/name\") }} {{ printf %s (key \"app/num\" | parseInt) }} {{ printf %s (key \"app/float\" | parseFloat) }}" % (quote(verb), quote(verb), quote(verb)),
        ])

    def sprig_typed_fragment(self):
        """sprig functions given consul-template's typed values."""
        svc = quote(self.pick(["web", "web|any", "db|any", "consul", "nosuch"]))
        call = self.pick([
            "sprig_first .Tags", "sprig_has \"v1\" .Tags", "sprig_uniq .Tags", "sprig_sortAlpha .Tags",
            "sprig_compact .Tags", "sprig_without .Tags \"v1\"", "sprig_append .Tags \"x\"",
            "sprig_prepend .Tags \"x\"", "sprig_concat .Tags (sprig_list 1)", "sprig_slice .Tags 0 1",
            "sprig_chunk 1 .Tags", "sprig_rest .Tags", "sprig_initial .Tags", "sprig_reverse .Tags",
            "sprig_typeOf .Tags", "sprig_kindOf .Tags", "sprig_typeOf .", "sprig_kindOf .",
            "sprig_typeOf .ServiceMeta", "sprig_typeIs \"int\" .Port", "sprig_deepEqual .Tags .Tags",
            "sprig_empty .ServiceMeta", "sprig_empty .ServiceTaggedAddresses", "sprig_toStrings .Tags",
            "sprig_join \",\" .Tags", "sprig_values .ServiceMeta", "sprig_pick .ServiceMeta \"team\"",
            "sprig_keys .ServiceMeta", "sprig_get .ServiceMeta \"team\"", "sprig_coalesce .ServiceMeta.team .ID",
            "sprig_ternary .ID .Node (eq .Port 80)", "sprig_int .Port", "sprig_int64 .Port", "sprig_float64 .Port",
            "sprig_atoi .ServiceMeta.shard", "sprig_max .Port 100", "sprig_min .Port 100 5", "sprig_add .Port 1",
            "sprig_add1 .Port", "sprig_mul .Port 2", "sprig_div .Port 3", "sprig_mod .Port 7", "sprig_sub .Port 1",
            "sprig_toString .Weights", "sprig_toString .Tags", "sprig_cat .ID .Port .Tags", "sprig_quote .Tags",
            "sprig_squote .Port", "sprig_b64enc .ID", "sprig_upper .Name", "sprig_repeat 2 .ID",
            "sprig_trunc 2 .Address", "sprig_splitList \".\" .Address", "sprig_regexSplit \"\\\\.\" .Address -1",
            "sprig_sha256sum .ID", "sprig_mustToJson .Weights", "sprig_toJson .Checks",
            "sprig_list .Weights .Tags | sprig_toJson", "sprig_dig \"team\" \"none\" .ServiceMeta",
            "sprig_dig \"a\" \"team\" \"none\" (sprig_dict \"a\" (sprig_dict \"team\" .ID))",
            "sprig_default \"x\" .ServiceMeta.nope", "sprig_len .Tags", "sprig_pluck \"a\" (sprig_dict \"a\" .Port)",
            "sprig_toPrettyJson .ServiceTaggedAddresses", "sprig_fromJson \"{}\"", "sprig_atoi .ID",
            "sprig_nospace .Output", "sprig_indent 2 .ID", "sprig_title .Status", "sprig_contains \"web\" .ID",
        ])
        return "{{ range service %s }}{{ %s }};{{ end }}" % (svc, call)

    def literal(self):
        return self.pick(["1", "\"s\"", "2.5", "true", "\"\"", "(sprig_list 1 2)",
                          "(sprig_dict \"a\" 1)", "(split \",\" \"x,y\")", "-3", "1e3", "'a'", "0x1F"])

    def error_fragment(self):
        # Go 1.24's range over an integer: consul-template v0.42.1 (Go 1.23) refuses it,
        # ctmpl follows Go 1.24 — the documented difference.
        go124 = ["{{ range 3 }}{{ . }}{{ end }}", "{{ range $i := 2 }}{{ $i }},{{ end }}"]
        if self.documented and self.chance(0.03):
            return self.pick(go124)
        return self.pick([
            "{{ service \"we b\" }}", "{{ service \"web|bogus\" }}", "{{ nodes \"x\" }}",
            "{{ node \"@dc1\" }}", "{{ ls \"@dc1\" }}", "{{ datacenters \"x\" }}",
            "{{ datacenters true false }}", "{{ key 1 }}", "{{ toUpper 3 }}", "{{ nosuchfunc 1 }}",
            "{{ .Foo", "{{ if }}x{{ end }}", "{{ range service \"web\" }}", "{{ end }}",
            "{{ with service \"web\" }}{{ .Name }}{{ end }}", "{{ (index (service \"web\") 0).Name }}",
            "{{ range service \"web\" }}{{ .Nope.X }}{{ end }}", "{{ range nodes }}{{ .Meta.env.x }}{{ end }}",
            "{{ with node \"nosuch\" }}{{ .Node }}{{ else }}none{{ end }}{{ (node \"nosuch\").Node }}",
            "{{ $x := 1 }}{{ $x.Foo }}", "{{ $y }}", "{{ len 3 }}", "{{ index 1 2 }}",
            "{{ slice (service \"web\") 2 1 }}", "{{ parseInt \"x1\" }}", "{{ parseFloat \"1.2.3\" }}",
            "{{ parseJSON \"{bad\" }}", "{{ parseYAML \"a: [\" }}", "{{ toJSON (parseYAML \"a:\\n  b: c\") }}", "{{ regexMatch \"(\" \"x\" }}", "{{ indent -1 \"x\" }}", "{{ parseBool \"nope\" }}", "{{ base64Decode \"!!\" }}", "{{ maximum 3 \"a\" }}", "{{ eq \"a\" 1 }}", "{{ lt 1.5 2 }}", "{{ index (sprig_list 1 2 3) 5 }}", "{{ containsAll (split \",\" \"a,b\") \"a\" }}",
            "{{ join \",\" \"ab\" }}", "{{ split 1 \"a\" }}", "{{ explodeMap (key \"app/kv\" | splitToMap \",\" \"=\") }}",
            "{{ byPort (services) }}", "{{ byTag \"x\" }}", "{{ add \"a\" 1 }}", "{{ modulo 2.5 3 }}",
            "{{ divide 0 1 }}", "{{ printf }}", "{{ template \"x\" }}", "{{ define \"t\" }}a{{ end }}{{ template \"t\" }}",
            "{{ break }}", "{{ range $i, $e := services }}{{ if eq $i 1 }}{{ break }}{{ end }}{{ $e.Name }}{{ end }}",
            "{{ range services }}{{ continue }}{{ end }}ok", "{{ \"unterminated }}", "{{ 1 | }}",
            "{{ (1) 2 }}", "{{ nil }}", "{{ call 1 }}", "{{ and }}", "{{ index (service \"web|any\") -1 }}",
            "{{ sprig_fail \"boom\" }}", "{{ sprig_mustFirst (sprig_list) }}", "{{ sprig_required \"need\" \"\" }}",
            "{{ sprig_env \"HOME\" }}", "{{ sprig_now }}", "{{ containsAll (split \",\" \"a\") (split \",\" \"a\") }}",
        ])

    def template(self):
        parts = []
        for _ in range(self.r.randint(1, 3)):
            k = self.r.randrange(100)
            if k < 45:
                parts.append(self.data_fragment())
            elif k < 60:
                parts.append(self.mix_fragment())
            elif k < 70:
                parts.append(self.sprig_typed_fragment())
            elif k < 93:
                parts.append(self.helper_fragment())
            else:
                parts.append(self.error_fragment())
        seps = ["\n", " ", "", "\n---\n", " | "]
        out = self.pick(seps).join(parts)
        if self.chance(0.15):
            out = "{{/* case */}}" + out.replace("{{ ", "{{- ", 1)
        if self.chance(0.3):
            out += "\n"
        return out


def paren(expr):
    return expr if " " not in expr.strip() or expr.startswith("(") else f"({expr})"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--out", required=True)
    ap.add_argument("--no-documented", action="store_true",
                    help="leave out the documented Go-version differences (for committed goldens)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "fixture.json"), "w") as f:
        json.dump(fx.build(), f, indent=1, sort_keys=True)
        f.write("\n")
    g = Gen(random.Random(a.seed), documented=not a.no_documented)
    for i in range(a.count):
        g.vars = 0
        with open(os.path.join(a.out, f"h{a.seed}_{i:04d}.tmpl"), "w") as f:
            f.write(g.template())


if __name__ == "__main__":
    main()
