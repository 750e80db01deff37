//! The messages a user sees for the mistakes they are likely to make.

use aliaskit_domain::opencap::{AddressType, CapAlias};

fn alias_error(input: &str) -> String {
    CapAlias::parse(input).unwrap_err().to_string()
}

fn address_error(t: AddressType, input: &str) -> String {
    t.validate(input).unwrap_err().to_string()
}

#[test]
fn alias_messages() {
    assert_eq!(
        alias_error("abcdefghijklmnopqrstuvwxyz$ogdolo.com"),
        "the username is 26 characters; at most 25"
    );
    assert_eq!(
        alias_error("a$b$example.com"),
        "the alias needs exactly one '$', as in \"name$example.com\"; found 2"
    );
    assert_eq!(
        alias_error("donateogdolo.com"),
        "the alias needs exactly one '$', as in \"name$example.com\"; found 0"
    );
    assert_eq!(
        alias_error("lane.c.Wagner$ogdolo.com"),
        "upper-case letters are not allowed in the username; found 'W'"
    );
    assert_eq!(
        alias_error("lane$EXAMPLE.com"),
        "the domain must be lower-case ASCII; found upper-case 'E'"
    );
    assert_eq!(
        alias_error("lane$пример.com"),
        "the domain must be lower-case ASCII; found 'п' (write internationalized names in their xn-- form)"
    );
    assert_eq!(
        alias_error("lane$ogdolo."),
        "the domain must not end with a dot"
    );
    assert_eq!(
        alias_error("lane$com"),
        "the domain needs at least two labels, as in \"example.com\""
    );
    assert_eq!(
        alias_error("ner@gail.com$ogdolo.com"),
        "'@' is not allowed in the username; use a-z, 0-9, '.', '_' and '-'"
    );
}

#[test]
fn address_messages() {
    use AddressType::*;
    let bad_checksum = "bad checksum: the address has a typo or is incomplete";
    assert_eq!(
        address_error(BitcoinP2pkh, "1AGNa15ZQXAZUgFiqJ2i7Z2DPU2J6hW62j"),
        bad_checksum
    );
    assert_eq!(
        address_error(BitcoinSegwit, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5"),
        bad_checksum
    );
    assert_eq!(
        address_error(
            CashAddr,
            "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6c"
        ),
        bad_checksum
    );
    assert_eq!(
        address_error(
            Nano,
            "xrb_1ipdmx5ck6fwc1hkt3fg631z6twjo9e5m6e9dbenm65sbb3e4hgmd1ygxnq4"
        ),
        bad_checksum
    );
    assert_eq!(
        address_error(BitcoinP2pkh, "3BudsSxDY7JX9J8W8CBimHcDyLjTuvNALc"),
        "version byte 0x05 is a P2SH address; type 100 is P2PKH (version byte 0x00)"
    );
    assert_eq!(
        address_error(BitcoinP2sh, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),
        "version byte 0x00 is a P2PKH address; type 101 is P2SH (version byte 0x05)"
    );
    assert_eq!(
        address_error(BitcoinP2pkh, "bc1qaljg7k4pud76kjargxvvx54gz8tgnzx29cy9zn"),
        "not valid base58: 'l' (character 6) is not in the base58 alphabet"
    );
    assert_eq!(address_error(BitcoinP2pkh, ""), "the address is empty");
    assert_eq!(
        address_error(Bip47PaymentCode, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),
        "expected 85 bytes, got 25"
    );
    assert_eq!(
        address_error(BitcoinSegwit, "BC13W508D6QEJXTDG4Y5R3ZARVARY0C5XW7KN40WF2"),
        "witness version 17 does not exist; versions go from 0 to 16"
    );
    assert_eq!(
        address_error(BitcoinSegwit, "bc12UEL5L"),
        "mixed upper and lower case is not allowed; write the address all in lower case"
    );
    assert_eq!(
        address_error(BitcoinSegwit, "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"),
        "the address must start with \"bc1\" (Bitcoin mainnet)"
    );
    assert_eq!(
        address_error(CashAddr, "qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a"),
        "the address must start with \"bitcoincash:\""
    );
    assert_eq!(
        address_error(
            Nano,
            "nan_1os1zf6ne5ydfmugdnqhwqbgze3p6f6x4k7fsz7epadknw7fae7qmihkaj8i"
        ),
        "the address must start with \"nano_\" or \"xrb_\""
    );
    assert_eq!(
        address_error(
            Nano,
            "xrb_1ipdmx5ck6fwc1hkt3fg631z6twjo9e5m6e9dbe65sbb3e4hgmd1ygxnq3"
        ),
        "the address is 62 characters; at least 64"
    );
}

/// The BIP47 payment code of the shared vectors with its last character changed.
#[test]
fn payment_code_typo() {
    assert_eq!(
        address_error(
            AddressType::Bip47PaymentCode,
            "PM8TJfFccT8JNYN6fWypnkHuWUeH1kyoZzri9qi8gtPajiJmP8TKJvfTzXVry9WWFU6bVuXyhjKJWurFdsZaHN294inAJ1JaSFzP9eEtfS1MQd1BDFdb"
        ),
        "bad checksum: the address has a typo or is incomplete"
    );
}

#[test]
fn messages_do_not_echo_long_input() {
    let long = "x".repeat(10_000);
    assert!(alias_error(&long).len() < 100);
    assert!(alias_error(&format!("a$b.{long}1")).len() < 100);
    for t in AddressType::ALL {
        assert!(address_error(t, &long).len() < 100);
    }
    let digits = "9".repeat(10_000);
    assert!(digits.parse::<AddressType>().unwrap_err().to_string().len() < 150);
}
