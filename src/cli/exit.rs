//! The fixed exit-code table of every `revspec` command, and the one mapping from what went
//! wrong to a code. Nothing outside the command line knows these numbers.

use crate::conformance::CheckError;
use crate::load::LoadError;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// 0: conformant / success.
    Ok = 0,
    /// 1: rule failures (MUST, or SHOULD with --strict), or missed load thresholds.
    Failures = 1,
    /// 2: usage, profile or configuration error: something the user wrote.
    Usage = 2,
    /// 3: the target cannot be used: unreachable, broken answers, minting failed, a probe
    /// that cannot be believed.
    TargetUnusable = 3,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e.code())
    }
}

impl From<&CheckError> for Exit {
    fn from(e: &CheckError) -> Self {
        match e {
            CheckError::Usage(_) => Exit::Usage,
            CheckError::Unusable(_) => Exit::TargetUnusable,
        }
    }
}

impl From<&LoadError> for Exit {
    fn from(e: &LoadError) -> Self {
        match e {
            LoadError::Usage(_) => Exit::Usage,
            LoadError::Unreachable(_) => Exit::TargetUnusable,
            LoadError::Goose(_) => Exit::Failures,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_fixed() {
        assert_eq!(
            [Exit::Ok, Exit::Failures, Exit::Usage, Exit::TargetUnusable].map(Exit::code),
            [0, 1, 2, 3]
        );
        assert!(Exit::TargetUnusable > Exit::Ok);
    }
}
