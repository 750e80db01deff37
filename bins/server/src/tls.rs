//! TLS termination: the rustls configuration from `server.tls.cert` and `server.tls.key`.
//!
//! rustls 0.23 on the `ring` provider (aws-lc-rs would need cmake to build), TLS 1.2 and 1.3,
//! no client certificates. The files are read once, at start. Every error names the setting and
//! the file, and says what is wrong in words: never a line of the file, which for the key would
//! be key material.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use aliaskit_config::TlsSettings;
use anyhow::{Context, anyhow};
use rustls::ServerConfig;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

const CERT: &str = "server.tls.cert";
const KEY: &str = "server.tls.key";

/// The rustls configuration for `settings`, or `None` when TLS is not configured (plain HTTP).
/// Its errors are [`SettingsError`]s.
///
/// The settings crate has already checked that the two paths are both set or both unset.
pub fn server_config(settings: &TlsSettings) -> anyhow::Result<Option<ServerConfig>> {
    match (&settings.cert, &settings.key) {
        (Some(cert), Some(key)) => load(cert, key).map(Some),
        (None, None) => Ok(None),
        (Some(_), None) => Err(anyhow!("{KEY}: must be set too when {CERT} is")),
        (None, Some(_)) => Err(anyhow!("{CERT}: must be set too when {KEY} is")),
    }
    .map_err(|e| anyhow::Error::new(SettingsError(e)))
}

/// The TLS files that `server.tls.cert` and `server.tls.key` name cannot be used: a mistake in
/// the settings, which `aliaskit-server` reports with exit status 2. Shows as the error it
/// wraps, whose causes are its own.
#[derive(Debug)]
pub struct SettingsError(anyhow::Error);

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for SettingsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Reads the certificate chain at `cert` and the private key at `key` (both PEM) and checks that
/// the key belongs to the chain's first certificate.
pub fn load(cert: &Path, key: &Path) -> anyhow::Result<ServerConfig> {
    let chain = certificates(cert)?;
    let private_key = private_key(key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("cannot set up TLS")?
        .with_no_client_auth();
    builder
        .with_single_cert(chain, private_key)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => anyhow!(
                "{KEY}: the private key in {} does not belong to the certificate in {} ({CERT})",
                key.display(),
                cert.display()
            ),
            // rustls's own words here name the key's kind or encoding, never its bytes.
            other => anyhow!(
                "{KEY}: cannot use the private key in {}: {other}",
                key.display()
            ),
        })
}

/// The certificates of the PEM file at `path`, leaf first.
pub(crate) fn certificates(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let bytes = read(CERT, path)?;
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow!("{CERT}: {} is not valid PEM: {}", path.display(), why(&e)))?;
    if chain.is_empty() {
        return Err(anyhow!(
            "{CERT}: {} holds no PEM certificate (a `-----BEGIN CERTIFICATE-----` section)",
            path.display()
        ));
    }
    Ok(chain)
}

/// The first private key of the PEM file at `path`.
fn private_key(path: &Path) -> anyhow::Result<PrivateKeyDer<'static>> {
    let bytes = read(KEY, path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| match e {
        pem::Error::NoItemsFound => anyhow!(
            "{KEY}: {} holds no PEM private key (a `-----BEGIN PRIVATE KEY-----`, \
             `RSA PRIVATE KEY` or `EC PRIVATE KEY` section)",
            path.display()
        ),
        other => anyhow!(
            "{KEY}: {} is not valid PEM: {}",
            path.display(),
            why(&other)
        ),
    })
}

fn read(setting: &str, path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| anyhow!("{setting}: cannot read {}: {e}", path.display()))
}

/// What is wrong with a PEM file, without quoting it: the parser's own messages can carry a
/// line of the file.
fn why(e: &pem::Error) -> &'static str {
    match e {
        pem::Error::MissingSectionEnd { .. } => "a section has no `-----END …-----` line",
        pem::Error::IllegalSectionStart { .. } => "a `-----BEGIN …-----` line is malformed",
        pem::Error::Base64Decode(_) => "a section is not valid base64",
        pem::Error::NoItemsFound => "nothing of the expected kind in it",
        pem::Error::SectionTooLarge => "a section is too large",
        _ => "it cannot be parsed",
    }
}
