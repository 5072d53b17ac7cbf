//! One shard of a load run spread over several processes or machines (`revspec load --shard
//! I/N`): which of the profile's users are its own, its share of every rate and count the
//! profile sets, the shared start time, and the identity of the profile it ran (so that only
//! shards of one run are merged; the merge is `merge`).
//!
//! The users of the whole run are numbered as goose numbers them (0-based, in the order they
//! are launched, each running the transaction goose's round-robin scheduler gives it); shard I
//! runs users I-1, I-1+N, I-1+2N, ... So the shards' users add up to the profile's exactly (10
//! users over 3 shards: 4, 3, 3), every transaction gets exactly the users it has in the whole
//! run, each of a shard's users runs the transaction it runs in the whole run (and so, against
//! a cluster, revokes through the node it would in a single run), and the shards' start rates
//! add up to the profile's (each shard ramps its users up over the same ramp-up). The first revocations always
//! sampled (`min_samples`) are shared the same way; `sample_percent` is a share already.

use super::profile::{LoadProfile, TransactionSpec};
use super::transactions::UserSlice;
use crate::record::shard::{ProfileIdentity, ShardId};
use sha2::Digest as _;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How far in the past `--start-at` may be (clocks of different machines differ a little, and
/// a shard may take a moment to start): beyond this it is refused.
pub const START_AT_GRACE: Duration = Duration::from_secs(5);

/// A shard's part of a run.
#[derive(Debug, Clone)]
pub struct ShardPlan {
    pub id: ShardId,
    /// The shared start time (`--start-at`); none: start now.
    pub start_at: Option<SystemTime>,
    /// The profile file's name and hash.
    pub profile: ProfileIdentity,
}

/// Shard `shard`'s share of `total` things dealt in turn (1-based shard I takes the I-th, the
/// (I+N)-th, ...): the shares of all shards add up to `total` and differ by at most one.
pub fn share(total: usize, shard: ShardId) -> usize {
    if total >= shard.index {
        (total - shard.index) / shard.count + 1
    } else {
        0
    }
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The transaction (index into the profile's) each of `users` users runs, in the order they
/// are launched (goose's `weighted_users_index`), as goose 0.19's round-robin scheduler
/// allocates them: weights divided by their greatest common divisor, one user per transaction
/// in turn while a transaction has weight left, that list over again up to `users` entries,
/// and the users launched from the end of it (goose pops them).
pub fn transaction_of_users(weights: &[usize], users: usize) -> Vec<usize> {
    let g = weights.iter().copied().fold(0, gcd).max(1);
    let mut left: Vec<usize> = weights.iter().map(|w| w / g).collect();
    let total: usize = left.iter().sum();
    let mut list = Vec::with_capacity(total);
    while list.len() < total {
        for (i, l) in left.iter_mut().enumerate() {
            if *l > 0 {
                *l -= 1;
                list.push(i);
            }
        }
    }
    if list.is_empty() {
        return vec![];
    }
    (0..users)
        .map(|k| list[(users - 1 - k) % list.len()])
        .collect()
}

/// The profile shard `shard` runs: its users, each transaction weighted by the number of its
/// users that are the shard's (so goose gives each exactly those), transactions none of its
/// users run left out, and its share of `min_samples`. Refused when the shard would have no
/// user.
pub fn slice(profile: &LoadProfile, shard: ShardId) -> Result<LoadProfile, String> {
    let users = share(profile.users, shard);
    if users == 0 {
        return Err(format!(
            "--shard {shard}: the profile has {} users, fewer than {} shards, so this shard would have none (use at most {} shards, or --users {} or more)",
            profile.users, shard.count, profile.users, shard.count
        ));
    }
    let weights: Vec<usize> = profile.transactions.iter().map(|t| t.weight).collect();
    let of_user = transaction_of_users(&weights, profile.users);
    let mut counts = vec![0usize; profile.transactions.len()];
    for k in (shard.index - 1..profile.users).step_by(shard.count) {
        counts[of_user[k]] += 1;
    }
    let mut sliced = profile.clone();
    sliced.users = users;
    sliced.transactions = profile
        .transactions
        .iter()
        .zip(&counts)
        .filter(|(_, &n)| n > 0)
        .map(|(t, &n)| TransactionSpec {
            weight: n,
            ..t.clone()
        })
        .collect();
    sliced.correctness.min_samples = share(profile.correctness.min_samples, shard);
    Ok(sliced)
}

/// Which of the whole run's users shard `shard`'s are, in the order goose launches them in the
/// shard ([`slice`]'s profile): users I-1, I-1+N, ... of the whole run, each given to a local
/// user running the transaction it runs in the whole run (in launch order within each
/// transaction), so its node is the one it has in a single run.
pub fn users_of(profile: &LoadProfile, shard: ShardId) -> UserSlice {
    let weights: Vec<usize> = profile.transactions.iter().map(|t| t.weight).collect();
    let whole = transaction_of_users(&weights, profile.users);
    let mut owned: Vec<std::collections::VecDeque<usize>> = vec![Default::default(); weights.len()];
    for k in (shard.index - 1..profile.users).step_by(shard.count) {
        owned[whole[k]].push_back(k);
    }
    // The slice keeps the transactions with users, in order: its index to the profile's.
    let kept: Vec<usize> = (0..weights.len())
        .filter(|&t| !owned[t].is_empty())
        .collect();
    let local_weights: Vec<usize> = kept.iter().map(|&t| owned[t].len()).collect();
    let users: usize = local_weights.iter().sum();
    let global = transaction_of_users(&local_weights, users)
        .into_iter()
        .map(|local| {
            owned[kept[local]]
                .pop_front()
                .expect("the slice gives each transaction exactly its users")
        })
        .collect();
    UserSlice { global }
}

/// The profile file's identity: its name and the SHA-256 of its bytes.
pub fn profile_identity(path: &Path, profile: &LoadProfile) -> Result<ProfileIdentity, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(ProfileIdentity {
        name: profile.name.clone(),
        sha256: hex::encode(sha2::Sha256::digest(&bytes)),
    })
}

/// `--start-at`: an RFC 3339 time (`2026-05-01T12:00:00Z`, any offset) or a Unix time in
/// seconds (`1777636800`, a fraction allowed).
pub fn parse_start_at(text: &str) -> Result<SystemTime, String> {
    let text = text.trim();
    let unix = !text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || c == '.');
    if unix {
        let seconds: f64 = text
            .parse()
            .map_err(|_| format!("'{text}' is not a Unix time in seconds"))?;
        return Duration::try_from_secs_f64(seconds)
            .ok()
            .and_then(|d| UNIX_EPOCH.checked_add(d))
            .ok_or_else(|| format!("'{text}' is out of range"));
    }
    let at = chrono::DateTime::parse_from_rfc3339(text).map_err(|e| {
        format!(
            "expected an RFC 3339 time (2026-05-01T12:00:00Z) or a Unix time in seconds, got '{text}' ({e})"
        )
    })?;
    let ms = at.timestamp_millis();
    u64::try_from(ms)
        .ok()
        .and_then(|ms| UNIX_EPOCH.checked_add(Duration::from_millis(ms)))
        .ok_or_else(|| format!("'{text}' is before 1970"))
}

/// Refuses a start time more than [`START_AT_GRACE`] before `now`.
pub fn check_start_at(start_at: SystemTime, now: SystemTime) -> Result<(), String> {
    match now.duration_since(start_at) {
        Ok(past) if past > START_AT_GRACE => Err(format!(
            "--start-at {}: that is {:.1} s in the past, more than the {} s allowed for clocks and slow starts; give a time in the future (every shard the same one)",
            rfc3339(start_at),
            past.as_secs_f64(),
            START_AT_GRACE.as_secs()
        )),
        _ => Ok(()),
    }
}

/// A time in RFC 3339, to the millisecond, UTC.
pub fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(index: usize, count: usize) -> ShardId {
        ShardId { index, count }
    }

    #[test]
    fn users_are_split_so_the_total_is_exact() {
        let shares: Vec<usize> = (1..=3).map(|i| share(10, id(i, 3))).collect();
        assert_eq!(shares, [4, 3, 3]);
        for total in 0..50 {
            for n in 1..8 {
                let shares: Vec<usize> = (1..=n).map(|i| share(total, id(i, n))).collect();
                assert_eq!(shares.iter().sum::<usize>(), total, "{total} over {n}");
                let (min, max) = (shares.iter().min(), shares.iter().max());
                assert!(
                    max.unwrap() - min.unwrap() <= 1,
                    "{total} over {n}: {shares:?}"
                );
            }
        }
        assert_eq!(share(2, id(3, 3)), 0);
    }

    #[test]
    fn goose_round_robin_allocation_is_followed() {
        // Weights 3, 5, 1, 1: one of each in turn while weight is left (0 1 2 3 0 1 0 1 1 1),
        // over again up to 12 (0 1), launched from the end.
        assert_eq!(
            transaction_of_users(&[3, 5, 1, 1], 12),
            [1, 0, 1, 1, 1, 0, 1, 0, 3, 2, 1, 0]
        );
        // Weights are divided by their greatest common divisor first (0 1 1, then 0).
        assert_eq!(transaction_of_users(&[2, 4], 4), [0, 1, 1, 0]);
        assert_eq!(transaction_of_users(&[2, 4], 3), [1, 1, 0]);
    }

    /// goose itself gives user k (its `weighted_users_index`, which picks the user's node) the
    /// transaction [`transaction_of_users`] says: a goose attack whose transactions only note
    /// which user ran them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn goose_launches_its_users_as_transaction_of_users_says() {
        use goose::config::GooseConfiguration;
        use goose::prelude::*;
        use std::sync::{Arc, Mutex};
        let weights = [3, 5, 1, 1];
        let users = 12;
        let seen: Arc<Mutex<std::collections::BTreeMap<usize, usize>>> = Default::default();
        let mut config = GooseConfiguration::default();
        config.host = Some("http://127.0.0.1:9".into());
        config.users = Some(users);
        config.increase_rate = Some("200".into());
        config.run_time = Some("1".into());
        config.no_telnet = true;
        config.no_print_metrics = true;
        config.quiet = 1;
        let mut attack = GooseAttack::initialize_with_config(config).unwrap();
        for (t, &w) in weights.iter().enumerate() {
            let seen = seen.clone();
            let note: TransactionFunction = Arc::new(move |user: &mut GooseUser| {
                seen.lock().unwrap().insert(user.weighted_users_index, t);
                Box::pin(async {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Ok(())
                })
            });
            attack = attack.register_scenario(
                Scenario::new(&format!("s{t}"))
                    .set_weight(w)
                    .unwrap()
                    .register_transaction(Transaction::new(note)),
            );
        }
        attack.execute().await.unwrap();
        let seen = seen.lock().unwrap();
        let got: Vec<usize> = (0..users).map(|k| seen[&k]).collect();
        assert_eq!(got, transaction_of_users(&weights, users));
    }

    fn mixed() -> LoadProfile {
        LoadProfile::from_file(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/loadtests/mixed.toml"
        )))
        .unwrap()
    }

    #[test]
    fn the_slices_add_up_to_the_whole_profile_transaction_by_transaction() {
        let whole = mixed();
        for n in 1..=5 {
            let mut users = 0;
            let mut per_kind = std::collections::HashMap::new();
            let mut min_samples = 0;
            for i in 1..=n {
                let s = slice(&whole, id(i, n)).unwrap();
                s.validate().unwrap();
                users += s.users;
                min_samples += s.correctness.min_samples;
                // goose gives each transaction exactly its weight in users.
                let got = transaction_of_users(
                    &s.transactions.iter().map(|t| t.weight).collect::<Vec<_>>(),
                    s.users,
                );
                for (t, spec) in s.transactions.iter().enumerate() {
                    let n = got.iter().filter(|&&x| x == t).count();
                    assert_eq!(n, spec.weight);
                    *per_kind.entry(spec.kind).or_insert(0) += n;
                }
            }
            assert_eq!(users, whole.users, "over {n}");
            assert_eq!(min_samples, whole.correctness.min_samples, "over {n}");
            let of_user = transaction_of_users(
                &whole
                    .transactions
                    .iter()
                    .map(|t| t.weight)
                    .collect::<Vec<_>>(),
                whole.users,
            );
            for (t, spec) in whole.transactions.iter().enumerate() {
                let want = of_user.iter().filter(|&&x| x == t).count();
                assert_eq!(per_kind[&spec.kind], want, "{:?} over {n}", spec.kind);
            }
        }
    }

    #[test]
    fn a_shard_without_users_is_refused() {
        let mut p = mixed();
        p.users = 2;
        let e = slice(&p, id(3, 3)).unwrap_err();
        assert!(e.contains("--shard 3/3") && e.contains("2 users"), "{e}");
    }

    #[test]
    fn a_shards_users_keep_their_place_and_their_transaction_in_the_whole_run() {
        let mut p = mixed();
        for users in [1, 2, 7, 10, 23] {
            p.users = users;
            let weights = |p: &LoadProfile| -> Vec<usize> {
                p.transactions.iter().map(|t| t.weight).collect()
            };
            let whole = transaction_of_users(&weights(&p), users);
            for n in 1..=4.min(users) {
                let mut seen = vec![];
                for i in 1..=n {
                    let s = slice(&p, id(i, n)).unwrap();
                    let u = users_of(&p, id(i, n));
                    assert_eq!(u.global.len(), s.users);
                    // Local user j runs what goose gives it in the shard: the transaction its
                    // global user runs in the whole run.
                    let local = transaction_of_users(&weights(&s), s.users);
                    for (j, &t) in local.iter().enumerate() {
                        let k = u.global(j);
                        assert_eq!(k % n, i - 1, "{users} users over {n}");
                        assert_eq!(s.transactions[t].kind, p.transactions[whole[k]].kind);
                        seen.push(k);
                    }
                }
                seen.sort_unstable();
                assert_eq!(seen, (0..users).collect::<Vec<_>>(), "{users} over {n}");
            }
        }
        // One transaction: shard 2 of 3 has users 1, 4, 7 of the whole run.
        p.transactions.truncate(1);
        p.users = 9;
        assert_eq!(users_of(&p, id(2, 3)).global, [1, 4, 7]);
    }

    #[test]
    fn start_times_parse_as_rfc3339_or_unix_seconds() {
        let t = parse_start_at("2026-05-01T12:00:00Z").unwrap();
        assert_eq!(unix_ms(t), 1_777_636_800_000);
        assert_eq!(parse_start_at("2026-05-01T14:00:00+02:00").unwrap(), t);
        assert_eq!(parse_start_at("1777636800").unwrap(), t);
        assert_eq!(
            unix_ms(parse_start_at("1777636800.25").unwrap()),
            1_777_636_800_250
        );
        let e = parse_start_at("tomorrow").unwrap_err();
        assert!(e.contains("RFC 3339") && e.contains("tomorrow"), "{e}");
        assert!(parse_start_at("1.2.3").is_err());
    }

    #[test]
    fn a_start_time_in_the_past_is_refused_beyond_the_grace() {
        let now = parse_start_at("2026-05-01T12:00:00Z").unwrap();
        assert!(check_start_at(now + Duration::from_secs(30), now).is_ok());
        assert!(check_start_at(now - Duration::from_secs(4), now).is_ok());
        let e = check_start_at(now - Duration::from_secs(60), now).unwrap_err();
        assert!(
            e.contains("--start-at 2026-05-01T11:59:00.000Z") && e.contains("60.0 s in the past"),
            "{e}"
        );
    }
}
