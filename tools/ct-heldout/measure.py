#!/usr/bin/env python3
"""Measures how often ctmpl agrees with consul-template v0.42.1 on generated templates.

    measure.py --seeds 101,102 --count 1000 [--work DIR] [--cargo CMD] [--keep-going]

For each seed: gen.py writes the templates and the fixture into WORK/seedS; the typed oracle
(tools/ct-typed-oracle/run, Go's text/template over consul-template's types and helpers)
renders each one (NAME.out, or NAME.err + NAME.code, as tests/ct-golden/regen.sh writes
goldens); ctmpl renders them all in one process (the ignored `heldout_render_dir` test of
tests/integration/ct_golden.rs writes NAME.ctmpl.json). A case agrees when the bytes, the
exit status and the whole error line are the same (heap addresses masked). Prints the
agreement and the differing cases grouped by a rough category; WORK/differences.txt lists
them all.

`--sample DIR` instead writes the goldens of one seed into DIR (the committed sample of
tests/ct-golden/heldout).
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter, defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ORACLE = os.path.join(ROOT, "tools", "ct-typed-oracle", "run")
ADDR = re.compile(r"0xc[0-9a-f]{6,}")
DOCUMENTED = "documented: Go 1.24 range over an integer (v0.42.1 is built with Go 1.23)"


def generate(seed, count, out, documented=True):
    cmd = [sys.executable, os.path.join(HERE, "gen.py"), "--seed", str(seed),
           "--count", str(count), "--out", out]
    subprocess.run(cmd + ([] if documented else ["--no-documented"]), check=True)


def oracle_case(d, name):
    """The oracle's answer for one case, written as a golden; None when it cannot answer."""
    p = subprocess.run([ORACLE, "-fixture", os.path.join(d, "fixture.json"), "-name", name + ".tmpl",
                        os.path.join(d, name + ".tmpl")], capture_output=True, timeout=60)
    for ext in ("out", "err", "code"):
        if os.path.exists(os.path.join(d, f"{name}.{ext}")):
            os.remove(os.path.join(d, f"{name}.{ext}"))
    if p.returncode == 0:
        with open(os.path.join(d, name + ".out"), "wb") as f:
            f.write(p.stdout)
        return True
    if p.returncode in (14, 75):
        with open(os.path.join(d, name + ".err"), "wb") as f:
            f.write(p.stderr)
        with open(os.path.join(d, name + ".code"), "w") as f:
            f.write(f"{p.returncode}\n")
        return True
    return f"oracle exit {p.returncode}: {p.stderr.decode(errors='replace').strip()}"


def run_oracle(d, names):
    """Runs the oracle on every case; drops (and reports) the cases it cannot answer."""
    dropped = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        for name, ok in zip(names, pool.map(lambda n: oracle_case(d, n), names)):
            if ok is not True:
                dropped[name] = ok
    for name in dropped:
        os.remove(os.path.join(d, name + ".tmpl"))
    return dropped


def run_ctmpl(d, cargo, test_bin):
    env = dict(os.environ, CT_HELDOUT_DIR=os.path.abspath(d))
    args = ["--ignored", "--exact", "ct_golden::heldout_render_dir"]
    if test_bin:
        cmd = [test_bin] + args
    else:
        cmd = cargo.split() + ["test", "--test", "integration", "heldout_render_dir", "--"] + args
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"ctmpl run failed:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")


def expected(d, name):
    path = os.path.join(d, name)
    if os.path.exists(path + ".out"):
        with open(path + ".out", "rb") as f:
            return 0, f.read().decode("utf-8", "replace")
    with open(path + ".code") as f:
        code = int(f.read().strip())
    with open(path + ".err", "rb") as f:
        err = f.read().decode("utf-8", "replace").rstrip()
    return code, "" if code == 75 else err


def got(d, name):
    with open(os.path.join(d, name + ".ctmpl.json")) as f:
        j = json.load(f)
    text = j["text"] if j["code"] == 0 else j["text"].rstrip()
    return j["code"], "" if j["code"] == 75 else text


def category(tmpl, want, have):
    """A rough label for a difference, for the summary."""
    if "range can't iterate over" in want[1] and re.search(r"range (\$\w+ := )?\d", tmpl):
        return DOCUMENTED
    if have[0] == 101:
        return "ctmpl panic"
    if have[0] == 3:
        return "harness/fixture"
    if want[0] != have[0]:
        return f"exit {want[0]} vs {have[0]}"
    if want[0] == 14:
        m = re.search(r"error calling (\w+)|executing \"\" at <([^>]*)>|parse: template: :\d+: (\w+ \w+)", want[1])
        return "error text" + (f" ({next(g for g in m.groups() if g)})" if m else "")
    m = re.search(r"(sprig_\w+|\b(?:to\w+|parse\w+|by\w+|printf \"[^\"]*\"))", tmpl)
    return "output" + (f" ({m.group(1)})" if m else "")


def measure(d):
    names = sorted(n[:-5] for n in os.listdir(d) if n.endswith(".tmpl"))
    agree, diffs = 0, []
    for name in names:
        want, have = expected(d, name), got(d, name)
        want = (want[0], ADDR.sub("0xADDR", want[1]))
        have = (have[0], ADDR.sub("0xADDR", have[1]))
        if want == have:
            agree += 1
        else:
            with open(os.path.join(d, name + ".tmpl")) as f:
                tmpl = f.read()
            diffs.append((name, tmpl, want, have, category(tmpl, want, have)))
    return len(names), agree, diffs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", required=True, help="comma-separated seeds")
    ap.add_argument("--count", type=int, default=1000, help="templates per seed")
    ap.add_argument("--work", default="/tmp/ct-heldout")
    ap.add_argument("--cargo", default=os.environ.get("CARGO", "cargo"))
    ap.add_argument("--test-bin", help="the built integration test binary (cargo test --test "
                    "integration --no-run prints it), run directly instead of through cargo")
    ap.add_argument("--sample", help="write one seed's cases with goldens into this folder and stop")
    a = ap.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    if a.sample:
        shutil.rmtree(a.sample, ignore_errors=True)
        generate(seeds[0], a.count, a.sample, documented=False)
        names = sorted(n[:-5] for n in os.listdir(a.sample) if n.endswith(".tmpl"))
        dropped = run_oracle(a.sample, names)
        print(f"sample: {len(names) - len(dropped)} cases in {a.sample} ({len(dropped)} dropped)")
        return
    total, agreed, all_diffs, all_dropped = 0, 0, [], {}
    for seed in seeds:
        d = os.path.join(a.work, f"seed{seed}")
        shutil.rmtree(d, ignore_errors=True)
        generate(seed, a.count, d)
        names = sorted(n[:-5] for n in os.listdir(d) if n.endswith(".tmpl"))
        all_dropped.update(run_oracle(d, names))
        run_ctmpl(d, a.cargo, a.test_bin)
        n, ok, diffs = measure(d)
        total, agreed = total + n, agreed + ok
        all_diffs += diffs
        print(f"seed {seed}: {ok}/{n} agree")
    print(f"\nagreement: {agreed}/{total} = {100.0 * agreed / max(total, 1):.2f}%"
          f" ({len(all_dropped)} generated cases dropped: the oracle could not answer them)")
    documented = sum(1 for *_, c in all_diffs if c == DOCUMENTED)
    print(f"undocumented differences: {len(all_diffs) - documented}; agreement counting the "
          f"documented ones as agreeing: {100.0 * (agreed + documented) / max(total, 1):.2f}%")
    cats = Counter(c for *_, c in all_diffs)
    for c, k in cats.most_common():
        print(f"  {k:4d}  {c}")
    by_cat = defaultdict(list)
    for d in all_diffs:
        by_cat[d[4]].append(d)
    os.makedirs(a.work, exist_ok=True)
    with open(os.path.join(a.work, "differences.txt"), "w") as f:
        for c, items in sorted(by_cat.items()):
            f.write(f"==== {c} ({len(items)})\n")
            for name, tmpl, want, have, _ in items:
                f.write(f"--- {name}\n{tmpl}\n  want {want!r}\n  got  {have!r}\n")
        for name, why in sorted(all_dropped.items()):
            f.write(f"dropped {name}: {why}\n")
    print(f"details: {os.path.join(a.work, 'differences.txt')}")


if __name__ == "__main__":
    main()
