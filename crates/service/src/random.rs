//! Random identifiers and keys from the operating system's generator.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::{Result, ServiceError};

/// `N` random bytes, base64url without padding.
pub(crate) fn token<const N: usize>() -> Result<String> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).map_err(|e| ServiceError::Random(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// A new alias id: 128 random bits, 22 URL-safe characters.
pub(crate) fn alias_id() -> Result<aliaskit_domain::AliasId> {
    Ok(aliaskit_domain::AliasId::parse(&token::<16>()?)?)
}

/// A new organization API key: `ak_` and 256 random bits (43 characters).
pub(crate) fn api_key() -> Result<aliaskit_domain::ApiKey> {
    Ok(aliaskit_domain::ApiKey::parse(&format!(
        "ak_{}",
        token::<32>()?
    ))?)
}
