//! `intact`: the command-line front end. It parses arguments, calls the
//! library crates and prints; every decision a library user would need
//! lives in those crates.
//!
//! Exit codes: 0 success, 1 a verification failed, 2 unusable input
//! (a missing or malformed file, a wrong key, a usage error).

// The binary is where output policy lives: it prints. It may also use
// std::fs (clippy.toml's fs-err rule is for the libraries).
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::disallowed_methods)]

mod cmd;
#[cfg(test)]
mod doc_commands;
mod password;
mod progress;
mod style;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "intact",
    version,
    about = "Keep a software supply chain provably intact (in-toto compatible)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create and inspect keys.
    #[command(subcommand)]
    Key(cmd::key::KeyCommand),
    /// Add signatures to a link or layout, or check them with --verify.
    Sign(cmd::sign::SignArgs),
    /// Print a short summary of a link, layout or envelope.
    Show(cmd::show::ShowArgs),
    /// Author layouts in YAML: build (compile and sign), check, export.
    #[command(subcommand)]
    Layout(cmd::layout::LayoutCommand),
    /// Run a step's command, recording materials and products into a signed link.
    Run(cmd::run::RunArgs),
    /// Run a command and write an unsigned NAME.link, as in-toto-mock does.
    Mock(cmd::run::MockArgs),
    /// Record a step in two halves: `start` before, `stop` after.
    #[command(subcommand)]
    Record(cmd::run::RecordCommand),
    /// Check local files against a link's products, as in-toto-match-products does.
    MatchProducts(cmd::matching::MatchArgs),
    /// Verify a supply chain against its signed layout.
    Verify(cmd::verify::VerifyArgs),
    /// Layouts, links and attestations in an OCI registry, attached to an image digest.
    #[command(subcommand)]
    Oci(cmd::oci::OciCommand),
    /// A transparency log of signing and verification events (C2SP tlog-tiles).
    #[command(subcommand)]
    Log(cmd::log::LogCommand),
    /// Sign an in-toto Statement (SLSA provenance or any predicate) about artifacts.
    Attest(cmd::attest::AttestArgs),
    /// Check a signed attestation: signature, statement, subject, builder, source.
    VerifyAttestation(cmd::attest::VerifyAttestationArgs),
    /// Git commit provenance (what a layout's git inspection runs).
    #[command(subcommand)]
    Git(cmd::git::GitCommand),
    /// Check that separated steps were signed by different keys (what a layout's separate: inspection runs).
    VerifySeparation(cmd::separation::VerifySeparationArgs),
    /// Run an end-to-end demo supply chain: keys, layout, steps, verification, tampering.
    Demo(cmd::demo::DemoArgs),
    /// Mount supply-chain attacks on a copy of a chain and report which the layout catches.
    Drill(cmd::drill::DrillArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(cmd::shell::CompletionsArgs),
    /// Write man pages (intact.1, intact-run.1, ...) into a directory.
    Man(cmd::shell::ManArgs),
}

/// What a command reports back: success, or a verification that failed
/// (the command has already printed why).
pub enum Outcome {
    /// Exit 0.
    Ok,
    /// Exit 1.
    Failed,
    /// Exit with this status (`intact run` passes the command's on).
    Exit(u8),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(
        cli.command,
        Command::Run(_) | Command::Mock(_) | Command::Record(_) | Command::MatchProducts(_)
    ) {
        intact_record::raise_open_file_limit();
    }
    if !matches!(
        cli.command,
        Command::Run(_) | Command::Mock(_) | Command::Record(_)
    ) {
        // Commands that print end quietly when their reader goes (`intact
        // completions bash | head`), as Unix filters do, instead of
        // panicking in `println!` on EPIPE. Not the recorder: it echoes a
        // command's output and must write the link whoever reads.
        default_sigpipe();
    }
    let result = match cli.command {
        Command::Key(c) => cmd::key::run(c),
        Command::Sign(a) => cmd::sign::run(a),
        Command::Show(a) => cmd::show::run(a),
        Command::Layout(c) => cmd::layout::run(c),
        Command::Run(a) => cmd::run::run(a),
        Command::Mock(a) => cmd::run::mock(a),
        Command::Record(c) => cmd::run::record(c),
        Command::MatchProducts(a) => cmd::matching::run(a),
        Command::Verify(a) => cmd::verify::run(a),
        Command::Attest(a) => cmd::attest::run(a),
        Command::VerifyAttestation(a) => cmd::attest::verify(a),
        Command::Git(c) => cmd::git::run(c),
        Command::VerifySeparation(a) => cmd::separation::run(a),
        Command::Log(c) => cmd::log::run(c),
        Command::Oci(c) => cmd::oci::run(c),
        Command::Demo(a) => cmd::demo::run(a),
        Command::Drill(a) => cmd::drill::run(a),
        Command::Completions(a) => {
            cmd::shell::completions(a, <Cli as clap::CommandFactory>::command())
        }
        Command::Man(a) => cmd::shell::man(a, <Cli as clap::CommandFactory>::command()),
    };
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(1),
        Ok(Outcome::Exit(code)) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// SIGPIPE back to its default action: the process ends when it writes to a
/// pipe nobody reads (Rust's runtime ignores SIGPIPE, so the write fails
/// and `println!` panics).
#[allow(unsafe_code)]
fn default_sigpipe() {
    // SAFETY: signal(2) with SIG_DFL installs no handler; called at start-up
    // on the main thread, before this process has started any other.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
