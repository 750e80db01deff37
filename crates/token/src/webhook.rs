//! Webhook signatures (`docs/webhooks.md`): the `Aliaskit-Signature` header a delivery carries,
//! `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`, with one `v1=` per secret
//! that signs (two during a rotation's grace). The key is the secret exactly as shown
//! (`whsec_…`, its UTF-8 bytes).
//!
//! ```
//! use aliaskit_token::{sign_webhook, verify_webhook};
//!
//! let body = br#"{"id":"evt_1","type":"alias.created"}"#;
//! let header = sign_webhook(&["whsec_new", "whsec_old"], 1_700_000_000, body);
//! // A receiver that still knows only the old secret accepts it too.
//! assert!(verify_webhook(&["whsec_old"], &header, body, 1_700_000_030, 300).is_ok());
//! assert!(verify_webhook(&["whsec_other"], &header, body, 1_700_000_030, 300).is_err());
//! ```

use std::fmt::Write;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a signature's `t` may be from now by default, in seconds (replays of older
/// deliveries are refused).
pub const DEFAULT_WEBHOOK_TOLERANCE: u64 = 300;

/// The longest header [`verify_webhook`] reads.
const MAX_HEADER_BYTES: usize = 4096;

/// Why a webhook signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookSignatureError {
    /// Not `t=<digits>,v1=<64 hex>…`: no `t`, two of them, no `v1`, or too long.
    #[error("the signature header is malformed")]
    Malformed,
    /// `t` is further from now than the tolerance.
    #[error("the signature is {by} s outside the tolerance")]
    Stale {
        /// Seconds beyond the tolerance.
        by: u64,
    },
    /// No `v1` matches any of the secrets.
    #[error("no signature matches")]
    NoMatch,
}

fn mac(secret: &str, t: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable_key(),
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

#[cold]
fn unreachable_key() -> Hmac<Sha256> {
    // An empty key is valid for HMAC; used only if the impossible happened.
    <Hmac<Sha256> as hmac::digest::KeyInit>::new(&Default::default())
}

/// The `Aliaskit-Signature` value for `body` sent at `t`, one `v1=` per secret, in order.
pub fn sign_webhook(secrets: &[&str], t: i64, body: &[u8]) -> String {
    let mut header = format!("t={t}");
    for secret in secrets {
        header.push_str(",v1=");
        for byte in mac(secret, t, body).finalize().into_bytes() {
            let _ = write!(header, "{byte:02x}");
        }
    }
    header
}

/// Checks an `Aliaskit-Signature` header against the raw `body`: `t` within `tolerance`
/// seconds of `now`, and some `v1` the HMAC of one of `secrets` (compared in constant time).
/// Unknown schemes (`v0=`, a later `v2=`) are ignored.
pub fn verify_webhook(
    secrets: &[&str],
    header: &str,
    body: &[u8],
    now: i64,
    tolerance: u64,
) -> Result<(), WebhookSignatureError> {
    if header.len() > MAX_HEADER_BYTES {
        return Err(WebhookSignatureError::Malformed);
    }
    let mut t = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let (key, value) = part
            .trim()
            .split_once('=')
            .ok_or(WebhookSignatureError::Malformed)?;
        match key {
            "t" if t.is_none()
                && !value.is_empty()
                && value.bytes().all(|b| b.is_ascii_digit()) =>
            {
                t = Some(
                    value
                        .parse::<i64>()
                        .map_err(|_| WebhookSignatureError::Malformed)?,
                );
            }
            "t" => return Err(WebhookSignatureError::Malformed),
            "v1" => signatures.push(hex32(value).ok_or(WebhookSignatureError::Malformed)?),
            _ => {}
        }
    }
    let t = t.ok_or(WebhookSignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(WebhookSignatureError::Malformed);
    }
    let off = now.abs_diff(t);
    if off > tolerance {
        return Err(WebhookSignatureError::Stale {
            by: off - tolerance,
        });
    }
    let matched = secrets.iter().any(|secret| {
        signatures
            .iter()
            .any(|sig| mac(secret, t, body).verify_slice(sig).is_ok())
    });
    if matched {
        Ok(())
    } else {
        Err(WebhookSignatureError::NoMatch)
    }
}

/// 64 hex digits as 32 bytes.
fn hex32(text: &str) -> Option<[u8; 32]> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let digit = |b: u8| (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok());
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"id":"evt_1"}"#;
    const T: i64 = 1_700_000_000;

    #[test]
    fn the_signature_is_hmac_sha256_of_t_dot_body_in_lower_hex() {
        // Computed with Python's `hmac.new(b"whsec_test", b'1700000000.{"id":"evt_1"}',
        // hashlib.sha256).hexdigest()`.
        assert_eq!(
            sign_webhook(&["whsec_test"], T, BODY),
            "t=1700000000,v1=c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925"
        );
    }

    #[test]
    fn either_secret_of_a_rotation_verifies() {
        let header = sign_webhook(&["whsec_new", "whsec_old"], T, BODY);
        for secrets in [&["whsec_new"][..], &["whsec_old"], &["x", "whsec_old"]] {
            assert_eq!(verify_webhook(secrets, &header, BODY, T, 300), Ok(()));
        }
        assert_eq!(
            verify_webhook(&["whsec_x"], &header, BODY, T, 300),
            Err(WebhookSignatureError::NoMatch)
        );
        assert_eq!(
            verify_webhook(&["whsec_new"], &header, b"{}", T, 300),
            Err(WebhookSignatureError::NoMatch)
        );
    }

    #[test]
    fn old_or_future_timestamps_and_malformed_headers_are_refused() {
        let header = sign_webhook(&["s"], T, BODY);
        assert_eq!(verify_webhook(&["s"], &header, BODY, T + 300, 300), Ok(()));
        assert_eq!(
            verify_webhook(&["s"], &header, BODY, T + 301, 300),
            Err(WebhookSignatureError::Stale { by: 1 })
        );
        assert_eq!(
            verify_webhook(&["s"], &header, BODY, T - 400, 300),
            Err(WebhookSignatureError::Stale { by: 100 })
        );
        let v1 = header.split_once(",").map(|(_, v)| v).unwrap_or_default();
        for bad in [
            "",
            v1,
            "t=1700000000",
            "t=-1,v1=00",
            &format!("t=1700000000,t=1700000000,{v1}"),
            &format!("t=abc,{v1}"),
            "t=1700000000,v1=zz",
            &"t=1,".repeat(2000),
        ] {
            assert_eq!(
                verify_webhook(&["s"], bad, BODY, T, 300),
                Err(WebhookSignatureError::Malformed),
                "{bad}"
            );
        }
        // Unknown schemes are skipped.
        let with_v0 = format!("t=1700000000,v0=whatever,{v1}");
        assert_eq!(verify_webhook(&["s"], &with_v0, BODY, T, 300), Ok(()));
    }
}
