//! The layout: the project owner's signed policy for the supply chain.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::tag::{InspectionTag, LayoutTag, StepTag};
use crate::{KeyId, ModelError, Rule, StepName};

/// A layout's `signed` payload (../shared/in-toto-spec.md §3.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    #[serde(rename = "_type", default)]
    tag: LayoutTag,
    /// Steps in the order their rules are evaluated.
    pub steps: Vec<Step>,
    /// Inspections run by the verifier after the step rules.
    pub inspect: Vec<Inspection>,
    /// Functionary keys by keyid, kept verbatim (they are hashed as loaded).
    #[serde(default)]
    pub keys: BTreeMap<KeyId, KeyDict>,
    /// Expiry; verification fails at or after this instant. `None` when
    /// the payload has no `expires` (the reference then gives the layout
    /// an expiry a month after each load, so it never expires; intact's
    /// verifier refuses it unless asked to be compatible). Written back
    /// only when present, so such a payload round-trips unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<Expires>,
    /// Free text for humans.
    #[serde(default)]
    pub readme: String,
    /// Root CA certificates by keyid, as in-toto-golang's `rootcas`: key
    /// dictionaries whose `keyval.certificate` is the PEM certificate
    /// (docs/pki.md). Functionaries named by a step's `cert_constraints`
    /// sign with certificates that chain to one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rootcas: Option<BTreeMap<KeyId, KeyDict>>,
    /// Intermediate CA certificates by keyid (in-toto-golang's
    /// `intermediatecas`), used to build chains from a functionary's
    /// certificate to a root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intermediatecas: Option<BTreeMap<KeyId, KeyDict>>,
}

/// One step of the supply chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    #[serde(rename = "_type", default)]
    tag: StepTag,
    /// Unique among steps and inspections.
    pub name: StepName,
    /// Rules over the step's materials.
    #[serde(default)]
    pub expected_materials: Vec<Rule>,
    /// Rules over the step's products.
    #[serde(default)]
    pub expected_products: Vec<Rule>,
    /// Keys allowed to sign links for this step.
    #[serde(default)]
    pub pubkeys: Vec<KeyId>,
    /// The command functionaries are expected to run (a mismatch warns).
    #[serde(default)]
    pub expected_command: Vec<String>,
    /// How many distinct authorised keys must agree.
    #[serde(default = "one")]
    pub threshold: i64,
    /// Certificates that may sign links for this step besides `pubkeys`,
    /// as in-toto-golang's `cert_constraints`: a certificate chaining to
    /// one of the layout's `rootcas` that meets any one constraint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_constraints: Option<Vec<CertConstraint>>,
}

fn one() -> i64 {
    1
}

/// A check the verifier runs itself, on the final product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inspection {
    #[serde(rename = "_type", default)]
    tag: InspectionTag,
    /// Unique among steps and inspections.
    pub name: StepName,
    /// Rules over the inspection's materials.
    #[serde(default)]
    pub expected_materials: Vec<Rule>,
    /// Rules over the inspection's products.
    #[serde(default)]
    pub expected_products: Vec<Rule>,
    /// The command to run (argv).
    #[serde(default)]
    pub run: Vec<String>,
}

impl Layout {
    /// An empty layout expiring at `expires`.
    pub fn new(expires: Expires) -> Self {
        Layout {
            tag: LayoutTag,
            steps: Vec::new(),
            inspect: Vec::new(),
            keys: BTreeMap::new(),
            expires: Some(expires),
            readme: String::new(),
            rootcas: None,
            intermediatecas: None,
        }
    }

    /// Checks the reference performs when loading: names unique across
    /// steps and inspections.
    pub fn validate(&self) -> Result<(), ModelError> {
        let mut seen = HashSet::new();
        let names = self
            .steps
            .iter()
            .map(|s| &s.name)
            .chain(self.inspect.iter().map(|i| &i.name));
        for name in names {
            if !seen.insert(name) {
                return Err(ModelError::field(
                    "steps",
                    format!(
                        "name {:?} is used by more than one step or inspection",
                        name.as_str()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The step called `name`, if any.
    pub fn step(&self, name: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.name.as_str() == name)
    }
}

impl Step {
    /// A step with no rules, no keys and threshold 1.
    pub fn new(name: StepName) -> Self {
        Step {
            tag: StepTag,
            name,
            expected_materials: Vec::new(),
            expected_products: Vec::new(),
            pubkeys: Vec::new(),
            expected_command: Vec::new(),
            threshold: 1,
            cert_constraints: None,
        }
    }
}

impl Inspection {
    /// An inspection with no rules running `run`.
    pub fn new(name: StepName, run: Vec<String>) -> Self {
        Inspection {
            tag: InspectionTag,
            name,
            expected_materials: Vec::new(),
            expected_products: Vec::new(),
            run,
        }
    }
}

/// A public key dictionary as embedded in a layout, kept verbatim.
///
/// Its bytes are hashed as loaded (legacy `keyid_hash_algorithms`,
/// `keyval.private: ""`, GPG members), so we keep the whole object and
/// offer typed accessors; `intact-crypto` turns it into a verifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct KeyDict(Map<String, Value>);

impl KeyDict {
    /// Wrap an object; it must carry a hex `keyid` member, as the
    /// reference requires.
    pub fn new(map: Map<String, Value>) -> Result<Self, String> {
        match map.get("keyid") {
            Some(Value::String(id)) => {
                KeyId::new(id.clone())?;
            }
            _ => return Err("a key must have a string `keyid` member".into()),
        }
        Ok(KeyDict(map))
    }

    /// The `keyid` member.
    pub fn keyid(&self) -> Option<KeyId> {
        self.str("keyid").and_then(|s| KeyId::new(s).ok())
    }

    /// The `keytype` member (`ed25519`, `rsa`, `ecdsa`, …).
    pub fn keytype(&self) -> Option<&str> {
        self.str("keytype")
    }

    /// The `scheme` member.
    pub fn scheme(&self) -> Option<&str> {
        self.str("scheme")
    }

    /// `keyval.public`: hex for ed25519, SPKI PEM for RSA and ECDSA.
    pub fn public(&self) -> Option<&str> {
        self.0.get("keyval")?.get("public")?.as_str()
    }

    /// `keyval.certificate`: the PEM certificate of a CA or functionary
    /// key, as in-toto-golang writes it (docs/pki.md).
    pub fn certificate(&self) -> Option<&str> {
        self.0.get("keyval")?.get("certificate")?.as_str()
    }

    /// The name the layout's author gave the key (`keys: {alice: ...}` in
    /// the YAML), carried in the [`KEY_NAME_MEMBER`] member so that
    /// messages can say "alice (e6bd3be5)" instead of 64 hex digits. Only a
    /// name of 1 to 64 characters without control characters counts: it
    /// is printed to terminals and reports.
    pub fn name(&self) -> Option<&str> {
        self.str(KEY_NAME_MEMBER).filter(|n| valid_key_name(n))
    }

    /// The dictionary with `name` in [`KEY_NAME_MEMBER`]. The keyid stays
    /// as it is: keyids cover only the key material, never this member.
    pub fn with_name(mut self, name: &str) -> Result<Self, String> {
        if !valid_key_name(name) {
            return Err(format!(
                "key name {name:?} must have 1 to 64 characters and no control characters"
            ));
        }
        self.0
            .insert(KEY_NAME_MEMBER.to_string(), Value::String(name.to_string()));
        Ok(self)
    }

    /// The whole dictionary.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    fn str(&self, member: &str) -> Option<&str> {
        self.0.get(member).and_then(Value::as_str)
    }
}

/// One of a step's certificate constraints (in-toto-golang's
/// `CertificateConstraint`), kept verbatim so a layout written by
/// in-toto-golang (which writes empty lists as `null`) re-encodes to the
/// bytes it was signed as.
///
/// Members: `common_name` (a string), `dns_names`, `emails`,
/// `organizations`, `roots` (root CA keyids), `uris` (lists of strings).
/// A list that is exactly `["*"]` (or a common name `*`) allows any value;
/// otherwise the certificate must carry exactly the listed values, and an
/// absent, `null` or empty member means the certificate must carry none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct CertConstraint(Map<String, Value>);

/// The list members of a [`CertConstraint`].
pub const CERT_CONSTRAINT_LISTS: [&str; 5] =
    ["dns_names", "emails", "organizations", "roots", "uris"];

impl CertConstraint {
    /// Check the members' shapes; unknown members are refused.
    pub fn new(map: Map<String, Value>) -> Result<Self, String> {
        for (name, value) in &map {
            match (name.as_str(), value) {
                ("common_name", Value::String(_) | Value::Null) => {}
                ("common_name", _) => return Err("`common_name` must be a string".into()),
                (list, Value::Null) if CERT_CONSTRAINT_LISTS.contains(&list) => {}
                (list, Value::Array(items)) if CERT_CONSTRAINT_LISTS.contains(&list) => {
                    if !items.iter().all(Value::is_string) {
                        return Err(format!("`{list}` must be a list of strings"));
                    }
                }
                (list, _) if CERT_CONSTRAINT_LISTS.contains(&list) => {
                    return Err(format!("`{list}` must be a list of strings"))
                }
                (other, _) => {
                    return Err(format!(
                        "unknown certificate constraint member `{other}` (known: common_name, {})",
                        CERT_CONSTRAINT_LISTS.join(", ")
                    ))
                }
            }
        }
        Ok(CertConstraint(map))
    }

    /// The required common name (`""` when absent: the certificate must
    /// have none; `*`: any).
    pub fn common_name(&self) -> &str {
        self.0
            .get("common_name")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// A list member (`dns_names`, `emails`, `organizations`, `roots`,
    /// `uris`); empty when absent or `null`.
    pub fn list(&self, member: &str) -> Vec<&str> {
        match self.0.get(member) {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// The whole object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }
}

impl<'de> Deserialize<'de> for CertConstraint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        CertConstraint::new(Map::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for KeyDict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        KeyDict::new(Map::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// The key-dictionary member holding a key's name. The reference keeps
/// unknown members of layout key dictionaries verbatim and hashes them as
/// loaded (../shared/in-toto-spec.md §2.1, §3.2), so a layout carrying it
/// verifies there; implementations that re-encode key dictionaries from a
/// fixed struct (in-toto-golang, in-toto-rs) drop it and then fail the
/// layout signature: `intact layout build --no-key-names` leaves it out
/// (docs/interoperability.md).
pub const KEY_NAME_MEMBER: &str = "x-intact-name";

fn valid_key_name(name: &str) -> bool {
    let chars = name.chars().count();
    (1..=64).contains(&chars) && !name.chars().any(char::is_control)
}

/// A layout expiry: `YYYY-MM-DDTHH:MM:SSZ` exactly, as the reference accepts.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Expires(String);

impl Expires {
    /// Parse the reference's exact format.
    pub fn parse(text: &str) -> Result<Self, String> {
        let shape_ok = text.len() == 20
            && text.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                10 => b == b'T',
                13 | 16 => b == b':',
                19 => b == b'Z',
                _ => b.is_ascii_digit(),
            });
        if !shape_ok {
            return Err(format!(
                "expiry {text:?} is not in the form YYYY-MM-DDTHH:MM:SSZ"
            ));
        }
        let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
        PrimitiveDateTime::parse(text, format)
            .map_err(|e| format!("expiry {text:?} is not a real date: {e}"))?;
        Ok(Expires(text.to_string()))
    }

    /// The expiry for an instant (truncated to whole seconds, in UTC).
    pub fn from_datetime(at: OffsetDateTime) -> Result<Self, String> {
        let at = at.to_offset(time::UtcOffset::UTC);
        let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
        let text = at.format(format).map_err(|e| e.to_string())?;
        Self::parse(&text)
    }

    /// The instant, in UTC.
    pub fn datetime(&self) -> OffsetDateTime {
        let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
        // Validated at construction; the fallback is never taken.
        PrimitiveDateTime::parse(&self.0, format)
            .map(PrimitiveDateTime::assume_utc)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// Whether the layout is expired at `now` (the reference fails at `<=`).
    pub fn is_expired_at(&self, now: OffsetDateTime) -> bool {
        self.datetime() <= now
    }

    /// The text as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Expires {
    type Error = String;
    fn try_from(v: String) -> Result<Self, String> {
        Expires::parse(&v)
    }
}

impl From<Expires> for String {
    fn from(e: Expires) -> String {
        e.0
    }
}

impl fmt::Display for Expires {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Expires {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_format_is_exact() {
        assert!(Expires::parse("2030-01-01T00:00:00Z").is_ok());
        for bad in [
            "2030-01-01T00:00:00",
            "2030-01-01T00:00:00.5Z",
            "2030-01-01T00:00:00+00:00",
            "2030-02-30T00:00:00Z",
            "+030-01-01T00:00:00Z",
        ] {
            assert!(Expires::parse(bad).is_err(), "{bad}");
        }
        let e = Expires::parse("2030-01-01T00:00:00Z").unwrap();
        assert!(e.is_expired_at(e.datetime()));
        assert!(!e.is_expired_at(e.datetime() - time::Duration::seconds(1)));
    }

    #[test]
    fn layout_requires_steps_and_inspect() {
        assert!(serde_json::from_str::<Layout>(
            r#"{"steps": [], "expires": "2030-01-01T00:00:00Z"}"#
        )
        .is_err());
        assert!(serde_json::from_str::<Layout>(
            r#"{"inspect": [], "expires": "2030-01-01T00:00:00Z"}"#
        )
        .is_err());
        let ok: Layout = serde_json::from_str(
            r#"{"steps": [{"name": "a"}], "inspect": [], "expires": "2030-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(ok.steps[0].threshold, 1);
    }

    #[test]
    fn a_layout_without_expires_parses_and_round_trips_without_one() {
        // The verifier decides what a missing expiry means; parsing keeps
        // the payload as it is (DSSE signatures cover its bytes).
        let l: Layout = serde_json::from_str(r#"{"steps": [], "inspect": []}"#).unwrap();
        assert_eq!(l.expires, None);
        let back = serde_json::to_value(&l).unwrap();
        assert!(back.get("expires").is_none());
        assert!(
            serde_json::from_str::<Layout>(r#"{"steps": [], "inspect": [], "expires": ""}"#)
                .is_err()
        );
    }

    #[test]
    fn names_must_be_unique_across_steps_and_inspections() {
        let mut layout = Layout::new(Expires::parse("2030-01-01T00:00:00Z").unwrap());
        let name = StepName::new("a").unwrap();
        layout.steps.push(Step::new(name.clone()));
        layout.inspect.push(Inspection::new(name, vec![]));
        assert!(layout.validate().is_err());
    }

    #[test]
    fn key_dicts_need_a_keyid() {
        let no_id: Result<KeyDict, _> = serde_json::from_str(r#"{"keytype": "ed25519"}"#);
        assert!(no_id.is_err());
        let k: KeyDict = serde_json::from_str(
            r#"{"keyid": "ab", "keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": "00"}, "x": 1}"#,
        )
        .unwrap();
        assert_eq!(k.public(), Some("00"));
        assert_eq!(k.as_map().len(), 5);
    }

    #[test]
    fn key_names_are_kept_beside_the_key_and_only_printable_ones_count() {
        let k: KeyDict = serde_json::from_str(
            r#"{"keyid": "ab", "keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": "00"}}"#,
        )
        .unwrap();
        assert_eq!(k.name(), None);
        let named = k.clone().with_name("alice").unwrap();
        assert_eq!(named.name(), Some("alice"));
        assert_eq!(named.keyid(), k.keyid());
        assert_eq!(named.as_map()[KEY_NAME_MEMBER], "alice");
        for bad in ["", "a\u{1b}[2J", "tab\there", &"x".repeat(65)] {
            assert!(k.clone().with_name(bad).is_err(), "{bad:?}");
            let mut m = k.as_map().clone();
            m.insert(KEY_NAME_MEMBER.into(), Value::String(bad.to_string()));
            assert_eq!(KeyDict::new(m).unwrap().name(), None, "{bad:?}");
        }
        let mut m = k.as_map().clone();
        m.insert(KEY_NAME_MEMBER.into(), Value::from(7));
        assert_eq!(KeyDict::new(m).unwrap().name(), None);
    }

    #[test]
    fn in_toto_golang_certificate_members_round_trip() {
        // As in-toto-golang writes them: nil lists as null.
        let text = r#"{"_type":"layout","expires":"2030-01-01T00:00:00Z","inspect":[],"keys":{},"readme":"",
            "rootcas":{"ab":{"keyid":"ab","keytype":"ecdsa","scheme":"ecdsa-sha2-nistp256",
                "keyval":{"public":"P","certificate":"C"}}},
            "steps":[{"_type":"step","name":"build","pubkeys":[],"threshold":1,"expected_command":[],
                "expected_materials":[],"expected_products":[],
                "cert_constraints":[{"common_name":"*","dns_names":null,"emails":["a@x"],
                    "organizations":null,"roots":["*"],"uris":null}]}]}"#;
        let layout: Layout = serde_json::from_str(text).unwrap();
        let roots = layout.rootcas.as_ref().unwrap();
        assert_eq!(roots.values().next().unwrap().certificate(), Some("C"));
        let c = &layout.steps[0].cert_constraints.as_ref().unwrap()[0];
        assert_eq!(c.common_name(), "*");
        assert_eq!(c.list("emails"), ["a@x"]);
        assert!(c.list("uris").is_empty());
        let again: Value = serde_json::to_value(&layout).unwrap();
        let original: Value = serde_json::from_str(text).unwrap();
        assert_eq!(again, original);
        // Without them, nothing is added.
        let plain = Layout::new(Expires::parse("2030-01-01T00:00:00Z").unwrap());
        let v = serde_json::to_value(&plain).unwrap();
        assert!(v.get("rootcas").is_none() && v.get("intermediatecas").is_none());
    }

    #[test]
    fn certificate_constraints_refuse_unknown_or_mistyped_members() {
        for bad in [
            r#"{"common_name": 7}"#,
            r#"{"emails": "a@x"}"#,
            r#"{"uris": [1]}"#,
            r#"{"organisation_units": ["x"]}"#,
        ] {
            assert!(
                serde_json::from_str::<CertConstraint>(bad).is_err(),
                "{bad}"
            );
        }
    }
}
