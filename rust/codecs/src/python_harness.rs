//! Runs a real `python3` so tests check what `pickle.loads` actually builds.

use std::io::Write;
use std::process::{Command, Stdio};

const PRELUDE: &str = "import sys, pickle, datetime, decimal, uuid, struct, math, json, marshal\n\
from decimal import Decimal\n";

/// Runs `script` with `data` on stdin and returns its stdout; panics with stderr on failure.
pub fn run_python(script: &str, data: &[u8]) -> Vec<u8> {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(format!("{PRELUDE}{script}"))
        // Range results are built by `pyro_postgres._types`, from this checkout.
        .env("PYTHONPATH", concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 must be on PATH for these tests");
    let mut stdin = child.stdin.take().unwrap();
    let data = data.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    assert!(
        out.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `repr` of every element of the list that `stream` unpickles to.
pub fn python_reprs(stream: &[u8]) -> Vec<String> {
    let out = run_python(
        "v = pickle.loads(sys.stdin.buffer.read())\n\
         sys.stdout.buffer.write(''.join(repr(x) + '\\n' for x in v).encode('utf-8', 'backslashreplace'))",
        stream,
    );
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Evaluates `expr` with `v` bound to the unpickled stream; prints `v` when false.
pub fn python_true(stream: &[u8], expr: &str) -> bool {
    let out = run_python(
        &format!(
            "v = pickle.loads(sys.stdin.buffer.read())\n\
             ok = bool({expr})\n\
             print(ok)\n\
             ok or print(repr(v)[:5000], file=sys.stdout)"
        ),
        stream,
    );
    let text = String::from_utf8_lossy(&out);
    if !text.starts_with("True") {
        eprintln!("python value: {text}");
    }
    text.starts_with("True")
}

/// Bytes that `python3` writes for the given expression (bytes-valued).
pub fn python_bytes(expr: &str) -> Vec<u8> {
    run_python(&format!("sys.stdout.buffer.write({expr})"), b"")
}

/// The bytes of a hex string (server bytes recorded in the tests).
pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
