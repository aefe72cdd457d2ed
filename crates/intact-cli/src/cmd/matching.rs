//! `intact match-products`: do local files match a link's products?
//! (in-toto-match-products; the comparison is `intact_record::match_products`.)

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use intact_model::escape::escape;
use intact_model::Payload;
use intact_record::HashOptions;

use crate::Outcome;

const HELP: &str = "\
Records the local files as a step records its products (default excludes
`*.link*`, `.git`, `*.pyc`, `*~`; paths that do not exist are skipped, as the
reference skips them) and compares them with the products of LINK. The
link's signature is not checked: run `intact sign --verify LINK --key PUB`
for that. Prints what in-toto-match-products prints with -v.

Examples:
  intact match-products --link package.2f89b927.link
  intact match-products -l package.2f89b927.link -p foo.tar.gz
  intact match-products -l build.link -p dist --exclude '*.log' --lstrip-paths dist/

Exit codes:
  0   the local artifacts are exactly the link's products
  1   some are only local, only in the products, or differ (listed)
  2   the link cannot be read or is not a link, a path cannot be read, a
      usage error";

#[derive(Args)]
#[command(after_help = HELP)]
pub struct MatchArgs {
    /// The link whose products to compare with (Metablock or DSSE).
    #[arg(long, short = 'l', value_name = "LINK")]
    link: PathBuf,
    /// Files or directories to record (default: the current directory).
    #[arg(long, short = 'p', num_args = 1.., value_name = "PATH")]
    paths: Option<Vec<String>>,
    /// gitignore-style patterns; they replace the defaults, as in the
    /// reference.
    #[arg(long, short = 'e', num_args = 1.., value_name = "PATTERN")]
    exclude: Option<Vec<String>>,
    /// Remove these prefixes from recorded names.
    #[arg(long, num_args = 1.., value_name = "PREFIX")]
    lstrip_paths: Vec<String>,
    /// Print nothing; the exit code says it.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// in-toto's `-v/--verbose`: the lines are always printed.
    #[arg(long, short = 'v', hide = true, conflicts_with = "quiet")]
    verbose: bool,
}

pub fn run(a: MatchArgs) -> Result<Outcome> {
    let md = super::load_metadata(&a.link, intact_model::io::DEFAULT_MAX_METADATA_SIZE)?;
    let Payload::Link(link) = md.payload().map_err(|e| e.in_file(&a.link))? else {
        bail!("{}: not a link", a.link.display());
    };
    let opts = HashOptions {
        excludes: a.exclude,
        lstrip_paths: a.lstrip_paths,
        allow_missing: true,
        ..HashOptions::default()
    };
    let paths = a.paths.unwrap_or_else(|| vec![".".into()]);
    let m = intact_record::match_products(&link.products, &paths, &opts)?;
    if a.quiet {
        return Ok(if m.is_match() {
            Outcome::Ok
        } else {
            Outcome::Failed
        });
    }
    if m.is_match() {
        println!("Local artifacts match products in passed link.");
        return Ok(Outcome::Ok);
    }
    println!("Local artifacts don't match products in passed link.");
    for (label, names) in [
        ("Only in products", &m.only_in_products),
        ("Not in products", &m.not_in_products),
        ("Hashes differ", &m.differ),
    ] {
        for name in names {
            println!("{label}: {}", escape(name.as_str()));
        }
    }
    Ok(Outcome::Failed)
}
