//! Record the artifacts under the given paths and print how many and how
//! long it took; used by benches/bench.sh.
//!
//!     cargo run --release -p intact-record --example hash_tree -- DIR...

// An example is a small program: it prints its result.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::Instant;

use intact_record::{record_artifacts, HashOptions};

fn main() {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    let started = Instant::now();
    match record_artifacts(&paths, &HashOptions::default()) {
        Ok(artifacts) => println!(
            "{} files in {:.3} s",
            artifacts.len(),
            started.elapsed().as_secs_f64()
        ),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}
