//! Source types and input format selection.

use std::fmt;
use std::str::FromStr;

/// The kinds of events Vigil ingests. Each has its own Arrow schema (see [`crate::schema`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SourceKind {
    /// AWS CloudTrail events.
    CloudTrail,
    /// AWS VPC Flow Log records (and Transit Gateway flow log records).
    VpcFlow,
    /// Kubernetes audit events (`audit.k8s.io` `Event`).
    K8sAudit,
    /// Falco JSON alerts.
    Falco,
}

impl SourceKind {
    /// All kinds, in a fixed order.
    pub const ALL: [SourceKind; 4] = [
        SourceKind::CloudTrail,
        SourceKind::VpcFlow,
        SourceKind::K8sAudit,
        SourceKind::Falco,
    ];

    /// The stable short name used for tables, Parquet files and statistics
    /// (`cloudtrail`, `vpcflow`, `k8s_audit`, `falco`).
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::CloudTrail => "cloudtrail",
            SourceKind::VpcFlow => "vpcflow",
            SourceKind::K8sAudit => "k8s_audit",
            SourceKind::Falco => "falco",
        }
    }

    /// Position of this kind in [`SourceKind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which input format to expect. `Auto` tells the formats apart per file and, for
/// line-delimited input, per line; the others accept only that source type (and the
/// envelopes it arrives in) and reject everything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Detect the format of each document or line.
    #[default]
    Auto,
    /// Only one source type.
    Only(SourceKind),
}

impl Format {
    /// Whether records of `kind` are accepted under this format.
    pub fn accepts(self, kind: SourceKind) -> bool {
        match self {
            Format::Auto => true,
            Format::Only(k) => k == kind,
        }
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().replace('-', "_").as_str() {
            "auto" => Ok(Format::Auto),
            "cloudtrail" => Ok(Format::Only(SourceKind::CloudTrail)),
            "vpcflow" | "vpc_flow" => Ok(Format::Only(SourceKind::VpcFlow)),
            "k8s_audit" | "k8s" | "kubernetes" => Ok(Format::Only(SourceKind::K8sAudit)),
            "falco" => Ok(Format::Only(SourceKind::Falco)),
            other => Err(format!(
                "unknown format {other:?}; expected one of auto, cloudtrail, vpcflow, k8s-audit, falco"
            )),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Format::Auto => f.write_str("auto"),
            Format::Only(k) => f.write_str(k.name()),
        }
    }
}
