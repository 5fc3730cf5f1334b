//! gotmpl as a library: a Go template with a function of your own, and JSON data.
//!
//! `cargo run -p gotmpl --example library`

use gotmpl::{Arity, Func, FuncMap, Template, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut funcs = FuncMap::new();
    funcs.insert(
        "greeting",
        Func::pure(Arity::Exact(1), |args| {
            Ok(Value::from(format!("hello, {}", args[0])))
        }),
    );
    let mut template = Template::new("example").funcs(funcs);
    template.parse(
        "{{greeting .name}}: {{range $i, $s := .servers}}{{if $i}}, {{end}}{{$s}}{{end}}\n",
    )?;
    let data = Value::from_json(r#"{"name": "ops", "servers": ["10.0.0.1:80", "10.0.0.2:80"]}"#)?;
    let mut out = Vec::new();
    template.execute(&mut out, &data)?;
    print!("{}", String::from_utf8_lossy(&out));
    Ok(())
}
