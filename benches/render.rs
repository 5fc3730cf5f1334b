//! Renders the nginx upstream template of `shared/bench/go_render_bench.go` (1,000 services ×
//! 3 instances) with our engine, reusing one output buffer as the Go benchmark does, and reports
//! bytes and allocations per render from a counting allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ctmpl::gotmpl::Value;

#[path = "catalog.rs"]
mod catalog;

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size(), Relaxed);
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(new_size, Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn render(c: &mut Criterion) {
    let tmpl = catalog::template(1000, 3);
    let mut out = Vec::new();
    tmpl.execute(&mut out, &Value::Missing).expect("render");
    let size = out.len();

    // Allocation per render, measured over a steady state with the buffer reused.
    let rounds = 20;
    let (a0, b0) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed));
    for _ in 0..rounds {
        out.clear();
        tmpl.execute(&mut out, &Value::Missing).expect("render");
    }
    let allocs = (ALLOCS.load(Relaxed) - a0) / rounds;
    let kib = (BYTES.load(Relaxed) - b0) as f64 / rounds as f64 / 1024.0;
    println!("render: output {size} bytes; {allocs} allocs/render, {kib:.1} KiB/render");

    let parse_start = std::time::Instant::now();
    let parses = 2000;
    for _ in 0..parses {
        std::hint::black_box(catalog::parse_only());
    }
    println!(
        "parse: {:.1} us/parse",
        parse_start.elapsed().as_secs_f64() * 1e6 / parses as f64
    );

    let mut group = c.benchmark_group("nginx_upstreams_1000x3");
    group.throughput(Throughput::Elements(1));
    group.bench_function("render", |b| {
        b.iter(|| {
            out.clear();
            tmpl.execute(&mut out, &Value::Missing).expect("render");
            std::hint::black_box(out.len())
        })
    });
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
