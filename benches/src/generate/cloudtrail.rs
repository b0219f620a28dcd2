//! AWS CloudTrail events.

use fastrand::Rng;

use super::GenConfig;
use super::attacks::{self, Plan, PlantedAttack, Timeline};
use super::ct_api::{self, Api, cli_service, push_kebab, sdk_service};
use super::ct_body::{Body, HostKind, Info, OIDC_ID};
use super::ct_pop::{Agent, Kind, Principal, acct_id, pop};
use super::ids::{exp_gap, hash_str, mix, push_base64, push_hex_upper, push_uuid};
use super::infra::{ACCOUNTS, PROD};
use super::json::Out;
use super::time::{SecondCache, push_rfc3339};

/// Mean time between CloudTrail events unless a span is set: 10 events per second.
const DEFAULT_GAP_US: f64 = 100_000.0;

/// The client of the planted attacker (a Kali Linux AWS CLI).
const KALI_CLI: &str = "aws-cli/2.15.30 Python/3.11.8 Linux/6.6.9-amd64 exe/x86_64.kali.2024";
/// The attacker's browser for the backdoor console sign-in.
const ATTACKER_BROWSER: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0";

/// The temporary access key (`ASIA…`) of session `si` of principal `pi` at time `t`,
/// and when that session's credentials were issued. Sessions last `secs` and start
/// at a per-session phase, so each session's key changes regularly and
/// consistently across events.
pub(crate) fn session_key(pi: usize, si: usize, t: i64, secs: i64) -> (String, i64) {
    let secs = secs.max(60);
    let phase = (mix((pi as u64) << 20 | si as u64) % secs as u64) as i64;
    let epoch = (t + phase).div_euclid(secs);
    let created = epoch * secs - phase;
    let acct = pop().principals.get(pi).map(|p| p.acct).unwrap_or(PROD);
    let seed = mix((pi as u64) << 40 ^ (si as u64) << 32 ^ epoch as u64);
    (acct_id("ASIA", acct, 20, seed), created)
}

/// One step of the planted leaked-access-key scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    CallerIdentity,
    ListBuckets,
    ListUsers,
    CreateUser,
    CreateAccessKey,
    AttachAdmin,
    CreateLoginProfile,
    ConsoleLogin,
    StopLogging,
    DeleteTrail,
    GetSecret,
    DeletePublicAccessBlock,
    PublicPolicy,
    OpenSsh,
}

/// Seconds after the scenario starts, step, label number.
const SCENARIO: [(f64, Step, usize); 14] = [
    (0.0, Step::CallerIdentity, 0),
    (20.0, Step::ListBuckets, 0),
    (45.0, Step::ListUsers, 0),
    (120.0, Step::CreateUser, 1),
    (128.0, Step::CreateAccessKey, 1),
    (140.0, Step::AttachAdmin, 1),
    (155.0, Step::CreateLoginProfile, 1),
    (420.0, Step::ConsoleLogin, 2),
    (610.0, Step::StopLogging, 3),
    (640.0, Step::DeleteTrail, 3),
    (900.0, Step::GetSecret, 4),
    (1080.0, Step::DeletePublicAccessBlock, 5),
    (1090.0, Step::PublicPolicy, 5),
    (1400.0, Step::OpenSsh, 6),
];

/// Where in the stream the scenario starts (fraction of the events).
const SCENARIO_AT: f64 = 0.62;
/// The share of the stream after [`SCENARIO_AT`] the scenario may take when the
/// stream is too short for its real duration.
const SCENARIO_ROOM: f64 = 0.25;

/// Where (fraction of a stream spanning `span_secs`) the CloudTrail scenario ends:
/// other sources place the steps that follow it (SSH through the opened security
/// group) after this.
pub(crate) fn scenario_end_fraction(span_secs: f64) -> f64 {
    let last = SCENARIO[SCENARIO.len() - 1].0;
    SCENARIO_AT + (last / span_secs.max(1.0)).min(SCENARIO_ROOM)
}

/// How the caller is written in `userIdentity`.
enum Who<'a> {
    /// A background principal, session `si`.
    Principal {
        p: &'a Principal,
        pi: usize,
        si: usize,
    },
    /// An IAM user with a long-term key (the planted attacker's identities).
    User {
        name: &'a str,
        id: &'a str,
        key: &'a str,
    },
    /// An IAM user signing in to the console (no access key).
    UserSignIn { name: &'a str, id: &'a str },
}

/// Streams realistic CloudTrail events (see the [module docs](super) for what they
/// contain). Same configuration and count, same events.
#[derive(Debug)]
pub struct CloudTrailGenerator {
    rng: Rng,
    origin_us: i64,
    clock_us: i64,
    mean_gap_us: f64,
    index: u64,
    total: u64,
    attacks: bool,
    plan: Plan<Step>,
    times: SecondCache,
    ident: Out,
    body: Out,
    res: Out,
    ua: Vec<u8>,
    host: Vec<u8>,
    last: i64,
}

impl CloudTrailGenerator {
    /// A generator of `total` events starting at `cfg.start_unix`, about 10 events a
    /// second.
    pub fn new(cfg: &GenConfig, total: u64) -> Self {
        let mut g = CloudTrailGenerator {
            rng: Rng::with_seed(cfg.seed ^ hash_str("cloudtrail")),
            origin_us: cfg.start() * 1_000_000,
            clock_us: cfg.start() * 1_000_000,
            mean_gap_us: DEFAULT_GAP_US,
            index: 0,
            total,
            attacks: cfg.attacks,
            plan: Plan::empty(),
            times: SecondCache::new(),
            ident: Out::with_capacity(1024),
            body: Out::with_capacity(4096),
            res: Out::with_capacity(512),
            ua: Vec::with_capacity(256),
            host: Vec::with_capacity(96),
            last: cfg.start(),
        };
        g.schedule();
        g
    }

    /// Spreads the `total` events evenly (on average) over `secs` seconds.
    pub fn with_span_secs(mut self, secs: f64) -> Self {
        if secs > 0.0 && self.total > 0 {
            self.mean_gap_us = secs * 1e6 / self.total as f64;
        }
        self.schedule();
        self
    }

    /// Events left to write.
    pub fn remaining(&self) -> u64 {
        self.total - self.index
    }

    /// Unix seconds of the last event written (the start before any).
    pub fn last_time(&self) -> i64 {
        self.last
    }

    /// What has been planted in the events written so far.
    pub fn planted(&self) -> Vec<PlantedAttack> {
        self.plan.planted()
    }

    fn schedule(&mut self) {
        self.plan = Plan::empty();
        if !self.attacks || self.total < 200 {
            return;
        }
        let p = &mut self.plan;
        let labels = [
            p.label(
                "cloudtrail",
                "leaked-access-key",
                "T1078.004",
                format!(
                    "leaked access key of {} used from new address {} with a Kali Linux aws-cli: GetCallerIdentity, ListBuckets, ListUsers",
                    attacks::LEAKED_USER,
                    attacks::CLOUD_ATTACKER_IP
                ),
                attacks::LEAKED_ACCESS_KEY_ID,
            ),
            p.label(
                "cloudtrail",
                "leaked-access-key",
                "T1136.003",
                format!(
                    "backdoor IAM user {} created with the leaked key: CreateUser, CreateAccessKey ({}), AttachUserPolicy AdministratorAccess, CreateLoginProfile",
                    attacks::BACKDOOR_USER,
                    attacks::BACKDOOR_ACCESS_KEY_ID
                ),
                attacks::BACKDOOR_USER,
            ),
            p.label(
                "cloudtrail",
                "leaked-access-key",
                "T1078.004",
                format!(
                    "console sign-in as {} without MFA from {}",
                    attacks::BACKDOOR_USER,
                    attacks::CLOUD_ATTACKER_IP
                ),
                attacks::BACKDOOR_USER_ARN,
            ),
            p.label(
                "cloudtrail",
                "leaked-access-key",
                "T1562.008",
                "trail stopped (StopLogging) and deleted (DeleteTrail) with the backdoor key",
                attacks::TRAIL_ARN,
            ),
            p.label(
                "cloudtrail",
                "leaked-access-key",
                "T1555.006",
                "production database secret read (GetSecretValue) with the backdoor key",
                attacks::STOLEN_SECRET,
            ),
            p.label(
                "cloudtrail",
                "leaked-access-key",
                "T1530",
                "bucket made public: DeleteBucketPublicAccessBlock, then PutBucketPolicy granting s3:GetObject to *",
                attacks::PUBLIC_BUCKET,
            ),
            p.label(
                "cloudtrail",
                "leaked-access-key",
                "T1562.007",
                "bastion security group opened to 0.0.0.0/0 on tcp/22 (AuthorizeSecurityGroupIngress)",
                attacks::OPENED_SECURITY_GROUP,
            ),
        ];
        let span_s = self.total as f64 * self.mean_gap_us / 1e6;
        let duration = SCENARIO[SCENARIO.len() - 1].0;
        let tl = Timeline::new(self.origin_us, span_s, SCENARIO_AT, duration, SCENARIO_ROOM);
        for (secs, step, label) in SCENARIO {
            p.push(tl.at(secs), labels[label], step);
        }
        p.finish();
    }

    /// Appends the next event's JSON (no newline) to `buf`; false when all `total`
    /// events have been written.
    pub fn next_into(&mut self, buf: &mut Vec<u8>) -> bool {
        if self.index >= self.total {
            return false;
        }
        self.clock_us += exp_gap(&mut self.rng, self.mean_gap_us) as i64;
        let t = self.clock_us.div_euclid(1_000_000);
        self.last = t;
        let left = self.total - self.index;
        self.index += 1;
        if let Some((label, &step)) = self.plan.due(self.clock_us, left) {
            self.plan.record(label, t);
            self.attack_event(buf, step, t);
        } else {
            self.background(buf, t);
        }
        true
    }

    fn background(&mut self, buf: &mut Vec<u8>, t: i64) {
        let pop = pop();
        let pi = pop.pick.pick(&mut self.rng).copied().unwrap_or(0);
        let p = &pop.principals[pi];
        let si = self.rng.usize(..p.sessions.len().max(1));
        let api = ct_api::get(p.apis.pick(&mut self.rng).copied().unwrap_or(0));
        let mut agent = p
            .agents
            .pick(&mut self.rng)
            .copied()
            .unwrap_or(Agent::Internal);
        agent = match (api.name, agent) {
            ("ConsoleLogin", _) => Agent::Fixed(p.browser),
            ("UpdateInstanceInformation", _) => Agent::Fixed(
                "aws-sdk-go/1.44.302 (go1.21.9; linux; amd64) amazon-ssm-agent/3.3.380.0",
            ),
            ("BatchGetImage" | "GetDownloadUrlForLayer", Agent::Fixed(_) | Agent::GoV2(_)) => {
                Agent::Fixed("containerd/v1.7.11")
            }
            ("CreateLogStream", _) => {
                Agent::Fixed("awslambda-worker/1.0 rusoto/0.48.0 rust/1.76.0 linux")
            }
            _ => agent,
        };
        let region = if api.global {
            "us-east-1"
        } else {
            p.regions
                .pick(&mut self.rng)
                .copied()
                .unwrap_or("us-east-1")
        };
        let err = api.name != "ConsoleLogin"
            && p.kind != Kind::Service
            && !matches!(agent, Agent::Internal)
            && self.rng.u32(..1000) < 36;
        let mut info = Info {
            region,
            ..Info::default()
        };
        self.body.clear();
        self.res.clear();
        let acct = {
            let mut b = Body {
                rng: &mut self.rng,
                o: &mut self.body,
                res: &mut self.res,
                info: &mut info,
                pop,
                acct: p.acct,
                t,
                err,
            };
            b.background(api, p, pi);
            b.acct
        };
        if info.web_identity {
            agent = p.agents.items().first().copied().unwrap_or(agent);
        }
        let ip: &str = match agent {
            Agent::Internal => p.invoked_by.or(info.service).unwrap_or("AWS Internal"),
            _ if info.internal => "AWS Internal",
            _ => {
                let ips = &p.sessions[si].ips;
                if ips.is_empty() {
                    "AWS Internal"
                } else {
                    &ips[self.rng.usize(..ips.len())]
                }
            }
        };
        if info.internal {
            agent = Agent::Internal;
        }
        let ua_default = if info.internal { "AWS Internal" } else { ip };
        render_ua(&mut self.ua, agent, api, ua_default);
        let error = if err {
            Some(error_for(
                api,
                &caller_arn(p, si),
                &info,
                acct,
                &mut self.rng,
            ))
        } else {
            None
        };
        let console = matches!(agent, Agent::Console) && api.name != "ConsoleLogin";
        self.write(
            buf,
            Who::Principal { p, pi, si },
            api,
            &info,
            acct,
            ip,
            agent,
            error.as_ref().map(|(c, m)| (*c, m.as_str())),
            console,
            t,
        );
    }

    fn attack_event(&mut self, buf: &mut Vec<u8>, step: Step, t: i64) {
        let pop = pop();
        let leaked = &pop.principals[pop.leaked];
        let backdoor_id = acct_id("AIDA", PROD, 21, hash_str(attacks::BACKDOOR_USER));
        let (api_name, by_backdoor) = match step {
            Step::CallerIdentity => ("GetCallerIdentity", false),
            Step::ListBuckets => ("ListBuckets", false),
            Step::ListUsers => ("ListUsers", false),
            Step::CreateUser => ("CreateUser", false),
            Step::CreateAccessKey => ("CreateAccessKey", false),
            Step::AttachAdmin => ("AttachUserPolicy", false),
            Step::CreateLoginProfile => ("CreateLoginProfile", false),
            Step::ConsoleLogin => ("ConsoleLogin", true),
            Step::StopLogging => ("StopLogging", true),
            Step::DeleteTrail => ("DeleteTrail", true),
            Step::GetSecret => ("GetSecretValue", true),
            Step::DeletePublicAccessBlock => ("DeleteBucketPublicAccessBlock", true),
            Step::PublicPolicy => ("PutBucketPolicy", true),
            Step::OpenSsh => ("AuthorizeSecurityGroupIngress", true),
        };
        let Some(api) = ct_api::find(api_name).map(ct_api::get) else {
            return;
        };
        let mut info = Info {
            region: "us-east-1",
            ..Info::default()
        };
        self.body.clear();
        self.res.clear();
        {
            let mut b = Body {
                rng: &mut self.rng,
                o: &mut self.body,
                res: &mut self.res,
                info: &mut info,
                pop,
                acct: PROD,
                t,
                err: false,
            };
            match step {
                Step::CallerIdentity | Step::ListUsers => {
                    b.o.knull("requestParameters");
                    b.o.knull("responseElements");
                }
                Step::ListBuckets => {
                    b.info.s3 = true;
                    b.o.kobj("requestParameters");
                    b.o.ks("Host", "s3.amazonaws.com");
                    b.o.end_obj();
                    b.o.knull("responseElements");
                }
                Step::CreateUser => b.create_user(attacks::BACKDOOR_USER, &backdoor_id, false),
                Step::CreateAccessKey => {
                    b.create_access_key(attacks::BACKDOOR_USER, attacks::BACKDOOR_ACCESS_KEY_ID)
                }
                Step::AttachAdmin => b.attach_user_policy(
                    attacks::BACKDOOR_USER,
                    "arn:aws:iam::aws:policy/AdministratorAccess",
                ),
                Step::CreateLoginProfile => b.create_login_profile(attacks::BACKDOOR_USER),
                Step::ConsoleLogin => {
                    let fake = Principal {
                        name: attacks::BACKDOOR_USER.to_string(),
                        ..leaked.clone()
                    };
                    b.console_login(&fake, true, false);
                }
                Step::StopLogging | Step::DeleteTrail => {
                    b.o.kobj("requestParameters");
                    b.o.ks("name", attacks::TRAIL_ARN);
                    b.o.end_obj();
                    b.o.knull("responseElements");
                }
                Step::GetSecret => {
                    let s = pop
                        .secrets
                        .iter()
                        .position(|s| s.name == attacks::STOLEN_SECRET)
                        .unwrap_or(0);
                    b.secret_op(s, false);
                }
                Step::DeletePublicAccessBlock | Step::PublicPolicy => {
                    let bucket = pop
                        .buckets
                        .iter()
                        .position(|x| x.name == attacks::PUBLIC_BUCKET)
                        .unwrap_or(0);
                    if step == Step::PublicPolicy {
                        b.put_bucket_policy(bucket, true);
                    } else {
                        b.delete_public_access_block(bucket);
                    }
                }
                Step::OpenSsh => {
                    b.authorize_ingress(attacks::OPENED_SECURITY_GROUP, 22, "0.0.0.0/0", "")
                }
            }
        }
        let agent = if step == Step::ConsoleLogin {
            Agent::Fixed(ATTACKER_BROWSER)
        } else {
            Agent::Cli(KALI_CLI)
        };
        render_ua(&mut self.ua, agent, api, "");
        let who = match (step, by_backdoor) {
            (Step::ConsoleLogin, _) => Who::UserSignIn {
                name: attacks::BACKDOOR_USER,
                id: &backdoor_id,
            },
            (_, true) => Who::User {
                name: attacks::BACKDOOR_USER,
                id: &backdoor_id,
                key: attacks::BACKDOOR_ACCESS_KEY_ID,
            },
            (_, false) => Who::User {
                name: &leaked.name,
                id: &leaked.id,
                key: &leaked.key,
            },
        };
        self.write(
            buf,
            who,
            api,
            &info,
            PROD,
            attacks::CLOUD_ATTACKER_IP,
            agent,
            None,
            false,
            t,
        );
    }

    fn identity(&mut self, who: &Who<'_>, info: &Info, agent: Agent, api: &Api, t: i64) {
        let o = &mut self.ident;
        o.clear();
        o.obj();
        match *who {
            Who::User { name, id, key } => {
                write_user_head(o, PROD, id, name);
                o.ks("accessKeyId", key);
                o.ks("userName", name);
            }
            Who::UserSignIn { name, id } => {
                write_user_head(o, PROD, id, name);
                o.ks("userName", name);
            }
            Who::Principal { p, pi, si } => {
                let acct = ACCOUNTS[p.acct].id;
                if info.web_identity {
                    let sa = p
                        .web_identity_sa
                        .unwrap_or("system:serviceaccount:default:default");
                    o.ks("type", "WebIdentityUser");
                    o.key("principalId");
                    o.str_begin();
                    o.part("arn:aws:iam::");
                    o.part(acct);
                    o.part(":oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/");
                    o.part(OIDC_ID);
                    o.part(":sts.amazonaws.com:");
                    o.part(sa);
                    o.str_end();
                    o.ks("userName", sa);
                    o.key("identityProvider");
                    o.str_begin();
                    o.part("arn:aws:iam::");
                    o.part(acct);
                    o.part(":oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/");
                    o.part(OIDC_ID);
                    o.str_end();
                } else {
                    match p.kind {
                        Kind::Service => {
                            o.ks("type", "AWSService");
                            o.ks(
                                "invokedBy",
                                info.service.or(p.invoked_by).unwrap_or("AWS Internal"),
                            );
                        }
                        Kind::User => {
                            write_user_head(o, p.acct, &p.id, &p.name);
                            let console = matches!(agent, Agent::Console);
                            if api.name == "ConsoleLogin" {
                                o.ks("userName", &p.name);
                            } else if console {
                                let (key, created) = session_key(pi, si, t, p.session_secs);
                                o.ks("accessKeyId", &key);
                                o.ks("userName", &p.name);
                                session_context_plain(o, created, p.mfa);
                            } else {
                                o.ks("accessKeyId", &p.key);
                                o.ks("userName", &p.name);
                            }
                        }
                        Kind::Root => {
                            o.ks("type", "Root");
                            o.ks("principalId", acct);
                            o.key("arn");
                            o.str_begin();
                            o.part("arn:aws:iam::");
                            o.part(acct);
                            o.part(":root");
                            o.str_end();
                            o.ks("accountId", acct);
                            if api.name == "ConsoleLogin" {
                                o.ks("accessKeyId", "");
                            } else {
                                let (key, created) = session_key(pi, si, t, p.session_secs);
                                o.ks("accessKeyId", &key);
                                session_context_plain(o, created, p.mfa);
                            }
                        }
                        Kind::Role => {
                            let session = p.sessions.get(si).map(|s| s.name.as_str()).unwrap_or("");
                            let (key, created) = session_key(pi, si, t, p.session_secs);
                            o.ks("type", "AssumedRole");
                            o.key("principalId");
                            o.str_begin();
                            o.part(&p.id);
                            o.part(":");
                            o.part(session);
                            o.str_end();
                            o.key("arn");
                            o.str_begin();
                            o.part("arn:aws:sts::");
                            o.part(acct);
                            o.part(":assumed-role/");
                            o.part(&p.name);
                            o.part("/");
                            o.part(session);
                            o.str_end();
                            o.ks("accountId", acct);
                            o.ks("accessKeyId", &key);
                            o.kobj("sessionContext");
                            o.kobj("sessionIssuer");
                            o.ks("type", "Role");
                            o.ks("principalId", &p.id);
                            o.key("arn");
                            o.str_begin();
                            o.part("arn:aws:iam::");
                            o.part(acct);
                            o.part(":role");
                            o.part(p.path);
                            o.part(&p.name);
                            o.str_end();
                            o.ks("accountId", acct);
                            o.ks("userName", &p.name);
                            o.end_obj();
                            o.kobj("webIdFederationData");
                            if p.web_identity_sa.is_some() {
                                o.key("federatedProvider");
                                o.str_begin();
                                o.part("arn:aws:iam::");
                                o.part(acct);
                                o.part(":oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/");
                                o.part(OIDC_ID);
                                o.str_end();
                                o.kempty("attributes");
                            }
                            o.end_obj();
                            o.kobj("attributes");
                            o.key("creationDate");
                            o.str_begin();
                            push_rfc3339(&mut o.b, created);
                            o.str_end();
                            o.ks("mfaAuthenticated", if p.mfa { "true" } else { "false" });
                            o.end_obj();
                            if p.ec2_delivery {
                                o.ks("ec2RoleDelivery", "2.0");
                            }
                            o.end_obj();
                            if let Some(by) = p.invoked_by {
                                o.ks("invokedBy", by);
                            }
                        }
                    }
                }
            }
        }
        if info.internal {
            o.ks("invokedBy", "AWS Internal");
        }
        o.end_obj();
    }

    #[allow(clippy::too_many_arguments)]
    fn write(
        &mut self,
        buf: &mut Vec<u8>,
        who: Who<'_>,
        api: &Api,
        info: &Info,
        acct: usize,
        ip: &str,
        agent: Agent,
        error: Option<(&str, &str)>,
        console: bool,
        t: i64,
    ) {
        self.identity(&who, info, agent, api, t);
        let tls = !matches!(agent, Agent::Internal) && !info.internal;
        if tls {
            tls_host(&mut self.host, api, info);
        }
        let mut o = Out::from_vec(std::mem::take(buf));
        o.obj();
        o.ks(
            "eventVersion",
            match api.source {
                "s3.amazonaws.com" => "1.10",
                "sts.amazonaws.com" | "kms.amazonaws.com" | "ecr.amazonaws.com"
                | "ssm.amazonaws.com" => "1.08",
                _ => "1.09",
            },
        );
        o.kraw("userIdentity", &self.ident.b);
        o.key("eventTime");
        o.str_begin();
        o.b.extend_from_slice(self.times.get(t));
        o.str_end();
        o.ks("eventSource", api.source);
        o.ks("eventName", api.name);
        o.ks("awsRegion", info.region);
        o.ks("sourceIPAddress", ip);
        o.key("userAgent");
        o.str_begin();
        o.b.extend_from_slice(&self.ua);
        o.str_end();
        if let Some((code, msg)) = error {
            o.ks("errorCode", code);
            o.ks("errorMessage", msg);
        } else if let Some((false, _)) = info.login {
            o.ks("errorMessage", "Failed authentication");
        }
        // The body is a run of `"key":value` members; splice it in.
        if !self.body.b.is_empty() {
            o.b.push(b',');
            o.b.extend_from_slice(&self.body.b);
        }
        if info.login.is_none() {
            o.key("requestID");
            o.str_begin();
            if info.s3 {
                push_hex_upper(&mut o.b, &mut self.rng, 16);
            } else {
                push_uuid(&mut o.b, &mut self.rng);
            }
            o.str_end();
        }
        o.key("eventID");
        o.str_begin();
        push_uuid(&mut o.b, &mut self.rng);
        o.str_end();
        o.kb("readOnly", api.ro);
        if !self.res.b.is_empty() {
            o.karr("resources");
            o.raw(&self.res.b);
            o.end_arr();
        }
        o.ks(
            "eventType",
            if api.name == "ConsoleLogin" {
                "AwsConsoleSignIn"
            } else {
                "AwsApiCall"
            },
        );
        o.kb("managementEvent", !api.data);
        o.ks("recipientAccountId", ACCOUNTS[acct].id);
        if info.shared_event_id {
            o.key("sharedEventID");
            o.str_begin();
            push_uuid(&mut o.b, &mut self.rng);
            o.str_end();
        }
        if info.vpce && ip.starts_with("10.") {
            o.key("vpcEndpointId");
            o.str_begin();
            o.part("vpce-0");
            o.part(&super::ids::hex_of(hash_str(ACCOUNTS[acct].id) ^ 0x5e, 16));
            o.str_end();
            o.ks("vpcEndpointAccountId", ACCOUNTS[acct].id);
        }
        o.ks(
            "eventCategory",
            if api.data { "Data" } else { "Management" },
        );
        if tls {
            o.kobj("tlsDetails");
            let legacy = matches!(agent, Agent::Legacy(_));
            o.ks("tlsVersion", if legacy { "TLSv1.2" } else { "TLSv1.3" });
            o.ks(
                "cipherSuite",
                if legacy {
                    "ECDHE-RSA-AES128-GCM-SHA256"
                } else {
                    "TLS_AES_128_GCM_SHA256"
                },
            );
            o.key("clientProvidedHostHeader");
            o.str_begin();
            o.b.extend_from_slice(&self.host);
            o.str_end();
            o.end_obj();
        }
        if console {
            o.ks("sessionCredentialFromConsole", "true");
        }
        o.end_obj();
        *buf = o.b;
    }
}

fn write_user_head(o: &mut Out, acct: usize, id: &str, name: &str) {
    let acct = ACCOUNTS[acct].id;
    o.ks("type", "IAMUser");
    o.ks("principalId", id);
    o.key("arn");
    o.str_begin();
    o.part("arn:aws:iam::");
    o.part(acct);
    o.part(":user/");
    o.part(name);
    o.str_end();
    o.ks("accountId", acct);
}

fn session_context_plain(o: &mut Out, created: i64, mfa: bool) {
    o.kobj("sessionContext");
    o.kempty("sessionIssuer");
    o.kempty("webIdFederationData");
    o.kobj("attributes");
    o.key("creationDate");
    o.str_begin();
    push_rfc3339(&mut o.b, created);
    o.str_end();
    o.ks("mfaAuthenticated", if mfa { "true" } else { "false" });
    o.end_obj();
    o.end_obj();
}

/// The ARN error messages name the caller by.
fn caller_arn(p: &Principal, si: usize) -> String {
    let acct = ACCOUNTS[p.acct].id;
    match p.kind {
        Kind::Role => format!(
            "arn:aws:sts::{acct}:assumed-role/{}/{}",
            p.name,
            p.sessions.get(si).map(|s| s.name.as_str()).unwrap_or("")
        ),
        _ => p.arn(),
    }
}

fn render_ua(ua: &mut Vec<u8>, agent: Agent, api: &Api, default: &str) {
    ua.clear();
    match agent {
        Agent::Cli(prefix) => {
            ua.extend_from_slice(prefix.as_bytes());
            ua.extend_from_slice(b" prompt/off command/");
            let svc = cli_service(api.source);
            if svc == "s3" && matches!(api.name, "ListBuckets" | "ListObjects") {
                ua.extend_from_slice(b"s3.ls");
            } else if svc == "s3" && matches!(api.name, "GetObject" | "PutObject" | "HeadObject") {
                ua.extend_from_slice(b"s3.cp");
            } else {
                ua.extend_from_slice(if svc == "s3" {
                    b"s3api"
                } else {
                    svc.as_bytes()
                });
                ua.push(b'.');
                push_kebab(ua, api.name);
            }
        }
        Agent::Terraform | Agent::GoV2(_) => {
            if let Agent::GoV2(prefix) = agent {
                ua.extend_from_slice(prefix.as_bytes());
            } else {
                ua.extend_from_slice(b"APN/1.0 HashiCorp/1.0 Terraform/1.8.2 (+https://www.terraform.io) terraform-provider-aws/5.47.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64");
            }
            let svc = sdk_service(api.source);
            ua.extend_from_slice(b" api/");
            ua.extend_from_slice(svc.as_bytes());
            let h = hash_str(svc);
            ua.extend_from_slice(format!("#1.{}.{}", 10 + h % 150, (h >> 8) % 12).as_bytes());
        }
        Agent::Fixed(s) | Agent::Legacy(s) => ua.extend_from_slice(s.as_bytes()),
        Agent::Console => ua.extend_from_slice(b"console.amazonaws.com"),
        Agent::Internal => ua.extend_from_slice(default.as_bytes()),
    }
}

fn tls_host(host: &mut Vec<u8>, api: &Api, info: &Info) {
    host.clear();
    let prefix = api.source.split('.').next().unwrap_or("");
    match (info.host, prefix) {
        (HostKind::Bucket(b), _) => {
            if let Some(bucket) = pop().buckets.get(b) {
                host.extend_from_slice(bucket.name.as_bytes());
                host.extend_from_slice(b".s3.");
                host.extend_from_slice(bucket.region.as_bytes());
                host.extend_from_slice(b".amazonaws.com");
            }
        }
        (_, "s3") => host.extend_from_slice(b"s3.amazonaws.com"),
        (_, "iam") => host.extend_from_slice(b"iam.amazonaws.com"),
        (_, "signin") => host.extend_from_slice(b"signin.aws.amazon.com"),
        (_, p) => {
            if p == "ecr" {
                host.extend_from_slice(b"api.");
            }
            host.extend_from_slice(p.as_bytes());
            host.push(b'.');
            host.extend_from_slice(info.region.as_bytes());
            host.extend_from_slice(b".amazonaws.com");
        }
    }
}

/// The `errorCode` and `errorMessage` AWS writes when `api` fails for `caller`.
fn error_for(
    api: &Api,
    caller: &str,
    info: &Info,
    acct: usize,
    rng: &mut Rng,
) -> (&'static str, String) {
    let svc = api.source.split('.').next().unwrap_or("");
    let denied = |resource: &str| {
        let on = if resource.is_empty() {
            String::new()
        } else {
            format!(" on resource: {resource}")
        };
        format!(
            "User: {caller} is not authorized to perform: {svc}:{name}{on} because no identity-based policy allows the {svc}:{name} action",
            name = api.name
        )
    };
    let coin = rng.bool();
    match (svc, api.name) {
        ("s3", "GetBucketPolicy" | "GetBucketPolicyStatus") => (
            "NoSuchBucketPolicy",
            "The bucket policy does not exist".to_string(),
        ),
        ("s3", "GetBucketEncryption") => (
            "ServerSideEncryptionConfigurationNotFoundError",
            "The server side encryption configuration was not found".to_string(),
        ),
        ("s3", "GetBucketPublicAccessBlock") => (
            "NoSuchPublicAccessBlockConfiguration",
            "The public access block configuration was not found".to_string(),
        ),
        ("s3", "GetObject" | "HeadObject") if coin => {
            ("NoSuchKey", "The specified key does not exist.".to_string())
        }
        ("s3", _) => ("AccessDenied", "Access Denied".to_string()),
        ("iam", "GetAccountPasswordPolicy") => (
            "NoSuchEntityException",
            format!(
                "The Password Policy with domain name {} cannot be found.",
                ACCOUNTS[acct].id
            ),
        ),
        ("iam", "GetRole" | "ListAttachedRolePolicies") if coin => (
            "NoSuchEntity",
            format!("The role with name {} cannot be found.", info.target),
        ),
        (
            "iam",
            "GetUser"
            | "ListAttachedUserPolicies"
            | "ListAccessKeys"
            | "ListMFADevices"
            | "UpdateLoginProfile"
            | "DeleteAccessKey"
            | "CreateLoginProfile",
        ) if coin => (
            "NoSuchEntity",
            format!("The user with name {} cannot be found.", info.target),
        ),
        ("iam", "CreateUser") if coin => (
            "EntityAlreadyExists",
            format!("User with name {} already exists.", info.target),
        ),
        ("iam", _) => {
            let kind = if api.name.contains("Role") {
                "role"
            } else {
                "user"
            };
            let res = if info.target.is_empty() {
                format!("arn:aws:iam::{}:{kind}/*", ACCOUNTS[acct].id)
            } else {
                format!("arn:aws:iam::{}:{kind}/{}", ACCOUNTS[acct].id, info.target)
            };
            ("AccessDenied", denied(&res))
        }
        ("ec2", name) if name.starts_with("Describe") && coin => (
            "Client.RequestLimitExceeded",
            "Request limit exceeded.".to_string(),
        ),
        ("ec2", _) => {
            let mut msg = format!(
                "You are not authorized to perform this operation. {} Encoded authorization failure message: ",
                denied(&format!(
                    "arn:aws:ec2:{}:{}:instance/*",
                    info.region, ACCOUNTS[acct].id
                ))
            );
            let mut b = Vec::with_capacity(320);
            push_base64(&mut b, rng, 320);
            msg.push_str(&String::from_utf8_lossy(&b));
            ("Client.UnauthorizedOperation", msg)
        }
        ("kms", _) => ("AccessDenied", denied(&info.target)),
        ("secretsmanager", _) => (
            "ResourceNotFoundException",
            "Secrets Manager can't find the specified secret.".to_string(),
        ),
        ("ssm", "GetParameter" | "GetParameters") => (
            "ParameterNotFound",
            format!("Parameter {} not found.", info.target),
        ),
        ("sts", _) => ("AccessDenied", denied(&info.target)),
        _ if coin => ("ThrottlingException", "Rate exceeded".to_string()),
        _ => ("AccessDenied", denied("")),
    }
}
