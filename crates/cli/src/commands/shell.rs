//! `ansinh shell`: an interactive SQL shell over the warehouse.

use std::path::PathBuf;
use std::time::Instant;

use ansinh_models::catalog::run_statements;
use ansinh_report::dictionary::Entry;
use clap::Args;
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;

use crate::commands::docs::dictionary;
use crate::commands::models::{Format, query_session, render};
use crate::exit::{self, Failure};
use crate::settings::{self, Global};

/// Options of `ansinh shell`.
#[derive(Debug, Args)]
pub struct ShellArgs {
    /// History file [default: ~/.ansinh_history].
    #[arg(long, env = "ANSINH_HISTORY")]
    pub history: Option<PathBuf>,
}

const HELP: &str = "\
Statements end with ';' and may span lines. Only queries run.
  \\d          list tables and models
  \\d NAME     describe a table or model: columns, types, descriptions, lineage
  \\timing     show how long each statement takes (toggle)
  \\?          this help
  \\q          quit (or Ctrl-D)
";

fn list(entries: &[Entry]) -> String {
    let width = entries.iter().map(|e| e.name.len()).max().unwrap_or(4);
    let mut out = String::new();
    for e in entries {
        out.push_str(&format!("{:<width$}  {}\n", e.name, e.kind));
    }
    out
}

fn describe(entry: &Entry) -> String {
    let mut out = format!("{} ({})\n", entry.name, entry.kind);
    if !entry.description.is_empty() {
        out.push_str(&format!("{}\n", entry.description));
    }
    let width = entry
        .columns
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(6);
    for c in &entry.columns {
        out.push_str(&format!(
            "  {:<width$}  {:<22} {:<8} {}\n",
            c.name,
            c.data_type,
            if c.nullable { "null" } else { "not null" },
            c.description
        ));
    }
    if !entry.upstream.is_empty() {
        out.push_str(&format!("reads: {}\n", entry.upstream.join(", ")));
    }
    if !entry.downstream.is_empty() {
        out.push_str(&format!("read by: {}\n", entry.downstream.join(", ")));
    }
    out
}

/// Runs `ansinh shell`.
pub async fn run(global: &Global, args: ShellArgs) -> Result<u8, Failure> {
    let config = settings::config(global)?;
    let (ctx, _, _) = query_session(&config).await?;
    let catalog = dictionary(&config).await?;
    let mut editor = DefaultEditor::new()
        .map_err(|e| Failure::usage(anyhow::anyhow!("cannot start the line editor: {e}")))?;
    let history = args.history.or_else(|| {
        std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".ansinh_history"))
    });
    if let Some(path) = &history {
        // A missing history file is the first session.
        let _ = editor.load_history(path);
    }
    let mut timing = false;
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() {
            "ansinh> "
        } else {
            "   ...> "
        };
        let line = match editor.readline(prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                buffer.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(Failure::usage(anyhow::anyhow!("reading input: {e}"))),
        };
        let trimmed = line.trim();
        if buffer.is_empty() && trimmed.starts_with('\\') {
            let _ = editor.add_history_entry(trimmed);
            let mut words = trimmed.split_whitespace();
            match (words.next(), words.next()) {
                (Some("\\q"), _) => break,
                (Some("\\?"), _) => print!("{HELP}"),
                (Some("\\timing"), _) => {
                    timing = !timing;
                    println!("timing is {}", if timing { "on" } else { "off" });
                }
                (Some("\\d"), None) => print!("{}", list(&catalog)),
                (Some("\\d"), Some(name)) => match catalog.iter().find(|e| e.name == name) {
                    Some(entry) => print!("{}", describe(entry)),
                    None => println!("no table or model named {name}"),
                },
                _ => println!("unknown command {trimmed}; \\? for help"),
            }
            continue;
        }
        if trimmed.is_empty() && buffer.is_empty() {
            continue;
        }
        buffer.push_str(&line);
        buffer.push('\n');
        if !trimmed.ends_with(';') {
            continue;
        }
        let statement = std::mem::take(&mut buffer);
        let _ = editor.add_history_entry(statement.trim());
        let started = Instant::now();
        match run_statements(&ctx, &statement).await {
            Ok(batches) => match render(&batches, Format::Table) {
                Ok(text) => {
                    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
                    print!("{text}");
                    println!("({rows} rows)");
                }
                Err(e) => println!("error: {e}"),
            },
            Err(e) => println!("error: {e}"),
        }
        if timing {
            println!("time: {:.3} s", started.elapsed().as_secs_f64());
        }
    }
    if let Some(path) = &history
        && let Err(e) = editor.save_history(path)
    {
        tracing::warn!("cannot save the history to {}: {e}", path.display());
    }
    Ok(exit::SUCCESS)
}
