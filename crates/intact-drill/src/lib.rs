//! Attack drills: prove a layout catches the attacks it should.
//!
//! [`Chain::load`] reads a chain that verifies (a signed layout, its
//! owners' public keys, the link directory, the directory inspections run
//! in) into memory; [`drill`] mounts a set of supply-chain attacks on
//! copies of it and verifies each in isolation with the library verifier
//! ([`intact_verify::verify`]), reporting for each whether it was caught
//! (by which stage and check code) or not.
//!
//! The originals are never written: links are attacked in memory, and
//! every verification runs its inspections in a fresh scratch copy of the
//! work directory, removed afterwards. Attacks that need a validly signed
//! but altered link (an artifact changed between two steps, an unexpected
//! or missing product) run on a *re-keyed mirror* of the chain: the same
//! layout and links, re-signed with keys generated for the drill (one per
//! functionary key, so who-may-sign-what is unchanged). That is the
//! attacker's view of a compromised functionary or of an artifact swapped
//! before an honest functionary recorded it.
//!
//! With a git provenance policy ([`Chain::with_git_repo`]), the git
//! attacks (an unsigned commit, a foreign signer, a tree that differs from
//! the commit) each write a commit to their own scratch clone of the
//! repository, a bare repository borrowing the original's objects
//! read-only; the original is never written.
//!
//! An attack is caught only when verification fails for a reason the
//! attack targets (its check codes, and for git the failed git check);
//! any other failure is a [`Verdict::Error`]: the drill proves nothing
//! about that attack.
//!
//! ```no_run
//! use std::path::Path;
//! use intact_drill::{drill, Chain, DrillOptions};
//!
//! let chain = Chain::load(
//!     Path::new("root.layout"),
//!     &[Path::new("alice.pub").to_path_buf()],
//!     Path::new("links"),
//!     Some(Path::new("final")),
//!     None,
//! )?;
//! let report = drill(&chain, &DrillOptions::default())?;
//! print!("{}", report.to_text());
//! assert_eq!(report.uncaught(), 0);
//! # Ok::<(), intact_drill::DrillError>(())
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use intact_crypto::{PublicKey, SigningKey};
use intact_model::{
    ArtifactName, Container, Digest, DigestSet, KeyId, Layout, Link, Metadata, Payload, RuleKind,
};
use intact_verify::{MemoryLinkSource, Report, VerifyOptions};
use serde_json::{json, Value};
use time::OffsetDateTime;

/// The schema identifier of [`DrillReport::to_json`].
pub const DRILL_SCHEMA: &str = "intact.drill-report/v1";

/// The largest link file read.
const MAX_LINK: u64 = intact_model::io::DEFAULT_MAX_METADATA_SIZE;

/// Why a drill could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DrillError {
    /// A file that cannot be read or parsed (the error names it).
    #[error(transparent)]
    Model(#[from] intact_model::ModelError),
    /// A key that cannot be loaded or used.
    #[error(transparent)]
    Crypto(#[from] intact_crypto::CryptoError),
    /// The verifier refused its inputs.
    #[error(transparent)]
    Verify(#[from] intact_verify::VerifyError),
    /// A link attestation that cannot be re-made.
    #[error(transparent)]
    Attest(#[from] intact_attest::AttestError),
    /// The repository (or the drill's scratch clone of it) cannot be
    /// read or written.
    #[error("{}: {message}", .path.display())]
    Git {
        /// The repository.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Reading the originals or writing the scratch copy (names the path).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The layout file holds a link.
    #[error("{}: expected a layout, found a link", .0.display())]
    NotALayout(PathBuf),
    /// No layout key was given.
    #[error("at least one layout key is required")]
    NoLayoutKeys,
    /// The chain does not verify as given: there is nothing to drill.
    #[error("the chain does not verify ({stage}, {code}): {message}; a drill needs a chain that verifies")]
    Baseline {
        /// The failing stage.
        stage: String,
        /// The verifier's check code.
        code: String,
        /// The verifier's message.
        message: String,
    },
}

/// A chain that verifies, held in memory.
#[derive(Debug, Clone)]
pub struct Chain {
    /// The signed root layout.
    pub layout: Metadata,
    /// The layout owners' public keys.
    pub keys: BTreeMap<KeyId, PublicKey>,
    /// Link files by path relative to the link directory.
    pub links: BTreeMap<String, Vec<u8>>,
    /// The directory inspections run in (copied for each attack).
    pub workdir: Option<PathBuf>,
    /// Links of an older run, for the replay drill.
    pub old_links: Option<BTreeMap<String, Vec<u8>>>,
    /// The repository a git provenance policy is checked against
    /// (`--git-repo`); the git drills run on scratch clones of it.
    pub git_repo: Option<PathBuf>,
}

impl Chain {
    /// Read a chain: nothing is written, the files are only read.
    pub fn load(
        layout: &Path,
        layout_keys: &[PathBuf],
        link_dir: &Path,
        workdir: Option<&Path>,
        old_link_dir: Option<&Path>,
    ) -> Result<Self, DrillError> {
        let md = Metadata::load(layout)?;
        if !matches!(md.payload()?, Payload::Layout(_)) {
            return Err(DrillError::NotALayout(layout.to_path_buf()));
        }
        if layout_keys.is_empty() {
            return Err(DrillError::NoLayoutKeys);
        }
        let mut keys = BTreeMap::new();
        for path in layout_keys {
            let key = intact_crypto::load_public_key(path)?;
            keys.insert(key.keyid()?, key);
        }
        let old_links = match old_link_dir {
            Some(d) => Some(read_links(d)?),
            None => None,
        };
        Ok(Chain {
            layout: md,
            keys,
            links: read_links(link_dir)?,
            workdir: workdir.map(Path::to_path_buf),
            old_links,
            git_repo: None,
        })
    }

    /// Check the layout's git provenance policy against `repo` (only
    /// read: the git drills run on scratch clones of it).
    pub fn with_git_repo(mut self, repo: Option<&Path>) -> Self {
        self.git_repo = repo.map(Path::to_path_buf);
        self
    }

    fn layout_payload(&self) -> Result<Layout, DrillError> {
        match self.layout.payload()? {
            Payload::Layout(l) => Ok(l),
            Payload::Link(_) => Err(DrillError::NotALayout(PathBuf::from("layout"))),
        }
    }
}

/// Link files (`*.link`, and the link attestations `*.link.intoto.json`)
/// under `dir` (and its subdirectories, for sublayouts, two levels deep),
/// by relative path.
fn read_links(dir: &Path) -> Result<BTreeMap<String, Vec<u8>>, DrillError> {
    let mut out = BTreeMap::new();
    collect_links(dir, "", 0, &mut out)?;
    Ok(out)
}

fn collect_links(
    dir: &Path,
    prefix: &str,
    depth: usize,
    out: &mut BTreeMap<String, Vec<u8>>,
) -> Result<(), DrillError> {
    let mut entries: Vec<_> = fs_err::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let Ok(name) = e.file_name().into_string() else {
            continue;
        };
        let path = e.path();
        let kind = fs_err::symlink_metadata(&path)?.file_type();
        if kind.is_dir() && depth < 2 {
            collect_links(&path, &format!("{prefix}{name}/"), depth + 1, out)?;
        } else if kind.is_file()
            && (name.ends_with(".link") || name.ends_with(LINK_ATTESTATION_SUFFIX))
        {
            let bytes = intact_model::io::read_limited(&path, MAX_LINK)
                .map_err(intact_model::ModelError::from)?;
            out.insert(format!("{prefix}{name}"), bytes.to_vec());
        }
    }
    Ok(())
}

/// How a drill runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DrillOptions {
    /// Values for the layout's `{NAME}` parameters.
    pub params: BTreeMap<String, String>,
    /// The instant verification judges expiry at (the expiry drill moves
    /// it past the layout's expiry).
    pub now: OffsetDateTime,
    /// Kill an inspection after this long.
    pub inspection_timeout: Option<Duration>,
}

impl Default for DrillOptions {
    fn default() -> Self {
        DrillOptions {
            params: BTreeMap::new(),
            now: OffsetDateTime::now_utc(),
            inspection_timeout: Some(Duration::from_secs(120)),
        }
    }
}

impl DrillOptions {
    /// Set parameter values.
    pub fn params(mut self, params: BTreeMap<String, String>) -> Self {
        self.params = params;
        self
    }
    /// Judge expiry at `now`.
    pub fn now(mut self, now: OffsetDateTime) -> Self {
        self.now = now;
        self
    }
}

/// What became of one attack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Verification failed.
    Caught {
        /// The stage that failed (`step-rules`).
        stage: String,
        /// The check code (`failure.code` of the verify report).
        code: String,
        /// The failed sub-check the attack targets, where the stage has
        /// several (`unsigned` for git provenance).
        check: Option<String>,
        /// The step or inspection that failed.
        scope: Option<String>,
    },
    /// The attacked chain verified: a hole.
    NotCaught,
    /// Verification failed, but not for a reason the attack targets (a
    /// broken scratch copy, an inspection failing for its own reasons):
    /// the drill proves nothing either way about this attack.
    Error {
        /// The stage that failed.
        stage: String,
        /// Its check code (with the failed sub-checks, if any).
        code: String,
        /// The step or inspection that failed.
        scope: Option<String>,
        /// The verifier's message.
        message: String,
    },
    /// The attack does not apply to this chain (the reason says why).
    NotApplicable(String),
}

/// One attack and its verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttackResult {
    /// A stable identifier (`modify-material`).
    pub id: &'static str,
    /// What the attacker did, for people.
    pub title: String,
    /// The step attacked, when one was.
    pub target: Option<String>,
    /// Caught, not caught, or not applicable.
    pub verdict: Verdict,
}

/// Every attack of a drill, in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DrillReport {
    /// Steps in the layout.
    pub steps: usize,
    /// Inspections in the layout.
    pub inspections: usize,
    /// The attacks.
    pub attacks: Vec<AttackResult>,
}

impl DrillReport {
    fn count(&self, f: impl Fn(&Verdict) -> bool) -> usize {
        self.attacks.iter().filter(|a| f(&a.verdict)).count()
    }
    /// Attacks caught.
    pub fn caught(&self) -> usize {
        self.count(|v| matches!(v, Verdict::Caught { .. }))
    }
    /// Attacks that went through: each is a hole in the layout.
    pub fn uncaught(&self) -> usize {
        self.count(|v| *v == Verdict::NotCaught)
    }
    /// Attacks that do not apply to this chain.
    pub fn not_applicable(&self) -> usize {
        self.count(|v| matches!(v, Verdict::NotApplicable(_)))
    }
    /// Attacks whose verification failed for another reason than the
    /// attack: the drill could not judge them.
    pub fn errors(&self) -> usize {
        self.count(|v| matches!(v, Verdict::Error { .. }))
    }
    /// Whether the drill proved every applicable attack caught.
    pub fn passed(&self) -> bool {
        self.uncaught() == 0 && self.errors() == 0
    }

    fn summary(&self) -> String {
        let errors = match self.errors() {
            0 => String::new(),
            1 => ", 1 ERROR (not judged)".to_string(),
            n => format!(", {n} ERRORS (not judged)"),
        };
        format!(
            "{} attacks on {} step{} and {} inspection{}: {} caught, {} NOT caught, {} not applicable{errors}",
            self.attacks.len(),
            self.steps,
            plural(self.steps),
            self.inspections,
            plural(self.inspections),
            self.caught(),
            self.uncaught(),
            self.not_applicable(),
        )
    }

    /// The report for people.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for a in &self.attacks {
            let target = a.target.as_deref().unwrap_or("-");
            let (word, detail) = verdict_words(&a.verdict);
            out.push_str(&format!(
                "{word:<11} {:<24} {target:<16} {}\n",
                a.id, a.title
            ));
            if !detail.is_empty() {
                out.push_str(&format!("{:<11} {detail}\n", ""));
            }
        }
        out.push_str(&format!("\n{}\n", self.summary()));
        out
    }

    /// The report as a Markdown table.
    pub fn to_markdown(&self) -> String {
        let mut out = String::from(
            "| attack | target | what the attacker did | verdict |\n|---|---|---|---|\n",
        );
        for a in &self.attacks {
            let (word, detail) = verdict_words(&a.verdict);
            let verdict = if detail.is_empty() {
                word.to_string()
            } else {
                format!("{word}: {detail}")
            };
            out.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                a.id,
                a.target.as_deref().unwrap_or("-"),
                a.title.replace('|', "\\|"),
                verdict.replace('|', "\\|")
            ));
        }
        out.push_str(&format!("\n{}\n", self.summary()));
        out
    }

    /// The machine-readable form ([`DRILL_SCHEMA`]).
    pub fn to_json(&self) -> Value {
        let attacks: Vec<Value> = self
            .attacks
            .iter()
            .map(|a| {
                let mut v = json!({
                    "id": a.id,
                    "title": a.title,
                    "target": a.target,
                });
                let extra = match &a.verdict {
                    Verdict::Caught {
                        stage,
                        code,
                        check,
                        scope,
                    } => {
                        let mut v = json!({
                            "verdict": "caught", "stage": stage, "code": code, "scope": scope,
                        });
                        if let (Some(c), Some(obj)) = (check, v.as_object_mut()) {
                            obj.insert("check".into(), json!(c));
                        }
                        v
                    }
                    Verdict::Error {
                        stage,
                        code,
                        scope,
                        message,
                    } => json!({
                        "verdict": "error", "stage": stage, "code": code, "scope": scope,
                        "message": message,
                    }),
                    Verdict::NotCaught => json!({"verdict": "not-caught"}),
                    Verdict::NotApplicable(why) => {
                        json!({"verdict": "not-applicable", "reason": why})
                    }
                };
                if let (Some(obj), Value::Object(more)) = (v.as_object_mut(), extra) {
                    obj.extend(more);
                }
                v
            })
            .collect();
        json!({
            "schema": DRILL_SCHEMA,
            "steps": self.steps,
            "inspections": self.inspections,
            "summary": {
                "attacks": self.attacks.len(),
                "caught": self.caught(),
                "not_caught": self.uncaught(),
                "not_applicable": self.not_applicable(),
                "errors": self.errors(),
            },
            "attacks": attacks,
        })
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn verdict_words(v: &Verdict) -> (&'static str, String) {
    match v {
        Verdict::Caught {
            stage,
            code,
            check,
            scope,
        } => {
            let code = match check {
                Some(c) => format!("{code}: {c}"),
                None => code.clone(),
            };
            (
                "caught",
                match scope {
                    Some(s) => format!("by {stage} ({code}) in {s}"),
                    None => format!("by {stage} ({code})"),
                },
            )
        }
        Verdict::Error {
            stage,
            code,
            scope,
            message,
        } => {
            let at = match scope {
                Some(s) => format!("{stage} ({code}) in {s}"),
                None => format!("{stage} ({code})"),
            };
            (
                "ERROR",
                format!("failed for another reason than the attack, at {at}: {message}"),
            )
        }
        Verdict::NotCaught => ("NOT CAUGHT", String::new()),
        Verdict::NotApplicable(why) => ("n/a", why.clone()),
    }
}

/// A tampered digest: what no honest recorder wrote.
fn evil_digest() -> DigestSet {
    DigestSet::single("sha256", Digest::from_bytes(&[0xd1; 32]))
}

/// What a link attestation's file name ends with.
const LINK_ATTESTATION_SUFFIX: &str = ".link.intoto.json";

/// The step, the short keyid and the form of a top-level link file name:
/// exactly `STEP.KEYID8.link` or `STEP.KEYID8.link.intoto.json` with
/// KEYID8 eight lowercase hex digits, the names `intact verify` reads. A
/// step `build` has no `build.extra.abcd1234.link`: that is step
/// `build.extra`'s.
fn link_name_parts(name: &str) -> Option<(&str, &str, bool)> {
    if name.contains('/') {
        return None;
    }
    let (rest, attestation) = match name.strip_suffix(LINK_ATTESTATION_SUFFIX) {
        Some(r) => (r, true),
        None => (name.strip_suffix(".link")?, false),
    };
    let (step, id) = rest.rsplit_once('.')?;
    let hex = id.len() == 8 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    (hex && !step.is_empty()).then_some((step, id, attestation))
}

/// Files of `links` for `step` (top level, both forms), by name.
fn links_of<'a>(
    links: &'a BTreeMap<String, Vec<u8>>,
    step: &'a str,
) -> impl Iterator<Item = (&'a String, &'a Vec<u8>)> {
    links
        .iter()
        .filter(move |(n, _)| link_name_parts(n).is_some_and(|(s, _, _)| s == step))
}

/// How a link is stored: a classic link (Metablock or DSSE), or a link
/// attestation (an in-toto Statement with the link predicate, in DSSE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Classic(Container),
    Attestation,
}

/// A parsed link file.
struct Parsed {
    md: Metadata,
    link: Link,
    form: Form,
}

fn parse_link(bytes: &[u8]) -> Option<Parsed> {
    let md = Metadata::from_slice(bytes).ok()?;
    if let Metadata::Envelope(env) = &md {
        if let Ok(st) = intact_attest::statement_of(env) {
            if st.predicate_type() == intact_attest::LINK_PREDICATE_TYPE {
                let link = intact_attest::slsa::link_of_statement(&st).ok()?;
                return Some(Parsed {
                    md,
                    link,
                    form: Form::Attestation,
                });
            }
        }
    }
    match md.payload().ok()? {
        Payload::Link(link) => Some(Parsed {
            form: Form::Classic(md.container()),
            md,
            link,
        }),
        Payload::Layout(_) => None,
    }
}

/// The file name of `keyid`'s link for `step` in `form`.
fn link_file(step: &str, keyid: &KeyId, form: Form) -> String {
    match form {
        Form::Classic(_) => format!("{step}.{}.link", keyid.short()),
        Form::Attestation => format!("{step}.{}{LINK_ATTESTATION_SUFFIX}", keyid.short()),
    }
}

/// The form a file name says (the content decides when it is parsed).
fn form_of_name(name: &str) -> Form {
    if name.ends_with(LINK_ATTESTATION_SUFFIX) {
        Form::Attestation
    } else {
        Form::Classic(Container::Metablock)
    }
}

/// The chain re-signed with keys made for the drill (one per functionary
/// key), so links can be altered and signed as a functionary would.
struct Mirror {
    layout: Metadata,
    owner: BTreeMap<KeyId, PublicKey>,
    /// Mirror signing key by the original keyid.
    keys: BTreeMap<KeyId, SigningKey>,
    links: BTreeMap<String, Vec<u8>>,
    /// The original keyid whose mirror key signed each file of `links`.
    signer: BTreeMap<String, KeyId>,
}

impl Mirror {
    fn new(chain: &Chain, layout: &Layout) -> Result<Self, DrillError> {
        let mut keys = BTreeMap::new();
        let mut ids = BTreeMap::new();
        let mut mirror = layout.clone();
        mirror.keys.clear();
        for id in layout.keys.keys() {
            let k = SigningKey::generate_ed25519();
            let new_id = k.keyid()?;
            mirror
                .keys
                .insert(new_id.clone(), k.public_key().to_key_dict()?);
            ids.insert(id.clone(), new_id);
            keys.insert(id.clone(), k);
        }
        for s in &mut mirror.steps {
            for id in &mut s.pubkeys {
                if let Some(n) = ids.get(id) {
                    *id = n.clone();
                }
            }
        }
        let owner = SigningKey::generate_ed25519();
        let mut md = Metadata::new(Payload::Layout(mirror), chain.layout.container())?;
        intact_crypto::sign_metadata(&mut md, &owner)?;
        let mut links = BTreeMap::new();
        let mut signer = BTreeMap::new();
        for (name, bytes) in &chain.links {
            let Some((step, short, _)) = link_name_parts(name) else {
                continue;
            };
            let Some(p) = parse_link(bytes) else {
                continue;
            };
            let Some(orig) = layout
                .keys
                .keys()
                .find(|id| id.short() == short && p.md.signature_by(id).is_some())
            else {
                continue;
            };
            let Some(k) = keys.get(orig) else { continue };
            let file = link_file(step, &k.keyid()?, p.form);
            links.insert(file.clone(), sign_link(p.link, p.form, k)?);
            signer.insert(file, orig.clone());
        }
        Ok(Mirror {
            layout: md,
            owner: BTreeMap::from([(owner.keyid()?, owner.public_key().clone())]),
            keys,
            links,
            signer,
        })
    }

    /// The first mirror link of `step`.
    fn link_of(&self, step: &str) -> Option<Link> {
        links_of(&self.links, step).find_map(|(_, b)| Some(parse_link(b)?.link))
    }

    /// The mirror's links with every file of `step` (both forms, every
    /// functionary) changed by `change` and re-signed, so the forms and
    /// the functionaries still agree and only the attack differs.
    fn rewrite(
        &self,
        step: &str,
        change: impl Fn(&mut Link),
    ) -> Result<BTreeMap<String, Vec<u8>>, DrillError> {
        let mut links = self.links.clone();
        for (name, bytes) in links_of(&self.links, step) {
            let (Some(mut p), Some(key)) = (
                parse_link(bytes),
                self.signer.get(name).and_then(|id| self.keys.get(id)),
            ) else {
                continue;
            };
            change(&mut p.link);
            match sign_link(p.link.clone(), p.form, key) {
                Ok(bytes) => {
                    links.insert(name.clone(), bytes);
                }
                // A link attestation needs a product (its subject): with
                // none left, the attacker files a classic link instead,
                // which the verifier reads under the classic name.
                Err(DrillError::Attest(_)) if p.form == Form::Attestation => {
                    links.remove(name);
                    let classic = name
                        .strip_suffix(".intoto.json")
                        .unwrap_or(name)
                        .to_string();
                    let form = Form::Classic(Container::Metablock);
                    links.insert(classic, sign_link(p.link, form, key)?);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(links)
    }
}

/// `link` signed by `key` in `form`.
fn sign_link(link: Link, form: Form, key: &SigningKey) -> Result<Vec<u8>, DrillError> {
    match form {
        Form::Classic(container) => {
            let mut md = Metadata::new(Payload::Link(link), container)?;
            intact_crypto::sign_metadata(&mut md, key)?;
            Ok(md.to_bytes()?)
        }
        Form::Attestation => {
            let st = intact_attest::slsa::link_statement(&link)?;
            let env = intact_attest::sign_statement(&st, &[key])?;
            let mut bytes = env.to_bytes()?;
            bytes.push(b'\n');
            Ok(bytes)
        }
    }
}

/// What an attack verifies.
struct Attempt<'a> {
    layout: &'a Metadata,
    keys: &'a BTreeMap<KeyId, PublicKey>,
    links: BTreeMap<String, Vec<u8>>,
    /// Replace this file of the scratch work directory.
    swap_file: Option<String>,
    subjects: Vec<intact_verify::Subject>,
    now: Option<OffsetDateTime>,
    /// Check git provenance against this repository (a scratch clone)
    /// instead of the chain's.
    git_repo: Option<PathBuf>,
    /// Test only: empty the scratch work directory before verifying, a
    /// broken scratch copy.
    #[cfg(test)]
    sabotage: bool,
}

impl<'a> Attempt<'a> {
    fn new(
        layout: &'a Metadata,
        keys: &'a BTreeMap<KeyId, PublicKey>,
        links: BTreeMap<String, Vec<u8>>,
    ) -> Self {
        Attempt {
            layout,
            keys,
            links,
            swap_file: None,
            subjects: Vec::new(),
            now: None,
            git_repo: None,
            #[cfg(test)]
            sabotage: false,
        }
    }
}

/// What counts as catching an attack: verification failing with one of
/// `codes` (the verify report's `failure.code`) and, when `checks` is not
/// empty, one of those sub-checks among the failed ones (git provenance:
/// `unsigned`, ...). Any other failure is no proof the attack was seen:
/// it is an error of the drill.
struct Expect {
    /// The attack's identifier.
    id: &'static str,
    codes: &'static [&'static str],
    checks: &'static [&'static str],
}

const fn expect(id: &'static str, codes: &'static [&'static str]) -> Expect {
    Expect {
        id,
        codes,
        checks: &[],
    }
}

/// The reasons each attack may be caught for.
mod expect {
    use super::{expect, Expect};

    const RULES: &[&str] = &["step-rule", "inspection-rule"];
    pub(super) const SWAP: Expect = expect(
        "swap-final-product",
        &[
            "inspection-failed",
            "inspection-rule",
            "subject-not-produced",
        ],
    );
    pub(super) const MODIFY: Expect = expect("modify-material", RULES);
    pub(super) const ADD: Expect = expect("add-product", RULES);
    pub(super) const DELETE: Expect = expect("delete-product", RULES);
    pub(super) const DROP: Expect = expect("drop-link", &["link-missing", "threshold"]);
    pub(super) const MISFILE: Expect = expect(
        "misfiled-link",
        &["link-name-mismatch", "threshold", "link-missing"],
    );
    pub(super) const FOREIGN: Expect = expect("foreign-key", &["threshold"]);
    pub(super) const DUPLICATE: Expect = expect(
        "threshold-duplicate-link",
        &["threshold", "duplicate-signature"],
    );
    pub(super) const SECOND_KEYID: Expect = expect(
        "threshold-second-keyid",
        &["threshold", "duplicate-signature"],
    );
    pub(super) const EDITED: Expect = expect("layout-edited", &["layout-signature"]);
    pub(super) const EXPIRED: Expect = expect("expired-layout", &["layout-expired"]);
    pub(super) const REPLAY: Expect = expect(
        "replay-old-link",
        &["step-rule", "inspection-rule", "threshold-disagreement"],
    );
    const GIT: &[&str] = &["git-provenance"];
    pub(super) const GIT_UNSIGNED: Expect = Expect {
        id: "git-unsigned-commit",
        codes: GIT,
        checks: &["unsigned"],
    };
    pub(super) const GIT_FOREIGN: Expect = Expect {
        id: "git-foreign-signer",
        codes: GIT,
        checks: &["signer-not-allowed"],
    };
    pub(super) const GIT_TREE: Expect = Expect {
        id: "git-tree-differs",
        codes: GIT,
        checks: &["tree-mismatch"],
    };
}

/// The verdict on an attack from the failure its verification ended
/// with: caught only for a reason the attack targets.
fn judge(expect: &Expect, failure: Option<intact_verify::Failure>) -> Verdict {
    let Some(f) = failure else {
        return Verdict::NotCaught;
    };
    let code = f.kind.code();
    let check = if expect.checks.is_empty() {
        Some(None)
    } else {
        f.checks
            .iter()
            .find(|c| expect.checks.contains(&c.as_str()))
            .map(|c| Some(c.clone()))
    };
    match check {
        Some(check) if expect.codes.contains(&code) => Verdict::Caught {
            stage: stage_name(f.stage),
            code: code.to_string(),
            check,
            scope: f.scope,
        },
        _ => Verdict::Error {
            stage: stage_name(f.stage),
            code: if f.checks.is_empty() {
                code.to_string()
            } else {
                format!("{code}: {}", f.checks.join(", "))
            },
            scope: f.scope,
            message: f.message,
        },
    }
}

struct Driller<'a> {
    chain: &'a Chain,
    opts: &'a DrillOptions,
    /// Test only: the attack whose scratch copy is broken.
    #[cfg(test)]
    sabotage: Option<&'static str>,
}

impl Driller<'_> {
    /// Verify `a` with inspections in a fresh scratch copy of the work
    /// directory, removed when done.
    fn verify(&self, a: Attempt<'_>) -> Result<Report, DrillError> {
        let scratch = tempfile::Builder::new().prefix("intact-drill-").tempdir()?;
        let work = scratch.path().join("work");
        match &self.chain.workdir {
            Some(w) => copy_tree(w, &work)?,
            None => fs_err::create_dir(&work)?,
        }
        if let Some(f) = &a.swap_file {
            // Only a regular file inside the scratch copy is changed: an
            // absolute or `..` name, or a copied symlink, would lead out
            // of it to an original.
            let Some(path) = contained_file(&work, f) else {
                return Err(DrillError::Io(std::io::Error::other(format!(
                    "{f}: not a regular file inside the drill's scratch copy; not swapped"
                ))));
            };
            let mut bytes = fs_err::read(&path)?;
            bytes.extend_from_slice(b"\nswapped by intact drill\n");
            fs_err::write(&path, bytes)?;
        }
        #[cfg(test)]
        if a.sabotage {
            fs_err::remove_dir_all(&work)?;
            fs_err::create_dir(&work)?;
        }
        let mut opts = VerifyOptions::new()
            .params(self.opts.params.clone())
            .workdir(&work)
            .persist_inspection_links(false)
            .inspection_timeout(self.opts.inspection_timeout)
            .now(a.now.unwrap_or(self.opts.now))
            .subjects(a.subjects);
        if let Some(repo) = a.git_repo.as_ref().or(self.chain.git_repo.as_ref()) {
            opts = opts.git_repo(repo);
        }
        let source = MemoryLinkSource::new(a.links);
        let report = intact_verify::verify(a.layout, a.keys, &source, &opts)?;
        scratch.close()?;
        Ok(report)
    }

    /// Verify attack `a` and judge the outcome against `expect`.
    ///
    /// An inspection that fails is the one catch that the scratch copy
    /// itself can cause (a tool missing, a file not copied): it counts only
    /// if the same inspections pass without the attack, in a scratch copy
    /// made the same way.
    #[cfg_attr(not(test), allow(unused_mut))]
    fn verdict(&self, mut a: Attempt<'_>, expect: &Expect) -> Result<Verdict, DrillError> {
        #[cfg(test)]
        {
            a.sabotage = self.sabotage == Some(expect.id);
        }
        let mut control = Attempt::new(
            &self.chain.layout,
            &self.chain.keys,
            self.chain.links.clone(),
        );
        #[cfg(test)]
        {
            control.sabotage = a.sabotage;
        }
        control.git_repo = a.git_repo.clone();
        let report = self.verify(a)?;
        let verdict = judge(expect, report.failure);
        let Verdict::Caught { code, .. } = &verdict else {
            return Ok(verdict);
        };
        if code != "inspection-failed" {
            return Ok(verdict);
        }
        Ok(match self.verify(control)?.failure {
            None => verdict,
            Some(f) => Verdict::Error {
                stage: stage_name(f.stage),
                code: f.kind.code().to_string(),
                scope: f.scope,
                message: format!(
                    "{} (it fails without the attack too, so the inspection's failure proves nothing)",
                    f.message
                ),
            },
        })
    }
}

fn stage_name(stage: intact_verify::Stage) -> String {
    serde_json::to_value(stage)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| stage.label().to_string())
}

/// Copy a directory tree (regular files, directories and symbolic links;
/// nothing else) into `to`, which must not exist.
fn copy_tree(from: &Path, to: &Path) -> Result<(), DrillError> {
    fs_err::create_dir(to)?;
    for e in fs_err::read_dir(from)? {
        let e = e?;
        let src = e.path();
        let dst = to.join(e.file_name());
        let kind = fs_err::symlink_metadata(&src)?.file_type();
        if kind.is_dir() {
            copy_tree(&src, &dst)?;
        } else if kind.is_file() {
            fs_err::copy(&src, &dst)?;
        } else if kind.is_symlink() {
            #[cfg(unix)]
            fs_err::os::unix::fs::symlink(fs_err::read_link(&src)?, &dst)?;
        }
    }
    Ok(())
}

/// `root/name` when `name` is a plain relative path (no root, no `..`)
/// that is a regular file, not a symlink, whose real location is inside
/// `root` (no symlinked directory on the way out). Product names are what
/// a link says: an absolute or escaping one must never be written to.
fn contained_file(root: &Path, name: &str) -> Option<PathBuf> {
    use std::path::Component;
    let rel = Path::new(name);
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return None;
    }
    let path = root.join(rel);
    let meta = fs_err::symlink_metadata(&path).ok()?;
    if !meta.file_type().is_file() {
        return None;
    }
    let real_root = fs_err::canonicalize(root).ok()?;
    let real = fs_err::canonicalize(&path).ok()?;
    real.starts_with(&real_root).then_some(path)
}

/// Mount every attack on `chain` and verify each in isolation.
///
/// Fails with [`DrillError::Baseline`] when the chain does not verify as
/// given. The originals are only read.
pub fn drill(chain: &Chain, opts: &DrillOptions) -> Result<DrillReport, DrillError> {
    run_drill(Driller {
        chain,
        opts,
        #[cfg(test)]
        sabotage: None,
    })
}

fn run_drill(d: Driller<'_>) -> Result<DrillReport, DrillError> {
    let chain = d.chain;
    let layout = chain.layout_payload()?;
    let base = d.verify(Attempt::new(
        &chain.layout,
        &chain.keys,
        chain.links.clone(),
    ))?;
    if let Some(f) = base.failure {
        return Err(DrillError::Baseline {
            stage: stage_name(f.stage),
            code: f.kind.code().to_string(),
            message: f.message,
        });
    }
    let mirror = Mirror::new(chain, &layout)?;
    let mirror_ok = d
        .verify(Attempt::new(
            &mirror.layout,
            &mirror.owner,
            mirror.links.clone(),
        ))?
        .verified;
    let mut report = DrillReport {
        steps: layout.steps.len(),
        inspections: layout.inspect.len(),
        attacks: Vec::new(),
    };
    let final_step = layout.steps.last().map(|s| s.name.to_string());
    let mut push = |id, title: String, target: Option<String>, verdict| {
        report.attacks.push(AttackResult {
            id,
            title,
            target,
            verdict,
        })
    };
    let no_final = || Verdict::NotApplicable("the layout has no steps".into());
    let mirror_na = || {
        Verdict::NotApplicable(
            "the chain could not be re-signed with drill keys (sublayouts or unusual link names)"
                .into(),
        )
    };
    let on_mirror =
        |links: BTreeMap<String, Vec<u8>>| Attempt::new(&mirror.layout, &mirror.owner, links);

    // 1. Swap a final product.
    {
        let (title, verdict) = match swap_final(&d, final_step.as_deref())? {
            Some((t, v)) => (t, v),
            None => (
                "swap a final product".into(),
                Verdict::NotApplicable("the final step's link records no products".into()),
            ),
        };
        push(expect::SWAP.id, title, final_step.clone(), verdict);
    }

    // 2-4. Alter artifacts between steps (on the mirror).
    let all_edges = if mirror_ok {
        edges(&layout, &mirror)
    } else {
        Vec::new()
    };
    let no_edge =
        || Verdict::NotApplicable("no step used an artifact an earlier step recorded".into());
    if !mirror_ok {
        push(
            expect::MODIFY.id,
            "change a material between two steps".into(),
            None,
            mirror_na(),
        );
    } else if all_edges.is_empty() {
        push(
            expect::MODIFY.id,
            "change a material between two steps".into(),
            None,
            no_edge(),
        );
    }
    // One per step that uses an earlier step's product: a hole at any hop
    // shows.
    for e in &all_edges {
        let links = mirror.rewrite(&e.consumer, |link| {
            if let Ok(name) = ArtifactName::new(e.artifact.clone()) {
                link.materials.insert(name, evil_digest());
            }
        })?;
        let verdict = d.verdict(on_mirror(links), &expect::MODIFY)?;
        push(
            expect::MODIFY.id,
            format!(
                "change {} after {} recorded it, before {} used it",
                e.artifact, e.producer, e.consumer
            ),
            Some(e.consumer.clone()),
            verdict,
        );
    }
    {
        let verdict = match (&final_step, mirror_ok) {
            (None, _) => no_final(),
            (_, false) => mirror_na(),
            (Some(step), true) => match mirror.link_of(step) {
                None => Verdict::NotApplicable(format!("no link of step {step}")),
                Some(_) => {
                    let links = mirror.rewrite(step, |link| {
                        if let Ok(name) = ArtifactName::new("intact-drill-unexpected.bin") {
                            link.products.insert(name, evil_digest());
                        }
                    })?;
                    d.verdict(on_mirror(links), &expect::ADD)?
                }
            },
        };
        push(
            expect::ADD.id,
            "slip an unexpected product into the final step".into(),
            final_step.clone(),
            verdict,
        );
    }
    {
        let edge = all_edges.first();
        let (target, verdict) = match (edge, mirror_ok) {
            (_, false) => (None, mirror_na()),
            (None, _) => (None, no_edge()),
            (Some(e), true) => {
                let links = mirror.rewrite(&e.producer, |link| {
                    link.products.remove(e.artifact.as_str());
                })?;
                (
                    Some(e.producer.clone()),
                    d.verdict(on_mirror(links), &expect::DELETE)?,
                )
            }
        };
        let title = match edge {
            Some(e) => format!("delete {} from the products of {}", e.artifact, e.producer),
            None => "delete a product".into(),
        };
        push(expect::DELETE.id, title, target, verdict);
    }

    // 5. Drop a link.
    {
        let verdict = match &final_step {
            None => no_final(),
            Some(step) => {
                let mut links = chain.links.clone();
                let names: Vec<String> = links_of(&links, step).map(|(n, _)| n.clone()).collect();
                for n in names {
                    links.remove(&n);
                }
                d.verdict(
                    Attempt::new(&chain.layout, &chain.keys, links),
                    &expect::DROP,
                )?
            }
        };
        push(
            expect::DROP.id,
            "remove the final step's link".into(),
            final_step.clone(),
            verdict,
        );
    }

    // 6. File one step's link under another.
    {
        let (title, target, verdict) = misfile(&d, &layout)?;
        push(expect::MISFILE.id, title, target, verdict);
    }

    // 7. Re-sign with a key the layout does not authorise.
    {
        let verdict = match &final_step {
            None => no_final(),
            Some(step) => foreign_key(&d, &layout, step)?,
        };
        push(
            expect::FOREIGN.id,
            "re-sign the final step's link with the attacker's own key".into(),
            final_step.clone(),
            verdict,
        );
    }

    // 8-9. Pad a threshold.
    {
        let (target, v1, v2) = pad_threshold(&d, &layout)?;
        push(
            expect::DUPLICATE.id,
            "copy one functionary's link under a second functionary's name".into(),
            target.clone(),
            v1,
        );
        push(
            expect::SECOND_KEYID.id,
            "sign once, claim the signature for a second keyid".into(),
            target,
            v2,
        );
    }

    // 10. Edit the layout after signing.
    {
        let mut edited = layout.clone();
        let verdict = match edited.steps.last_mut() {
            None => no_final(),
            Some(s) => {
                if let Ok(r) = intact_model::Rule::parse_str("ALLOW *") {
                    s.expected_materials.insert(0, r);
                }
                let mut md = Metadata::new(Payload::Layout(edited), chain.layout.container())?;
                for sig in chain.layout.signatures() {
                    if let Some(bytes) = sig.sig {
                        md.set_signature(sig.keyid.clone(), bytes.to_vec());
                    }
                }
                d.verdict(
                    Attempt::new(&md, &chain.keys, chain.links.clone()),
                    &expect::EDITED,
                )?
            }
        };
        push(
            expect::EDITED.id,
            "add `ALLOW *` to the layout after the owners signed it".into(),
            final_step.clone(),
            verdict,
        );
    }

    // 11. The clock moved past the expiry: the verifier's clock
    // (VerifyOptions::now), never the system's.
    {
        let verdict = match &layout.expires {
            None => Verdict::NotApplicable("the layout has no expiry".into()),
            Some(e) => match e.datetime().checked_add(time::Duration::days(1)) {
                Some(later) => {
                    let mut a = Attempt::new(&chain.layout, &chain.keys, chain.links.clone());
                    a.now = Some(later);
                    d.verdict(a, &expect::EXPIRED)?
                }
                // An expiry at the end of time: no clock gets past it.
                None => Verdict::NotApplicable("the layout expires at the end of time".into()),
            },
        };
        push(
            expect::EXPIRED.id,
            "verify a day after the layout expired".into(),
            None,
            verdict,
        );
    }

    // 12. Replay an older run's link.
    for (target, verdict) in replay(&d, &layout)? {
        push(
            expect::REPLAY.id,
            "replace a link with the same step's link from an older run".into(),
            target,
            verdict,
        );
    }

    // 13-15. Git provenance, on scratch clones of the repository.
    let attacks = [
        (
            &expect::GIT_UNSIGNED,
            git::Attack::Unsigned,
            "build from an unsigned commit",
        ),
        (
            &expect::GIT_FOREIGN,
            git::Attack::ForeignSigner,
            "build from a commit signed by someone not allowed",
        ),
        (
            &expect::GIT_TREE,
            git::Attack::TreeDiffers,
            "record a tree that differs from the commit",
        ),
    ];
    let policy = layout
        .inspect
        .iter()
        .find_map(|i| intact_model::GitPolicy::from_run(&i.run));
    for (exp, attack, title) in attacks {
        let (target, verdict) = match (&policy, &chain.git_repo, mirror_ok) {
            (None, _, _) => (
                None,
                Verdict::NotApplicable("the layout has no git provenance policy".into()),
            ),
            (Some(Err(e)), _, _) => (
                None,
                Verdict::NotApplicable(format!("the layout's git policy is malformed: {e}")),
            ),
            (Some(Ok(p)), None, _) => (
                Some(p.step.to_string()),
                Verdict::NotApplicable("no repository given (--git-repo)".into()),
            ),
            (Some(Ok(p)), _, false) => (Some(p.step.to_string()), mirror_na()),
            (Some(Ok(p)), Some(repo), true) => (
                Some(p.step.to_string()),
                git_attack(&d, &mirror, p, repo, attack, exp)?,
            ),
        };
        push(exp.id, title.into(), target, verdict);
    }
    Ok(report)
}

/// Mount a git attack: a new commit in a scratch clone of `repo` (the
/// protected ref moved to it, as an attacker who can push would), the
/// source step's links (on the mirror) naming it, verified against the
/// scratch clone. The original repository is only read.
fn git_attack(
    d: &Driller<'_>,
    mirror: &Mirror,
    policy: &intact_model::GitPolicy,
    repo: &Path,
    attack: git::Attack,
    exp: &Expect,
) -> Result<Verdict, DrillError> {
    let step = policy.step.as_str();
    let Some(link) = mirror.link_of(step) else {
        return Ok(Verdict::NotApplicable(format!("no link of step {step}")));
    };
    let facts = link.environment.get("git").and_then(Value::as_object);
    let Some(commit) = facts.and_then(|g| g.get("commit")).and_then(Value::as_str) else {
        return Ok(Verdict::NotApplicable(format!(
            "the link of step {step} records no commit (environment.git)"
        )));
    };
    let subdir = facts
        .and_then(|g| g.get("subdir"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let scratch = git::Scratch::clone_of(repo)?;
    let made = scratch.mount(attack, commit, subdir, policy.protected_ref.as_deref())?;
    let links = mirror.rewrite(step, |link| {
        if let Some(Value::Object(g)) = link.environment.get_mut("git") {
            g.insert("commit".into(), Value::String(made.commit.clone()));
            g.insert("tree".into(), Value::String(made.tree.clone()));
        }
    })?;
    let mut a = Attempt::new(&mirror.layout, &mirror.owner, links);
    a.git_repo = Some(scratch.path().to_path_buf());
    let verdict = d.verdict(a, exp)?;
    scratch.close()?;
    Ok(verdict)
}

fn swap_final(
    d: &Driller<'_>,
    final_step: Option<&str>,
) -> Result<Option<(String, Verdict)>, DrillError> {
    let Some(step) = final_step else {
        return Ok(None);
    };
    let Some(link) = links_of(&d.chain.links, step).find_map(|(_, b)| Some(parse_link(b)?.link))
    else {
        return Ok(None);
    };
    let names: Vec<String> = link.products.keys().map(|n| n.to_string()).collect();
    // A product the verifier holds in its work directory: replace the file.
    if let Some(w) = &d.chain.workdir {
        if let Some(n) = names.iter().find(|n| contained_file(w, n).is_some()) {
            let mut a = Attempt::new(&d.chain.layout, &d.chain.keys, d.chain.links.clone());
            a.swap_file = Some(n.clone());
            return Ok(Some((
                format!("replace {n} in the verifier's directory"),
                d.verdict(a, &expect::SWAP)?,
            )));
        }
    }
    // Otherwise the consumer holds it: verify it as a subject.
    let Some(n) = names.first() else {
        return Ok(None);
    };
    let mut a = Attempt::new(&d.chain.layout, &d.chain.keys, d.chain.links.clone());
    a.subjects = vec![intact_verify::Subject {
        name: n.clone(),
        sha256: Digest::from_bytes(&[0xd1; 32]),
        file: None,
    }];
    Ok(Some((
        format!("hand the consumer a different {n}"),
        d.verdict(a, &expect::SWAP)?,
    )))
}

/// An artifact one step recorded and a later step MATCHed.
struct Edge {
    producer: String,
    consumer: String,
    artifact: String,
}

/// For each step that used an earlier step's product, one such artifact:
/// the producer a MATCH rule names first, else any earlier step (a
/// layout that MATCHes nothing is drilled too).
fn edges(layout: &Layout, mirror: &Mirror) -> Vec<Edge> {
    let mut out = Vec::new();
    for (j, s) in layout.steps.iter().enumerate() {
        let mut producers: Vec<String> = s
            .expected_materials
            .iter()
            .filter_map(|r| match r.kind() {
                RuleKind::Match { dest_name, .. } => Some(dest_name.clone()),
                _ => None,
            })
            .collect();
        producers.extend(
            layout
                .steps
                .iter()
                .take(j)
                .rev()
                .map(|t| t.name.to_string()),
        );
        if let Some(e) = edge_between(mirror, &producers, s.name.as_str()) {
            out.push(e);
        }
    }
    out
}

fn edge_between(mirror: &Mirror, producers: &[String], consumer: &str) -> Option<Edge> {
    let cl = mirror.link_of(consumer)?;
    for producer in producers {
        let Some(pl) = mirror.link_of(producer) else {
            continue;
        };
        let common = cl
            .materials
            .iter()
            .find(|(n, dg)| pl.products.get(n.as_str()) == Some(*dg))
            .map(|(n, _)| n.to_string());
        if let Some(artifact) = common {
            return Some(Edge {
                producer: producer.clone(),
                consumer: consumer.to_string(),
                artifact,
            });
        }
    }
    None
}

fn misfile(
    d: &Driller<'_>,
    layout: &Layout,
) -> Result<(String, Option<String>, Verdict), DrillError> {
    let steps = &layout.steps;
    // Prefer two steps one key may sign: the hardest case.
    let mut pair = None;
    for (i, a) in steps.iter().enumerate() {
        for b in steps.iter().skip(i + 1) {
            if let Some(k) = a.pubkeys.iter().find(|k| b.pubkeys.contains(k)) {
                pair = Some((a, b, Some(k.clone())));
                break;
            }
        }
        if pair.is_some() {
            break;
        }
    }
    if pair.is_none() {
        if let (Some(a), Some(b)) = (steps.first(), steps.get(1)) {
            pair = Some((a, b, None));
        }
    }
    let Some((donor, victim, shared)) = pair else {
        return Ok((
            "file one step's link under another".into(),
            None,
            Verdict::NotApplicable("the layout has fewer than two steps".into()),
        ));
    };
    let title = format!(
        "file {}'s link as {}'s",
        donor.name.as_str(),
        victim.name.as_str()
    );
    let target = Some(victim.name.to_string());
    let donor_file = links_of(&d.chain.links, donor.name.as_str())
        .find(|(n, _)| {
            shared
                .as_ref()
                .is_none_or(|k| link_name_parts(n).is_some_and(|(_, short, _)| short == k.short()))
        })
        .map(|(n, b)| (n.clone(), b.clone()));
    let Some((donor_name, bytes)) = donor_file else {
        return Ok((
            title,
            target,
            Verdict::NotApplicable(format!("no link of step {}", donor.name.as_str())),
        ));
    };
    let Some(key) = shared.or_else(|| victim.pubkeys.first().cloned()) else {
        return Ok((
            title,
            target,
            Verdict::NotApplicable(format!(
                "step {} has no functionaries",
                victim.name.as_str()
            )),
        ));
    };
    let mut links = d.chain.links.clone();
    let old: Vec<String> = links_of(&links, victim.name.as_str())
        .map(|(n, _)| n.clone())
        .collect();
    for n in old {
        links.remove(&n);
    }
    // Under the victim's name, in the donor file's form.
    links.insert(
        link_file(victim.name.as_str(), &key, form_of_name(&donor_name)),
        bytes,
    );
    let verdict = d.verdict(
        Attempt::new(&d.chain.layout, &d.chain.keys, links),
        &expect::MISFILE,
    )?;
    Ok((title, target, verdict))
}

fn foreign_key(d: &Driller<'_>, layout: &Layout, step: &str) -> Result<Verdict, DrillError> {
    let Some(s) = layout.steps.iter().find(|s| s.name.as_str() == step) else {
        return Ok(Verdict::NotApplicable(format!("no step {step}")));
    };
    let Some(p) = links_of(&d.chain.links, step).find_map(|(_, b)| parse_link(b)) else {
        return Ok(Verdict::NotApplicable(format!("no link of step {step}")));
    };
    // The attacker's view: a key of their own, made on the spot, signing
    // in the form the chain uses.
    let attacker = SigningKey::generate_ed25519();
    let form = p.form;
    let forged = sign_link(p.link, form, &attacker)?;
    let mut links = d.chain.links.clone();
    let old: Vec<String> = links_of(&links, step).map(|(n, _)| n.clone()).collect();
    for n in old {
        links.remove(&n);
    }
    // Under every name the verifier looks for, and under its own.
    for id in &s.pubkeys {
        links.insert(link_file(step, id, form), forged.clone());
    }
    links.insert(link_file(step, &attacker.keyid()?, form), forged);
    d.verdict(
        Attempt::new(&d.chain.layout, &d.chain.keys, links),
        &expect::FOREIGN,
    )
}

fn pad_threshold(
    d: &Driller<'_>,
    layout: &Layout,
) -> Result<(Option<String>, Verdict, Verdict), DrillError> {
    let Some(s) = layout.steps.iter().find(|s| s.threshold >= 2) else {
        let na = || {
            Verdict::NotApplicable(
                "no step has a threshold above 1 (coverage: threshold-one)".into(),
            )
        };
        return Ok((None, na(), na()));
    };
    let step = s.name.as_str();
    let target = Some(step.to_string());
    // The first functionary with a link (in either form), and another
    // functionary.
    let mut signer = None;
    for id in &s.pubkeys {
        if let Some((n, b)) = links_of(&d.chain.links, step)
            .find(|(n, _)| link_name_parts(n).is_some_and(|(_, short, _)| short == id.short()))
        {
            signer = Some((id.clone(), form_of_name(n), b.clone()));
            break;
        }
    }
    let Some((k1, form, bytes)) = signer else {
        let na = || Verdict::NotApplicable(format!("no link of step {step}"));
        return Ok((target, na(), na()));
    };
    let Some(k2) = s.pubkeys.iter().find(|k| **k != k1).cloned() else {
        let na = || Verdict::NotApplicable(format!("step {step} lists one functionary"));
        return Ok((target, na(), na()));
    };
    // Only k1's link, copied under k2's name.
    let mut base = d.chain.links.clone();
    let old: Vec<String> = links_of(&base, step).map(|(n, _)| n.clone()).collect();
    for n in old {
        base.remove(&n);
    }
    base.insert(link_file(step, &k1, form), bytes.clone());
    let mut dup = base.clone();
    dup.insert(link_file(step, &k2, form), bytes.clone());
    let v1 = d.verdict(
        Attempt::new(&d.chain.layout, &d.chain.keys, dup),
        &expect::DUPLICATE,
    )?;
    // k1's signature claimed for k2 as well.
    let v2 = match Metadata::from_slice(&bytes) {
        Ok(mut md) => {
            let sig = md.signature_by(&k1).and_then(|s| s.sig.map(<[u8]>::to_vec));
            match sig {
                Some(sig) => {
                    md.set_signature(k2.clone(), sig);
                    let padded = md.to_bytes()?;
                    let mut links = base.clone();
                    links.insert(link_file(step, &k1, form), padded.clone());
                    links.insert(link_file(step, &k2, form), padded);
                    d.verdict(
                        Attempt::new(&d.chain.layout, &d.chain.keys, links),
                        &expect::SECOND_KEYID,
                    )?
                }
                None => {
                    Verdict::NotApplicable("the link's signature is not a raw signature".into())
                }
            }
        }
        Err(_) => Verdict::NotApplicable("the link does not parse".into()),
    };
    Ok((target, v1, v2))
}

fn replay(d: &Driller<'_>, layout: &Layout) -> Result<Vec<(Option<String>, Verdict)>, DrillError> {
    let Some(old) = &d.chain.old_links else {
        return Ok(vec![(
            None,
            Verdict::NotApplicable("no older run given (--old-link-dir)".into()),
        )]);
    };
    let mut out = Vec::new();
    for s in &layout.steps {
        let step = s.name.as_str();
        for (name, bytes) in links_of(old, step) {
            let Some(current) = d.chain.links.get(name) else {
                continue;
            };
            let same = match (parse_link(bytes), parse_link(current)) {
                (Some(a), Some(b)) => {
                    a.link.materials == b.link.materials && a.link.products == b.link.products
                }
                _ => bytes == current,
            };
            if same {
                continue;
            }
            let mut links = d.chain.links.clone();
            links.insert(name.clone(), bytes.clone());
            // The other form of the same key's link, if the run wrote
            // both: the older run's too, or none.
            let other = match name.strip_suffix(".intoto.json") {
                Some(classic) => classic.to_string(),
                None => format!("{name}.intoto.json"),
            };
            match old.get(&other) {
                Some(b) => links.insert(other, b.clone()),
                None => links.remove(&other),
            };
            out.push((
                Some(step.to_string()),
                d.verdict(
                    Attempt::new(&d.chain.layout, &d.chain.keys, links),
                    &expect::REPLAY,
                )?,
            ));
            break;
        }
    }
    if out.is_empty() {
        out.push((
            None,
            Verdict::NotApplicable(
                "the older run's links record the same artifacts as this run's".into(),
            ),
        ));
    }
    Ok(out)
}

mod git;

#[cfg(test)]
mod tests;
