//! `intact show FILE`: what a metadata file is, at a glance.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use intact_model::escape::escape;
use intact_model::{Container, Layout, Link, Payload};

use crate::Outcome;

#[derive(Args)]
#[command(after_help = "\
Examples:
  intact show build.1234abcd.link
  curl -s https://example.com/root.layout | intact show -

Exit codes:
  0   the summary was printed
  2   the file is unreadable or not a link, layout or envelope")]
pub struct ShowArgs {
    /// A link or layout (Metablock or DSSE envelope); `-` reads standard
    /// input.
    file: PathBuf,
}

pub fn run(a: ShowArgs) -> Result<Outcome> {
    let md = super::load_metadata(&a.file, intact_model::io::DEFAULT_MAX_METADATA_SIZE)?;
    let payload = md.payload().map_err(|e| e.in_file(&a.file))?;
    let container = match md.container() {
        Container::Metablock => "Metablock",
        Container::Envelope => "DSSE envelope",
    };
    println!(
        "{}: {} in a {container}",
        escape(&a.file.display().to_string()),
        payload.type_name()
    );
    let signers: Vec<String> = md
        .signatures()
        .iter()
        .map(|s| s.keyid.to_string())
        .collect();
    if signers.is_empty() {
        println!("  signed by: (unsigned)");
    } else {
        println!("  signed by: {}", signers.join(", "));
    }
    match payload {
        Payload::Link(l) => show_link(&l),
        Payload::Layout(l) => show_layout(&l),
    }
    Ok(Outcome::Ok)
}

// Names, commands and rules come from the file: they are printed through
// `escape`, so control characters in them cannot redraw the terminal.

fn show_link(l: &Link) {
    println!("  name: {}", escape(l.name.as_str()));
    if !l.command.is_empty() {
        println!("  command: {}", escape(&l.command.join(" ")));
    }
    if let Some(rv) = l.return_value() {
        println!("  return value: {rv}");
    }
    println!("  materials: {}", l.materials.len());
    println!("  products: {}", l.products.len());
}

fn show_layout(l: &Layout) {
    match &l.expires {
        Some(e) => println!("  expires: {e}"),
        None => println!("  expires: (none; the reference treats it as never expiring)"),
    }
    println!("  keys: {}", l.keys.len());
    for s in &l.steps {
        println!(
            "  step {} (threshold {}, {} key{}):",
            escape(s.name.as_str()),
            s.threshold,
            s.pubkeys.len(),
            if s.pubkeys.len() == 1 { "" } else { "s" }
        );
        if !s.expected_command.is_empty() {
            println!(
                "    expected command: {}",
                escape(&s.expected_command.join(" "))
            );
        }
        show_rules(&s.expected_materials, &s.expected_products);
    }
    for i in &l.inspect {
        println!(
            "  inspection {}: {}",
            escape(i.name.as_str()),
            escape(&i.run.join(" "))
        );
        show_rules(&i.expected_materials, &i.expected_products);
    }
}

fn show_rules(materials: &[intact_model::Rule], products: &[intact_model::Rule]) {
    for r in materials {
        println!("    material: {}", escape(&r.to_string()));
    }
    for r in products {
        println!("    product:  {}", escape(&r.to_string()));
    }
}
