//! `intact show FILE`: what a metadata file is, at a glance.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use intact_model::{Container, Layout, Link, Metadata, Payload};

use crate::Outcome;

#[derive(Args)]
pub struct ShowArgs {
    /// A link or layout (Metablock or DSSE envelope).
    file: PathBuf,
}

pub fn run(a: ShowArgs) -> Result<Outcome> {
    let md = Metadata::load(&a.file)?;
    let payload = md.payload().map_err(|e| e.in_file(&a.file))?;
    let container = match md.container() {
        Container::Metablock => "Metablock",
        Container::Envelope => "DSSE envelope",
    };
    println!(
        "{}: {} in a {container}",
        a.file.display(),
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

fn show_link(l: &Link) {
    println!("  name: {}", l.name);
    if !l.command.is_empty() {
        println!("  command: {}", l.command.join(" "));
    }
    if let Some(rv) = l.return_value() {
        println!("  return value: {rv}");
    }
    println!("  materials: {}", l.materials.len());
    println!("  products: {}", l.products.len());
}

fn show_layout(l: &Layout) {
    println!("  expires: {}", l.expires);
    println!("  keys: {}", l.keys.len());
    for s in &l.steps {
        println!(
            "  step {} (threshold {}, {} key{}):",
            s.name,
            s.threshold,
            s.pubkeys.len(),
            if s.pubkeys.len() == 1 { "" } else { "s" }
        );
        if !s.expected_command.is_empty() {
            println!("    expected command: {}", s.expected_command.join(" "));
        }
        for r in &s.expected_materials {
            println!("    material: {r}");
        }
        for r in &s.expected_products {
            println!("    product:  {r}");
        }
    }
    for i in &l.inspect {
        println!("  inspection {}: {}", i.name, i.run.join(" "));
        for r in &i.expected_materials {
            println!("    material: {r}");
        }
        for r in &i.expected_products {
            println!("    product:  {r}");
        }
    }
}
