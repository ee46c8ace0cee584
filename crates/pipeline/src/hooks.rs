//! Notification hooks: a pipeline's `on_success` or `on_failure` command, run by `sh -c` with
//! the run summary as JSON on its standard input.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use crate::runs::RunRecord;
use crate::spec::Pipeline;

/// How long a hook may take before it is killed.
pub const HOOK_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs the hook of every pipeline of `record` that has one for the way its part of the run
/// ended. A hook that fails is logged; it does not change the run's outcome.
pub async fn notify(pipelines: &[Pipeline], record: &RunRecord) {
    let Ok(summary) = serde_json::to_vec_pretty(record) else {
        return;
    };
    for pipeline in pipelines {
        let status = record
            .steps
            .iter()
            .filter(|s| s.pipeline == pipeline.name || s.pipeline == "models")
            .map(|s| s.status)
            .fold(
                record.status.worst(crate::runs::RunStatus::NothingToDo),
                |a, b| a.worst(b),
            );
        let (which, command) = if status.is_success() {
            ("on_success", &pipeline.on_success)
        } else {
            ("on_failure", &pipeline.on_failure)
        };
        let Some(command) = command else {
            continue;
        };
        match run_hook(command, &summary, pipeline, record, status.name()).await {
            Ok(()) => tracing::info!(pipeline = %pipeline.name, hook = which, "hook ran"),
            Err(e) => tracing::warn!(pipeline = %pipeline.name, hook = which, "hook failed: {e}"),
        }
    }
}

async fn run_hook(
    command: &str,
    summary: &[u8],
    pipeline: &Pipeline,
    record: &RunRecord,
    status: &str,
) -> Result<(), String> {
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("ANSINH_RUN_ID", &record.run_id)
        .env("ANSINH_PIPELINE", &pipeline.name)
        .env("ANSINH_RUN_STATUS", status)
        .stdin(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start `{command}`: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its input is fine.
        let _ = stdin.write_all(summary).await;
        drop(stdin);
    }
    match tokio::time::timeout(HOOK_TIMEOUT, child.wait()).await {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(format!("`{command}` exited with {status}")),
        Ok(Err(e)) => Err(format!("`{command}`: {e}")),
        Err(_) => Err(format!(
            "`{command}` took longer than {}s and was killed",
            HOOK_TIMEOUT.as_secs()
        )),
    }
}
