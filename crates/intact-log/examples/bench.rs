//! The transparency log's benchmark (docs/performance.md, "Transparency
//! log"): appends one at a time and batched, inclusion-proof checks,
//! `verify` of the whole log, bytes per entry on disk.
//!
//! Run it with `scripts/bench-log.sh` (a release build). Sizes come from
//! the command line: `bench [BATCHED_ENTRIES] [ONE_BY_ONE] [PROOFS]`
//! (defaults 1,000,000, 1,000 and 10,000).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::disallowed_methods
)]

use std::path::Path;
use std::time::Instant;

use intact_log::{
    prove_index, verify, verify_proof, DirSource, Entry, EntryKind, LogKey, LogWriter,
};

fn entry(i: u64) -> Vec<u8> {
    // A realistic entry: a link's event, about 400 bytes.
    let e = Entry {
        schema: intact_log::ENTRY_SCHEMA.into(),
        kind: EntryKind::LinkRecorded,
        file: format!("build-{i}.776a00e2.link"),
        sha256: intact_log::sha256_hex(&file(i)),
        signers: vec!["776a00e2d6b4f5a0c1b2e3d4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4".into()],
        steps: vec!["build".into()],
        subjects: [(
            "app.tar.gz".to_string(),
            [("sha256".to_string(), format!("{:064x}", i * 7))].into(),
        )]
        .into(),
        time: "2026-12-02T11:00:00Z".into(),
        intact_version: "0.1.0".into(),
        ci: Default::default(),
        certificates: Vec::new(),
    };
    e.to_bytes().unwrap()
}

/// The bytes of the "metadata file" entry `i` describes.
fn file(i: u64) -> Vec<u8> {
    format!("file {i}").into_bytes()
}

fn du(dir: &Path) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let m = e.metadata().unwrap();
        total += if m.is_dir() { du(&e.path()) } else { m.len() };
    }
    total
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.replace(['_', ','], "").parse().unwrap())
        .collect();
    let batched = args.first().copied().unwrap_or(1_000_000);
    let single = args.get(1).copied().unwrap_or(1_000);
    let proofs = args.get(2).copied().unwrap_or(10_000);
    let tmp = tempfile::tempdir().unwrap();
    let key = intact_crypto::SigningKey::generate_ed25519();
    let (pem, public) = (tmp.path().join("log.pem"), tmp.path().join("log.pub"));
    intact_crypto::write_key_pair(&key, &pem, &public, None).unwrap();
    let log_key = LogKey::load(&public).unwrap();

    // One at a time: each a locked, durable append (fsyncs included).
    let dir1 = tmp.path().join("single");
    let w = LogWriter::init(&dir1, &pem, "bench.example/single").unwrap();
    let t = Instant::now();
    for i in 0..single {
        w.append(&[entry(i)]).unwrap();
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "append one at a time: {single} entries in {s:.2} s = {:.0} entries/s",
        single as f64 / s
    );

    // Batched: 100,000 entries an append.
    let dir = tmp.path().join("batched");
    let w = LogWriter::init(&dir, &pem, "bench.example/batched").unwrap();
    let entries: Vec<Vec<u8>> = (0..batched).map(entry).collect();
    let t = Instant::now();
    for chunk in entries.chunks(100_000) {
        w.append(chunk).unwrap();
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "append batched (100,000 an append): {batched} entries in {s:.2} s = {:.0} entries/s",
        batched as f64 / s
    );
    let bytes = du(&dir);
    println!(
        "on disk: {bytes} bytes = {:.1} bytes/entry (entries average {:.0} bytes)",
        bytes as f64 / batched as f64,
        entries.iter().map(Vec::len).sum::<usize>() as f64 / batched as f64
    );

    // Verify the whole log.
    let source = DirSource::new(&dir);
    let t = Instant::now();
    let v = verify(&source, &log_key, None).unwrap();
    println!(
        "log verify of {} entries: {:.2} s",
        v.size,
        t.elapsed().as_secs_f64()
    );

    // Inclusion proofs: made once, each checked as `verify --require-logged` does.
    let n = proofs.min(batched);
    let step = (batched / n.max(1)).max(1);
    let bundles: Vec<(Vec<u8>, u64)> = (0..n)
        .map(|k| {
            let i = k * step;
            let e = &entries[usize::try_from(i).unwrap()];
            (prove_index(&source, i, e).unwrap().to_bytes().unwrap(), i)
        })
        .collect();
    let t = Instant::now();
    for (bundle, i) in &bundles {
        verify_proof(Path::new("bench.proof"), bundle, &file(*i), &log_key).unwrap();
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "inclusion-proof check (parse, checkpoint signature, RFC 6962 path): {} in {s:.3} s = {:.1} us each",
        bundles.len(),
        s * 1e6 / bundles.len().max(1) as f64
    );
}
