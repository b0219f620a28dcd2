//! Which source type a rule's `logsource` describes.

use vigil_ingest::SourceKind;

use crate::rule::LogSource;

/// The source type of a logsource, or why it matches nothing Vigil ingests.
///
/// | logsource | source |
/// |---|---|
/// | `product: aws`, `service: cloudtrail` | CloudTrail |
/// | `product: aws`, `service: vpcflow` | VPC flow logs |
/// | `product: kubernetes`, `service: audit` | Kubernetes audit |
/// | `product: falco` (any service) | Falco alerts |
pub fn route(ls: &LogSource) -> Result<SourceKind, String> {
    let lower = |o: &Option<String>| o.as_deref().map(str::to_ascii_lowercase);
    let (p, s, c) = (lower(&ls.product), lower(&ls.service), lower(&ls.category));
    match (p.as_deref(), s.as_deref()) {
        (Some("aws"), Some("cloudtrail")) => Ok(SourceKind::CloudTrail),
        (Some("aws"), Some("vpcflow" | "vpc_flow" | "vpcflowlogs")) => Ok(SourceKind::VpcFlow),
        (Some("kubernetes"), Some("audit")) => Ok(SourceKind::K8sAudit),
        (Some("falco"), _) => Ok(SourceKind::Falco),
        _ => Err(format!(
            "logsource (product: {}, service: {}, category: {}) matches nothing Vigil ingests; supported: aws/cloudtrail, aws/vpcflow, kubernetes/audit, falco",
            p.as_deref().unwrap_or("-"),
            s.as_deref().unwrap_or("-"),
            c.as_deref().unwrap_or("-")
        )),
    }
}
