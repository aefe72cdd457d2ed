use std::path::{Path, PathBuf};

use intact_crypto::SigningKey;
use tlog_tiles::{Hash, HashReader, TileHashReader};

use super::*;
use crate::tiles::{all_tiles, decode_bundle, encode_bundle, tile_path, MemoryTree};

struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    pem: PathBuf,
    public: PathBuf,
}

fn keypair(dir: &Path, stem: &str) -> (PathBuf, PathBuf) {
    let key = SigningKey::generate_ed25519();
    let pem = dir.join(format!("{stem}.pem"));
    let public = dir.join(format!("{stem}.pub"));
    intact_crypto::write_key_pair(&key, &pem, &public, None).unwrap();
    (pem, public)
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let (pem, public) = keypair(tmp.path(), "log");
    let dir = tmp.path().join("log");
    LogWriter::init(&dir, &pem, "example.com/test-log").unwrap();
    Fixture {
        dir,
        pem,
        public,
        _tmp: tmp,
    }
}

fn entries(range: std::ops::Range<u64>) -> Vec<Vec<u8>> {
    range.map(|i| format!("entry {i}").into_bytes()).collect()
}

fn key(f: &Fixture) -> LogKey {
    LogKey::load(&f.public).unwrap()
}

fn verify_dir(f: &Fixture) -> Result<Verified, LogError> {
    verify(&DirSource::new(&f.dir), &key(f), None)
}

/// RFC 6962 / certificate-transparency test inputs and the roots of their
/// prefixes (the vectors Go's sumdb/tlog and the CT libraries test with).
#[test]
fn rfc6962_vectors() {
    let leaves: [&[u8]; 8] = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ];
    let roots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    let f = fixture();
    let w = LogWriter::open(&f.dir, None).unwrap();
    assert_eq!(
        hex::encode(tlog_tiles::EMPTY_HASH.0),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    for (i, leaf) in leaves.iter().enumerate() {
        w.append(&[leaf.to_vec()]).unwrap();
        let v = verify_dir(&f).unwrap();
        assert_eq!(v.size, i as u64 + 1);
        assert_eq!(hex::encode(v.root.0), roots[i], "root of {} leaves", i + 1);
    }
}

/// Append in the given batch sizes, then verify, read the tree back with
/// tlog_tiles' own authenticating tile reader, and check proofs.
fn round_trip(batches: &[u64]) {
    let f = fixture();
    let w = LogWriter::open(&f.dir, None).unwrap();
    let mut size = 0;
    let mut all = Vec::new();
    for &b in batches {
        let es = entries(size..size + b);
        let a = w.append(&es).unwrap();
        assert_eq!(a.first_index, size);
        size += b;
        assert_eq!(a.size, size);
        all.extend(es);
    }
    let v = verify_dir(&f).unwrap();
    assert_eq!(v.size, size);
    let mut mem = MemoryTree::new();
    for e in &all {
        mem.push(e).unwrap();
    }
    assert_eq!(v.root, mem.root().unwrap());
    if size == 0 {
        assert_eq!(v.root, tlog_tiles::EMPTY_HASH);
        return;
    }
    // tlog_tiles' reader over our files agrees, and its proofs check.
    let source = DirSource::new(&f.dir);
    let tiles = SourceTiles::new(&source);
    let reader = TileHashReader::new(size, v.root, &tiles);
    assert_eq!(tlog_tiles::tree_hash(size, &reader).unwrap(), v.root);
    let mut probe = vec![0, size - 1, size / 2];
    if size > 256 {
        probe.extend([255, 256, size - 257]);
    }
    for i in probe {
        let idx = usize::try_from(i).unwrap();
        let bundle = prove_index(&source, i, &all[idx]).unwrap();
        let proof: Vec<Hash> = bundle
            .proof
            .iter()
            .map(|h| Hash::parse_hash(h).unwrap())
            .collect();
        tlog_tiles::check_record(&proof, size, v.root, i, tlog_tiles::record_hash(&all[idx]))
            .unwrap();
        // A proof for the wrong entry fails.
        assert!(tlog_tiles::check_record(
            &proof,
            size,
            v.root,
            i,
            tlog_tiles::record_hash(b"other")
        )
        .is_err());
    }
    // Every tile the tree needs is on disk under its C2SP name.
    for t in all_tiles(size) {
        assert!(f.dir.join(tile_path(&t)).is_file(), "{}", tile_path(&t));
    }
    // Consistency with every earlier size checks through tlog_tiles.
    for old in [1, size / 2, size] {
        let old = old.max(1);
        let p = tlog_tiles::prove_tree(size, old, &reader).unwrap();
        tlog_tiles::check_tree(&p, size, v.root, old, mem.root_at(old).unwrap()).unwrap();
    }
}

#[test]
fn size_0() {
    round_trip(&[]);
}

#[test]
fn size_1() {
    round_trip(&[1]);
}

#[test]
fn size_255_one_by_one_then_batch() {
    let mut b = vec![1; 20];
    b.push(235);
    round_trip(&b);
}

#[test]
fn size_256() {
    round_trip(&[100, 156]);
}

#[test]
fn size_257() {
    round_trip(&[256, 1]);
}

#[test]
fn size_65536() {
    round_trip(&[65_535, 1]);
}

#[test]
fn size_70000() {
    round_trip(&[33_333, 1, 36_666]);
}

#[test]
fn tile_paths_are_c2sp() {
    use tlog_tiles::Tile;
    assert_eq!(tile_path(&Tile::new(8, 0, 0, 256, false)), "tile/0/000");
    assert_eq!(
        tile_path(&Tile::new(8, 1, 1234, 7, false)),
        "tile/1/x001/234.p/7"
    );
    assert_eq!(
        tile_path(&Tile::new(8, 0, 5, 256, true)),
        "tile/entries/005"
    );
    assert_eq!(
        tile_path(&Tile::new(8, 0, 5, 3, true)),
        "tile/entries/005.p/3"
    );
}

#[test]
fn bundles_round_trip_and_refuse_garbage() {
    let b = encode_bundle([&b"ab"[..], b"", b"xyz"]);
    assert_eq!(b, b"\x00\x02ab\x00\x00\x00\x03xyz");
    assert_eq!(decode_bundle(&b).unwrap(), vec![&b"ab"[..], b"", b"xyz"]);
    assert!(decode_bundle(b"\x00").is_err());
    assert!(decode_bundle(b"\x00\x05ab").is_err());
}

fn appended(n: u64) -> Fixture {
    let f = fixture();
    LogWriter::open(&f.dir, None)
        .unwrap()
        .append(&entries(0..n))
        .unwrap();
    f
}

#[test]
fn a_removed_entry_is_named() {
    let f = appended(300);
    let p = f.dir.join("tile/entries/001.p/44");
    let bytes = std::fs::read(&p).unwrap();
    let es = decode_bundle(&bytes).unwrap();
    let fewer = encode_bundle(es.iter().take(43).copied());
    std::fs::write(&p, fewer).unwrap();
    let e = verify_dir(&f).unwrap_err();
    assert!(
        matches!(&e, LogError::EntryCountMismatch { path, found: 43, expected: 44 } if path.ends_with("tile/entries/001.p/44")),
        "{e:?}"
    );
}

#[test]
fn a_flipped_hash_tile_byte_is_named() {
    let f = appended(300);
    let p = f.dir.join("tile/0/000");
    let mut bytes = std::fs::read(&p).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&p, bytes).unwrap();
    let e = verify_dir(&f).unwrap_err();
    assert!(
        matches!(&e, LogError::TileCorrupted { path } if path.ends_with("tile/0/000")),
        "{e:?}"
    );
}

#[test]
fn a_flipped_entry_byte_is_named() {
    let f = appended(300);
    let p = f.dir.join("tile/entries/000");
    let mut bytes = std::fs::read(&p).unwrap();
    bytes[5] ^= 1;
    std::fs::write(&p, bytes).unwrap();
    let e = verify_dir(&f).unwrap_err();
    assert!(
        matches!(&e, LogError::TileCorrupted { path } if path.ends_with("tile/entries/000")),
        "{e:?}"
    );
}

#[test]
fn a_truncated_or_missing_tile_is_named() {
    let f = appended(300);
    let p = f.dir.join("tile/0/001.p/44");
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() - 1]).unwrap();
    let e = verify_dir(&f).unwrap_err();
    assert!(
        matches!(&e, LogError::TileTruncated { path, len: 1407, expected: 1408 } if path.ends_with("tile/0/001.p/44")),
        "{e:?}"
    );
    std::fs::remove_file(&p).unwrap();
    let e = verify_dir(&f).unwrap_err();
    assert!(
        matches!(&e, LogError::TileMissing { path } if path.ends_with("tile/0/001.p/44")),
        "{e:?}"
    );
    assert_eq!(e.code(), "tile-missing");
}

#[test]
fn a_forged_checkpoint_is_refused() {
    let f = appended(10);
    // Signed by another key under the same origin.
    let other_dir = tempfile::tempdir().unwrap();
    let (other_pem, _) = keypair(other_dir.path(), "other");
    let forger = LogSigner::load(&other_pem, "example.com/test-log").unwrap();
    let mut mem = MemoryTree::new();
    for e in entries(0..5) {
        mem.push(&e).unwrap();
    }
    let forged = forger.sign_checkpoint(5, mem.root().unwrap()).unwrap();
    std::fs::write(f.dir.join("checkpoint"), &forged).unwrap();
    let e = verify_dir(&f).unwrap_err();
    assert!(matches!(e, LogError::CheckpointSignature { .. }), "{e:?}");
    assert_eq!(e.code(), "checkpoint-signature");
    // The real signature over an altered size.
    let f = appended(10);
    let text = std::fs::read_to_string(f.dir.join("checkpoint")).unwrap();
    let altered = text.replacen("\n10\n", "\n9\n", 1);
    assert_ne!(text, altered);
    std::fs::write(f.dir.join("checkpoint"), altered).unwrap();
    let e = verify_dir(&f).unwrap_err();
    assert!(matches!(e, LogError::CheckpointSignature { .. }), "{e:?}");
    // Garbage.
    std::fs::write(f.dir.join("checkpoint"), "nonsense").unwrap();
    let e = verify_dir(&f).unwrap_err();
    assert!(matches!(e, LogError::CheckpointMalformed { .. }), "{e:?}");
}

#[test]
fn tiles_and_entries_rewritten_consistently_do_not_match_the_checkpoint() {
    // An operator who rewrites history (entries and tiles) cannot re-sign
    // the old checkpoint: the root differs.
    let f = appended(10);
    let mut es = entries(0..10);
    es[3] = b"rewritten".to_vec();
    let h = fixture();
    LogWriter::open(&h.dir, None).unwrap().append(&es).unwrap();
    std::fs::remove_dir_all(f.dir.join("tile")).unwrap();
    copy_dir(&h.dir.join("tile"), &f.dir.join("tile"));
    let e = verify_dir(&f).unwrap_err();
    assert!(matches!(e, LogError::RootMismatch { .. }), "{e:?}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), t).unwrap();
        }
    }
}

#[test]
fn since_detects_a_fork_and_a_rollback() {
    let f = fixture();
    let w = LogWriter::open(&f.dir, None).unwrap();
    w.append(&entries(0..300)).unwrap();
    let shared = std::fs::read(f.dir.join("checkpoint")).unwrap();
    // A copy of the log at the shared prefix.
    let fork_tmp = tempfile::tempdir().unwrap();
    let fork = fork_tmp.path().join("fork");
    copy_dir(&f.dir, &fork);
    // History A: what the auditor saw.
    w.append(&entries(300..310)).unwrap();
    let seen = std::fs::read(f.dir.join("checkpoint")).unwrap();
    // History B: the same key extends the shared prefix differently.
    let fw = LogWriter::open(&fork, Some(&f.pem)).unwrap();
    fw.append(&[b"something else".to_vec()]).unwrap();
    fw.append(&entries(400..420)).unwrap();
    let k = key(&f);
    let b = DirSource::new(&fork);
    // B alone verifies, and is consistent with the shared prefix...
    verify(&b, &k, Some(("shared", &shared))).unwrap();
    // ...but not with what the auditor saw of A.
    let e = verify(&b, &k, Some(("seen", &seen))).unwrap_err();
    assert!(
        matches!(
            e,
            LogError::Inconsistent {
                old_size: 310,
                new_size: 321,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.code(), "inconsistent");
    // A is consistent with both its own checkpoints.
    let a = DirSource::new(&f.dir);
    let v = verify(&a, &k, Some(("seen", &seen))).unwrap();
    assert_eq!(v.since_size, Some(310));
    verify(&a, &k, Some(("shared", &shared))).unwrap();
    // A log rolled back to the shared prefix is caught.
    let e = verify(
        &DirSource::new(fork_tmp.path().join("fork")),
        &k,
        Some(("seen", &seen)),
    );
    assert!(e.is_err());
    let rolled = fork_tmp.path().join("rolled");
    copy_dir(&f.dir, &rolled);
    std::fs::write(rolled.join("checkpoint"), &shared).unwrap();
    let e = verify(&DirSource::new(&rolled), &k, Some(("seen", &seen))).unwrap_err();
    assert!(matches!(e, LogError::RolledBack { .. }), "{e:?}");
}

#[test]
fn init_refuses_an_existing_log_and_a_bad_origin_or_key() {
    let f = fixture();
    let e = LogWriter::init(&f.dir, &f.pem, "example.com/test-log").unwrap_err();
    assert!(matches!(e, LogError::AlreadyInitialised(_)), "{e:?}");
    let tmp = tempfile::tempdir().unwrap();
    let e = LogWriter::init(&tmp.path().join("x"), &f.pem, "has space").unwrap_err();
    assert!(matches!(e, LogError::BadOrigin(_)), "{e:?}");
    let e = LogWriter::init(&tmp.path().join("y"), &f.public, "ok").unwrap_err();
    assert!(matches!(e, LogError::Crypto(_)), "{e:?}");
    let e = LogWriter::open(tmp.path(), None).unwrap_err();
    assert!(matches!(e, LogError::NotALog(_)), "{e:?}");
}

fn signed_link(dir: &Path, key: &SigningKey) -> PathBuf {
    use intact_model::{Container, Link, Metadata, StepName};
    let mut link = Link::new(StepName::new("build").unwrap());
    link.environment
        .insert("SECRET_TOKEN".into(), serde_json::json!("hunter2"));
    let mut md = Metadata::new(link.into(), Container::Metablock).unwrap();
    intact_crypto::sign_metadata(&mut md, key).unwrap();
    let p = dir.join("build.12345678.link");
    std::fs::write(&p, md.to_bytes().unwrap()).unwrap();
    p
}

#[test]
fn entries_describe_links_without_environment_and_proofs_round_trip() {
    let f = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let signer = SigningKey::generate_ed25519();
    let link = signed_link(tmp.path(), &signer);
    let w = LogWriter::open(&f.dir, None).unwrap();
    let ctx = EntryContext {
        time: "2026-01-01T00:00:00Z".into(),
        ci: Default::default(),
    };
    w.append(&entries(0..3)).unwrap();
    let (_, described) = w.add_files(std::slice::from_ref(&link), &ctx).unwrap();
    assert_eq!(described[0].kind, EntryKind::LinkRecorded);
    let mut logged = Vec::new();
    let v = verify_dir(&f).unwrap();
    for_each_entry(&DirSource::new(&f.dir), v.size, |_, e| {
        logged.push(e.to_vec());
        Ok(())
    })
    .unwrap();
    let last = logged.last().unwrap();
    let text = String::from_utf8(last.clone()).unwrap();
    assert!(
        !text.contains("hunter2") && !text.contains("SECRET_TOKEN"),
        "{text}"
    );
    let entry = Entry::from_bytes(last).unwrap();
    assert_eq!(entry.kind, EntryKind::LinkRecorded);
    assert_eq!(entry.steps, vec!["build".to_string()]);
    assert_eq!(entry.signers, vec![signer.keyid().unwrap().to_string()]);
    // Canonical JSON: what we logged is what canonicalisation gives.
    assert_eq!(&entry.to_bytes().unwrap(), last);

    let bytes = std::fs::read(&link).unwrap();
    let bundle = prove_file(&DirSource::new(&f.dir), &link, &bytes).unwrap();
    assert_eq!(bundle.index, 3);
    let proof = bundle.to_bytes().unwrap();
    let proven = verify_proof(Path::new("x.proof"), &proof, &bytes, &key(&f)).unwrap();
    assert_eq!(proven.index, 3);
    // Another file, another key, a tampered proof: each refused.
    let e = verify_proof(Path::new("x.proof"), &proof, b"other", &key(&f)).unwrap_err();
    assert!(matches!(e, LogError::ProofInvalid { .. }), "{e:?}");
    let (_, other_pub) = keypair(tmp.path(), "other");
    let e = verify_proof(
        Path::new("x.proof"),
        &proof,
        &bytes,
        &LogKey::load(&other_pub).unwrap(),
    )
    .unwrap_err();
    assert!(matches!(e, LogError::ProofInvalid { .. }), "{e:?}");
    let mut b2 = bundle.clone();
    b2.index = 2;
    let e = verify_proof(
        Path::new("x.proof"),
        &b2.to_bytes().unwrap(),
        &bytes,
        &key(&f),
    )
    .unwrap_err();
    assert!(matches!(e, LogError::ProofInvalid { .. }), "{e:?}");
    let e = prove_file(&DirSource::new(&f.dir), Path::new("nope"), b"never logged").unwrap_err();
    assert!(matches!(e, LogError::NotLogged { .. }), "{e:?}");
    // A file that is not metadata is refused, naming it.
    let junk = tmp.path().join("junk.txt");
    std::fs::write(&junk, "hello").unwrap();
    let e = w.add_files(&[junk], &ctx).unwrap_err();
    assert!(
        matches!(&e, LogError::NotLoggable { path, .. } if path.ends_with("junk.txt")),
        "{e:?}"
    );
}

#[test]
fn verification_reports_become_entries() {
    let report = serde_json::json!({
        "schema": "intact.verify-report/v1",
        "intact_version": "0.1.0",
        "verified_at": "2026-12-02T11:32:15Z",
        "layout": {"signed_sha256": "aa", "signers": ["k1"], "expires": "2027-01-01T00:00:00Z"},
        "links": [{"step": "build", "file": "build.1234.link", "sha256": "bb", "signer": "k2"}],
        "verified": false,
        "stages": [], "warnings": [], "failure": null
    });
    let bytes = serde_json::to_vec(&report).unwrap();
    let e = Entry::describe(Path::new("r.json"), &bytes, &EntryContext::default()).unwrap();
    assert_eq!(e.kind, EntryKind::VerificationFailed);
    assert_eq!(e.time, "2026-12-02T11:32:15Z");
    assert_eq!(e.subjects["link:build.1234.link"]["sha256"], "bb");
    assert_eq!(e.signers, vec!["k1".to_string()]);
}

#[test]
fn memory_tree_reads_what_it_stored() {
    let mut t = MemoryTree::new();
    for e in entries(0..1000) {
        t.push(&e).unwrap();
    }
    assert_eq!(t.stored() as u64, tlog_tiles::stored_hash_count(1000));
    assert!(t.read_hashes(&[u64::MAX]).is_err());
}

#[test]
fn log_file_writes_a_proof_that_check_logged_accepts() {
    let f = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let signer = SigningKey::generate_ed25519();
    let link = signed_link(tmp.path(), &signer);
    LogWriter::open(&f.dir, None)
        .unwrap()
        .append(&entries(0..5))
        .unwrap();
    let logged = log_file(&f.dir, &link, &EntryContext::now()).unwrap();
    assert_eq!(logged.index, 5);
    assert!(logged.proof_path.ends_with("build.12345678.link.proof"));
    let bytes = std::fs::read(&link).unwrap();
    let proven = check_logged(&link, &bytes, &key(&f)).unwrap();
    assert_eq!(proven.entry.kind, EntryKind::LinkRecorded);
    // The proof stays valid as the log grows (it is under its own
    // checkpoint), and the grown log is consistent with that checkpoint.
    LogWriter::open(&f.dir, None)
        .unwrap()
        .append(&entries(5..600))
        .unwrap();
    check_logged(&link, &bytes, &key(&f)).unwrap();
    verify(
        &DirSource::new(&f.dir),
        &key(&f),
        Some(("proof", logged.proof.checkpoint.as_bytes())),
    )
    .unwrap();
    // Without a proof: not logged.
    std::fs::remove_file(&logged.proof_path).unwrap();
    let e = check_logged(&link, &bytes, &key(&f)).unwrap_err();
    assert!(matches!(e, LogError::NotLogged { .. }), "{e:?}");
}

#[test]
fn stats_count_kinds_failures_and_delays() {
    let mut b = StatsBuilder::new();
    let link = Entry {
        schema: ENTRY_SCHEMA.into(),
        kind: EntryKind::LinkRecorded,
        file: "build.link".into(),
        sha256: "bb".into(),
        signers: vec!["k2".into()],
        steps: vec!["build".into()],
        subjects: Default::default(),
        time: "2026-12-02T11:00:00Z".into(),
        intact_version: "0.1.0".into(),
        ci: Default::default(),
        certificates: Vec::new(),
    };
    b.add(&link.to_bytes().unwrap());
    let mut verification = link.clone();
    verification.kind = EntryKind::VerificationFailed;
    verification.time = "2026-12-02T11:01:30Z".into();
    verification.signers = vec!["k1".into()];
    verification.subjects.insert(
        "link:build.link".into(),
        [("sha256".to_string(), "bb".to_string())].into(),
    );
    b.add(&verification.to_bytes().unwrap());
    verification.kind = EntryKind::VerificationPassed;
    b.add(&verification.to_bytes().unwrap());
    b.add(b"not an intact entry");
    let s = b.finish();
    assert_eq!(s.entries, 4);
    assert_eq!(s.other_entries, 1);
    assert_eq!(s.by_kind["link-recorded"], 1);
    assert_eq!(s.verifications_failed, 1);
    assert_eq!(s.failure_rate, Some(0.5));
    assert_eq!(s.link_to_verification_seconds.count, 2);
    assert_eq!(s.link_to_verification_seconds.p50, Some(90.0));
    assert_eq!(s.keys.len(), 2);
    let prom = s.to_prometheus();
    assert!(
        prom.contains("intact_log_verifications{result=\"failed\"} 1\n"),
        "{prom}"
    );
    assert!(s.to_text().contains("failure rate 50.0%"));
}

/// A static file server for `root` on 127.0.0.1 (one request per
/// connection, GET only), serving until the test process ends. Returns
/// its base URL.
fn serve(root: PathBuf) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            // Drain the headers.
            let mut h = String::new();
            while reader.read_line(&mut h).map(|n| n > 2).unwrap_or(false) {
                h.clear();
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            let rel = path.trim_start_matches('/').trim_start_matches("log/");
            let file = root.join(rel);
            let ok = !rel.contains("..") && file.is_file();
            let (status, body) = if ok {
                ("200 OK", std::fs::read(&file).unwrap_or_default())
            } else {
                ("404 Not Found", b"not found".to_vec())
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
    });
    format!("http://{addr}/log")
}

#[test]
fn a_log_verifies_over_http_and_damage_is_named_by_url() {
    let f = appended(700);
    let url = serve(f.dir.clone());
    let http = HttpSource::new(&url).unwrap();
    let local = verify_dir(&f).unwrap();
    let remote = verify(&http, &key(&f), None).unwrap();
    assert_eq!((remote.size, remote.root), (local.size, local.root));
    // tlog_tiles' reader over HTTP proves an entry.
    let tiles = SourceTiles::new(&http);
    let reader = TileHashReader::new(remote.size, remote.root, &tiles);
    let proof = tlog_tiles::prove_record(700, 300, &reader).unwrap();
    tlog_tiles::check_record(
        &proof,
        700,
        remote.root,
        300,
        tlog_tiles::record_hash(b"entry 300"),
    )
    .unwrap();
    std::fs::remove_file(f.dir.join("tile/0/001")).unwrap();
    let e = verify(&http, &key(&f), None).unwrap_err();
    assert!(
        matches!(&e, LogError::TileMissing { path } if path == &format!("{url}/tile/0/001")),
        "{e:?}"
    );
    // Nothing listening: an HTTP error naming the URL.
    let dead = HttpSource::new("http://127.0.0.1:1/log").unwrap();
    let e = verify(&dead, &key(&f), None).unwrap_err();
    assert!(matches!(e, LogError::Http { .. }), "{e:?}");
}

#[test]
fn an_append_refuses_to_extend_a_damaged_log() {
    let f = appended(300);
    let p = f.dir.join("tile/0/001.p/44");
    let good = std::fs::read(&p).unwrap();
    let mut bad = good.clone();
    bad[0] ^= 1;
    std::fs::write(&p, &bad).unwrap();
    let w = LogWriter::open(&f.dir, None).unwrap();
    let e = w.append(&entries(300..301)).unwrap_err();
    assert!(matches!(e, LogError::RootMismatch { .. }), "{e:?}");
    std::fs::write(&p, &good).unwrap();
    let b = f.dir.join("tile/entries/001.p/44");
    let bundle = std::fs::read(&b).unwrap();
    let es = decode_bundle(&bundle).unwrap();
    std::fs::write(&b, encode_bundle(es.iter().take(40).copied())).unwrap();
    let e = w.append(&entries(300..301)).unwrap_err();
    assert!(matches!(e, LogError::EntryCountMismatch { .. }), "{e:?}");
    std::fs::write(&b, &bundle).unwrap();
    w.append(&entries(300..301)).unwrap();
    assert_eq!(verify_dir(&f).unwrap().size, 301);
}

#[test]
fn attestations_become_entries_with_their_subjects() {
    use base64::Engine as _;
    const KEYID: &str = "5d066fb7a1c5d6a3dbd5cd1a7a8c4b7d8f6e6c2b1a0f9e8d7c6b5a4f3e2d1c0b";
    let statement = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "app.tar.gz", "digest": {"sha256": "aa"}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {"secret": "not copied"}
    });
    let envelope = serde_json::json!({
        "payloadType": "application/vnd.in-toto+json",
        "payload": base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&statement).unwrap()),
        // A keyid as real envelopes carry it: such an envelope also
        // parses as DSSE metadata, whose payload is then not a link.
        "signatures": [{"keyid": KEYID, "sig": "AAAA"}]
    });
    let bytes = serde_json::to_vec(&envelope).unwrap();
    let e = Entry::describe(
        Path::new("app.intoto.json"),
        &bytes,
        &EntryContext::default(),
    )
    .unwrap();
    assert_eq!(e.kind, EntryKind::AttestationMade);
    assert_eq!(e.signers, vec![KEYID.to_string()]);
    assert_eq!(e.subjects["app.tar.gz"]["sha256"], "aa");
    assert!(!String::from_utf8(e.to_bytes().unwrap())
        .unwrap()
        .contains("not copied"));
}
