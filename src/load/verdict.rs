//! What a load run comes to: unusable (no revocation got a complete answer), failed
//! (revocations that did not hold, could not be observed, were never sampled, or a threshold
//! missed), or passed. Decided from what each request means, never from its display name.

use crate::record::load::LoadSummary;

/// The verdict of a load run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadVerdict {
    Passed,
    /// Each reason names the figure.
    Failed(Vec<String>),
    /// The target could not be load-tested.
    Unusable(String),
}

pub fn verdict(summary: &LoadSummary) -> LoadVerdict {
    if let Some(why) = &summary.unusable {
        return LoadVerdict::Unusable(why.clone());
    }
    let c = &summary.correctness;
    let revoked_issued = summary.requests.iter().any(|r| r.revokes_issued_tokens);
    let mut failed = Vec::new();
    if c.not_held > 0 {
        failed.push(format!(
            "{} sampled revocations did not hold (the token was still active after the 200)",
            c.not_held
        ));
    } else if c.probe_errors > 0 {
        failed.push(format!(
            "{} sampled revocations could not be observed (probe errors)",
            c.probe_errors
        ));
    } else if revoked_issued && c.sampled == 0 {
        failed.push("the run revoked tokens but observed none of them".into());
    }
    failed.extend(
        summary
            .missed_thresholds()
            .into_iter()
            .map(|m| format!("threshold missed: {m}")),
    );
    if failed.is_empty() {
        LoadVerdict::Passed
    } else {
        LoadVerdict::Failed(failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(revokes_issued_tokens: bool) -> LoadSummary {
        let mut s = crate::record::load::fixtures::summary();
        s.requests[0].name = "anything at all".into();
        s.requests[0].revokes_issued_tokens = revokes_issued_tokens;
        s.error_rate_percent = 0.0;
        s
    }

    #[test]
    fn revoking_issued_tokens_without_sampling_any_fails_whatever_the_name() {
        assert_eq!(verdict(&summary(false)), LoadVerdict::Passed);
        let LoadVerdict::Failed(why) = verdict(&summary(true)) else {
            panic!("not failed")
        };
        assert!(why[0].contains("observed none"), "{why:?}");
        let mut s = summary(true);
        s.correctness.sampled = 3;
        s.correctness.not_held = 1;
        let LoadVerdict::Failed(why) = verdict(&s) else {
            panic!("not failed")
        };
        assert!(why[0].contains("did not hold"), "{why:?}");
        s.unusable = Some("down".into());
        assert_eq!(verdict(&s), LoadVerdict::Unusable("down".into()));
    }

    #[test]
    fn a_missed_threshold_fails_and_names_the_figure() {
        let mut s = summary(false);
        s.thresholds.min_rps = Some(100.0);
        s.rps = 20.0;
        let LoadVerdict::Failed(why) = verdict(&s) else {
            panic!("not failed")
        };
        assert!(
            why[0].starts_with("threshold missed: throughput"),
            "{why:?}"
        );
    }
}
