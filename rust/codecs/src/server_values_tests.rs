//! Decodes what a real PostgreSQL server sent (recorded in `tests/server_values.tsv` by
//! `tests/gen_server_values.py`) in both formats and requires the same Python value.

use crate::decode::{result_format_for, ColumnDecoder, DecodeOptions};
use crate::pickle::PickleWriter;
use crate::python_harness::run_python;
use crate::Format;

const RECORDED: &str = include_str!("../tests/server_values.tsv");

fn unhex(s: &str) -> Option<Vec<u8>> {
    (s != "NULL").then(|| crate::python_harness::unhex(s))
}

#[test]
fn recorded_server_values_decode_identically_in_both_formats() {
    let opts = DecodeOptions::default();
    let mut w = PickleWriter::new();
    let mut labels = Vec::new();
    let mut failures = Vec::new();
    w.empty_list();
    w.mark();
    for line in RECORDED.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (session, expect, sql, type_oid) =
            (cols[0], cols[1], cols[2], cols[3].parse::<u32>().unwrap());
        let binary = unhex(cols[4]);
        let text = unhex(cols[5]);
        let label = format!("{session} {sql}");
        if type_oid == crate::registry::RECORD {
            // Deliberately different: binary records are typed tuples, while a text record
            // names no field types (see registry.rs, which tests both forms).
            continue;
        }
        // First decode into a scratch stream to learn the outcome; a failed decode leaves
        // partial output, which must not reach the stream Python checks.
        let mut scratch = PickleWriter::new();
        let binary_supported = result_format_for(type_oid) == Format::Binary;
        let binary_result = binary_supported.then(|| {
            ColumnDecoder::new(type_oid, Format::Binary, &opts)
                .decode(binary.as_deref(), &mut scratch)
        });
        let text_result =
            ColumnDecoder::new(type_oid, Format::Text, &opts).decode(text.as_deref(), &mut scratch);
        if expect == "ERR" {
            if text_result.is_ok() || binary_result.as_ref().is_some_and(|r| r.is_ok()) {
                failures.push(format!(
                    "{label}: expected an error, got {binary_result:?} / {text_result:?}"
                ));
            }
            continue;
        }
        if let Err(e) = &text_result {
            failures.push(format!("{label}: text: {e}"));
        }
        if let Some(Err(e)) = &binary_result {
            failures.push(format!("{label}: binary: {e}"));
        }
        if text_result.is_err() || binary_result.as_ref().is_some_and(|r| r.is_err()) {
            continue;
        }
        labels.push(label);
        w.empty_list();
        w.mark();
        if binary_supported {
            ColumnDecoder::new(type_oid, Format::Binary, &opts)
                .decode(binary.as_deref(), &mut w)
                .unwrap();
        } else if crate::oid::array_element(type_oid).is_some() {
            // A built-in array of elements without a binary decoder: read from text only.
            ColumnDecoder::new(type_oid, Format::Text, &opts)
                .decode(text.as_deref(), &mut w)
                .unwrap();
        } else {
            // No binary decoder: the value must be the server's text as str.
            match &text {
                Some(t) => w.str(std::str::from_utf8(t).unwrap()),
                None => w.none(),
            }
        }
        ColumnDecoder::new(type_oid, Format::Text, &opts)
            .decode(text.as_deref(), &mut w)
            .unwrap();
        w.appends();
    }
    w.appends();
    w.stop();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let mut input = w.as_bytes().to_vec();
    input.extend_from_slice(b"\n--labels--\n");
    input.extend_from_slice(labels.join("\n").as_bytes());
    let out = run_python(
        "data = sys.stdin.buffer.read()\n\
         stream, labels = data.split(b'\\n--labels--\\n', 1)\n\
         pairs = pickle.loads(stream)\n\
         labels = labels.decode().split('\\n')\n\
         assert len(pairs) == len(labels), (len(pairs), len(labels))\n\
         bad = [f'{l}: {a!r} != {b!r}' for l, (a, b) in zip(labels, pairs) if repr(a) != repr(b) or type(a) is not type(b)]\n\
         import os\n\
         dump = os.environ.get('PYRO_CODECS_DUMP')\n\
         dump and open(dump, 'w').write(''.join(f'{l}\\t{a!r}\\n' for l, (a, b) in zip(labels, pairs)))\n\
         print('\\n'.join(bad) if bad else 'all equal')",
        &input,
    );
    let text = String::from_utf8_lossy(&out);
    assert_eq!(text.trim(), "all equal", "{text}");
}
