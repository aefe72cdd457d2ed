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
        })
    }

    fn layout_payload(&self) -> Result<Layout, DrillError> {
        match self.layout.payload()? {
            Payload::Layout(l) => Ok(l),
            Payload::Link(_) => Err(DrillError::NotALayout(PathBuf::from("layout"))),
        }
    }
}

/// `*.link` files under `dir` (and its subdirectories, for sublayouts,
/// two levels deep), by relative path.
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
        } else if kind.is_file() && name.ends_with(".link") {
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
        /// The step or inspection that failed.
        scope: Option<String>,
    },
    /// The attacked chain verified: a hole.
    NotCaught,
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

    fn summary(&self) -> String {
        format!(
            "{} attacks on {} step{} and {} inspection{}: {} caught, {} NOT caught, {} not applicable",
            self.attacks.len(),
            self.steps,
            plural(self.steps),
            self.inspections,
            plural(self.inspections),
            self.caught(),
            self.uncaught(),
            self.not_applicable()
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
                    Verdict::Caught { stage, code, scope } => json!({
                        "verdict": "caught", "stage": stage, "code": code, "scope": scope,
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
        Verdict::Caught { stage, code, scope } => (
            "caught",
            match scope {
                Some(s) => format!("by {stage} ({code}) in {s}"),
                None => format!("by {stage} ({code})"),
            },
        ),
        Verdict::NotCaught => ("NOT CAUGHT", String::new()),
        Verdict::NotApplicable(why) => ("n/a", why.clone()),
    }
}

/// A tampered digest: what no honest recorder wrote.
fn evil_digest() -> DigestSet {
    DigestSet::single("sha256", Digest::from_bytes(&[0xd1; 32]))
}

/// Files of `links` for `step` (top level), by name.
fn links_of<'a>(
    links: &'a BTreeMap<String, Vec<u8>>,
    step: &str,
) -> impl Iterator<Item = (&'a String, &'a Vec<u8>)> {
    let prefix = format!("{step}.");
    links
        .iter()
        .filter(move |(n, _)| n.starts_with(&prefix) && n.ends_with(".link") && !n.contains('/'))
}

fn parse_link(bytes: &[u8]) -> Option<(Metadata, Link)> {
    let md = Metadata::from_slice(bytes).ok()?;
    match md.payload().ok()? {
        Payload::Link(l) => Some((md, l)),
        Payload::Layout(_) => None,
    }
}

fn link_file(step: &str, keyid: &KeyId) -> String {
    format!("{step}.{}.link", keyid.short())
}

/// The chain re-signed with keys made for the drill (one per functionary
/// key), so links can be altered and signed as a functionary would.
struct Mirror {
    layout: Metadata,
    owner: BTreeMap<KeyId, PublicKey>,
    /// Mirror signing key by the original keyid.
    keys: BTreeMap<KeyId, SigningKey>,
    links: BTreeMap<String, Vec<u8>>,
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
        for (name, bytes) in &chain.links {
            if name.contains('/') {
                continue;
            }
            let Some((md, link)) = parse_link(bytes) else {
                continue;
            };
            let step = link.name.to_string();
            let Some(orig) = layout
                .keys
                .keys()
                .find(|id| *name == link_file(&step, id) && md.signature_by(id).is_some())
            else {
                continue;
            };
            let Some(k) = keys.get(orig) else { continue };
            let signed = sign_link(link, md.container(), k)?;
            links.insert(link_file(&step, &k.keyid()?), signed);
        }
        Ok(Mirror {
            layout: md,
            owner: BTreeMap::from([(owner.keyid()?, owner.public_key().clone())]),
            keys,
            links,
        })
    }

    /// The mirror link file of `step` and the key that signs it.
    fn link_of(&self, step: &str) -> Option<(String, Link, &SigningKey)> {
        for k in self.keys.values() {
            let id = k.keyid().ok()?;
            let name = link_file(step, &id);
            if let Some(bytes) = self.links.get(&name) {
                let (_, link) = parse_link(bytes)?;
                return Some((name, link, k));
            }
        }
        None
    }
}

fn sign_link(link: Link, container: Container, key: &SigningKey) -> Result<Vec<u8>, DrillError> {
    let mut md = Metadata::new(Payload::Link(link), container)?;
    intact_crypto::sign_metadata(&mut md, key)?;
    Ok(md.to_bytes()?)
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
        }
    }
}

struct Driller<'a> {
    chain: &'a Chain,
    opts: &'a DrillOptions,
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
        let opts = VerifyOptions::new()
            .params(self.opts.params.clone())
            .workdir(&work)
            .persist_inspection_links(false)
            .inspection_timeout(self.opts.inspection_timeout)
            .now(a.now.unwrap_or(self.opts.now))
            .subjects(a.subjects);
        let source = MemoryLinkSource::new(a.links);
        let report = intact_verify::verify(a.layout, a.keys, &source, &opts)?;
        scratch.close()?;
        Ok(report)
    }

    fn verdict(&self, a: Attempt<'_>) -> Result<Verdict, DrillError> {
        let report = self.verify(a)?;
        Ok(match report.failure {
            None => Verdict::NotCaught,
            Some(f) => Verdict::Caught {
                stage: stage_name(f.stage),
                code: f.kind.code().to_string(),
                scope: f.scope,
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
    let layout = chain.layout_payload()?;
    let d = Driller { chain, opts };
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

    // 1. Swap a final product.
    {
        let (title, verdict) = match swap_final(&d, &layout, final_step.as_deref())? {
            Some((t, v)) => (t, v),
            None => (
                "swap a final product".into(),
                Verdict::NotApplicable("the final step's link records no products".into()),
            ),
        };
        push("swap-final-product", title, final_step.clone(), verdict);
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
            "modify-material",
            "change a material between two steps".into(),
            None,
            mirror_na(),
        );
    } else if all_edges.is_empty() {
        push(
            "modify-material",
            "change a material between two steps".into(),
            None,
            no_edge(),
        );
    }
    // One per step that uses an earlier step's product: a hole at any hop
    // shows.
    for e in &all_edges {
        let mut links = mirror.links.clone();
        let mut link = e.consumer_link.clone();
        if let Ok(name) = ArtifactName::new(e.artifact.clone()) {
            link.materials.insert(name, evil_digest());
        }
        links.insert(
            e.consumer_file.clone(),
            sign_link(link, mirror.layout.container(), e.consumer_key)?,
        );
        let verdict = d.verdict(Attempt::new(&mirror.layout, &mirror.owner, links))?;
        push(
            "modify-material",
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
                Some((file, mut link, key)) => {
                    if let Ok(name) = ArtifactName::new("intact-drill-unexpected.bin") {
                        link.products.insert(name, evil_digest());
                    }
                    let mut links = mirror.links.clone();
                    links.insert(file, sign_link(link, mirror.layout.container(), key)?);
                    d.verdict(Attempt::new(&mirror.layout, &mirror.owner, links))?
                }
            },
        };
        push(
            "add-product",
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
                let mut links = mirror.links.clone();
                let mut link = e.producer_link.clone();
                link.products.remove(e.artifact.as_str());
                links.insert(
                    e.producer_file.clone(),
                    sign_link(link, mirror.layout.container(), e.producer_key)?,
                );
                (
                    Some(e.producer.clone()),
                    d.verdict(Attempt::new(&mirror.layout, &mirror.owner, links))?,
                )
            }
        };
        let title = match edge {
            Some(e) => format!("delete {} from the products of {}", e.artifact, e.producer),
            None => "delete a product".into(),
        };
        push("delete-product", title, target, verdict);
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
                d.verdict(Attempt::new(&chain.layout, &chain.keys, links))?
            }
        };
        push(
            "drop-link",
            "remove the final step's link".into(),
            final_step.clone(),
            verdict,
        );
    }

    // 6. File one step's link under another.
    {
        let (title, target, verdict) = misfile(&d, &layout)?;
        push("misfiled-link", title, target, verdict);
    }

    // 7. Re-sign with a key the layout does not authorise.
    {
        let verdict = match &final_step {
            None => no_final(),
            Some(step) => foreign_key(&d, &layout, step)?,
        };
        push(
            "foreign-key",
            "re-sign the final step's link with the attacker's own key".into(),
            final_step.clone(),
            verdict,
        );
    }

    // 8-9. Pad a threshold.
    {
        let (target, v1, v2) = pad_threshold(&d, &layout)?;
        push(
            "threshold-duplicate-link",
            "copy one functionary's link under a second functionary's name".into(),
            target.clone(),
            v1,
        );
        push(
            "threshold-second-keyid",
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
                d.verdict(Attempt::new(&md, &chain.keys, chain.links.clone()))?
            }
        };
        push(
            "layout-edited",
            "add `ALLOW *` to the layout after the owners signed it".into(),
            final_step.clone(),
            verdict,
        );
    }

    // 11. The clock moved past the expiry.
    {
        let verdict = match &layout.expires {
            None => Verdict::NotApplicable("the layout has no expiry".into()),
            Some(e) => match e.datetime().checked_add(time::Duration::days(1)) {
                Some(later) => {
                    let mut a = Attempt::new(&chain.layout, &chain.keys, chain.links.clone());
                    a.now = Some(later);
                    d.verdict(a)?
                }
                // An expiry at the end of time: no clock gets past it.
                None => Verdict::NotApplicable("the layout expires at the end of time".into()),
            },
        };
        push(
            "expired-layout",
            "verify a day after the layout expired".into(),
            None,
            verdict,
        );
    }

    // 12. Replay an older run's link.
    for (target, verdict) in replay(&d, &layout)? {
        push(
            "replay-old-link",
            "replace a link with the same step's link from an older run".into(),
            target,
            verdict,
        );
    }

    // 13-15. Git provenance.
    let git = layout
        .inspect
        .iter()
        .any(|i| intact_model::GitPolicy::from_run(&i.run).is_some());
    let why = if git {
        "not drilled yet: intact drill does not rewrite repositories (check git provenance with `intact git check`)"
    } else {
        "the layout has no git provenance policy"
    };
    for (id, title) in [
        ("git-unsigned-commit", "build from an unsigned commit"),
        (
            "git-foreign-signer",
            "build from a commit signed by someone not allowed",
        ),
        (
            "git-tree-differs",
            "record a tree that differs from the commit",
        ),
    ] {
        push(id, title.into(), None, Verdict::NotApplicable(why.into()));
    }
    Ok(report)
}

fn swap_final(
    d: &Driller<'_>,
    _layout: &Layout,
    final_step: Option<&str>,
) -> Result<Option<(String, Verdict)>, DrillError> {
    let Some(step) = final_step else {
        return Ok(None);
    };
    let Some((_, link)) = links_of(&d.chain.links, step).find_map(|(_, b)| parse_link(b)) else {
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
                d.verdict(a)?,
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
        d.verdict(a)?,
    )))
}

/// An artifact one step recorded and a later step MATCHed.
struct Edge<'a> {
    producer: String,
    producer_file: String,
    producer_link: Link,
    producer_key: &'a SigningKey,
    consumer: String,
    consumer_file: String,
    consumer_link: Link,
    consumer_key: &'a SigningKey,
    artifact: String,
}

/// For each step that used an earlier step's product, one such artifact:
/// the producer a MATCH rule names first, else any earlier step (a
/// layout that MATCHes nothing is drilled too).
fn edges<'a>(layout: &Layout, mirror: &'a Mirror) -> Vec<Edge<'a>> {
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

fn edge_between<'a>(mirror: &'a Mirror, producers: &[String], consumer: &str) -> Option<Edge<'a>> {
    for producer in producers {
        let producer = producer.clone();
        let consumer = consumer.to_string();
        let Some((cf, cl, ck)) = mirror.link_of(&consumer) else {
            continue;
        };
        let Some((pf, pl, pk)) = mirror.link_of(&producer) else {
            continue;
        };
        let common = cl
            .materials
            .iter()
            .find(|(n, dg)| pl.products.get(n.as_str()) == Some(*dg))
            .map(|(n, _)| n.to_string());
        if let Some(artifact) = common {
            return Some(Edge {
                producer,
                producer_file: pf,
                producer_link: pl,
                producer_key: pk,
                consumer,
                consumer_file: cf,
                consumer_link: cl,
                consumer_key: ck,
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
                .is_none_or(|k| **n == link_file(donor.name.as_str(), k))
        })
        .map(|(n, b)| (n.clone(), b.clone()));
    let Some((_, bytes)) = donor_file else {
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
    links.insert(link_file(victim.name.as_str(), &key), bytes);
    let verdict = d.verdict(Attempt::new(&d.chain.layout, &d.chain.keys, links))?;
    Ok((title, target, verdict))
}

fn foreign_key(d: &Driller<'_>, layout: &Layout, step: &str) -> Result<Verdict, DrillError> {
    let Some(s) = layout.steps.iter().find(|s| s.name.as_str() == step) else {
        return Ok(Verdict::NotApplicable(format!("no step {step}")));
    };
    let Some((_, (md, link))) =
        links_of(&d.chain.links, step).find_map(|(n, b)| Some((n, parse_link(b)?)))
    else {
        return Ok(Verdict::NotApplicable(format!("no link of step {step}")));
    };
    // The attacker's view: a key of their own, made on the spot.
    let attacker = SigningKey::generate_ed25519();
    let forged = sign_link(link, md.container(), &attacker)?;
    let mut links = d.chain.links.clone();
    let old: Vec<String> = links_of(&links, step).map(|(n, _)| n.clone()).collect();
    for n in old {
        links.remove(&n);
    }
    // Under every name the verifier looks for, and under its own.
    for id in &s.pubkeys {
        links.insert(link_file(step, id), forged.clone());
    }
    links.insert(link_file(step, &attacker.keyid()?), forged);
    d.verdict(Attempt::new(&d.chain.layout, &d.chain.keys, links))
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
    // The first functionary with a link, and another functionary.
    let mut signer = None;
    for id in &s.pubkeys {
        if let Some(b) = d.chain.links.get(&link_file(step, id)) {
            signer = Some((id.clone(), b.clone()));
            break;
        }
    }
    let Some((k1, bytes)) = signer else {
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
    base.insert(link_file(step, &k1), bytes.clone());
    let mut dup = base.clone();
    dup.insert(link_file(step, &k2), bytes.clone());
    let v1 = d.verdict(Attempt::new(&d.chain.layout, &d.chain.keys, dup))?;
    // k1's signature claimed for k2 as well.
    let v2 = match Metadata::from_slice(&bytes) {
        Ok(mut md) => {
            let sig = md.signature_by(&k1).and_then(|s| s.sig.map(<[u8]>::to_vec));
            match sig {
                Some(sig) => {
                    md.set_signature(k2.clone(), sig);
                    let padded = md.to_bytes()?;
                    let mut links = base.clone();
                    links.insert(link_file(step, &k1), padded.clone());
                    links.insert(link_file(step, &k2), padded);
                    d.verdict(Attempt::new(&d.chain.layout, &d.chain.keys, links))?
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
                (Some((_, a)), Some((_, b))) => {
                    a.materials == b.materials && a.products == b.products
                }
                _ => bytes == current,
            };
            if same {
                continue;
            }
            let mut links = d.chain.links.clone();
            links.insert(name.clone(), bytes.clone());
            out.push((
                Some(step.to_string()),
                d.verdict(Attempt::new(&d.chain.layout, &d.chain.keys, links))?,
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

#[cfg(test)]
mod tests;
