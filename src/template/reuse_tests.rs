//! Reuse across executions (gotmpl's memo through the template layer) is invisible: a template
//! re-executed as data change gives, byte for byte, what a fresh template gives for the same
//! brain, while reusing the iterations whose data did not move. The brain is filled as the
//! runner fills it: only a dependency whose answer changed gets a newly decoded value.

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;
use serde_json::json;

use super::{Brain, Template, TemplateConfig};
use crate::dependency::Dep;

/// A catalog: service name → instances (address, port, tags).
type Catalog = BTreeMap<String, Vec<Instance>>;

#[derive(Clone, Debug, PartialEq)]
struct Instance {
    address: String,
    port: i64,
    tags: Vec<String>,
}

/// The brain as the runner keeps it: each dependency's last answer body, and its decoded data.
struct World {
    brain: Brain,
    bodies: BTreeMap<String, Vec<u8>>,
}

impl World {
    fn new() -> World {
        World {
            brain: Brain::default(),
            bodies: BTreeMap::new(),
        }
    }

    /// Answers `dep` with `body`, as a view would: a body equal to the last is no update.
    fn answer(&mut self, dep: &Dep, status: u16, body: Vec<u8>) {
        let key = dep.key();
        if self.bodies.get(&key) == Some(&body) {
            return;
        }
        if let Some(data) = dep.decode(status, &body).expect("decodes") {
            self.brain.remember(key.clone(), data);
        }
        self.bodies.insert(key, body);
    }

    /// The catalog's answers: `catalog.services` and every service's `health.service`.
    fn publish(&mut self, catalog: &Catalog) {
        let names: BTreeMap<&str, Vec<&str>> = catalog
            .iter()
            .map(|(name, insts)| {
                let mut tags: Vec<&str> = insts
                    .iter()
                    .flat_map(|i| i.tags.iter().map(String::as_str))
                    .collect();
                tags.sort();
                tags.dedup();
                (name.as_str(), tags)
            })
            .collect();
        let services = Dep::catalog_services("").unwrap();
        self.answer(&services, 200, serde_json::to_vec(&names).unwrap());
        for name in ALL_NAMES {
            let entries: Vec<serde_json::Value> = catalog
                .get(*name)
                .into_iter()
                .flatten()
                .enumerate()
                .map(|(n, i)| {
                    json!({
                        "Node": {"Node": format!("node-{n}"), "Address": "10.0.0.1"},
                        "Service": {"ID": format!("{name}-{n}"), "Service": name,
                                    "Address": i.address, "Port": i.port, "Tags": i.tags},
                        "Checks": [],
                    })
                })
                .collect();
            let dep = Dep::health_service(&[name]).unwrap();
            self.answer(&dep, 200, serde_json::to_vec(&entries).unwrap());
        }
    }

    fn set_key(&mut self, key: &str, value: Option<&str>) {
        let dep = Dep::kv(key, true).unwrap();
        match value {
            Some(v) => {
                use base64::Engine;
                let b64 = base64::engine::general_purpose::STANDARD.encode(v);
                let body = json!([{"Key": key, "Value": b64}]);
                self.answer(&dep, 200, serde_json::to_vec(&body).unwrap());
            }
            None => self.answer(&dep, 404, Vec::new()),
        }
        // `keyOrDefault` asks without blocking: the same key's other dependency.
        let get = Dep::kv(key, false).unwrap();
        match value {
            Some(v) => {
                use base64::Engine;
                let b64 = base64::engine::general_purpose::STANDARD.encode(v);
                let body = json!([{"Key": key, "Value": b64}]);
                self.answer(&get, 200, serde_json::to_vec(&body).unwrap());
            }
            None => self.answer(&get, 404, Vec::new()),
        }
    }

    fn snapshot(&self) -> Arc<Brain> {
        Arc::new(self.brain.clone())
    }
}

const ALL_NAMES: &[&str] = &["api", "cache", "db", "edge", "queue", "web"];

fn template(text: &str) -> Template {
    Template::new(TemplateConfig {
        name: "t".into(),
        text: text.as_bytes().to_vec(),
        ..Default::default()
    })
    .unwrap()
}

/// The seed's nginx template, with an outer variable read in the body (`$suffix`) and a
/// Consul lookup inside it (`keyOrDefault`), `continue` and `else`.
const NGINX: &str = r#"{{$suffix := key "suffix"}}{{range services}}{{$name := .Name}}{{$service := service .Name}}
upstream {{$name}} {
  {{range $i, $s := $service}}{{if eq $s.Port 0}}{{continue}}{{end}}server {{.Address}}:{{.Port}} {{.Tags}} weight={{keyOrDefault (printf "weight/%s" $name) "1"}}{{$suffix}};
  {{else}}server 127.0.0.1:65535; # none{{end}}
}{{end}}
"#;

/// Bodies that must never be reused: an outer variable assigned in the body, the scratch pad,
/// and a template call with `break`.
const EFFECTS: &str = r#"{{$n := 0}}{{range services}}{{$n = add $n (len (service .Name))}}{{end}}total {{$n}}
{{scratch.Set "sx" (key "sx")}}{{range services}}{{.Name}}={{scratch.Get "sx"}} {{end}}
{{range services}}{{if .Tags.Contains "stop"}}{{break}}{{end}}{{template "svc" .}}{{end}}
{{define "svc"}}{{.Name}}:{{range service .Name}}{{.Port}},{{end}} {{end}}"#;

fn catalog(entries: &[(&str, &[(&str, i64)])]) -> Catalog {
    entries
        .iter()
        .map(|(name, insts)| {
            let insts = insts
                .iter()
                .map(|(addr, port)| Instance {
                    address: addr.to_string(),
                    port: *port,
                    tags: vec!["http".into()],
                })
                .collect();
            (name.to_string(), insts)
        })
        .collect()
}

fn render(t: &Template, brain: Arc<Brain>) -> String {
    let r = t.execute(brain).expect("renders");
    assert!(r.missing.is_empty(), "missing {:?}", r.missing);
    let text = String::from_utf8(r.output.clone()).unwrap();
    // As the runner does: the output goes back for the next execution to write into.
    t.recycle(r.output);
    text
}

/// The keys of what an execution used, in first-use order.
fn keys_used(r: &super::Rendered) -> Vec<String> {
    r.used.iter().map(|d| d.key().to_string()).collect()
}

/// What a template that never executed before gives for `brain`.
fn fresh(text: &str, brain: Arc<Brain>) -> String {
    render(&template(text), brain)
}

fn world(c: &Catalog) -> World {
    let mut w = World::new();
    w.set_key("suffix", Some(""));
    w.set_key("sx", Some("a"));
    for name in ALL_NAMES {
        w.set_key(&format!("weight/{name}"), None);
    }
    w.publish(c);
    w
}

#[test]
fn a_change_inside_one_service_shows_and_the_rest_is_reused() {
    let mut c = catalog(&[
        ("api", &[("10.1.0.1", 80), ("10.1.0.2", 80)]),
        ("db", &[("10.2.0.1", 5432)]),
        ("web", &[("10.3.0.1", 8080), ("10.3.0.2", 0)]),
    ]);
    let mut w = world(&c);
    let t = template(NGINX);
    let first = render(&t, w.snapshot());
    assert_eq!(first, fresh(NGINX, w.snapshot()));
    let before = t.memo_stats();

    c.get_mut("db").unwrap()[0].address = "10.2.9.9".into();
    w.publish(&c);
    let second = render(&t, w.snapshot());
    assert!(second.contains("server 10.2.9.9:5432"), "{second}");
    assert!(!second.contains("10.2.0.1"), "{second}");
    assert_eq!(second, fresh(NGINX, w.snapshot()));
    let after = t.memo_stats();
    // Of the three services, two were reused whole; db's body and its instance were walked.
    assert_eq!(after.reused - before.reused, 2, "{after:?}");
    assert_eq!(after.recorded - before.recorded, 2, "{after:?}");

    // Nothing changed: everything reused, nothing walked.
    let third = render(&t, w.snapshot());
    assert_eq!(third, second);
    let last = t.memo_stats();
    assert_eq!(
        (last.reused - after.reused, last.recorded - after.recorded),
        (3, 0)
    );
}

/// Reads remember the brain's slot they found; once the brain is compacted (dependencies no
/// longer used dropped, the others moved), they still read the right data.
#[test]
fn reads_after_the_brain_is_compacted_find_their_data() {
    let mut c = catalog(&[("api", &[("10.1.0.1", 80)]), ("db", &[("10.2.0.1", 5432)])]);
    let mut w = world(&c);
    let t = template(NGINX);
    let first = t.execute(w.snapshot()).unwrap();
    // Unchanged, the last execution's dependency list itself is handed on.
    let second = t.execute(w.snapshot()).unwrap();
    assert!(Arc::ptr_eq(&first.used, &second.used));
    // Drop what the template does not read (the services not in the catalog), as the runner
    // does: the slots of what it reads move.
    let used: std::collections::HashSet<String> = keys_used(&second).into_iter().collect();
    let before = w.brain.len();
    w.brain.retain(&used);
    assert!(w.brain.len() < before);
    c.get_mut("db").unwrap()[0].port = 6432;
    w.publish(&c);
    let third = t.execute(w.snapshot()).unwrap();
    let out = String::from_utf8(third.output.clone()).unwrap();
    assert!(out.contains("10.2.0.1:6432"), "{out}");
    assert_eq!(out, fresh(NGINX, w.snapshot()));
    assert_eq!(keys_used(&third), keys_used(&second));
}

/// The next execution writes into the buffer given back, not into a new one; what it held
/// does not leak into the output.
#[test]
fn a_recycled_output_buffer_is_written_into_again() {
    let mut c = catalog(&[("api", &[("10.1.0.1", 80)]), ("db", &[("10.2.0.1", 5432)])]);
    let mut w = world(&c);
    let t = template(NGINX);
    let first = t.execute(w.snapshot()).unwrap().output;
    let buffer = first.as_ptr();
    t.recycle(first);
    c.get_mut("db").unwrap()[0].port = 6432;
    w.publish(&c);
    let second = t.execute(w.snapshot()).unwrap().output;
    assert_eq!(second.as_ptr(), buffer, "the recycled buffer");
    assert_eq!(
        String::from_utf8(second).unwrap(),
        fresh(NGINX, w.snapshot())
    );
}

#[test]
fn an_outer_variable_or_a_lookup_in_the_body_invalidates() {
    let c = catalog(&[("api", &[("10.1.0.1", 80)]), ("db", &[("10.2.0.1", 5432)])]);
    let mut w = world(&c);
    let t = template(NGINX);
    render(&t, w.snapshot());
    // `$suffix` is declared outside the range and read in every body.
    w.set_key("suffix", Some(" # changed"));
    let out = render(&t, w.snapshot());
    assert_eq!(out.matches(" # changed;").count(), 2, "{out}");
    assert_eq!(out, fresh(NGINX, w.snapshot()));
    // `keyOrDefault "weight/db"`, looked up inside db's body only.
    w.set_key("weight/db", Some("5"));
    let out = render(&t, w.snapshot());
    assert!(out.contains("5432 [http] weight=5"), "{out}");
    assert!(out.contains(":80 [http] weight=1"), "{out}");
    assert_eq!(out, fresh(NGINX, w.snapshot()));
}

#[test]
fn bodies_with_effects_are_walked_every_time() {
    let mut c = catalog(&[("api", &[("10.1.0.1", 80)]), ("db", &[("10.2.0.1", 5432)])]);
    let mut w = world(&c);
    let t = template(EFFECTS);
    let first = render(&t, w.snapshot());
    assert!(first.starts_with("total 2\n"), "{first}");
    assert!(first.contains("api=a db=a \n"), "{first}");
    // The scratch value comes from a key outside the body: a change must show.
    w.set_key("sx", Some("b"));
    let out = render(&t, w.snapshot());
    assert!(out.contains("api=b db=b"), "{out}");
    assert!(out.starts_with("total 2\n"), "{out}");
    assert_eq!(out, fresh(EFFECTS, w.snapshot()));
    // The assignment to `$n` must happen for every service, reused or not.
    c.insert("web".into(), c["api"].clone());
    w.publish(&c);
    let out = render(&t, w.snapshot());
    assert!(out.starts_with("total 3\n"), "{out}");
    assert_eq!(out, fresh(EFFECTS, w.snapshot()));
    // `break` on a tag: a reused body must still stop the range.
    c.get_mut("db").unwrap()[0].tags.push("stop".into());
    w.publish(&c);
    let out = render(&t, w.snapshot());
    assert!(out.trim_end().ends_with("api:80,"), "{out}");
    assert_eq!(out, fresh(EFFECTS, w.snapshot()));
}

/// One step of a random history.
#[derive(Clone, Debug)]
enum Change {
    AddService(usize),
    RemoveService(usize),
    MoveInstance(usize, usize, u8),
    AddInstance(usize, u8),
    RemoveInstance(usize),
    TagInstance(usize, bool),
    SetKey(usize, Option<u8>),
    Nothing,
}

fn change() -> impl Strategy<Value = Change> {
    let svc = 0..ALL_NAMES.len();
    prop_oneof![
        svc.clone().prop_map(Change::AddService),
        svc.clone().prop_map(Change::RemoveService),
        (svc.clone(), 0..3usize, any::<u8>()).prop_map(|(s, i, p)| Change::MoveInstance(s, i, p)),
        (svc.clone(), any::<u8>()).prop_map(|(s, p)| Change::AddInstance(s, p)),
        svc.clone().prop_map(Change::RemoveInstance),
        (svc.clone(), any::<bool>()).prop_map(|(s, stop)| Change::TagInstance(s, stop)),
        (0..4usize, proptest::option::of(0..3u8)).prop_map(|(k, v)| Change::SetKey(k, v)),
        Just(Change::Nothing),
    ]
}

/// The keys the templates read: `suffix`, `sx` and two weights.
const KEYS: &[&str] = &["suffix", "sx", "weight/api", "weight/db"];

fn apply(c: &mut Catalog, w: &mut World, change: &Change) {
    let name = |s: usize| ALL_NAMES[s].to_string();
    let inst = |p: u8| Instance {
        address: format!("10.0.{}.{}", p / 16, p % 16),
        port: (p % 4) as i64 * 100,
        tags: vec!["http".into()],
    };
    match change {
        Change::AddService(s) => {
            c.entry(name(*s)).or_insert_with(|| vec![inst(*s as u8)]);
        }
        Change::RemoveService(s) => {
            c.remove(&name(*s));
        }
        Change::MoveInstance(s, i, p) => {
            if let Some(x) = c.get_mut(&name(*s)).and_then(|v| v.get_mut(*i)) {
                *x = Instance {
                    tags: x.tags.clone(),
                    ..inst(*p)
                };
            }
        }
        Change::AddInstance(s, p) => c.entry(name(*s)).or_default().push(inst(*p)),
        Change::RemoveInstance(s) => {
            if let Some(v) = c.get_mut(&name(*s)) {
                v.pop();
            }
        }
        Change::TagInstance(s, stop) => {
            if let Some(x) = c.get_mut(&name(*s)).and_then(|v| v.first_mut()) {
                x.tags = if *stop {
                    vec!["stop".into()]
                } else {
                    vec!["http".into(), "v2".into()]
                };
            }
        }
        Change::SetKey(k, v) => {
            let value = v.map(|v| ["", "x", " # y"][v as usize]);
            // `key` waits for a missing key: `suffix` and `sx` always have one; a weight
            // that goes away falls back to `keyOrDefault`'s default.
            let value = if *k < 2 { value.or(Some("")) } else { value };
            w.set_key(KEYS[*k], value);
        }
        Change::Nothing => {}
    }
    w.publish(c);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// Over random histories of catalog and key changes, the long-lived templates (memo
    /// carried from step to step) give exactly what fresh ones give at every step.
    #[test]
    fn reused_output_equals_a_fresh_render(changes in proptest::collection::vec(change(), 1..40)) {
        let mut c = catalog(&[("api", &[("10.1.0.1", 80), ("10.1.0.2", 0)]), ("db", &[("10.2.0.1", 5432)])]);
        let mut w = world(&c);
        let kept = [template(NGINX), template(EFFECTS)];
        for t in &kept {
            render(t, w.snapshot());
        }
        for ch in &changes {
            apply(&mut c, &mut w, ch);
            for (t, text) in kept.iter().zip([NGINX, EFFECTS]) {
                let got = t.execute(w.snapshot()).expect("renders");
                let want = template(text).execute(w.snapshot()).expect("renders");
                prop_assert_eq!(&got.output, &want.output, "after {:?}", ch);
                // The dependencies too, in first-use order, as the runner watches them.
                prop_assert_eq!(keys_used(&got), keys_used(&want), "after {:?}", ch);
                t.recycle(got.output);
            }
        }
        // The histories must exercise reuse, not only recording.
        prop_assert!(kept[0].memo_stats().reused > 0);
    }
}
