//! The goose side: one scenario per transaction of the profile, weighted as the profile says.
//! Every request is named after what it does (Request::RevokeUnknown, Request::Mint) so the
//! reports group by meaning and minting never counts in revoke latency. A sample of revoked
//! tokens is observed through the target's probe right after the 200; the probe goes through
//! revspec's own client, so it is not counted in goose's request metrics either.
//!
//! Requests go through the target's own client (bounded by the profile's connect and request
//! timeouts, not goose's 60 s default; trusting the profile's CA; presenting the client's
//! certificate to the mTLS alias for a certificate client), every answer is read to its end
//! (within the body cap), and the latency recorded is to the end of the body: a 200 cut off by
//! a reset or a timeout is an error, not a success. Each request is recorded twice: in goose's
//! metrics (for goose's reports) and in revspec's own measurements (an HDR histogram and counts
//! per request, within the measured window), which the summary is made of. A JWT client signs a
//! fresh assertion for every request; that signing is timed and recorded as its own row
//! (`Request::SignAssertion`), never inside the request's latency. A shard's users keep their
//! place among the whole run's users ([`UserSlice`]), so they revoke through the same nodes.

use super::profile::{Correctness, LoadProfile, TransactionKind};
use super::request::Request;
use crate::record::shard::{Measurements, Sample, SampleOutcome};
use crate::sut::http::RequestSpec;
use crate::sut::{Credentials, Role, Target, TokenState, TokenType};
use goose::config::GooseConfiguration;
use goose::goose::{GooseUser, Scenario, Transaction, TransactionError, TransactionResult};
use goose::GooseAttack;
use serde_json::Value;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Shared by every goose user.
pub struct LoadState {
    pub target: Arc<Target>,
    /// Revocation requests that failed at the transport level (timeout, reset, refused, cut
    /// off), those that got a complete answer, and the last failure in words.
    pub transport_failures: AtomicU64,
    pub complete_answers: AtomicU64,
    pub last_failure: Mutex<Option<String>>,
    pub primary: Credentials,
    pub user: Option<(String, String)>,
    pub correctness: Correctness,
    pub revocations: AtomicU64,
    pub sampled: AtomicU64,
    pub not_held: AtomicU64,
    pub probe_errors: AtomicU64,
    /// What the run measured: every request answered within the measured window (its latency
    /// and whether it failed), and every sampled revocation with its outcome (tokens never
    /// kept).
    measured: Mutex<Measurements>,
    /// The measured window: from the end of the ramp-up for the run time (as goose resets its
    /// metrics when every user has started); unset, nothing is counted.
    window: OnceLock<(Instant, Instant)>,
    /// Which users of the whole run these are (a shard's slice of the users; for a whole run,
    /// local user `j` is user `j`).
    users: UserSlice,
    /// The record of acknowledged operations (`--record-acks`), if asked for.
    acks: Option<AckRecord>,
}

/// Which users of a whole run a load run's users are (see [`LoadState::with_users`]): local
/// user `j` (goose's `weighted_users_index`, the order users are launched in) is user
/// `global[j]` of the whole run; empty for a whole run (user `j` is user `j`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserSlice {
    pub global: Vec<usize>,
}

impl UserSlice {
    /// The index in the whole run of local user `j`.
    pub fn global(&self, j: usize) -> usize {
        self.global.get(j).copied().unwrap_or(j)
    }
}

/// `--record-acks FILE`: one JSON line per operation the target acknowledged, written (one
/// `write` per line, no user-space buffer) as it happens, so the record survives a crash of
/// the target and holds every 200 the load tester saw. It holds live tokens: for tests on
/// loopback only. Lines: `{"op":"issued","access_token":..,"refresh_token":..}` after a 200
/// from the token endpoint; `{"op":"revoking","token":..}` just before a revocation is sent,
/// and `{"op":"revoked","token":..}` after its 200 (`"token":"all"` for a revoke-all).
pub struct AckRecord(Mutex<std::fs::File>);

impl AckRecord {
    pub fn create(path: &Path) -> Result<Self, String> {
        std::fs::File::create(path)
            .map(|f| Self(Mutex::new(f)))
            .map_err(|e| format!("--record-acks {}: {e}", path.display()))
    }

    fn write(&self, line: &Value) {
        use std::io::Write as _;
        let mut text = line.to_string();
        text.push('\n');
        let mut file = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = file.write_all(text.as_bytes()) {
            tracing::error!("--record-acks: {e}");
        }
    }
}

impl LoadState {
    pub fn new(
        target: Arc<Target>,
        profile: &LoadProfile,
        acks: Option<AckRecord>,
    ) -> Result<Self, String> {
        let primary = target
            .credentials(Role::Primary)
            .cloned()
            .expect("the primary client is required");
        Ok(Self {
            transport_failures: AtomicU64::new(0),
            complete_answers: AtomicU64::new(0),
            last_failure: Mutex::new(None),
            user: target.user.clone(),
            target,
            primary,
            correctness: profile.correctness.clone(),
            revocations: AtomicU64::new(0),
            sampled: AtomicU64::new(0),
            not_held: AtomicU64::new(0),
            probe_errors: AtomicU64::new(0),
            measured: Mutex::new(Measurements::default()),
            window: OnceLock::new(),
            users: UserSlice::default(),
            acks,
        })
    }

    /// These users are the slice `users` of a whole run's (their nodes are the whole run's).
    pub fn with_users(mut self, users: UserSlice) -> Self {
        self.users = users;
        self
    }

    /// Counts requests answered from `from` until `to` (once; later calls change nothing).
    pub fn measure_between(&self, from: Instant, to: Instant) {
        let _ = self.window.set((from, to));
    }

    /// What the run measured, with the revocation and transport counts.
    pub fn measurements(&self) -> Measurements {
        let mut m = self
            .measured
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        m.revocations = self.revocations.load(Ordering::Relaxed);
        m.cross_node = self.target.nodes.len() > 1;
        m.transport_failures = self.transport_failures.load(Ordering::Relaxed);
        m.complete_answers = self.complete_answers.load(Ordering::Relaxed);
        m.last_failure = self
            .last_failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        m
    }

    /// Records one request answered (or failed) at `done` after `latency`, when `done` falls
    /// in the measured window.
    fn measure(&self, request: Request, done: Instant, latency: Duration, failed: bool) {
        let Some(&(from, to)) = self.window.get() else {
            return;
        };
        if done < from || done >= to {
            return;
        }
        let mut m = self.measured.lock().unwrap_or_else(|p| p.into_inner());
        let r = m.request_mut(
            &request.key(),
            request.is_revocation(),
            request.revokes_issued_tokens(),
        );
        r.latency.record(latency);
        if failed {
            r.fails += 1;
        }
    }

    fn sample(&self, sample: Sample) {
        self.measured
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .samples
            .push(sample);
    }

    /// Counts a revocation and observes it when it is in the sample: polled until inactive
    /// within the profile's propagation window (one look when it is 0). With a cluster it is
    /// observed on a node other than the one that revoked it, so what is counted is the
    /// cross-node propagation.
    async fn revoked(&self, kind: TokenType, token: &str, revoking_node: usize) {
        let n = self.revocations.fetch_add(1, Ordering::Relaxed);
        if !in_sample(&self.correctness, n) {
            return;
        }
        self.sampled.fetch_add(1, Ordering::Relaxed);
        let target = &self.target;
        let at = match observing_node(revoking_node, target.nodes.len()) {
            Some(i) => &target.nodes[i].endpoints,
            None => &target.endpoints,
        };
        let window = target.profile.timeouts.propagation_window;
        let started = std::time::Instant::now();
        let state = loop {
            let (_, state) = target.observe_at(at, Role::Primary, kind, token).await;
            match state {
                Ok(TokenState::Active) if started.elapsed() < window => {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                other => break other,
            }
        };
        let mut sample = Sample {
            revocation: n,
            token_type: kind.to_string(),
            outcome: SampleOutcome::Held,
            delay_ms: None,
            detail: None,
        };
        match state {
            Ok(TokenState::Inactive) => {
                sample.delay_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
            }
            Ok(TokenState::Active) => {
                self.not_held.fetch_add(1, Ordering::Relaxed);
                let node = observing_node(revoking_node, target.nodes.len())
                    .map(|i| format!(" on {}", target.nodes[i].base))
                    .unwrap_or_default();
                sample.outcome = SampleOutcome::NotHeld;
                sample.detail = Some(format!(
                    "revocation #{n}: the {kind} token was still active{node} {} ms after the 200",
                    window.as_millis()
                ));
            }
            Err(_) => {
                self.probe_errors.fetch_add(1, Ordering::Relaxed);
                sample.outcome = SampleOutcome::ProbeError;
            }
        }
        self.sample(sample);
    }
}

/// Whether the n-th revocation (0-based) is observed: the first `min_samples`, then
/// `sample_percent` of the rest.
pub fn in_sample(c: &Correctness, n: u64) -> bool {
    if n < c.min_samples as u64 {
        return true;
    }
    let share = c.sample_percent / 100.0;
    ((n + 1) as f64 * share).floor() > (n as f64 * share).floor()
}

/// Per-user state between transactions.
#[derive(Default, Clone)]
struct Held {
    access: Vec<String>,
    refresh: Option<String>,
}

type TResult<T> = Result<T, Box<TransactionError>>;

/// A form POST, authenticated as the primary client, read to the end of its body and
/// recorded in goose's metrics with the time to the end of the body. `None` unless it got a
/// complete 200.
async fn post(
    user: &mut GooseUser,
    state: &LoadState,
    url: &str,
    request: Request,
    form: Vec<(String, String)>,
) -> TResult<Option<Value>> {
    let name = request.name();
    let Ok(parsed) = url::Url::parse(url) else {
        state.measure(request, Instant::now(), Duration::ZERO, true);
        user.record_custom_request_duration(
            "POST",
            name,
            std::time::Duration::ZERO,
            false,
            None,
            Some("the target has no such endpoint"),
        )
        .await?;
        return Ok(None);
    };
    let mut spec = RequestSpec::post_form(parsed, form);
    let signing = std::time::Instant::now();
    crate::sut::client::authenticate(&mut spec, &state.primary);
    if state.primary.auth.is_jwt() {
        let signed = signing.elapsed();
        user.record_custom_request_duration(
            crate::record::load::CLIENT_SIDE_METHOD,
            Request::SignAssertion.name(),
            signed,
            true,
            None,
            None,
        )
        .await?;
        state.measure(Request::SignAssertion, Instant::now(), signed, false);
    }
    let client = match state.target.http.reqwest_for(&spec) {
        Ok(c) => c,
        Err(why) => {
            user.record_custom_request_duration(
                "POST",
                name,
                std::time::Duration::ZERO,
                false,
                None,
                Some(&why),
            )
            .await?;
            return Ok(None);
        }
    };
    let timeouts = &state.target.profile.timeouts;
    let started = std::time::Instant::now();
    let outcome = async {
        let mut response = crate::sut::http::request(&client, &spec)
            .send()
            .await
            .map_err(|e| (None, describe(&e, timeouts, started)))?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| (Some(status), describe(&e, timeouts, started)))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > crate::sut::http::BODY_CAP {
                return Err((
                    Some(status),
                    "the answer is larger than the body cap".to_owned(),
                ));
            }
        }
        Ok::<_, (Option<u16>, String)>((status, body))
    }
    .await;
    let elapsed = started.elapsed();
    let revocation = request.is_revocation();
    let (status, body) = match outcome {
        Ok(answer) => {
            if revocation {
                state.complete_answers.fetch_add(1, Ordering::Relaxed);
            }
            answer
        }
        Err((status, why)) => {
            if revocation {
                state.transport_failures.fetch_add(1, Ordering::Relaxed);
                *state.last_failure.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(format!("{url}: {why}"));
            }
            state.measure(request, started + elapsed, elapsed, true);
            user.record_custom_request_duration("POST", name, elapsed, false, status, Some(&why))
                .await?;
            return Ok(None);
        }
    };
    let value = if status != 200 {
        Err(format!("HTTP {status}"))
    } else if revocation {
        Ok(Value::Null)
    } else {
        serde_json::from_slice::<Value>(&body).map_err(|e| format!("the answer is not JSON: {e}"))
    };
    let error = value.as_ref().err().cloned();
    state.measure(request, started + elapsed, elapsed, error.is_some());
    user.record_custom_request_duration(
        "POST",
        name,
        elapsed,
        value.is_ok(),
        Some(status),
        error.as_deref(),
    )
    .await?;
    Ok(value.ok())
}

/// A transport failure in words, as the harness's client says it.
fn describe(
    e: &reqwest::Error,
    timeouts: &crate::sut::profile::Timeouts,
    started: std::time::Instant,
) -> String {
    crate::sut::http::describe(e, timeouts, started).1
}

fn token_url(state: &LoadState) -> String {
    state
        .target
        .endpoints
        .token
        .as_ref()
        .map(|u| u.to_string())
        .unwrap_or_default()
}

/// The revocation endpoint a user revokes through: with a cluster, its node (users are
/// spread over the nodes), and the node's index.
fn revoke_url(state: &LoadState, user: &GooseUser) -> (String, usize) {
    let nodes = &state.target.nodes;
    if nodes.is_empty() {
        return (state.target.endpoints.revocation.to_string(), 0);
    }
    let i = node_of_user(state.users.global(user.weighted_users_index), nodes.len());
    (nodes[i].endpoints.revocation.to_string(), i)
}

/// The node a user revokes through: the users of the whole run are dealt over the nodes in
/// turn (a shard's users keep the nodes they have in the whole run).
fn node_of_user(users_index: usize, nodes: usize) -> usize {
    users_index % nodes.max(1)
}

/// The node a sampled revocation is observed on: the next one after the node that revoked it
/// (another node whenever there are two or more), or the target itself without nodes.
fn observing_node(revoking_node: usize, nodes: usize) -> Option<usize> {
    (nodes > 0).then(|| (revoking_node + 1) % nodes)
}

/// Mints one grant through goose (named Request::Mint).
async fn mint(
    user: &mut GooseUser,
    state: &LoadState,
    name: Request,
) -> TResult<Option<(String, Option<String>)>> {
    let form = match &state.user {
        Some((u, p)) if state.target.mints_refresh_tokens() => vec![
            ("grant_type".into(), "password".into()),
            ("username".into(), u.clone()),
            ("password".into(), p.clone()),
        ],
        _ => vec![("grant_type".into(), "client_credentials".into())],
    };
    let url = token_url(state);
    let v = post(user, state, &url, name, form).await?;
    let get = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let minted = v.and_then(|v| get(&v, "access_token").map(|at| (at, get(&v, "refresh_token"))));
    if let (Some(acks), Some((at, rt))) = (&state.acks, &minted) {
        acks.write(&serde_json::json!({"op": "issued", "access_token": at, "refresh_token": rt}));
    }
    Ok(minted)
}

/// Revokes through the user's node; the node's index when the answer was a complete 200.
async fn revoke(
    user: &mut GooseUser,
    state: &LoadState,
    name: Request,
    form: Vec<(String, String)>,
) -> TResult<Option<usize>> {
    let (url, node) = revoke_url(state, user);
    let token = form
        .iter()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    if let Some(acks) = &state.acks {
        acks.write(&serde_json::json!({"op": "revoking", "token": token}));
    }
    let answered = post(user, state, &url, name, form).await?.map(|_| node);
    if let (Some(acks), Some(_)) = (&state.acks, answered) {
        acks.write(&serde_json::json!({"op": "revoked", "token": token}));
    }
    Ok(answered)
}

fn held(user: &mut GooseUser) -> &mut Held {
    if user.get_session_data::<Held>().is_none() {
        user.set_session_data(Held::default());
    }
    user.get_session_data_mut::<Held>().expect("just set")
}

async fn run(
    kind: TransactionKind,
    step: u8,
    fan_out: usize,
    user: &mut GooseUser,
    state: &LoadState,
) -> TransactionResult {
    match (kind, step) {
        (TransactionKind::RevokeUnknown, _) => {
            let token = crate::sut::probe::never_issued_value();
            revoke(
                user,
                state,
                Request::RevokeUnknown,
                vec![("token".into(), token)],
            )
            .await?;
        }
        (TransactionKind::Token, _) => {
            mint(user, state, Request::Obtain).await?;
        }
        (TransactionKind::Introspect, _) => {
            if held(user).access.is_empty() {
                if let Some((at, _)) = mint(user, state, Request::MintForIntrospection).await? {
                    held(user).access.push(at);
                }
            }
            if let Some(at) = held(user).access.first().cloned() {
                let url = state
                    .target
                    .endpoints
                    .introspection
                    .as_ref()
                    .map(|u| u.to_string())
                    .unwrap_or_default();
                post(
                    user,
                    state,
                    &url,
                    Request::Introspect,
                    vec![("token".into(), at)],
                )
                .await?;
            }
        }
        (TransactionKind::MintAndRevoke, 0) => {
            if let Some((at, rt)) = mint(user, state, Request::Mint).await? {
                let h = held(user);
                h.access = vec![at];
                h.refresh = rt;
            }
        }
        (TransactionKind::MintAndRevoke, _) => {
            let rt = held(user).refresh.take();
            if let Some(rt) = rt {
                let form = vec![
                    ("token".into(), rt.clone()),
                    ("token_type_hint".into(), "refresh_token".into()),
                ];
                if let Some(node) = revoke(user, state, Request::RevokeRefresh, form).await? {
                    state.revoked(TokenType::Refresh, &rt, node).await;
                }
            }
        }
        (TransactionKind::GrantCascade, 0) => {
            if let Some((at, rt)) = mint(user, state, Request::Mint).await? {
                let mut access = vec![at];
                if let Some(rt) = &rt {
                    for _ in 1..fan_out {
                        let form = vec![
                            ("grant_type".into(), "refresh_token".into()),
                            ("refresh_token".into(), rt.clone()),
                        ];
                        let url = token_url(state);
                        if let Some(v) = post(user, state, &url, Request::RefreshMint, form).await?
                        {
                            if let Some(a) = v.get("access_token").and_then(Value::as_str) {
                                access.push(a.to_owned());
                            }
                        }
                    }
                }
                let h = held(user);
                h.access = access;
                h.refresh = rt;
            }
        }
        (TransactionKind::GrantCascade, _) => {
            let rt = held(user).refresh.take();
            let last_access = held(user).access.last().cloned();
            if let Some(rt) = rt {
                if let Some(node) = revoke(
                    user,
                    state,
                    Request::RevokeCascade,
                    vec![("token".into(), rt)],
                )
                .await?
                {
                    if let Some(at) = last_access {
                        state.revoked(TokenType::Access, &at, node).await;
                    }
                }
            }
        }
        (TransactionKind::RevokeAll, 0) => {
            let mut access = Vec::new();
            for _ in 0..fan_out {
                if let Some((at, _)) = mint(user, state, Request::Mint).await? {
                    access.push(at);
                }
            }
            held(user).access = access;
        }
        (TransactionKind::RevokeAll, _) => {
            let last_access = held(user).access.pop();
            let form = vec![
                ("token".into(), "all".into()),
                ("token_type_hint".into(), "all".into()),
            ];
            if let Some(node) = revoke(user, state, Request::RevokeAll, form).await? {
                if let Some(at) = last_access {
                    state.revoked(TokenType::Access, &at, node).await;
                }
            }
        }
    }
    Ok(())
}

fn transaction(
    state: &Arc<LoadState>,
    kind: TransactionKind,
    step: u8,
    fan_out: usize,
    name: &str,
) -> Transaction {
    let state = state.clone();
    Transaction::new(Arc::new(move |user: &mut GooseUser| {
        let state = state.clone();
        Box::pin(async move { run(kind, step, fan_out, user, &state).await })
    }))
    .set_name(name)
}

fn kind_name(kind: TransactionKind) -> &'static str {
    match kind {
        TransactionKind::RevokeUnknown => "revoke-unknown",
        TransactionKind::MintAndRevoke => "mint-and-revoke",
        TransactionKind::GrantCascade => "grant-cascade",
        TransactionKind::RevokeAll => "revoke-all",
        TransactionKind::Token => "token",
        TransactionKind::Introspect => "introspect",
    }
}

/// The goose attack for a profile, writing its reports into `dir`.
pub fn build_attack(
    state: &Arc<LoadState>,
    profile: &LoadProfile,
    dir: &Path,
) -> Result<GooseAttack, String> {
    let origin = state
        .target
        .endpoints
        .revocation
        .origin()
        .ascii_serialization();
    let mut config = GooseConfiguration::default();
    config.host = Some(origin);
    config.users = Some(profile.users);
    let ramp = profile.ramp_up.as_secs_f64().max(0.001);
    config.increase_rate = Some(format!("{:.3}", (profile.users as f64 / ramp).max(0.01)));
    config.run_time = Some(format!("{}", profile.run_time.as_secs().max(1)));
    config.no_telnet = true;
    config.no_print_metrics = true;
    config.quiet = 1;
    config.report_file = ["report.html", "report.json", "report.md"]
        .iter()
        .map(|f| dir.join(f).display().to_string())
        .collect();
    let mut attack = GooseAttack::initialize_with_config(config).map_err(|e| e.to_string())?;
    for spec in &profile.transactions {
        let name = kind_name(spec.kind);
        let mut scenario = Scenario::new(name)
            .set_weight(spec.weight)
            .map_err(|e| e.to_string())?;
        let steps: &[&str] = match spec.kind {
            TransactionKind::MintAndRevoke
            | TransactionKind::GrantCascade
            | TransactionKind::RevokeAll => &["mint", "revoke"],
            _ => &[name],
        };
        for (i, step) in steps.iter().enumerate() {
            scenario = scenario.register_transaction(
                transaction(state, spec.kind, i as u8, spec.fan_out, step).set_sequence(i + 1),
            );
        }
        attack = attack.register_scenario(scenario);
    }
    Ok(attack)
}

#[cfg(test)]
mod tests {
    #[test]
    fn users_are_dealt_over_the_nodes_and_observed_on_another_node() {
        let dealt: Vec<usize> = (0..7).map(|u| super::node_of_user(u, 3)).collect();
        assert_eq!(dealt, [0, 1, 2, 0, 1, 2, 0]);
        assert_eq!(super::node_of_user(5, 1), 0);
        for revoking in 0..3 {
            let seen = super::observing_node(revoking, 3).unwrap();
            assert!(seen < 3 && seen != revoking, "{revoking} -> {seen}");
        }
        assert_eq!(super::observing_node(1, 2), Some(0));
        assert_eq!(super::observing_node(0, 1), Some(0));
        assert_eq!(super::observing_node(0, 0), None);
    }

    #[test]
    fn sampling_takes_the_first_ones_then_a_share() {
        let c = super::Correctness {
            sample_percent: 1.0,
            min_samples: 100,
        };
        let sampled = (0..10_000u64).filter(|n| super::in_sample(&c, *n)).count();
        // The first 100, then 1% of the other 9,900.
        assert_eq!(sampled, 199);
        let c = super::Correctness {
            sample_percent: 5.0,
            min_samples: 0,
        };
        assert_eq!(
            (0..1000u64).filter(|n| super::in_sample(&c, *n)).count(),
            50
        );
    }
}
