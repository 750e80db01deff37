//! JWS compact serialization (RFC 7515 §7.1), parsed once and strictly.
//!
//! aliaskit does not hand the token to a second parser (josekit's decoder keeps the last of
//! duplicate members and accepts fractional or huge dates): the bytes checked here are the bytes
//! whose MAC is verified and whose claims are read, so no two parsers can disagree about them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::{Result, TokenError, json};

/// The largest token accepted, in bytes (`docs/security.md` rule 1).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// A token split into its parts, header and signature decoded, payload not yet.
pub(crate) struct Compact<'a> {
    /// `BASE64URL(header) '.' BASE64URL(payload)`, exactly as received: the MAC's input.
    pub(crate) signing_input: &'a str,
    pub(crate) header: Header,
    /// Up to 66 bytes inline: the decoding estimate for the 86 characters of an HS512 MAC.
    pub(crate) signature: Bytes<66>,
    header_b64: &'a str,
    payload_b64: &'a str,
}

/// The header members verification reads; the others were checked for form (valid JSON, no
/// duplicates) and are otherwise ignored — in particular `jku`, `x5u` and `jwk` are never followed.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Header {
    pub(crate) alg: Field,
    pub(crate) typ: Field,
    pub(crate) kid: Field,
    pub(crate) crit: bool,
}

/// A header member that should be a string.
#[derive(Debug, Default, PartialEq)]
pub(crate) enum Field {
    #[default]
    Absent,
    Text(String),
    /// Present, and some other JSON value.
    NotText,
}

impl From<Value> for Field {
    fn from(value: Value) -> Self {
        match value {
            Value::String(s) => Field::Text(s),
            _ => Field::NotText,
        }
    }
}

impl Header {
    fn parse(segment: &str) -> Result<Self> {
        with_base64url::<256, _>(segment, "header", Header::read)
    }

    fn read(bytes: &[u8]) -> Result<Self> {
        json::read_object(bytes, "header", |header: &mut Header, name, value| {
            match name {
                "alg" => header.alg = value.into(),
                "typ" => header.typ = value.into(),
                "kid" => header.kid = value.into(),
                "crit" => header.crit = true,
                _ => {}
            }
            Ok(())
        })
    }
}

impl<'a> Compact<'a> {
    pub(crate) fn parse(token: &'a str) -> Result<Self> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::malformed(format!(
                "the token is {} bytes; the limit is {MAX_TOKEN_BYTES}",
                token.len()
            )));
        }
        if token.is_empty() {
            return Err(TokenError::malformed("the token is empty"));
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            let n = token.split('.').count();
            return Err(TokenError::malformed(if n == 5 {
                "encrypted tokens (JWE, 5 segments) are not accepted; send a signed JWT".to_owned()
            } else {
                format!("a JWT has 3 segments separated by '.', this one has {n}")
            }));
        };
        let header = Header::parse(h)?;
        let signature = Bytes::decode(s, "signature")?;
        Ok(Compact {
            signing_input: &token[..h.len() + 1 + p.len()],
            header,
            signature,
            header_b64: h,
            payload_b64: p,
        })
    }

    /// Decodes the payload and hands its bytes to `read`. Call it only after the MAC has
    /// verified.
    pub(crate) fn with_payload<T>(&self, read: impl FnOnce(&[u8]) -> Result<T>) -> Result<T> {
        with_base64url::<512, _>(self.payload_b64, "payload", read)
    }

    /// Decodes the payload into a map. Call it only after the MAC has verified.
    pub(crate) fn payload(&self) -> Result<Map<String, Value>> {
        self.with_payload(|bytes| json::object(bytes, "payload"))
    }
}

/// Decodes `segment` as strict unpadded base64url — no padding, no other alphabet, no non-zero
/// trailing bits, so each byte string has exactly one encoding — and hands the bytes to `read`.
/// Up to `N` bytes are decoded into a buffer on the stack, which is not moved around.
fn with_base64url<const N: usize, T>(
    segment: &str,
    part: &str,
    read: impl FnOnce(&[u8]) -> Result<T>,
) -> Result<T> {
    let mut buf = [0u8; N];
    match decode_into(segment, part, &mut buf)? {
        Some(len) => read(buf.get(..len).unwrap_or_default()),
        None => read(&decode_vec(segment, part)?),
    }
}

/// Decodes `segment` into `buf` and gives its length, or `None` if it may not fit.
fn decode_into(segment: &str, part: &str, buf: &mut [u8]) -> Result<Option<usize>> {
    if base64::decoded_len_estimate(segment.len()) > buf.len() {
        return Ok(None);
    }
    URL_SAFE_NO_PAD
        .decode_slice(segment, buf)
        .map(Some)
        .map_err(|e| not_base64url(part, &e))
}

fn decode_vec(segment: &str, part: &str) -> Result<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|e| not_base64url(part, &e))
}

fn not_base64url(part: &str, e: &dyn std::fmt::Display) -> TokenError {
    TokenError::malformed(format!("the {part} is not unpadded base64url: {e}"))
}

/// Decoded bytes: on the stack when at most `N`, else on the heap. Tokens are small, and this
/// keeps the common verification free of allocations for its buffers.
pub(crate) enum Bytes<const N: usize> {
    Inline([u8; N], usize),
    Heap(Vec<u8>),
}

impl<const N: usize> Bytes<N> {
    /// Decodes `segment` as [`with_base64url`] does, into the value itself when it fits.
    fn decode(segment: &str, part: &str) -> Result<Self> {
        let mut buf = [0u8; N];
        Ok(match decode_into(segment, part, &mut buf)? {
            Some(len) => Bytes::Inline(buf, len),
            None => Bytes::Heap(decode_vec(segment, part)?),
        })
    }
}

impl<const N: usize> std::ops::Deref for Bytes<N> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Inline(buf, len) => buf.get(..*len).unwrap_or_default(),
            Bytes::Heap(v) => v,
        }
    }
}

/// Header and payload of a token, without checking anything but their form.
///
/// **Nothing is verified**: not the signature, not a single claim. This is for showing a token
/// to a person (`aliaskit token decode`), never for deciding whether to trust it.
pub fn decode_unverified(token: &str) -> Result<(Map<String, Value>, Map<String, Value>)> {
    let compact = Compact::parse(token)?;
    let header = with_base64url::<0, _>(compact.header_b64, "header", |bytes| {
        json::object(bytes, "header")
    })?;
    Ok((header, compact.payload()?))
}
