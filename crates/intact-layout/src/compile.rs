//! YAML source → in-toto layout, with every problem reported as a finding
//! located in the YAML.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use intact_crypto::PublicKey;
use intact_model::{
    CertConstraint, Expires, GitPolicy, Inspection, KeyDict, KeyId, Layout, Rule, Separation, Side,
    Step, StepName,
};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::diagnose::{diagnose_text, token_starts};
use crate::finding::{codes, Finding, ItemKind, ItemRef, Location, Severity};
use crate::lint::{lint_raw, Hints, ItemField, RawFinding, Spot};
use crate::params::{
    bind_parameters, for_each_string, is_valid_parameter_name, parse_template, placeholders,
    template_errors_at, ParamError, Part, Piece, StringAt,
};
use crate::spec::{key, path_string, Command, GitSpec, KeySpec, Seg, Source};
use crate::{parse_expires, LayoutError};

/// What a build or check needs besides the YAML.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Values for `{NAME}` placeholders (override `parameters:` defaults).
    pub parameters: BTreeMap<String, String>,
    /// The time durations in `expires` count from, and expiry is checked at.
    pub now: OffsetDateTime,
    /// Carry each key's name (its name under `keys`, or the file a
    /// functionary was given as) in the key's dictionary, so verifiers
    /// name keys as the author did ([`intact_model::KEY_NAME_MEMBER`]).
    /// On by default; off for layouts meant for in-toto-golang or
    /// in-toto-rs, which re-encode key dictionaries and would drop it.
    pub key_names: bool,
    /// Warn when the layout expires within this period of `now` (30 days
    /// by default; `intact layout check --warn-expiry`).
    pub warn_expiry: time::Duration,
}

/// The default of [`BuildOptions::warn_expiry`]: 30 days.
pub const DEFAULT_WARN_EXPIRY: time::Duration = time::Duration::days(30);

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            parameters: BTreeMap::new(),
            now: OffsetDateTime::now_utc(),
            key_names: true,
            warn_expiry: DEFAULT_WARN_EXPIRY,
        }
    }
}

/// A compiled layout and everything found on the way.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The layout (parts with errors left out), ready to sign when
    /// [`Compiled::has_errors`] is false.
    pub layout: Layout,
    /// Findings, in source order.
    pub findings: Vec<Finding>,
    /// Placeholders left for the verifier.
    pub unbound_parameters: BTreeSet<String>,
    /// The names the YAML gives keys (`keys: {bob: bob.pub}`), by keyid:
    /// the signed layout keeps only keyids, a picture of the source can
    /// say who signs (`intact layout graph`).
    pub key_names: BTreeMap<KeyId, String>,
}

impl Compiled {
    /// Whether any finding is an error (then the layout must not be signed).
    pub fn has_errors(&self) -> bool {
        crate::has_errors(&self.findings)
    }
}

/// A place in the YAML document.
#[derive(Debug, Clone, Default)]
struct At {
    path: Vec<Seg>,
    /// The scalar at `path` and a character offset into it.
    scalar: Option<(String, usize)>,
    item: Option<ItemRef>,
    rule: Option<usize>,
    token: Option<usize>,
}

impl At {
    fn path(path: Vec<Seg>) -> Self {
        At {
            path,
            ..At::default()
        }
    }
}

/// Where compiled items, rules and keys came from in the YAML.
#[derive(Debug, Default)]
struct Origins {
    steps: Vec<usize>,
    inspect: Vec<usize>,
    rules: HashMap<(ItemKind, usize, Part), Vec<usize>>,
    pubkeys: HashMap<usize, Vec<usize>>,
    key_paths: HashMap<KeyId, Vec<Seg>>,
}

struct Compiler<'a> {
    src: &'a Source,
    opts: &'a BuildOptions,
    found: Vec<(Severity, &'static str, String, At)>,
    hints: Hints,
    origins: Origins,
    keys: BTreeMap<KeyId, KeyDict>,
    key_names: HashMap<String, KeyId>,
    /// Names under `keys` whose key could not be used (already reported).
    broken_names: HashSet<String>,
}

const FALLBACK_EXPIRY: &str = "9999-12-31T23:59:59Z";

impl Source {
    /// Compile to an in-toto layout: resolve and embed keys, parse rules
    /// and commands, compute the expiry, substitute the parameters known
    /// now, and check the result. Never stops at the first problem: all of
    /// them are in [`Compiled::findings`].
    pub fn compile(&self, opts: &BuildOptions) -> Result<Compiled, LayoutError> {
        self.compiler(opts).run_with(|_, _| ()).map(|(c, ())| c)
    }

    /// Compile, then trace the layout's coverage ([`crate::coverage`]);
    /// its findings name YAML lines.
    pub fn coverage(
        &self,
        opts: &BuildOptions,
    ) -> Result<(Compiled, crate::CoverageReport), LayoutError> {
        self.compiler(opts).run_with(|c, layout| {
            crate::coverage::analyse(layout, &|spot| {
                let at = c.spot_at(layout, spot);
                // The severity and message are not used: only the location.
                c.finding(Severity::Warning, "", String::new(), &at)
                    .location
            })
        })
    }

    fn compiler<'a>(&'a self, opts: &'a BuildOptions) -> Compiler<'a> {
        Compiler {
            src: self,
            opts,
            found: Vec::new(),
            hints: Hints::default(),
            origins: Origins::default(),
            keys: BTreeMap::new(),
            key_names: HashMap::new(),
            broken_names: HashSet::new(),
        }
    }
}

fn looks_like_keyid(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_gpg_key(m: &Map<String, Value>) -> bool {
    m.contains_key("method") && m.contains_key("hashes")
}

/// A key dict written inline, with its keyid computed when missing.
fn inline_key(map: &Map<String, Value>) -> Result<KeyDict, String> {
    let private = map
        .get("keyval")
        .and_then(|v| v.get("private"))
        .and_then(Value::as_str);
    if private.is_some_and(|p| !p.is_empty()) {
        return Err("keyval.private holds a private key; layouts embed public keys only".into());
    }
    let mut map = map.clone();
    if !map.contains_key("keyid") && is_gpg_key(&map) {
        // Its keyid is its fingerprint, which the dict alone cannot give.
        return Err("a GPG key dict needs its keyid (the key's fingerprint)".into());
    }
    if !map.contains_key("keyid") {
        let mut probe = map.clone();
        probe.insert("keyid".into(), Value::String("00".into()));
        let key = PublicKey::from_key_dict(&KeyDict::new(probe)?).map_err(|e| e.to_string())?;
        let id = key.keyid().map_err(|e| e.to_string())?;
        map.insert("keyid".into(), Value::String(id.to_string()));
    }
    let dict = KeyDict::new(map)?;
    if !is_gpg_key(dict.as_map()) {
        PublicKey::from_key_dict(&dict).map_err(|e| e.to_string())?;
    }
    intact_model::json::canonical(&Value::Object(dict.as_map().clone()))
        .map_err(|e| e.to_string())?;
    Ok(dict)
}

impl Compiler<'_> {
    /// The `git:` section as the inspection that carries it.
    fn git_inspection(&mut self, g: &GitSpec, layout: &Layout) -> Option<Inspection> {
        let at = || At::path(vec![key("git")]);
        match self.git_policy(g, layout) {
            Ok(policy) => {
                let name = g
                    .name
                    .clone()
                    .unwrap_or_else(|| intact_model::git::DEFAULT_INSPECTION_NAME.to_string());
                match StepName::new(name) {
                    Ok(name) => Some(Inspection::new(name, policy.to_run())),
                    Err(e) => {
                        self.report(Severity::Error, codes::INVALID_NAME, e, at());
                        None
                    }
                }
            }
            Err(e) => {
                self.report(Severity::Error, codes::GIT_POLICY, e, at());
                None
            }
        }
    }

    /// The `separate:` section as the inspection that carries it.
    fn separation_inspection(
        &mut self,
        groups: &[Vec<String>],
        layout: &Layout,
    ) -> Option<Inspection> {
        let at = || At::path(vec![key("separate")]);
        let mut policy = Separation::default();
        for g in groups {
            let mut group = Vec::new();
            for name in g {
                let known = StepName::new(name.clone())
                    .ok()
                    .filter(|n| layout.steps.iter().any(|s| &s.name == n));
                match known {
                    Some(n) => group.push(n),
                    None => {
                        self.report(
                            Severity::Error,
                            codes::SEPARATION,
                            format!("separate: {name:?} is not a step of this layout"),
                            at(),
                        );
                        return None;
                    }
                }
            }
            policy.groups.push(group);
        }
        if let Err(e) = policy.validate() {
            self.report(Severity::Error, codes::SEPARATION, e.to_string(), at());
            return None;
        }
        let name = StepName::new(intact_model::separation::SEPARATION_INSPECTION_NAME).ok()?;
        Some(Inspection::new(name, policy.to_run()))
    }

    fn git_policy(&self, g: &GitSpec, layout: &Layout) -> Result<GitPolicy, String> {
        let step = StepName::new(g.step.clone())?;
        if !layout.steps.iter().any(|s| s.name == step) {
            return Err(format!(
                "git.step {:?} is not a step of this layout",
                g.step
            ));
        }
        let mut policy = GitPolicy::new(step);
        policy.side = match g.side.as_deref() {
            None | Some("products") => Side::Products,
            Some("materials") => Side::Materials,
            Some(other) => {
                return Err(format!(
                    "git.side must be products or materials, not {other:?}"
                ))
            }
        };
        policy.path = g.path.clone();
        policy.protected_ref = g.protected_ref.clone();
        policy.tag = g.tag.clone();
        policy.gpg_fingerprints = g.gpg_fingerprints.clone();
        policy.require_clean = g.clean;
        for line in &g.signers {
            policy.signers.push(self.signer_line(line)?);
        }
        if let Some(file) = &g.signers_file {
            let path = self.src.base_dir().join(file);
            let text = read_text(&path).map_err(|e| format!("git.signers_file {e}"))?;
            policy.signers.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(str::to_string),
            );
        }
        policy.validate().map_err(|e| e.to_string())?;
        Ok(policy)
    }

    /// `principal key.pub` reads the key file; anything else is taken as
    /// an `allowed_signers` line.
    fn signer_line(&self, line: &str) -> Result<String, String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let [principal, file] = words.as_slice() {
            let path = self.src.base_dir().join(file);
            let key = read_text(&path).map_err(|e| format!("git signer {line:?}: {e}"))?;
            return Ok(format!("{principal} {}", key.trim()));
        }
        Ok(line.to_string())
    }

    fn report(&mut self, severity: Severity, code: &'static str, message: String, at: At) {
        self.found.push((severity, code, message, at));
    }

    fn key_file(&self, rel: &str) -> Result<KeyDict, String> {
        let path = self.src.base_dir().join(rel);
        let key = intact_crypto::load_public_key(&path).map_err(|e| e.to_string())?;
        key.to_key_dict().map_err(|e| e.to_string())
    }

    /// Embed a key, read from a file, under the name the author knows it
    /// by (unless names are off). Inline dictionaries (`name`: None) go in
    /// as written, so an exported layout builds to the bytes it was
    /// signed as.
    fn add_key(&mut self, dict: KeyDict, name: Option<&str>, path: Vec<Seg>) -> Option<KeyId> {
        let dict = match name {
            Some(name) if self.opts.key_names => dict.clone().with_name(name).unwrap_or(dict),
            _ => dict,
        };
        let id = dict.keyid()?;
        self.keys.entry(id.clone()).or_insert(dict);
        self.origins.key_paths.entry(id.clone()).or_insert(path);
        Some(id)
    }

    /// The `rootcas` or `intermediatecas` section (docs/pki.md): CA
    /// certificates by keyid, and the keyids by the author's names.
    fn ca_certificates(
        &mut self,
        section: &str,
        specs: &crate::spec::NamedMap<KeySpec>,
    ) -> (BTreeMap<KeyId, KeyDict>, HashMap<String, KeyId>) {
        let mut out = BTreeMap::new();
        let mut names = HashMap::new();
        for (name, spec) in specs.iter() {
            let dict = match spec {
                KeySpec::File(rel) => {
                    let path = self.src.base_dir().join(rel);
                    intact_model::io::read_limited_string(&path, 1 << 20)
                        .map_err(|e| e.to_string())
                        .and_then(|text| {
                            intact_crypto::x509::Certificate::from_pem(&text)
                                .map_err(|e| format!("{rel}: {e}"))
                        })
                        .and_then(|c| c.to_key_dict().map_err(|e| e.to_string()))
                }
                KeySpec::Inline(map) => {
                    KeyDict::new(map.clone()).and_then(|d| match d.certificate() {
                        Some(_) => Ok(d),
                        None => Err("a CA key dictionary needs keyval.certificate".into()),
                    })
                }
            };
            match dict.map(|d| (d.keyid(), d)) {
                Ok((Some(id), dict)) => {
                    names.insert(name.clone(), id.clone());
                    out.insert(id, dict);
                }
                Ok((None, _)) => {}
                Err(e) => self.report(
                    Severity::Error,
                    codes::INVALID_KEY,
                    format!("{section} {name:?} cannot be used: {e}"),
                    At::path(vec![key(section), key(name)]),
                ),
            }
        }
        (out, names)
    }

    /// A step's `cert_constraints`, with root CA names turned into keyids.
    fn cert_constraints(
        &mut self,
        specs: &[Map<String, Value>],
        base: &[Seg],
        ca_names: &HashMap<String, KeyId>,
    ) -> Option<Vec<CertConstraint>> {
        if specs.is_empty() {
            return None;
        }
        let mut out = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            let mut map = spec.clone();
            if let Some(Value::Array(roots)) = map.get_mut("roots") {
                for r in roots.iter_mut() {
                    if let Some(id) = r.as_str().and_then(|n| ca_names.get(n)) {
                        *r = Value::String(id.to_string());
                    }
                }
            }
            match CertConstraint::new(map) {
                Ok(c) => out.push(c),
                Err(e) => self.report(
                    Severity::Error,
                    codes::INVALID_KEY,
                    format!("certificate constraint: {e}"),
                    At::path(
                        [base.to_vec(), vec![key("cert_constraints"), Seg::Index(i)]].concat(),
                    ),
                ),
            }
        }
        Some(out)
    }

    fn load_keys(&mut self) {
        for (name, spec) in self.src.spec().keys.iter() {
            let path = vec![key("keys"), key(name)];
            let (dict, from_file) = match spec {
                KeySpec::File(rel) => (self.key_file(rel), true),
                KeySpec::Inline(map) => (inline_key(map), false),
            };
            match dict {
                Ok(dict) => {
                    let named = from_file.then_some(name.as_str());
                    if let Some(id) = self.add_key(dict, named, path) {
                        self.key_names.insert(name.clone(), id);
                    }
                }
                Err(e) => {
                    self.broken_names.insert(name.clone());
                    self.report(
                        Severity::Error,
                        codes::INVALID_KEY,
                        format!("key {name:?} cannot be used: {e}"),
                        At::path(path),
                    );
                }
            }
        }
    }

    fn resolve(&mut self, f: &str, path: Vec<Seg>) -> Option<KeyId> {
        if let Some(id) = self.key_names.get(f) {
            return Some(id.clone());
        }
        if self.broken_names.contains(f) {
            return None;
        }
        if looks_like_keyid(f) {
            return KeyId::new(f).ok();
        }
        if !self.src.base_dir().join(f).exists() {
            let names: Vec<&str> = self.key_names.keys().map(String::as_str).collect();
            let known = if names.is_empty() {
                "no keys are defined under `keys`".to_string()
            } else {
                let mut names = names;
                names.sort_unstable();
                format!("keys defined: {}", names.join(", "))
            };
            self.report(
                Severity::Error,
                codes::UNKNOWN_KEY,
                format!("functionary {f:?} is not a key name, a keyid or an existing key file ({known})"),
                At::path(path),
            );
            return None;
        }
        match self.key_file(f) {
            Ok(dict) => self.add_key(dict, Some(f), path),
            Err(e) => {
                self.report(
                    Severity::Error,
                    codes::INVALID_KEY,
                    format!("functionary key {f:?} cannot be used: {e}"),
                    At::path(path),
                );
                None
            }
        }
    }

    fn command(&mut self, cmd: &Command, path: Vec<Seg>) -> Vec<String> {
        match cmd.argv() {
            Ok(argv) => argv,
            Err(e) => {
                let line = match cmd {
                    Command::Line(l) => l.as_str(),
                    Command::Argv(_) => "",
                };
                self.report(
                    Severity::Error,
                    codes::INVALID_COMMAND,
                    format!("command {line:?} does not split into arguments: {e}"),
                    At::path(path),
                );
                Vec::new()
            }
        }
    }

    fn rules(
        &mut self,
        texts: &[String],
        base: &[Seg],
        field: &str,
        item: &ItemRef,
    ) -> (Vec<Rule>, Vec<usize>) {
        let mut rules = Vec::new();
        let mut origin = Vec::new();
        for (ri, text) in texts.iter().enumerate() {
            match Rule::parse_str(text) {
                Ok(rule) => {
                    rules.push(rule);
                    origin.push(ri);
                }
                Err(e) => {
                    let problem = diagnose_text(text);
                    let (message, token, offset) = match problem {
                        Some(p) => (p.message, p.token, p.offset),
                        None => (e.to_string(), None, None),
                    };
                    let mut path = base.to_vec();
                    path.extend([key(field), Seg::Index(ri)]);
                    let at = At {
                        path,
                        scalar: offset.map(|o| (text.clone(), o)),
                        item: Some(item.clone()),
                        rule: Some(ri),
                        token,
                    };
                    self.report(Severity::Error, codes::RULE_PARSE, message, at);
                }
            }
        }
        (rules, origin)
    }

    fn expires(&mut self) -> Result<Expires, LayoutError> {
        match parse_expires(&self.src.spec().expires, self.opts.now) {
            Ok(e) => Ok(e),
            Err(msg) => {
                self.hints.skip_expiry = true;
                self.report(
                    Severity::Error,
                    codes::INVALID_EXPIRES,
                    msg,
                    At::path(vec![key("expires")]),
                );
                Expires::parse(FALLBACK_EXPIRY).map_err(|e| LayoutError::Field {
                    path: "expires".into(),
                    reason: e,
                })
            }
        }
    }

    /// Compile; `extra` sees the compiler and the layout before the
    /// result is returned (to locate more findings in the YAML).
    fn run_with<T>(
        mut self,
        extra: impl FnOnce(&Self, &Layout) -> T,
    ) -> Result<(Compiled, T), LayoutError> {
        let spec = self.src.spec();
        self.load_keys();
        let mut layout = Layout::new(self.expires()?);
        layout.readme = spec.readme.clone();
        let (rootcas, ca_names) = self.ca_certificates("rootcas", &spec.rootcas);
        let (intermediatecas, _) = self.ca_certificates("intermediatecas", &spec.intermediatecas);
        layout.rootcas = (!rootcas.is_empty()).then_some(rootcas);
        layout.intermediatecas = (!intermediatecas.is_empty()).then_some(intermediatecas);

        for (yi, s) in spec.steps.iter().enumerate() {
            let base = vec![key("steps"), Seg::Index(yi)];
            let item = ItemRef {
                kind: ItemKind::Step,
                index: yi,
                name: s.name.clone(),
            };
            let name = match StepName::new(s.name.clone()) {
                Ok(n) => n,
                Err(e) => {
                    let mut at = At::path([base.clone(), vec![key("name")]].concat());
                    at.item = Some(item);
                    self.report(Severity::Error, codes::INVALID_NAME, e, at);
                    continue;
                }
            };
            let ci = layout.steps.len();
            let mut step = Step::new(name);
            let mut pubkey_origin = Vec::new();
            let mut unresolved = 0;
            for (fi, f) in s.functionaries.iter().enumerate() {
                let path = [base.clone(), vec![key("functionaries"), Seg::Index(fi)]].concat();
                match self.resolve(f, path) {
                    Some(id) => {
                        step.pubkeys.push(id);
                        pubkey_origin.push(fi);
                    }
                    None => unresolved += 1,
                }
            }
            if unresolved > 0 {
                self.hints.unresolved_keys.insert(ci, unresolved);
            }
            self.origins.pubkeys.insert(ci, pubkey_origin);
            step.threshold = s.threshold;
            step.expected_command = self.command(
                &s.expected_command,
                [base.clone(), vec![key("expected_command")]].concat(),
            );
            let (m, mo) = self.rules(&s.expected_materials, &base, "expected_materials", &item);
            let (p, po) = self.rules(&s.expected_products, &base, "expected_products", &item);
            step.expected_materials = m;
            step.expected_products = p;
            step.cert_constraints = self.cert_constraints(&s.cert_constraints, &base, &ca_names);
            self.origins
                .rules
                .insert((ItemKind::Step, ci, Part::Materials), mo);
            self.origins
                .rules
                .insert((ItemKind::Step, ci, Part::Products), po);
            self.origins.steps.push(yi);
            layout.steps.push(step);
        }

        for (yi, s) in spec.inspect.iter().enumerate() {
            let base = vec![key("inspect"), Seg::Index(yi)];
            let item = ItemRef {
                kind: ItemKind::Inspection,
                index: yi,
                name: s.name.clone(),
            };
            let name = match StepName::new(s.name.clone()) {
                Ok(n) => n,
                Err(e) => {
                    let mut at = At::path([base.clone(), vec![key("name")]].concat());
                    at.item = Some(item);
                    self.report(Severity::Error, codes::INVALID_NAME, e, at);
                    continue;
                }
            };
            let ci = layout.inspect.len();
            let run = self.command(&s.run, [base.clone(), vec![key("run")]].concat());
            let mut insp = Inspection::new(name, run);
            let (m, mo) = self.rules(&s.expected_materials, &base, "expected_materials", &item);
            let (p, po) = self.rules(&s.expected_products, &base, "expected_products", &item);
            insp.expected_materials = m;
            insp.expected_products = p;
            self.origins
                .rules
                .insert((ItemKind::Inspection, ci, Part::Materials), mo);
            self.origins
                .rules
                .insert((ItemKind::Inspection, ci, Part::Products), po);
            self.origins.inspect.push(yi);
            layout.inspect.push(insp);
        }
        if !spec.separate.is_empty() {
            if let Some(insp) = self.separation_inspection(&spec.separate, &layout) {
                self.origins.inspect.push(spec.inspect.len());
                layout.inspect.push(insp);
            }
        }
        if let Some(g) = &spec.git {
            if let Some(insp) = self.git_inspection(g, &layout) {
                self.origins.inspect.push(spec.inspect.len());
                layout.inspect.push(insp);
            }
        }
        layout.keys = std::mem::take(&mut self.keys);

        let (layout, unbound) = self.parameters(layout);

        self.hints.warn_expiry = Some(self.opts.warn_expiry);
        let raw = lint_raw(&layout, self.opts.now, &self.hints);
        let mut findings: Vec<Finding> = self
            .found
            .iter()
            .map(|(severity, code, message, at)| self.finding(*severity, code, message.clone(), at))
            .collect();
        for RawFinding {
            severity,
            code,
            message,
            spot,
        } in raw
        {
            let at = self.spot_at(&layout, &spot);
            findings.push(self.finding(severity, code, message, &at));
        }
        findings.sort_by_key(|f| {
            (
                f.location.line.unwrap_or(usize::MAX),
                f.location.column.unwrap_or(0),
            )
        });
        let key_names = self
            .key_names
            .iter()
            .map(|(name, id)| (id.clone(), name.clone()))
            .collect();
        let more = extra(&self, &layout);
        Ok((
            Compiled {
                layout,
                findings,
                unbound_parameters: unbound,
                key_names,
            },
            more,
        ))
    }

    /// Substitute the parameters known at build time; report unused,
    /// undeclared and invalid ones.
    fn parameters(&mut self, layout: Layout) -> (Layout, BTreeSet<String>) {
        let spec = self.src.spec();
        let used = placeholders(&layout);
        let mut binding = BTreeMap::new();
        if let Some(declared) = &spec.parameters {
            for (name, value) in declared.iter() {
                let path = vec![key("parameters"), key(name)];
                if !is_valid_parameter_name(name) {
                    self.report(
                        Severity::Error,
                        codes::INVALID_PARAMETER,
                        format!("invalid parameter name {name:?} (names match ^[a-zA-Z0-9_-]+$)"),
                        At::path(path),
                    );
                    continue;
                }
                if !used.contains(name) {
                    self.report(
                        Severity::Warning,
                        codes::UNUSED_PARAMETER,
                        format!(
                            "parameter {name} is declared, but no placeholder {{{name}}} uses it"
                        ),
                        At::path(path),
                    );
                }
                if let Some(v) = value {
                    binding.insert(name.clone(), v.clone());
                }
            }
            for name in &used {
                if declared.get(name).is_none() {
                    let at = self.first_use(&layout, name);
                    self.report(
                        Severity::Warning,
                        codes::UNDECLARED_PARAMETER,
                        format!("placeholder {{{name}}} is not declared under `parameters`"),
                        at,
                    );
                }
            }
        }
        for (name, value) in &self.opts.parameters {
            if !is_valid_parameter_name(name) {
                self.report(
                    Severity::Error,
                    codes::INVALID_PARAMETER,
                    format!(
                        "--param {name}: invalid parameter name (names match ^[a-zA-Z0-9_-]+$)"
                    ),
                    At::default(),
                );
                continue;
            }
            if !used.contains(name) {
                let have = if used.is_empty() {
                    "the layout has no placeholders".to_string()
                } else {
                    let list: Vec<String> = used.iter().map(|n| format!("{{{n}}}")).collect();
                    format!("placeholders: {}", list.join(", "))
                };
                self.report(
                    Severity::Error,
                    codes::UNUSED_PARAMETER,
                    format!("--param {name}: no placeholder {{{name}}} uses it ({have})"),
                    At::default(),
                );
                continue;
            }
            binding.insert(name.clone(), value.clone());
        }
        binding.retain(|k, _| used.contains(k));
        if binding.is_empty() {
            return (layout, used);
        }
        let broken = template_errors_at(&layout);
        if !broken.is_empty() {
            self.hints.skip_templates = true;
            for (at, text, kind) in broken {
                let at = self.string_at(&layout, &at);
                self.report(
                    Severity::Error,
                    codes::PARAMETER_SYNTAX,
                    format!("cannot substitute parameters in {text:?}: {kind}"),
                    at,
                );
            }
            return (layout, used);
        }
        match bind_parameters(&layout, &binding) {
            Ok(bound) => (bound.layout, bound.unbound),
            Err(ParamError { path, text, kind }) => {
                self.report(
                    Severity::Error,
                    codes::PARAMETER_SYNTAX,
                    format!("{path}: cannot substitute parameters in {text:?}: {kind}"),
                    At::default(),
                );
                (layout, used)
            }
        }
    }

    fn first_use(&self, layout: &Layout, name: &str) -> At {
        let mut first = None;
        for_each_string(layout, |at, s| {
            if first.is_none()
                && parse_template(s)
                    .is_ok_and(|p| p.iter().any(|p| matches!(p, Piece::Field(n) if *n == name)))
            {
                first = Some(at);
            }
        });
        match first {
            Some(at) => self.string_at(layout, &at),
            None => At::default(),
        }
    }

    fn string_at(&self, layout: &Layout, at: &StringAt) -> At {
        let kind = if at.inspection {
            ItemKind::Inspection
        } else {
            ItemKind::Step
        };
        let field = match at.part {
            Part::Command => ItemField::Command(at.index),
            part => ItemField::Rule(part, at.index, at.token),
        };
        self.spot_at(layout, &Spot::Item(kind, at.item, field))
    }

    fn yaml_index(&self, kind: ItemKind, ci: usize) -> usize {
        let list = match kind {
            ItemKind::Step => &self.origins.steps,
            ItemKind::Inspection => &self.origins.inspect,
        };
        list.get(ci).copied().unwrap_or(ci)
    }

    /// Map a place in the compiled layout back to the YAML.
    fn spot_at(&self, layout: &Layout, spot: &Spot) -> At {
        let spec = self.src.spec();
        match spot {
            Spot::Expires => At::path(vec![key("expires")]),
            Spot::Key(id) => At::path(
                self.origins
                    .key_paths
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| vec![key("keys")]),
            ),
            Spot::Item(kind, ci, field) => {
                let yi = self.yaml_index(*kind, *ci);
                let name = match kind {
                    ItemKind::Step => layout.steps.get(*ci).map(|s| s.name.to_string()),
                    ItemKind::Inspection => layout.inspect.get(*ci).map(|s| s.name.to_string()),
                }
                .unwrap_or_default();
                let mut at = At::path(vec![key(kind.list_name()), Seg::Index(yi)]);
                at.item = Some(ItemRef {
                    kind: *kind,
                    index: yi,
                    name,
                });
                let inspection = *kind == ItemKind::Inspection;
                match field {
                    ItemField::Whole => {}
                    ItemField::Name => at.path.push(key("name")),
                    ItemField::Threshold => at.path.push(key("threshold")),
                    ItemField::Pubkey(k) => {
                        let fi = self
                            .origins
                            .pubkeys
                            .get(ci)
                            .and_then(|o| o.get(*k))
                            .copied()
                            .unwrap_or(*k);
                        at.path.extend([key("functionaries"), Seg::Index(fi)]);
                    }
                    ItemField::Command(k) => {
                        let cmd = match kind {
                            ItemKind::Step => spec.steps.get(yi).map(|s| &s.expected_command),
                            ItemKind::Inspection => spec.inspect.get(yi).map(|s| &s.run),
                        };
                        at.path.push(key(Part::Command.field_name(inspection)));
                        if let Some(Command::Argv(_)) = cmd {
                            at.path.push(Seg::Index(*k));
                        }
                    }
                    ItemField::Rule(part, r, token) => {
                        let yr = self
                            .origins
                            .rules
                            .get(&(*kind, *ci, *part))
                            .and_then(|o| o.get(*r))
                            .copied()
                            .unwrap_or(*r);
                        let texts = match (kind, part) {
                            (ItemKind::Step, Part::Products) => {
                                spec.steps.get(yi).map(|s| &s.expected_products)
                            }
                            (ItemKind::Step, _) => {
                                spec.steps.get(yi).map(|s| &s.expected_materials)
                            }
                            (ItemKind::Inspection, Part::Products) => {
                                spec.inspect.get(yi).map(|s| &s.expected_products)
                            }
                            (ItemKind::Inspection, _) => {
                                spec.inspect.get(yi).map(|s| &s.expected_materials)
                            }
                        };
                        at.path
                            .extend([key(part.field_name(inspection)), Seg::Index(yr)]);
                        at.rule = Some(yr);
                        at.token = *token;
                        if let (Some(t), Some(text)) = (token, texts.and_then(|t| t.get(yr))) {
                            if let Some(offset) = token_starts(text).get(*t) {
                                at.scalar = Some((text.clone(), *offset));
                            }
                        }
                    }
                }
                at
            }
        }
    }

    fn finding(&self, severity: Severity, code: &'static str, message: String, at: &At) -> Finding {
        let (line, column) = match self.src.position(&at.path) {
            Some((l, c)) => {
                let c = match &at.scalar {
                    Some((text, offset)) => self.src.column_in_scalar(l, c, text, *offset),
                    None => c,
                };
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        Finding {
            severity,
            code,
            message,
            location: Location {
                path: path_string(&at.path),
                item: at.item.clone(),
                rule: at.rule,
                token: at.token,
                line: if at.path.is_empty() { None } else { line },
                column: if at.path.is_empty() { None } else { column },
            },
        }
    }
}

/// An allowed-signers or key file's text: only a regular file under the
/// metadata size cap (a FIFO or /dev/zero would hang or exhaust memory).
/// The error names the file.
fn read_text(path: &std::path::Path) -> Result<String, intact_model::io::ReadError> {
    intact_model::io::read_limited_string(path, intact_model::io::DEFAULT_MAX_METADATA_SIZE)
}
