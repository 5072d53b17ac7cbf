//! One test per rule of `features/RULES.md` that the server implements, named after the rule
//! ID (`rfc7009_2_1_immediate` is `rfc7009-2.1-immediate`).
//!
//! These tests are a second, independent encoding of the catalogue, in Rust: an oracle that
//! does not share the Gherkin's reading of the RFCs. If the feature files and these tests
//! disagree about a rule, one of the two readings is wrong, and the reference server cannot
//! pass both by sharing a mistake with the harness. "Inactive" is always observed through
//! RFC 7662 introspection (by `resource-server`, which holds `introspect_any`), as the
//! catalogue does, and sometimes additionally through userinfo or a refresh grant.

mod janssen;
mod rfc7009;
