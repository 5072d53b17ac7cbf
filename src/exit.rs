//! The fixed exit-code table of every `revspec` command.

/// Conformant / success.
pub const OK: i32 = 0;
/// Rule failures (MUST, or SHOULD with --strict), or missed load thresholds.
pub const FAILURES: i32 = 1;
/// Usage, profile or configuration error: something the user wrote.
pub const USAGE: i32 = 2;
/// The target cannot be used: unreachable, broken answers, or token minting failed.
pub const UNREACHABLE: i32 = 3;
