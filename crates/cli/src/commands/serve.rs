//! `ansinh serve`: the warehouse and marts over the Postgres wire protocol, read-only.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use crate::commands::models::query_session;
use crate::exit::{self, Failure};
use crate::settings::{self, Global};

/// Options of `ansinh serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Print the `serve.users` entry of user NAME for the password on standard input, and exit.
    #[arg(long, value_name = "NAME")]
    pub hash_password: Option<String>,
    /// Address to listen on [default: serve.host].
    #[arg(long)]
    pub host: Option<String>,
    /// Port to listen on [default: serve.port].
    #[arg(long)]
    pub port: Option<u16>,
}

fn random_salt() -> Result<[u8; 16], Failure> {
    let mut salt = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut salt))
        .map_err(|e| Failure::usage(anyhow::anyhow!("no random source for the salt: {e}")))?;
    Ok(salt)
}

/// Runs `ansinh serve`.
pub async fn run(global: &Global, args: ServeArgs) -> Result<u8, Failure> {
    if let Some(name) = &args.hash_password {
        let mut password = String::new();
        std::io::stdin()
            .read_line(&mut password)
            .map_err(|e| Failure::usage(anyhow::anyhow!("reading the password: {e}")))?;
        let password = password.trim_end_matches(['\r', '\n']);
        if password.is_empty() {
            return Err(Failure::usage(anyhow::anyhow!(
                "give the password on standard input; an empty password is not allowed"
            )));
        }
        let line = ansinh_serve::user_line(name, password, &random_salt()?);
        // The line must parse back: the name is checked too.
        ansinh_serve::User::parse(&line)?;
        println!("{line}");
        return Ok(exit::SUCCESS);
    }
    let config = settings::config(global)?;
    let serve = &config.serve;
    let users = serve
        .users
        .iter()
        .map(|line| ansinh_serve::User::parse(line))
        .collect::<Result<Vec<_>, _>>()?;
    let tls = match (&serve.tls_cert, &serve.tls_key) {
        (Some(cert), Some(key)) => Some(ansinh_serve::tls_acceptor(
            std::path::Path::new(cert),
            std::path::Path::new(key),
        )?),
        _ => None,
    };
    let require_tls = serve.require_tls.unwrap_or(tls.is_some());
    let (ctx, warehouse, project) = query_session(&config).await?;
    let ctx = Arc::new(ctx);
    // Newly loaded data and rebuilt marts: register the tables and marts again, regularly.
    let refresher = {
        let ctx = Arc::clone(&ctx);
        let every = Duration::from_secs(serve.refresh_seconds);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let refreshed = async {
                    warehouse.register(&ctx).await.map_err(|e| e.to_string())?;
                    ansinh_models::register_marts(&project, &ctx, warehouse.location().root())
                        .await
                        .map_err(|e| e.to_string())
                };
                if let Err(e) = refreshed.await {
                    tracing::warn!("cannot refresh the catalog: {e}");
                }
            }
        })
    };
    let options = ansinh_serve::Options {
        host: args.host.unwrap_or_else(|| serve.host.clone()),
        port: args.port.unwrap_or(serve.port),
        users,
        tls,
        require_tls,
        statement_timeout: Duration::from_secs(serve.statement_timeout_seconds),
    };
    let shutdown = async {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    };
    let served = ansinh_serve::serve(ctx, options, shutdown).await;
    refresher.abort();
    served?;
    tracing::info!("server stopped");
    Ok(exit::SUCCESS)
}
