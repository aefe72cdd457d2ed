//! Git signatures: `allowed_signers` lines (as the layout compiler reads a
//! signers file) and `sshsig` armor checked against them never panic; a
//! file parses exactly when each of its lines does; a tag splits into its
//! signed part and an armored signature that together are the tag.
//!
//! Input: signers file, NUL, signature as stored, NUL, signed data.
#![no_main]

use intact_fuzz::parts;
use intact_git::fuzzing::{check_signature, split_tag};
use intact_git::AllowedSigners;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [file, sig, signed] = parts(data, 3)[..] else {
        return;
    };
    let file = String::from_utf8_lossy(file);
    let lines: Vec<String> = file
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    let parsed = AllowedSigners::parse(&lines);
    let each = lines
        .iter()
        .all(|l| AllowedSigners::parse(std::slice::from_ref(l)).is_ok());
    assert_eq!(parsed.is_ok(), each, "a file is not the sum of its lines");
    let signers = parsed.unwrap_or_default();
    assert_eq!(signers.is_empty(), lines.is_empty() || !each);

    let _ = check_signature(sig, signed, "commit", "0000", &signers, None);

    if let Some((body, armor)) = split_tag(signed) {
        assert_eq!([body, armor].concat(), signed, "split_tag lost bytes");
        assert!(
            armor.starts_with(b"-----BEGIN SSH SIGNATURE-----")
                || armor.starts_with(b"-----BEGIN PGP SIGNATURE-----"),
            "split_tag split off no armor"
        );
        let _ = check_signature(armor, body, "tag", "0000", &signers, None);
    }
});
