//! [`CapAlias`]: `username$domain`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error as DomainError;

/// An OpenCAP alias, `username$domain`, as in `donate$ogdolo.com`.
///
/// - The username is 1 to 25 characters from `a-z 0-9 . _ -`. Upper case is refused rather
///   than lowered, so an alias has exactly one spelling.
/// - Exactly one `$` separates the two parts.
/// - The domain is lower-case ASCII: at least two dot-separated labels of letters, digits and
///   hyphens, each 1–63 characters and neither starting nor ending with a hyphen, at most 253
///   characters in all, without a trailing dot. The last label (the top-level domain) is
///   letters only, at least two of them. Internationalized domains must be given in their
///   ASCII (`xn--`) form, except for the top-level domain, which must be alphabetic.
///
/// It serializes as its text and deserializes from a string through the same checks.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CapAlias {
    text: String,
    /// Byte index of the `$` in `text`.
    dollar: usize,
}

/// Why a text is not a valid [`CapAlias`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CapAliasError {
    /// The alias has no `$`, or more than one.
    #[error("the alias needs exactly one '$', as in \"name$example.com\"; found {found}")]
    DollarCount {
        /// How many it has.
        found: usize,
    },
    /// Nothing before the `$`.
    #[error("the username (before '$') is empty")]
    EmptyUsername,
    /// The username is longer than [`CapAlias::MAX_USERNAME_CHARS`].
    #[error("the username is {len} characters; at most 25")]
    UsernameTooLong {
        /// Its length in characters.
        len: usize,
    },
    /// The username has an upper-case letter.
    #[error("upper-case letters are not allowed in the username; found {found:?}")]
    UsernameUpperCase {
        /// The first one.
        found: char,
    },
    /// The username has a character outside `a-z 0-9 . _ -`.
    #[error("{found:?} is not allowed in the username; use a-z, 0-9, '.', '_' and '-'")]
    UsernameCharacter {
        /// The first one.
        found: char,
    },
    /// Nothing after the `$`.
    #[error("the domain (after '$') is empty")]
    EmptyDomain,
    /// The domain has a non-ASCII character.
    #[error(
        "the domain must be lower-case ASCII; found {found:?} (write internationalized names in their xn-- form)"
    )]
    DomainNotAscii {
        /// The first one.
        found: char,
    },
    /// The domain has an upper-case letter.
    #[error("the domain must be lower-case ASCII; found upper-case {found:?}")]
    DomainUpperCase {
        /// The first one.
        found: char,
    },
    /// The domain has an ASCII character other than a letter, digit, hyphen or dot.
    #[error("{found:?} is not allowed in the domain; use a-z, 0-9, '-' and '.'")]
    DomainCharacter {
        /// The first one.
        found: char,
    },
    /// The domain is longer than 253 characters.
    #[error("the domain is {len} characters; at most 253")]
    DomainTooLong {
        /// Its length in characters.
        len: usize,
    },
    /// The domain ends with a dot (`example.com.`).
    #[error("the domain must not end with a dot")]
    DomainTrailingDot,
    /// The domain starts with a dot or has two dots in a row.
    #[error("the domain has an empty label (a leading dot or two dots in a row)")]
    EmptyLabel,
    /// A label is longer than 63 characters.
    #[error("the domain label {label} is {len} characters; at most 63")]
    LabelTooLong {
        /// The label, shortened and escaped.
        label: String,
        /// Its length in characters.
        len: usize,
    },
    /// A label starts or ends with a hyphen.
    #[error("the domain label {label} must not start or end with '-'")]
    LabelHyphen {
        /// The label, shortened and escaped.
        label: String,
    },
    /// The domain is a single label, such as `com`.
    #[error("the domain needs at least two labels, as in \"example.com\"")]
    SingleLabel,
    /// The top-level domain has a digit or hyphen.
    #[error("the top-level domain {tld} must be letters only")]
    TldNotAlphabetic {
        /// The top-level domain, shortened and escaped.
        tld: String,
    },
    /// The top-level domain is a single letter.
    #[error("the top-level domain {tld} is too short; at least 2 letters")]
    TldTooShort {
        /// The top-level domain, escaped.
        tld: String,
    },
}

impl CapAlias {
    /// The longest username, in characters.
    pub const MAX_USERNAME_CHARS: usize = 25;
    /// The longest domain, in characters.
    pub const MAX_DOMAIN_CHARS: usize = 253;
    /// The longest domain label, in characters.
    pub const MAX_LABEL_CHARS: usize = 63;

    /// Parses and validates `username$domain`.
    pub fn parse(input: &str) -> Result<Self, CapAliasError> {
        let dollar = check(input)?;
        Ok(CapAlias {
            text: input.to_owned(),
            dollar,
        })
    }

    /// The part before the `$`.
    pub fn username(&self) -> &str {
        self.text.get(..self.dollar).unwrap_or_default()
    }

    /// The part after the `$`.
    pub fn domain(&self) -> &str {
        self.text.get(self.dollar + 1..).unwrap_or_default()
    }

    /// The whole alias, `username$domain`.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Checks `input` and returns the byte index of its `$`.
fn check(input: &str) -> Result<usize, CapAliasError> {
    let dollars = input.matches('$').count();
    let (username, domain) = match input.split_once('$') {
        Some(parts) if dollars == 1 => parts,
        _ => return Err(CapAliasError::DollarCount { found: dollars }),
    };
    check_username(username)?;
    check_domain(domain)?;
    Ok(username.len())
}

fn check_username(username: &str) -> Result<(), CapAliasError> {
    if username.is_empty() {
        return Err(CapAliasError::EmptyUsername);
    }
    let len = username.chars().count();
    if len > CapAlias::MAX_USERNAME_CHARS {
        return Err(CapAliasError::UsernameTooLong { len });
    }
    for c in username.chars() {
        if c.is_uppercase() {
            return Err(CapAliasError::UsernameUpperCase { found: c });
        }
        if !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')) {
            return Err(CapAliasError::UsernameCharacter { found: c });
        }
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), CapAliasError> {
    if domain.is_empty() {
        return Err(CapAliasError::EmptyDomain);
    }
    for c in domain.chars() {
        if !c.is_ascii() {
            return Err(CapAliasError::DomainNotAscii { found: c });
        }
        if c.is_ascii_uppercase() {
            return Err(CapAliasError::DomainUpperCase { found: c });
        }
        if !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.')) {
            return Err(CapAliasError::DomainCharacter { found: c });
        }
    }
    // All ASCII from here on, so bytes are characters.
    if domain.len() > CapAlias::MAX_DOMAIN_CHARS {
        return Err(CapAliasError::DomainTooLong { len: domain.len() });
    }
    if domain.ends_with('.') {
        return Err(CapAliasError::DomainTrailingDot);
    }
    for label in domain.split('.') {
        if label.is_empty() {
            return Err(CapAliasError::EmptyLabel);
        }
        if label.len() > CapAlias::MAX_LABEL_CHARS {
            return Err(CapAliasError::LabelTooLong {
                label: DomainError::shown(label),
                len: label.len(),
            });
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(CapAliasError::LabelHyphen {
                label: DomainError::shown(label),
            });
        }
    }
    let Some((_, tld)) = domain.rsplit_once('.') else {
        return Err(CapAliasError::SingleLabel);
    };
    if !tld.bytes().all(|b| b.is_ascii_lowercase()) {
        return Err(CapAliasError::TldNotAlphabetic {
            tld: DomainError::shown(tld),
        });
    }
    if tld.len() < 2 {
        return Err(CapAliasError::TldTooShort {
            tld: DomainError::shown(tld),
        });
    }
    Ok(())
}

impl FromStr for CapAlias {
    type Err = CapAliasError;
    fn from_str(s: &str) -> Result<Self, CapAliasError> {
        Self::parse(s)
    }
}

impl TryFrom<String> for CapAlias {
    type Error = CapAliasError;
    fn try_from(text: String) -> Result<Self, CapAliasError> {
        let dollar = check(&text)?;
        Ok(CapAlias { text, dollar })
    }
}

impl From<CapAlias> for String {
    fn from(alias: CapAlias) -> String {
        alias.text
    }
}

impl fmt::Display for CapAlias {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for CapAlias {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CapAlias({:?})", self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn err(input: &str) -> String {
        CapAlias::parse(input).unwrap_err().to_string()
    }

    #[test]
    fn accessors_and_display() {
        let alias = CapAlias::parse("lane-c-wa.il$ogdolo.com").unwrap();
        assert_eq!(alias.username(), "lane-c-wa.il");
        assert_eq!(alias.domain(), "ogdolo.com");
        assert_eq!(alias.to_string(), "lane-c-wa.il$ogdolo.com");
        assert_eq!(alias.as_str(), "lane-c-wa.il$ogdolo.com");
        assert_eq!(
            format!("{alias:?}"),
            r#"CapAlias("lane-c-wa.il$ogdolo.com")"#
        );
    }

    #[test]
    fn serde_is_a_string_checked_on_the_way_in() {
        let alias: CapAlias = serde_json::from_str(r#""a$example.ninja""#).unwrap();
        assert_eq!(
            serde_json::to_string(&alias).unwrap(),
            r#""a$example.ninja""#
        );
        let bad = serde_json::from_str::<CapAlias>(r#""A$example.ninja""#).unwrap_err();
        assert!(
            bad.to_string()
                .contains("upper-case letters are not allowed")
        );
        assert!(serde_json::from_str::<CapAlias>("42").is_err());
    }

    #[test]
    fn username_rules() {
        assert!(CapAlias::parse(&format!("{}$x.io", "a".repeat(25))).is_ok());
        assert_eq!(
            err(&format!("{}$x.io", "a".repeat(26))),
            "the username is 26 characters; at most 25"
        );
        assert_eq!(err("$x.io"), "the username (before '$') is empty");
        assert_eq!(
            err("Lane$x.io"),
            "upper-case letters are not allowed in the username; found 'L'"
        );
        assert_eq!(
            err("ÄBC$x.io"),
            "upper-case letters are not allowed in the username; found 'Ä'"
        );
        assert_eq!(
            err("ner@gail.com$x.io"),
            "'@' is not allowed in the username; use a-z, 0-9, '.', '_' and '-'"
        );
        assert_eq!(
            err("é$x.io"),
            "'é' is not allowed in the username; use a-z, 0-9, '.', '_' and '-'"
        );
    }

    #[test]
    fn dollar_rules() {
        assert_eq!(
            err("a$b$example.com"),
            "the alias needs exactly one '$', as in \"name$example.com\"; found 2"
        );
        assert_eq!(err("donateogdolo.com"), err("").as_str());
        assert!(err("donateogdolo.com").ends_with("found 0"));
    }

    #[test]
    fn domain_rules() {
        assert_eq!(err("a$"), "the domain (after '$') is empty");
        assert_eq!(
            err("lane$EXAMPLE.com"),
            "the domain must be lower-case ASCII; found upper-case 'E'"
        );
        assert!(
            err("lane$пример.com").starts_with("the domain must be lower-case ASCII; found 'п'")
        );
        assert_eq!(
            err("a$ex_ample.com"),
            "'_' is not allowed in the domain; use a-z, 0-9, '-' and '.'"
        );
        assert_eq!(err("a$ogdolo.com."), "the domain must not end with a dot");
        assert_eq!(err("a$ogdolo."), "the domain must not end with a dot");
        assert_eq!(
            err("a$.ogdolo.com"),
            "the domain has an empty label (a leading dot or two dots in a row)"
        );
        assert_eq!(err("a$ogdolo..com"), err("a$.ogdolo.com"));
        assert_eq!(
            err("a$com"),
            "the domain needs at least two labels, as in \"example.com\""
        );
        assert_eq!(
            err("a$-x.com"),
            "the domain label \"-x\" must not start or end with '-'"
        );
        assert_eq!(
            err("a$x-.com"),
            "the domain label \"x-\" must not start or end with '-'"
        );
        assert_eq!(
            err("a$ogdolo.b"),
            "the top-level domain \"b\" is too short; at least 2 letters"
        );
        assert_eq!(
            err("a$ogdolo.c0m"),
            "the top-level domain \"c0m\" must be letters only"
        );
        assert!(CapAlias::parse("a$xn--e1afmkfd.xn--p1ai").is_err());
        assert!(CapAlias::parse("a$xn--e1afmkfd.com").is_ok());
        assert!(CapAlias::parse("a$1.2.museum").is_ok());
        assert!(CapAlias::parse("a$a-b.c-d.engineering").is_ok());
    }

    #[test]
    fn domain_lengths() {
        let label63 = "a".repeat(63);
        assert!(CapAlias::parse(&format!("a${label63}.com")).is_ok());
        let msg = err(&format!("a${}.com", "a".repeat(64)));
        assert_eq!(
            msg,
            format!(
                "the domain label \"{}\"… is 64 characters; at most 63",
                "a".repeat(40)
            )
        );
        // 63 * 4 + 3 dots = 255 > 253; 61 + 3 * 63 + 3 dots = 253.
        let long = format!("{label63}.{label63}.{label63}.{}", "a".repeat(63));
        assert_eq!(
            err(&format!("a${long}")),
            "the domain is 255 characters; at most 253"
        );
        let fits = format!("{label63}.{label63}.{label63}.{}", "a".repeat(61));
        assert_eq!(fits.len(), 253);
        assert!(CapAlias::parse(&format!("a${fits}")).is_ok());
    }

    #[test]
    fn messages_never_echo_more_than_40_chars() {
        let long = "x".repeat(1000);
        for input in [
            format!("a${long}-.com"),
            format!("a$b.{long}9"),
            format!("{long}$b.com"),
        ] {
            assert!(err(&input).len() < 120, "{}", err(&input));
        }
    }

    proptest! {
        #[test]
        fn any_string_parses_or_errors(s in any::<String>()) {
            if let Ok(alias) = CapAlias::parse(&s) {
                prop_assert_eq!(alias.to_string(), s.clone());
                prop_assert_eq!(format!("{}${}", alias.username(), alias.domain()), s);
            }
        }

        #[test]
        fn alias_shaped_strings_parse_or_error(
            s in "[a-zA-Z0-9._@$-]{0,30}\\$[a-zA-Z0-9.$é-]{0,30}"
        ) {
            match CapAlias::parse(&s) {
                Ok(alias) => {
                    prop_assert_eq!(alias.as_str(), s.as_str());
                    prop_assert!(alias.username().len() <= 25);
                }
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }

        #[test]
        fn generated_valid_aliases_parse(
            user in "[a-z0-9._-]{1,25}",
            labels in proptest::collection::vec("[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", 1..4),
            tld in "[a-z]{2,12}",
        ) {
            let s = format!("{user}${}.{tld}", labels.join("."));
            let alias = CapAlias::parse(&s).unwrap();
            prop_assert_eq!(alias.username(), user.as_str());
        }
    }
}
