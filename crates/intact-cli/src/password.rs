//! Where key passwords come from: the `INTACT_KEY_PASSWORD` environment
//! variable (for CI), else an interactive prompt when asked for.

use anyhow::{bail, Context, Result};
use intact_crypto::Zeroizing;

/// Environment variable holding the password of encrypted keys.
pub const PASSWORD_ENV: &str = "INTACT_KEY_PASSWORD";

/// The password for reading an encrypted key, if any is available.
pub fn for_reading(prompt: bool, what: &str) -> Result<Option<Zeroizing<String>>> {
    if let Ok(p) = std::env::var(PASSWORD_ENV) {
        return Ok(Some(Zeroizing::new(p)));
    }
    if prompt {
        let p = rpassword::prompt_password(format!("Password for {what}: "))
            .context("reading the password from the terminal")?;
        return Ok(Some(Zeroizing::new(p)));
    }
    Ok(None)
}

/// A new password for encrypting a key, asked twice when prompting.
pub fn for_writing(what: &str) -> Result<Zeroizing<String>> {
    if let Ok(p) = std::env::var(PASSWORD_ENV) {
        if p.is_empty() {
            bail!("{PASSWORD_ENV} is set but empty");
        }
        return Ok(Zeroizing::new(p));
    }
    let first = Zeroizing::new(
        rpassword::prompt_password(format!("New password for {what}: "))
            .context("reading the password from the terminal (or set INTACT_KEY_PASSWORD)")?,
    );
    let second = Zeroizing::new(rpassword::prompt_password("Repeat the password: ")?);
    if first != second {
        bail!("the passwords do not match");
    }
    if first.is_empty() {
        bail!("the password must not be empty");
    }
    Ok(first)
}
