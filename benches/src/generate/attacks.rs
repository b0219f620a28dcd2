//! Planted attack scenarios: their identifying values, the record of what was
//! planted, and the schedule that interleaves attack steps with background events.
//!
//! Every identifying value is a constant (the estate does not depend on the seed), so
//! a test or a demo script can search for it directly. Attacker addresses are taken
//! from `192.0.2.0/24` (TEST-NET-1), which the background traffic never uses.
//!
//! | source | scenario | steps (time after the scenario starts) | find it by |
//! |---|---|---|---|
//! | CloudTrail, from 62% of the stream | `leaked-access-key` | from [`CLOUD_ATTACKER_IP`] with a Kali Linux aws-cli: `GetCallerIdentity`, `ListBuckets`, `ListUsers` (0-45 s) with [`LEAKED_ACCESS_KEY_ID`]; `CreateUser` [`BACKDOOR_USER`], `CreateAccessKey` ([`BACKDOOR_ACCESS_KEY_ID`]), `AttachUserPolicy` `AdministratorAccess`, `CreateLoginProfile` (2-2.5 min); `ConsoleLogin` without MFA (7 min); with the backdoor key: `StopLogging` and `DeleteTrail` [`TRAIL_ARN`] (10 min), `GetSecretValue` [`STOLEN_SECRET`] (15 min), `DeleteBucketPublicAccessBlock` and a public `PutBucketPolicy` on [`PUBLIC_BUCKET`] (18 min), `AuthorizeSecurityGroupIngress` `0.0.0.0/0` tcp/22 on [`OPENED_SECURITY_GROUP`] (23 min) | [`CLOUD_ATTACKER_IP`], the two key ids |
//! | VPC flow logs, 55% | `port-scan` | 100 single-SYN probes from [`SCANNER_IP`] to the bastion [`SCANNED_HOST_IP`], `REJECT` | [`SCANNER_IP`] |
//! | VPC flow logs, after the CloudTrail scenario | `leaked-access-key` | 6 SSH sessions from [`CLOUD_ATTACKER_IP`] to the bastion, `ACCEPT` | [`CLOUD_ATTACKER_IP`] |
//! | VPC flow logs, 82% | `k8s-compromise` | ~200 MB a minute for 25 minutes from the [`EXEC_POD`] pod's address to [`EXFIL_DEST_IP`]:443 (pod and NAT gateway interfaces) | [`EXFIL_DEST_IP`] |
//! | Kubernetes audit, 40% | `k8s-compromise` | from [`K8S_ATTACKER_IP`]: anonymous `/version`, then forbidden secrets and pods lists (0-11 s); [`K8S_ATTACKER_USER`]'s token: `selfsubjectrulesreviews`, list secrets in all namespaces (2 min); get and `exec` (`sh`, tty) into [`EXEC_POD`] (3.3 min); privileged pod [`PRIVILEGED_POD`] with hostPID/hostNetwork and hostPath `/` in `kube-system` (6.7 min); ClusterRoleBinding [`ADMIN_BINDING`] to `cluster-admin` (10 min) | [`K8S_ATTACKER_IP`], [`EXEC_POD`], ... |
//! | Falco, 40% | `k8s-compromise` | `Terminal shell in container` in [`EXEC_POD`] (container [`EXEC_CONTAINER_ID`]), `Read sensitive file untrusted` `/etc/shadow`, `Redirect STDOUT/STDIN to Network Connection in Container` to [`K8S_ATTACKER_IP`]:[`REVERSE_SHELL_PORT`], `Launch Privileged Container` [`PRIVILEGED_POD`] | [`EXEC_POD`], [`K8S_ATTACKER_IP`] |
//!
//! A stream too short for a scenario's real duration gets it compressed (steps keep
//! their order); very short streams (under 200 CloudTrail events, 1000 flow records,
//! 300 audit events or 40 alerts) get none. [`crate::generate::write_dataset`]
//! spreads all sources over the same time span, so the steps line up across sources.

/// The production AWS account, where every AWS attack happens.
pub const PROD_ACCOUNT_ID: &str = "418273650912";

/// The IAM user whose long-term access key leaked.
pub const LEAKED_USER: &str = "svc-reporting";
/// ARN of [`LEAKED_USER`].
pub const LEAKED_USER_ARN: &str = "arn:aws:iam::418273650912:user/svc-reporting";
/// The leaked access key id. In the background it is used only from
/// [`LEAKED_KEY_HOME_IP`]; the attack uses it from [`CLOUD_ATTACKER_IP`].
pub const LEAKED_ACCESS_KEY_ID: &str = "AKIAWB5RZ3QXKCYV7D2L";
/// Where [`LEAKED_USER`] normally calls from (a reporting host's Elastic IP).
pub const LEAKED_KEY_HOME_IP: &str = "54.208.117.42";
/// The address the attacker uses against AWS APIs and the console.
pub const CLOUD_ATTACKER_IP: &str = "192.0.2.66";
/// The backdoor IAM user the attacker creates (and logs in as, without MFA).
pub const BACKDOOR_USER: &str = "backup-admin";
/// ARN of [`BACKDOOR_USER`].
pub const BACKDOOR_USER_ARN: &str = "arn:aws:iam::418273650912:user/backup-admin";
/// The access key the attacker creates for [`BACKDOOR_USER`].
pub const BACKDOOR_ACCESS_KEY_ID: &str = "AKIAWB5RZ3QXP4M6TNHE";
/// The account-level trail the attacker stops and deletes (the organization trail
/// that delivered these logs cannot be touched from a member account).
pub const TRAIL_ARN: &str = "arn:aws:cloudtrail:us-east-1:418273650912:trail/acme-prod-trail";
/// The bucket the attacker makes public.
pub const PUBLIC_BUCKET: &str = "acme-prod-customer-exports";
/// The security group the attacker opens to `0.0.0.0/0` on port 22 (the bastion's).
pub const OPENED_SECURITY_GROUP: &str = "sg-0c4e1f7a9b2d63e58";
/// The secret the attacker reads.
pub const STOLEN_SECRET: &str = "prod/payments/db-credentials";

/// The address that port-scans the bastion.
pub const SCANNER_IP: &str = "192.0.2.157";
/// The scanned host (the bastion's private address, as flow logs record it).
pub const SCANNED_HOST_IP: &str = "10.20.0.24";
/// Where the large egress goes.
pub const EXFIL_DEST_IP: &str = "192.0.2.99";

/// The address the Kubernetes attacker calls the API server from.
pub const K8S_ATTACKER_IP: &str = "192.0.2.43";
/// The service account whose token the attacker stole.
pub const K8S_ATTACKER_USER: &str = "system:serviceaccount:ci:jenkins-deployer";
/// Namespace of the pod the attacker execs into.
pub const EXEC_NAMESPACE: &str = "payments";
/// The pod the attacker execs into (and where Falco sees the shell).
pub const EXEC_POD: &str = "payments-api-6f7c9d8b5-x2x9q";
/// The `pod-template-hash` of [`EXEC_POD`]'s ReplicaSet.
pub(crate) const EXEC_POD_RS_HASH: &str = "6f7c9d8b5";
/// Container id of [`EXEC_POD`]'s container (Falco's 12-character form).
pub const EXEC_CONTAINER_ID: &str = "3f9a2c1d7e4b";
/// The privileged pod with a host-path mount of `/` the attacker creates in
/// `kube-system`.
pub const PRIVILEGED_POD: &str = "node-debugger-7x2kq";
/// The ClusterRoleBinding to `cluster-admin` the attacker creates.
pub const ADMIN_BINDING: &str = "ci-deployer-admin";
/// The port of the reverse shell from [`EXEC_POD`] to [`K8S_ATTACKER_IP`].
pub const REVERSE_SHELL_PORT: u16 = 4444;

/// One kind of malicious activity planted in a generated stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlantedAttack {
    /// The source it is in: `cloudtrail`, `vpcflow`, `k8s_audit` or `falco`.
    pub kind: &'static str,
    /// The scenario it belongs to (several steps share one).
    pub scenario: &'static str,
    /// The MITRE ATT&CK technique id.
    pub technique: &'static str,
    /// What happened, in words.
    pub description: String,
    /// A value that finds it (an access key id, an address, a pod name, ...).
    pub indicator: String,
    /// Unix seconds of its first event.
    pub first_time: i64,
    /// Unix seconds of its last event.
    pub last_time: i64,
    /// How many events (records, alerts) it is made of.
    pub events: u64,
}

impl PlantedAttack {
    /// This attack as a JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": self.kind,
            "scenario": self.scenario,
            "technique": self.technique,
            "description": self.description,
            "indicator": self.indicator,
            "first_time": self.first_time,
            "last_time": self.last_time,
            "events": self.events,
        })
    }
}

/// A planted step's description, shared by the events of one step.
#[derive(Debug, Clone)]
pub(crate) struct Label {
    pub kind: &'static str,
    pub scenario: &'static str,
    pub technique: &'static str,
    pub description: String,
    pub indicator: String,
}

#[derive(Debug, Clone)]
struct Slot<S> {
    /// Unix microseconds from which the step is due.
    at: i64,
    label: usize,
    step: S,
}

/// Where a scenario's steps fall in a stream: the scenario starts at a fraction of
/// the stream's span and, when the stream is too short for its real duration, is
/// compressed into a share of the span (steps keep their order).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeline {
    start_us: f64,
    scale: f64,
}

impl Timeline {
    /// A scenario lasting `duration_s` that starts at fraction `start` of a stream
    /// spanning `span_s` seconds from `origin_us`, and may take at most the fraction
    /// `room` of the span.
    pub fn new(origin_us: i64, span_s: f64, start: f64, duration_s: f64, room: f64) -> Self {
        let room_s = room * span_s;
        Timeline {
            start_us: origin_us as f64 + start * span_s * 1e6,
            scale: if duration_s > room_s && duration_s > 0.0 {
                room_s / duration_s
            } else {
                1.0
            },
        }
    }

    /// Unix microseconds of the step `secs` seconds into the scenario.
    pub fn at(&self, secs: f64) -> i64 {
        (self.start_us + secs * self.scale * 1e6) as i64
    }
}

/// The schedule of planted steps of one stream: each step replaces the first
/// background event at or after its time (or, near the end of the stream, the next
/// event, so every step is written).
#[derive(Debug, Clone)]
pub(crate) struct Plan<S> {
    slots: Vec<Slot<S>>,
    next: usize,
    labels: Vec<Label>,
    seen: Vec<Option<PlantedAttack>>,
}

impl<S> Plan<S> {
    /// A plan with nothing planted.
    pub fn empty() -> Self {
        Plan {
            slots: Vec::new(),
            next: 0,
            labels: Vec::new(),
            seen: Vec::new(),
        }
    }

    /// Registers a step description; returns its label id.
    pub fn label(
        &mut self,
        kind: &'static str,
        scenario: &'static str,
        technique: &'static str,
        description: impl Into<String>,
        indicator: impl Into<String>,
    ) -> usize {
        self.labels.push(Label {
            kind,
            scenario,
            technique,
            description: description.into(),
            indicator: indicator.into(),
        });
        self.seen.push(None);
        self.labels.len() - 1
    }

    /// Schedules a step at Unix microseconds `at`.
    pub fn push(&mut self, at: i64, label: usize, step: S) {
        self.slots.push(Slot { at, label, step });
    }

    /// Sorts the schedule by time (stable, so steps at the same time keep their
    /// order).
    pub fn finish(&mut self) {
        self.slots.sort_by_key(|s| s.at);
    }

    /// The step to write instead of the event at `now_us`, if one is due; `left` is
    /// the number of events left including this one.
    pub fn due(&mut self, now_us: i64, left: u64) -> Option<(usize, &S)> {
        let slot = self.slots.get(self.next)?;
        let steps_left = (self.slots.len() - self.next) as u64;
        if slot.at > now_us && left > steps_left {
            return None;
        }
        self.next += 1;
        Some((slot.label, &slot.step))
    }

    /// The number of steps scheduled.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// The number of steps not written yet.
    pub fn steps_left(&self) -> u64 {
        (self.slots.len() - self.next) as u64
    }

    /// Records that an event of step `label` was written at `time` (Unix seconds).
    pub fn record(&mut self, label: usize, time: i64) {
        let (Some(l), Some(seen)) = (self.labels.get(label), self.seen.get_mut(label)) else {
            return;
        };
        match seen {
            Some(p) => {
                p.events += 1;
                p.last_time = p.last_time.max(time);
                p.first_time = p.first_time.min(time);
            }
            None => {
                *seen = Some(PlantedAttack {
                    kind: l.kind,
                    scenario: l.scenario,
                    technique: l.technique,
                    description: l.description.clone(),
                    indicator: l.indicator.clone(),
                    first_time: time,
                    last_time: time,
                    events: 1,
                })
            }
        }
    }

    /// What has been written so far, in label order.
    pub fn planted(&self) -> Vec<PlantedAttack> {
        self.seen.iter().flatten().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_fire_at_their_time_in_order_and_all_before_the_end() {
        let mut p: Plan<char> = Plan::empty();
        let a = p.label("cloudtrail", "s", "T1", "a", "x");
        let b = p.label("cloudtrail", "s", "T2", "b", "y");
        p.push(5, a, 'a');
        p.push(5, b, 'b');
        p.push(2, b, 'c');
        p.push(1_000, a, 'd');
        p.finish();
        assert_eq!(p.len(), 4);
        let mut got = Vec::new();
        // Ten events at times 0..10: 'd' is due after the end, so it is forced in
        // as the last event.
        for i in 0..10u64 {
            if let Some((l, &s)) = p.due(i as i64, 10 - i) {
                got.push((i, s));
                p.record(l, i as i64);
            }
        }
        assert_eq!(got, vec![(2, 'c'), (5, 'a'), (6, 'b'), (9, 'd')]);
        let planted = p.planted();
        assert_eq!(planted.len(), 2);
        assert_eq!(planted[1].events, 2);
        assert_eq!((planted[1].first_time, planted[1].last_time), (2, 6));
    }

    #[test]
    fn timelines_compress_only_when_the_stream_is_short() {
        let long = Timeline::new(0, 10_000.0, 0.5, 100.0, 0.1);
        assert_eq!(long.at(0.0), 5_000_000_000);
        assert_eq!(long.at(100.0), 5_100_000_000);
        let short = Timeline::new(0, 100.0, 0.5, 100.0, 0.1);
        assert_eq!(short.at(100.0), 60_000_000);
    }
}
