//! consul-template's typed values, against goldens written by consul-template's own types:
//! every `tests/ct-golden/NAME.tmpl` renders through ctmpl's template layer with the data of
//! `NAME.fixture.json` (or the shared `fixture.json`) and must give the bytes of `NAME.out`, or
//! the error of `NAME.err` with the exit status of `NAME.code`. The goldens come from
//! `tools/ct-typed-oracle` (Go's text/template over structs declared as consul-template v0.42.1
//! declares them); `tests/ct-golden/regen.sh` rewrites them.
//!
//! The fixture holds what consul-template's dependencies fetched. Each entry is turned back into
//! the Consul HTTP answer it came from and goes through ctmpl's real decoding
//! (`Dep::decode`), so the values templates see are built by the same code as in a run.
//! Execution follows consul-template's passes, as the oracle does: pass 1 has no data, each
//! later pass has every datum asked for before; an error in any pass is final; a template
//! that only waits for data that never comes is status 75.
//!
//! `tests/ct-golden/heldout/` is a committed sample of the held-out generator
//! (`tools/ct-heldout`) with its own fixture; `heldout_render_dir` is the ctmpl half of
//! that tool's agreement measurement.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use ctmpl::dependency::Dep;
use ctmpl::template::{Brain, Template, TemplateConfig};
use regex::Regex;
use serde_json::{json, Value as Json};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ct-golden")
}

/// What one case gave: the output, or the exit status and error line.
#[derive(Debug, PartialEq)]
enum Outcome {
    Rendered(String),
    Failed(i32, String),
}

/// Fixture entries by the canonical string of the dependency they answer.
struct Fixture {
    answers: HashMap<String, (Dep, Json)>,
}

impl Fixture {
    fn load(path: &Path) -> Fixture {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        let entries: serde_json::Map<String, Json> =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        let mut answers = HashMap::new();
        for (call, data) in entries {
            for dep in deps_of_call(&call) {
                answers.insert(dep.key(), (dep, data.clone()));
            }
        }
        Fixture { answers }
    }

    /// The data for `dep` as the template layer holds it; `None` inside when it never arrives.
    fn answer(&self, dep: &Dep) -> Result<Option<ctmpl::gotmpl::Value>, String> {
        let (dep, data) = self
            .answers
            .get(&dep.key())
            .ok_or_else(|| format!("the fixture has no entry for {}", dep.key()))?;
        let (status, body) = http_answer(dep, data);
        dep.decode(status, body.as_bytes())
    }
}

/// The dependencies a fixture key answers (`service web|any`, `key app/x`, `ls app/`, ...).
fn deps_of_call(call: &str) -> Vec<Dep> {
    let (func, arg) = call.split_once(' ').unwrap_or((call, ""));
    let deps = match func {
        "service" => vec![Dep::health_service(&arg.split('|').collect::<Vec<_>>())],
        "services" => vec![Dep::catalog_services(arg)],
        "node" => vec![Dep::catalog_node(arg)],
        "nodes" => vec![Dep::catalog_nodes(arg)],
        "key" => vec![Dep::kv(arg, true), Dep::kv(arg, false)],
        "ls" => vec![Dep::kv_list(arg, false), Dep::kv_list(arg, true)],
        "datacenters" if arg.is_empty() => vec![Ok(Dep::Datacenters)],
        _ => vec![],
    };
    deps.into_iter()
        .map(|d| d.unwrap_or_else(|e| panic!("fixture key {call:?}: {e}")))
        .collect()
}

fn or_empty_object(v: &Json) -> Json {
    if v.is_null() {
        json!({})
    } else {
        v.clone()
    }
}

fn or_empty_array(v: &Json) -> Json {
    if v.is_null() {
        json!([])
    } else {
        v.clone()
    }
}

fn field<'a>(v: &'a Json, name: &str) -> &'a Json {
    v.get(name).unwrap_or(&Json::Null)
}

/// A `dependency.Node` back as Consul's catalog node.
fn consul_node(n: &Json) -> Json {
    json!({
        "ID": field(n, "ID"), "Node": field(n, "Node"), "Address": field(n, "Address"),
        "Datacenter": field(n, "Datacenter"),
        "TaggedAddresses": or_empty_object(field(n, "TaggedAddresses")),
        "Meta": or_empty_object(field(n, "Meta")),
    })
}

/// An `api.HealthCheck` back as Consul's JSON (null tags are `[]`, as Consul sends them).
fn consul_check(c: &Json) -> Json {
    let mut c = c.clone();
    if let Some(obj) = c.as_object_mut() {
        let tags = or_empty_array(obj.get("ServiceTags").unwrap_or(&Json::Null));
        obj.insert("ServiceTags".into(), tags);
        obj.remove("Definition")
            .map(|d| obj.insert("Definition".into(), or_empty_object(&d)));
    }
    c
}

/// The HTTP status and body Consul answered for the data a fixture entry holds.
fn http_answer(dep: &Dep, data: &Json) -> (u16, String) {
    let empty_list = Vec::new();
    let items = data.as_array().unwrap_or(&empty_list);
    let body = match dep {
        Dep::HealthService(_) => Json::Array(
            items
                .iter()
                .map(|s| {
                    json!({
                        "Node": {
                            "ID": field(s, "NodeID"), "Node": field(s, "Node"),
                            "Address": field(s, "NodeAddress"),
                            "TaggedAddresses": or_empty_object(field(s, "NodeTaggedAddresses")),
                            "Meta": or_empty_object(field(s, "NodeMeta")),
                        },
                        "Service": {
                            "ID": field(s, "ID"), "Service": field(s, "Name"),
                            "Tags": or_empty_array(field(s, "Tags")),
                            "Address": field(s, "Address"),
                            "Meta": or_empty_object(field(s, "ServiceMeta")),
                            "Port": field(s, "Port"),
                            "Weights": field(s, "Weights"),
                            "TaggedAddresses": or_empty_object(field(s, "ServiceTaggedAddresses")),
                        },
                        "Checks": or_empty_array(field(s, "Checks"))
                            .as_array().unwrap_or(&empty_list).iter().map(consul_check)
                            .collect::<Vec<_>>(),
                    })
                })
                .collect(),
        ),
        Dep::CatalogServices { .. } => Json::Object(
            items
                .iter()
                .map(|s| {
                    let name = field(s, "Name").as_str().unwrap_or_default().to_string();
                    (name, or_empty_array(field(s, "Tags")))
                })
                .collect(),
        ),
        Dep::CatalogNode { .. } => match data.get("Node") {
            None | Some(Json::Null) => Json::Null,
            Some(node) => {
                let services: serde_json::Map<String, Json> = field(data, "Services")
                    .as_array()
                    .unwrap_or(&empty_list)
                    .iter()
                    .map(|s| {
                        let mut s = s.clone();
                        s["Meta"] = or_empty_object(field(&s, "Meta"));
                        s["Tags"] = or_empty_array(field(&s, "Tags"));
                        let id = field(&s, "ID").as_str().unwrap_or_default().to_string();
                        (id, s)
                    })
                    .collect();
                json!({ "Node": consul_node(node), "Services": services })
            }
        },
        Dep::CatalogNodes { .. } => Json::Array(items.iter().map(consul_node).collect()),
        Dep::KvBlock { key, .. } | Dep::KvGet { key, .. } => match data.as_str() {
            None => return (404, String::new()),
            Some(v) => json!([{ "Key": key, "Value": b64(v) }]),
        },
        Dep::KvList { .. } => Json::Array(
            items
                .iter()
                .map(|p| {
                    json!({
                        "Key": field(p, "Path"),
                        "Value": b64(field(p, "Value").as_str().unwrap_or_default()),
                        "CreateIndex": field(p, "CreateIndex").as_u64().unwrap_or(0),
                        "ModifyIndex": field(p, "ModifyIndex").as_u64().unwrap_or(0),
                        "LockIndex": field(p, "LockIndex").as_u64().unwrap_or(0),
                        "Flags": field(p, "Flags").as_u64().unwrap_or(0),
                        "Session": field(p, "Session").as_str().unwrap_or_default(),
                    })
                })
                .collect(),
        ),
        Dep::Datacenters => data.clone(),
        Dep::File(_) => unreachable!("fixtures hold no files"),
    };
    (200, body.to_string())
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// Renders as consul-template does: pass after pass until nothing is missing.
fn render(source: &str, text: &[u8], fixture: &Fixture) -> Result<Outcome, String> {
    let tmpl = match Template::new(TemplateConfig {
        name: String::new(),
        source: source.to_string(),
        text: text.to_vec(),
        ..Default::default()
    }) {
        Ok(t) => t,
        Err(e) => return Ok(Outcome::Failed(14, e)),
    };
    let mut brain = Brain::default();
    loop {
        let rendered = match tmpl.execute(Arc::new(brain.clone())) {
            Ok(r) => r,
            Err(e) => return Ok(Outcome::Failed(14, e)),
        };
        if rendered.missing.is_empty() {
            return Ok(Outcome::Rendered(
                String::from_utf8_lossy(&rendered.output).into(),
            ));
        }
        let mut arrived = false;
        for dep in &rendered.missing {
            if brain.get(dep.key()).is_some() {
                continue; // here, but not an answer yet (an empty `safeLs`)
            }
            if let Some(data) = fixture.answer(dep.dep())? {
                brain.remember(dep.key().to_string(), data);
                arrived = true;
            }
        }
        if !arrived {
            return Ok(Outcome::Failed(75, String::new()));
        }
    }
}

/// The golden outcome: the oracle's error line whole, `NAME.tmpl: parse: ` /
/// `NAME.tmpl: execute: ` as consul-template's runner words it included.
fn expected(dir: &Path, name: &str) -> Outcome {
    let read = |ext: &str| std::fs::read_to_string(dir.join(format!("{name}.{ext}"))).ok();
    if let Some(out) = read("out") {
        return Outcome::Rendered(out);
    }
    let code: i32 = read("code")
        .unwrap_or_else(|| panic!("{name}: neither .out nor .code"))
        .trim()
        .parse()
        .unwrap();
    let err = read("err").unwrap_or_default();
    let err = if code == 75 {
        String::new()
    } else {
        err.trim_end().to_string()
    };
    Outcome::Failed(code, err)
}

/// Heap addresses differ per run in Go; ctmpl prints one fixed address.
fn mask_addresses(o: Outcome) -> Outcome {
    let re = Regex::new(r"0xc[0-9a-f]{6,}").unwrap();
    let mask = |s: &str| re.replace_all(s, "0xADDR").into_owned();
    match o {
        Outcome::Rendered(s) => Outcome::Rendered(mask(&s)),
        Outcome::Failed(c, s) => Outcome::Failed(c, mask(&s)),
    }
}

/// The cases of `dir`: every `NAME.tmpl`, sorted by name.
fn case_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir:?}: {e}"))
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".tmpl").map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

/// Renders one case of `dir` with its own fixture or `shared`.
fn render_case(dir: &Path, name: &str, shared: &Fixture) -> Result<Outcome, String> {
    let own = dir.join(format!("{name}.fixture.json"));
    let own = own.exists().then(|| Fixture::load(&own));
    let text =
        std::fs::read(dir.join(format!("{name}.tmpl"))).map_err(|e| format!("{name}: {e}"))?;
    render(
        &format!("{name}.tmpl"),
        &text,
        own.as_ref().unwrap_or(shared),
    )
}

/// Every case of `dir` against its golden; at least `min_cases` of them.
fn check_golden_dir(dir: &Path, min_cases: usize) {
    let shared = Fixture::load(&dir.join("fixture.json"));
    let names = case_names(dir);
    assert!(names.len() >= min_cases, "only {} cases", names.len());
    let mut failures = Vec::new();
    for name in &names {
        let got = render_case(dir, name, &shared).unwrap_or_else(|e| panic!("{name}: {e}"));
        let want = expected(dir, name);
        let (got, want) = (mask_addresses(got), mask_addresses(want));
        if got != want {
            failures.push(format!("{name}:\n  want {want:?}\n  got  {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}

#[test]
fn typed_values_match_consul_template() {
    check_golden_dir(&golden_dir(), 100);
}

/// The committed sample of held-out generated templates (`tools/ct-heldout`), with goldens
/// from the typed oracle, so the measurement's cases keep agreeing without Go.
#[test]
fn heldout_sample_matches_consul_template() {
    check_golden_dir(&golden_dir().join("heldout"), 250);
}

/// The ctmpl half of `tools/ct-heldout/measure.py`: renders every case of `$CT_HELDOUT_DIR`
/// in this one process and writes `NAME.ctmpl.json` (`{"code": 0, "text": output}` or the
/// exit status and error line; status 3 when the fixture cannot answer, 101 on a panic).
/// The script compares them with the oracle's answers.
#[test]
#[ignore = "run by tools/ct-heldout/measure.py with CT_HELDOUT_DIR set"]
fn heldout_render_dir() {
    let Some(dir) = std::env::var_os("CT_HELDOUT_DIR") else {
        panic!("CT_HELDOUT_DIR is not set");
    };
    let dir = PathBuf::from(dir);
    let shared = Fixture::load(&dir.join("fixture.json"));
    for name in case_names(&dir) {
        let outcome = std::panic::catch_unwind(|| render_case(&dir, &name, &shared));
        let (code, text) = match outcome {
            Ok(Ok(Outcome::Rendered(out))) => (0, out),
            Ok(Ok(Outcome::Failed(code, err))) => (code, err),
            Ok(Err(e)) => (3, e),
            Err(panic) => (101, panic_text(&panic)),
        };
        let result = json!({ "code": code, "text": text }).to_string();
        std::fs::write(dir.join(format!("{name}.ctmpl.json")), result).unwrap();
    }
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panic".into())
}
