//! The benchmark's template and catalog render exactly what Go rendered for the same data
//! (`tests/bench_nginx_5x3.out`, dumped by `shared/bench/go_render_bench.go -n 5 -m 3`).

#[path = "../../benches/catalog.rs"]
mod catalog;

#[test]
fn benchmark_template_renders_like_go() {
    let want = std::fs::read(crate::repo_path("tests/bench_nginx_5x3.out")).unwrap();
    let mut out = Vec::new();
    catalog::template(5, 3)
        .execute(&mut out, &ctmpl::gotmpl::Value::Missing)
        .unwrap();
    assert!(out == want, "got:\n{}", String::from_utf8_lossy(&out));
}
