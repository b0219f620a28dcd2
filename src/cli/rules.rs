//! `vigil rules check` and the rule options shared by the commands that load rules.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use vigil_detect::compile::CompileOptions;
use vigil_detect::correlate::CorrelationConfig;
use vigil_detect::rule::Suppress;
use vigil_detect::rule::load::{RuleSet, load_paths};
use vigil_detect::{Engine, EngineOptions};

/// Rule selection and settings, shared by `vigil detect`, `vigil rules check` and
/// `vigil ingest --detect`.
#[derive(Debug, Args, Clone, Default)]
pub struct RuleArgs {
    /// Sigma rule files or folders (repeatable). Without it, Vigil's shipped pack.
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Placeholder values for the `expand` modifier.
    #[command(flatten)]
    pub placeholders: PlaceholderArgs,
    /// Suppress repeats of a rule's finding: RULE_ID=FIELD,FIELD@WINDOW (e.g.
    /// 8fe...=userIdentity.arn@1h; no fields: every repeat). Repeatable.
    #[arg(long = "suppress", value_name = "RULE=FIELDS@WINDOW")]
    pub suppress: Vec<String>,
}

/// Values for the `%placeholder%`s of the `expand` modifier, shared by every command that
/// loads rules.
#[derive(Debug, Args, Clone, Default)]
pub struct PlaceholderArgs {
    /// Values of a placeholder for the `expand` modifier: NAME=V1,V2 (repeatable).
    #[arg(long = "placeholder", value_name = "NAME=VALUES")]
    pub values: Vec<String>,
    /// Values of a placeholder read from a file, one per line; a line starting with `#` or
    /// `;`, and the rest of a line from a blank and `#` or `;`, are comments (Spamhaus DROP
    /// lists load as they are): NAME=PATH (repeatable). The shipped pack reads
    /// `known_bad_networks` this way.
    #[arg(long = "placeholder-file", value_name = "NAME=PATH")]
    pub files: Vec<String>,
}

impl PlaceholderArgs {
    /// Whether any placeholder was given.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty() && self.files.is_empty()
    }

    /// Placeholder name -> values, from both flags (a name given twice gets both lists).
    pub fn resolve(&self) -> Result<BTreeMap<String, Vec<String>>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut add = |name: &str, values: Vec<String>| {
            out.entry(name.trim_matches('%').to_string())
                .or_default()
                .extend(values);
        };
        for p in &self.values {
            let (name, values) = p
                .split_once('=')
                .with_context(|| format!("--placeholder {p:?}: expected NAME=V1,V2"))?;
            add(name, values.split(',').map(str::to_string).collect());
        }
        for p in &self.files {
            let (name, path) = p
                .split_once('=')
                .with_context(|| format!("--placeholder-file {p:?}: expected NAME=PATH"))?;
            let text = std::fs::read_to_string(path).with_context(|| {
                format!(
                    "--placeholder-file {p:?}: cannot read {path} (a text file, one value per line)"
                )
            })?;
            add(name, placeholder_values(&text).collect());
        }
        Ok(out)
    }
}

impl RuleArgs {
    /// The rules: the given paths, or the shipped pack.
    pub fn rule_set(&self) -> Result<RuleSet> {
        if self.rules.is_empty() {
            Ok(vigil_detect::pack::shipped())
        } else {
            Ok(load_paths(&self.rules)?)
        }
    }

    /// Engine options from the flags.
    pub fn options(&self, correlation: CorrelationConfig) -> Result<EngineOptions> {
        let placeholders = self.placeholders.resolve()?;
        let mut suppress = BTreeMap::new();
        for s in &self.suppress {
            let (rule, rest) = s
                .split_once('=')
                .with_context(|| format!("--suppress {s:?}: expected RULE_ID=FIELDS@WINDOW"))?;
            let (fields, window) = rest
                .rsplit_once('@')
                .with_context(|| format!("--suppress {s:?}: missing @WINDOW (e.g. @1h)"))?;
            let window_secs = vigil_detect::rule::parse::parse_duration(window)
                .map_err(|e| anyhow::anyhow!("--suppress {s:?}: {e}"))?;
            let fields = fields
                .split(',')
                .filter(|f| !f.is_empty())
                .map(str::to_string)
                .collect();
            suppress.insert(
                rule.to_string(),
                Suppress {
                    fields,
                    window_secs,
                },
            );
        }
        Ok(EngineOptions {
            compile: CompileOptions {
                placeholders,
                ..CompileOptions::default()
            },
            correlation,
            suppress,
        })
    }

    /// Loads and compiles the rules; prints what loaded and a line per rejection on
    /// stderr.
    pub fn engine(&self, correlation: CorrelationConfig) -> Result<Engine> {
        let engine = Engine::from_rules(self.rule_set()?, self.options(correlation)?)?;
        let r = engine.report();
        let count = |k: &str| r.loaded.iter().filter(|l| l.kind == k).count();
        eprintln!(
            "vigil: {} rules loaded ({} detection, {} correlation, {} filter) from {}; {} rejected",
            r.loaded.len(),
            count("detection"),
            count("correlation"),
            count("filter"),
            if self.rules.is_empty() {
                "the shipped pack".to_string()
            } else {
                format!("{:?}", self.rules)
            },
            r.rejected.len()
        );
        for rej in r.rejected.iter().take(20) {
            eprintln!(
                "vigil: rejected {} ({}): {}",
                rej.rule_id.as_deref().unwrap_or("?"),
                rej.origin,
                rej.reason
            );
        }
        if r.rejected.len() > 20 {
            eprintln!(
                "vigil: ... and {} more; `vigil rules check` lists them all",
                r.rejected.len() - 20
            );
        }
        Ok(engine)
    }
}

/// The values of a placeholder file: one per line, trimmed. A line starting with `#` or
/// `;` is a comment, and so is the rest of a line from a blank followed by `#` or `;`
/// (Spamhaus DROP's `1.10.16.0/20 ; SBL256894`); other `#` and `;` are part of the
/// value. Blank lines are skipped.
fn placeholder_values(text: &str) -> impl Iterator<Item = String> + '_ {
    text.lines().filter_map(|line| {
        let mut v = line.trim();
        if v.starts_with(['#', ';']) {
            return None;
        }
        if let Some(at) = v
            .char_indices()
            .zip(v.chars().skip(1))
            .find(|((_, c), next)| c.is_whitespace() && matches!(next, '#' | ';'))
            .map(|((i, _), _)| i)
        {
            v = v[..at].trim_end();
        }
        (!v.is_empty()).then(|| v.to_string())
    })
}

/// `vigil rules ...`
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List the rules that load and those rejected, with reasons; non-zero exit if any is
    /// rejected.
    Check(CheckArgs),
}

/// Arguments of `vigil rules check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Placeholder values for the `expand` modifier.
    #[command(flatten)]
    pub placeholders: PlaceholderArgs,
    /// Rule files or folders; none: the shipped pack.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

/// Runs `vigil rules`.
pub fn run(cmd: RulesCommand) -> Result<ExitCode> {
    match cmd {
        RulesCommand::Check(a) => check(a),
    }
}

fn check(a: CheckArgs) -> Result<ExitCode> {
    for p in &a.paths {
        if !p.exists() {
            bail!(
                "cannot read rules from {}: no such file or folder",
                p.display()
            );
        }
    }
    let args = RuleArgs {
        rules: a.paths.clone(),
        placeholders: a.placeholders,
        suppress: Vec::new(),
    };
    let engine = Engine::from_rules(
        args.rule_set()?,
        args.options(CorrelationConfig::default())?,
    )?;
    let r = engine.report();
    // Written, not `println!`ed: `vigil rules check | head` meets a closed pipe, which
    // `main` treats as the reader being done (`println!` would panic).
    let mut out = std::io::stdout().lock();
    if a.json {
        writeln!(out, "{}", serde_json::to_string_pretty(r)?)?;
    } else {
        for l in &r.loaded {
            writeln!(
                out,
                "loaded    {:<38} {:<11} {:<10} {}",
                l.rule_id,
                l.kind,
                l.source.unwrap_or("-"),
                l.title
            )?;
            for w in &l.warnings {
                writeln!(out, "  warning: {w}")?;
            }
        }
        for rej in &r.rejected {
            writeln!(
                out,
                "rejected  {:<38} {}\n  {}\n  reason: {}",
                rej.rule_id.as_deref().unwrap_or("?"),
                rej.title.as_deref().unwrap_or(""),
                rej.origin,
                rej.reason
            )?;
        }
        writeln!(
            out,
            "{} loaded, {} rejected",
            r.loaded.len(),
            r.rejected.len()
        )?;
    }
    out.flush()?;
    Ok(if r.rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use super::placeholder_values;

    #[test]
    fn placeholder_files_drop_comments_but_keep_values_with_hash_or_semicolon() {
        let text = "; Spamhaus DROP\n# FireHOL\n\n1.10.16.0/20 ; SBL256894\n  45.9.148.3\t# a host\nC:\\a;b#c\n";
        let got: Vec<String> = placeholder_values(text).collect();
        assert_eq!(got, ["1.10.16.0/20", "45.9.148.3", "C:\\a;b#c"]);
    }
}
