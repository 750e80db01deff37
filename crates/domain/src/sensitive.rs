//! [`Sensitive`]: a string that must never reach a log line.

use std::fmt;

/// A secret-bearing string (a passcode, a `jwt_secret`, a stream key, an API key).
///
/// `Debug` shows only the length and there is no `Display`, so formatting a struct that holds
/// one cannot leak it; read it with [`expose`](Self::expose) where it is really needed.
#[derive(Clone, PartialEq, Eq)]
pub struct Sensitive(String);

impl Sensitive {
    /// Wraps a secret string.
    pub fn new(value: impl Into<String>) -> Self {
        Sensitive(value.into())
    }

    /// The secret text. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Takes the secret text out.
    pub fn into_inner(self) -> String {
        self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Sensitive {
    fn from(s: String) -> Self {
        Sensitive(s)
    }
}

impl From<&str> for Sensitive {
    fn from(s: &str) -> Self {
        Sensitive(s.to_owned())
    }
}

impl fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sensitive(<redacted, {} bytes>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Sensitive::from("hunter2");
        assert_eq!(format!("{s:?}"), "Sensitive(<redacted, 7 bytes>)");
        assert_eq!(
            format!("{:?}", Some(s)),
            "Some(Sensitive(<redacted, 7 bytes>))"
        );
    }
}
