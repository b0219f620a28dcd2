//! The AWS API calls the CloudTrail generator knows, with the facts CloudTrail
//! records about each.

/// Index into [`APIS`].
pub(crate) type ApiId = u16;

/// One API operation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Api {
    /// `eventSource`.
    pub source: &'static str,
    /// `eventName`.
    pub name: &'static str,
    /// `readOnly`.
    pub ro: bool,
    /// A data event (`eventCategory` `Data`, `managementEvent` false).
    pub data: bool,
    /// A global service logged in us-east-1.
    pub global: bool,
}

const fn api(source: &'static str, name: &'static str, ro: bool) -> Api {
    Api {
        source,
        name,
        ro,
        data: false,
        global: false,
    }
}

const fn data(source: &'static str, name: &'static str, ro: bool) -> Api {
    Api {
        source,
        name,
        ro,
        data: true,
        global: false,
    }
}

const fn global(source: &'static str, name: &'static str, ro: bool) -> Api {
    Api {
        source,
        name,
        ro,
        data: false,
        global: true,
    }
}

const EC2: &str = "ec2.amazonaws.com";
const IAM: &str = "iam.amazonaws.com";
const STS: &str = "sts.amazonaws.com";
const S3: &str = "s3.amazonaws.com";
const KMS: &str = "kms.amazonaws.com";
const SM: &str = "secretsmanager.amazonaws.com";
const SSM: &str = "ssm.amazonaws.com";
const CT: &str = "cloudtrail.amazonaws.com";
const LOGS: &str = "logs.amazonaws.com";
const ECR: &str = "ecr.amazonaws.com";

/// Every API the generator emits.
pub(crate) static APIS: &[Api] = &[
    api(EC2, "DescribeInstances", true),
    api(EC2, "DescribeSecurityGroups", true),
    api(EC2, "DescribeVpcs", true),
    api(EC2, "DescribeSubnets", true),
    api(EC2, "DescribeVolumes", true),
    api(EC2, "DescribeNetworkInterfaces", true),
    api(EC2, "DescribeRouteTables", true),
    api(EC2, "DescribeImages", true),
    api(EC2, "DescribeAddresses", true),
    api(EC2, "DescribeInstanceStatus", true),
    api(EC2, "DescribeTags", true),
    api(EC2, "DescribeAvailabilityZones", true),
    api(EC2, "RunInstances", false),
    api(EC2, "StopInstances", false),
    api(EC2, "StartInstances", false),
    api(EC2, "TerminateInstances", false),
    api(EC2, "AuthorizeSecurityGroupIngress", false),
    api(EC2, "CreateSecurityGroup", false),
    api(EC2, "CreateTags", false),
    api(EC2, "AssignPrivateIpAddresses", false),
    global(IAM, "GetUser", true),
    global(IAM, "GetRole", true),
    global(IAM, "ListUsers", true),
    global(IAM, "ListRoles", true),
    global(IAM, "ListAttachedRolePolicies", true),
    global(IAM, "ListAttachedUserPolicies", true),
    global(IAM, "ListAccessKeys", true),
    global(IAM, "ListMFADevices", true),
    global(IAM, "GetAccountPasswordPolicy", true),
    global(IAM, "GetAccountSummary", true),
    global(IAM, "GenerateCredentialReport", false),
    global(IAM, "GetCredentialReport", true),
    global(IAM, "CreateUser", false),
    global(IAM, "CreateAccessKey", false),
    global(IAM, "DeleteAccessKey", false),
    global(IAM, "AttachUserPolicy", false),
    global(IAM, "AttachRolePolicy", false),
    global(IAM, "CreateRole", false),
    global(IAM, "PutRolePolicy", false),
    global(IAM, "UpdateLoginProfile", false),
    global(IAM, "CreateLoginProfile", false),
    api(STS, "AssumeRole", true),
    api(STS, "AssumeRoleWithWebIdentity", true),
    api(STS, "GetCallerIdentity", true),
    api(S3, "ListBuckets", true),
    api(S3, "GetBucketAcl", true),
    api(S3, "GetBucketPolicy", true),
    api(S3, "GetBucketPolicyStatus", true),
    api(S3, "GetBucketLocation", true),
    api(S3, "GetBucketVersioning", true),
    api(S3, "GetBucketPublicAccessBlock", true),
    api(S3, "GetBucketEncryption", true),
    api(S3, "PutBucketPolicy", false),
    api(S3, "PutBucketVersioning", false),
    api(S3, "PutBucketPublicAccessBlock", false),
    api(S3, "DeleteBucketPublicAccessBlock", false),
    data(S3, "GetObject", true),
    data(S3, "PutObject", false),
    data(S3, "HeadObject", true),
    data(S3, "ListObjects", true),
    api(KMS, "Decrypt", true),
    api(KMS, "GenerateDataKey", true),
    api(KMS, "DescribeKey", true),
    api(KMS, "ListAliases", true),
    api(SM, "GetSecretValue", true),
    api(SM, "DescribeSecret", true),
    api(SM, "ListSecrets", true),
    api(SSM, "GetParameter", true),
    api(SSM, "GetParameters", true),
    api(SSM, "UpdateInstanceInformation", false),
    api(CT, "DescribeTrails", true),
    api(CT, "GetTrailStatus", true),
    api(CT, "GetEventSelectors", true),
    api(CT, "LookupEvents", true),
    api(CT, "StopLogging", false),
    api(CT, "DeleteTrail", false),
    global("signin.amazonaws.com", "ConsoleLogin", false),
    api(LOGS, "CreateLogStream", false),
    api(LOGS, "DescribeLogGroups", true),
    api(LOGS, "FilterLogEvents", true),
    api(ECR, "GetAuthorizationToken", true),
    api(ECR, "BatchGetImage", true),
    api(ECR, "GetDownloadUrlForLayer", true),
    api("eks.amazonaws.com", "DescribeCluster", true),
    api("eks.amazonaws.com", "ListClusters", true),
    api("lambda.amazonaws.com", "ListFunctions20150331", true),
    api("lambda.amazonaws.com", "GetFunction20150331v2", true),
    api("monitoring.amazonaws.com", "DescribeAlarms", true),
    api("monitoring.amazonaws.com", "GetMetricData", true),
    api(
        "elasticloadbalancing.amazonaws.com",
        "DescribeLoadBalancers",
        true,
    ),
    api(
        "elasticloadbalancing.amazonaws.com",
        "DescribeTargetHealth",
        true,
    ),
    api(
        "autoscaling.amazonaws.com",
        "DescribeAutoScalingGroups",
        true,
    ),
    api("rds.amazonaws.com", "DescribeDBInstances", true),
    api("dynamodb.amazonaws.com", "DescribeTable", true),
    global("health.amazonaws.com", "DescribeEventAggregates", true),
    global("ce.amazonaws.com", "GetCostAndUsage", true),
];

/// The id of an API by event name.
pub(crate) fn find(name: &str) -> Option<ApiId> {
    APIS.iter()
        .position(|a| a.name == name)
        .and_then(|i| ApiId::try_from(i).ok())
}

/// The API with id `id` (the first one if out of range, which cannot happen for ids
/// from [`find`]).
pub(crate) fn get(id: ApiId) -> &'static Api {
    APIS.get(id as usize).unwrap_or(&APIS[0])
}

/// The service name the AWS CLI uses in `command/<svc>.<op>`.
pub(crate) fn cli_service(source: &str) -> &str {
    match source {
        "monitoring.amazonaws.com" => "cloudwatch",
        "elasticloadbalancing.amazonaws.com" => "elbv2",
        s => s.split('.').next().unwrap_or(s),
    }
}

/// The SDK API id used in `api/<id>#<version>` user agent parts.
pub(crate) fn sdk_service(source: &str) -> &str {
    match source {
        "monitoring.amazonaws.com" => "cloudwatch",
        "logs.amazonaws.com" => "cloudwatchlogs",
        "elasticloadbalancing.amazonaws.com" => "elasticloadbalancingv2",
        s => s.split('.').next().unwrap_or(s),
    }
}

/// Appends the CLI's kebab-case operation name (`DescribeInstances` ->
/// `describe-instances`, `ListFunctions20150331` -> `list-functions`).
pub(crate) fn push_kebab(b: &mut Vec<u8>, name: &str) {
    for (i, c) in name.bytes().enumerate() {
        if c.is_ascii_digit() {
            break;
        }
        if c.is_ascii_uppercase() {
            if i > 0 {
                b.push(b'-');
            }
            b.push(c.to_ascii_lowercase());
        } else {
            b.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_kebab_case_matches_the_cli() {
        for (i, a) in APIS.iter().enumerate() {
            assert_eq!(find(a.name), Some(i as ApiId), "{} unique", a.name);
        }
        let mut b = Vec::new();
        push_kebab(&mut b, "ListFunctions20150331");
        b.push(b' ');
        push_kebab(&mut b, "DescribeInstances");
        assert_eq!(b, b"list-functions describe-instances");
    }
}
