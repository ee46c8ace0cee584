//! The warehouse and marts over the Postgres wire protocol, for BI tools that speak SQL.
//!
//! Read-only (queries only: DDL, DML and `COPY` are refused), with SCRAM-SHA-256 password
//! authentication for the users of the configuration (passwords stored as salted hashes), an
//! optional TLS setup that refuses to start on a bad certificate instead of serving plain text,
//! and a statement timeout that covers execution, not only planning.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::common::ParamValues;
use datafusion::datasource::MemTable;
use datafusion::execution::context::SQLOptions;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::Statement;
use datafusion_postgres::DfSessionService;
use datafusion_postgres::arrow_pg::datatypes::df;
use datafusion_postgres::hooks::set_show::SetShowHook;
use datafusion_postgres::hooks::transactions::TransactionStatementHook;
use datafusion_postgres::hooks::{HookClient, QueryHook};
use datafusion_postgres::pgwire::api::auth::sasl::SASLAuthStartupHandler;
use datafusion_postgres::pgwire::api::auth::sasl::scram::{ScramAuth, gen_salted_password};
use datafusion_postgres::pgwire::api::auth::{
    AuthSource, DefaultServerParameterProvider, LoginInfo, Password, StartupHandler,
};
use datafusion_postgres::pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use datafusion_postgres::pgwire::api::results::Response;
use datafusion_postgres::pgwire::api::{ClientInfo, PgWireServerHandlers};
use datafusion_postgres::pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use datafusion_postgres::pgwire::tokio::process_socket;

/// SCRAM iterations of stored password hashes.
pub const ITERATIONS: usize = 4096;

/// Errors that stop the server from starting.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value is unusable.
    #[error("{0}")]
    Config(String),
    /// The TLS certificate or key is unusable.
    #[error("TLS: {0}")]
    Tls(String),
    /// The address cannot be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: String,
        /// Why.
        source: std::io::Error,
    },
}

impl ansinh_core::Classify for Error {
    /// Each is a setting of `[serve]` or of the host to fix.
    fn class(&self) -> ansinh_core::ErrorClass {
        ansinh_core::ErrorClass::Usage
    }
}

/// A user: a name and the SCRAM salted password (never the password itself).
#[derive(Clone)]
pub struct User {
    /// Login name.
    pub name: String,
    salt: Vec<u8>,
    salted: Vec<u8>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The configuration line of a user: `NAME:scram-sha-256$ITERATIONS$SALT$SALTED` (hex).
pub fn user_line(name: &str, password: &str, salt: &[u8]) -> String {
    let salted = gen_salted_password(password, salt, ITERATIONS);
    format!(
        "{name}:scram-sha-256${ITERATIONS}${}${}",
        hex::encode(salt),
        hex::encode(&salted)
    )
}

impl User {
    /// Parses a configuration line made by [`user_line`].
    pub fn parse(line: &str) -> Result<Self, Error> {
        let bad = |why: &str| {
            Error::Config(format!(
                "serve.users: {why} (expected NAME:scram-sha-256$4096$SALT$HASH, made by \
                 `ansinh serve --hash-password NAME`)"
            ))
        };
        let (name, hash) = line.split_once(':').ok_or_else(|| bad("no ':'"))?;
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(bad("a user name is letters, digits and _"));
        }
        let parts: Vec<&str> = hash.split('$').collect();
        match parts.as_slice() {
            ["scram-sha-256", iterations, salt, salted] => {
                if iterations.parse::<usize>().ok() != Some(ITERATIONS) {
                    return Err(bad("the iteration count must be 4096"));
                }
                let salt = hex::decode(salt)
                    .ok()
                    .filter(|s| s.len() >= 16)
                    .ok_or_else(|| bad("bad salt"))?;
                let salted = hex::decode(salted)
                    .ok()
                    .filter(|s| s.len() == 32)
                    .ok_or_else(|| bad("bad hash"))?;
                Ok(Self {
                    name: name.to_string(),
                    salt,
                    salted,
                })
            }
            _ => Err(bad(&format!("user {name} has no password hash"))),
        }
    }
}

#[derive(Debug)]
struct Users(HashMap<String, User>);

#[async_trait]
impl AuthSource for Users {
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        let name = login.user().unwrap_or_default();
        match self.0.get(name) {
            Some(user) => Ok(Password::new(Some(user.salt.clone()), user.salted.clone())),
            None => Err(PgWireError::UserError(Box::new(ErrorInfo::new(
                "FATAL".into(),
                "28P01".into(),
                format!("password authentication failed for user \"{name}\""),
            )))),
        }
    }
}

/// Loads a certificate chain and its private key (PEM); any problem is an error, so the server
/// never falls back to plain text.
pub fn tls_acceptor(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<datafusion_postgres::pgwire::tokio::TlsAcceptor, Error> {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls::{self, ServerConfig};
    let _ = rustls::crypto::ring::default_provider().install_default();
    let certs: Vec<CertificateDer> = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| Error::Tls(format!("{}: {e}", cert.display())))?;
    if certs.is_empty() {
        return Err(Error::Tls(format!("{}: no certificate", cert.display())));
    }
    let private = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| Error::Tls(format!("{}: {e}", key.display())))?;
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, private)
        .map_err(|e| Error::Tls(format!("{} with {}: {e}", cert.display(), key.display())))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

fn read_only_error() -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".into(),
        "25006".into(),
        "read-only: only queries are allowed (no DDL, DML or COPY)".into(),
    )))
}

fn timeout_error() -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".into(),
        "57014".into(),
        "canceling statement due to statement timeout".into(),
    )))
}

/// Settings a client may change: its own, kept per connection by the server.
const SESSION_SETTINGS: [&str; 7] = [
    "statement_timeout",
    "datestyle",
    "bytea_output",
    "intervalstyle",
    "application_name",
    "extra_float_digits",
    "search_path",
];

/// What a SET or RESET does here, from the parsed statement (so that quoting a name changes
/// nothing): a session setting goes to the server's per-connection handling; an engine
/// setting (a dotted name such as `datafusion.catalog.default_schema` or
/// `runtime.memory_limit`) is shared by every connection and refused; anything else is
/// answered and ignored, never run on the shared engine.
#[derive(Debug, PartialEq, Eq)]
enum Setting {
    Session,
    Engine,
    Ignored(&'static str),
}

fn setting(statement: &Statement) -> Option<Setting> {
    use datafusion::sql::sqlparser::ast::{ObjectName, ObjectNamePart, Reset, Set};
    let unquoted = |name: &ObjectName| -> String {
        name.0
            .iter()
            .map(|part| match part {
                ObjectNamePart::Identifier(ident) => ident.value.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(".")
            .to_lowercase()
    };
    let judge = |names: Vec<String>, tag: &'static str| {
        if names.iter().any(|n| n.contains('.')) {
            Setting::Engine
        } else {
            Setting::Ignored(tag)
        }
    };
    Some(match statement {
        Statement::Set(Set::SingleAssignment {
            scope: None,
            hivevar: false,
            variable,
            ..
        }) if SESSION_SETTINGS.contains(&unquoted(variable).as_str()) => Setting::Session,
        Statement::Set(Set::SetTimeZone { local: false, .. }) => Setting::Session,
        Statement::Set(Set::SingleAssignment { variable, .. }) => {
            judge(vec![unquoted(variable)], "SET")
        }
        Statement::Set(Set::ParenthesizedAssignments { variables, .. }) => {
            judge(variables.iter().map(unquoted).collect(), "SET")
        }
        Statement::Set(Set::MultipleAssignments { assignments }) => judge(
            assignments.iter().map(|a| unquoted(&a.name)).collect(),
            "SET",
        ),
        // Roles, names, session characteristics: nothing to set here.
        Statement::Set(_) => Setting::Ignored("SET"),
        Statement::Reset(reset) => match &reset.reset {
            Reset::ALL => Setting::Ignored("RESET"),
            Reset::ConfigurationParameter(name) => judge(vec![unquoted(name)], "RESET"),
        },
        _ => return None,
    })
}

/// Statements a read-only session may run: queries, and the session statements clients send
/// (SET, SHOW, transactions).
fn allowed(statement: &Statement) -> bool {
    if let Some(setting) = setting(statement) {
        return setting != Setting::Engine;
    }
    let text = statement.to_string();
    let first = text
        .trim_start_matches('(')
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    matches!(
        first.as_str(),
        "SELECT"
            | "WITH"
            | "VALUES"
            | "TABLE"
            | "EXPLAIN"
            | "SHOW"
            | "SET"
            | "RESET"
            | "BEGIN"
            | "START"
            | "COMMIT"
            | "ROLLBACK"
            | "END"
            | "DISCARD"
            | "DEALLOCATE"
    )
}

/// Statements run by the read-only executor (checked plan, statement timeout); EXPLAIN too,
/// since EXPLAIN ANALYZE runs its statement.
fn is_query(statement: &Statement) -> bool {
    matches!(statement, Statement::Query(_) | Statement::Explain { .. })
}

/// Whether the hook runs `statement` itself (`Ok`), or what to answer instead: a refusal for
/// anything but queries and session statements, or `None` to leave a session statement to the
/// server's own handling.
fn screen(statement: &Statement) -> Result<(), Option<PgWireResult<Response>>> {
    if !allowed(statement) {
        return Err(Some(Err(read_only_error())));
    }
    if let Some(Setting::Ignored(tag)) = setting(statement) {
        return Err(Some(Ok(Response::Execution(
            datafusion_postgres::pgwire::api::results::Tag::new(tag),
        ))));
    }
    if !is_query(statement) {
        return Err(None);
    }
    Ok(())
}

/// Refuses what is not a query, and runs queries under the statement timeout.
struct ReadOnly {
    timeout: Duration,
}

fn read_only_options() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

impl ReadOnly {
    async fn execute(
        &self,
        ctx: &SessionContext,
        plan: LogicalPlan,
        client: &dyn HookClient,
    ) -> PgWireResult<Response> {
        let api = |e: datafusion::error::DataFusionError| PgWireError::ApiError(Box::new(e));
        read_only_options()
            .verify_plan(&plan)
            .map_err(|_| read_only_error())?;
        let run = async {
            let df = ctx.execute_logical_plan(plan).await?;
            let schema = Arc::new(df.schema().as_arrow().clone());
            let batches: Vec<RecordBatch> = df.collect().await?;
            Ok::<_, datafusion::error::DataFusionError>((schema, batches))
        };
        let (schema, batches) = tokio::time::timeout(self.timeout, run)
            .await
            .map_err(|_| timeout_error())?
            .map_err(api)?;
        let table = MemTable::try_new(schema, vec![batches]).map_err(api)?;
        let df = ctx.read_table(Arc::new(table)).map_err(api)?;
        let options = Arc::new(
            datafusion_postgres::pgwire::types::format::FormatOptions::from_client_metadata(
                client.metadata(),
            ),
        );
        let encoded = df::encode_dataframe(
            df,
            &datafusion_postgres::pgwire::api::portal::Format::UnifiedText,
            Some(options),
        )
        .await?;
        Ok(Response::Query(encoded))
    }
}

#[async_trait]
impl QueryHook for ReadOnly {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        if let Err(answer) = screen(statement) {
            return answer;
        }
        let plan = match ctx
            .state()
            .statement_to_plan(datafusion::sql::parser::Statement::Statement(Box::new(
                statement.clone(),
            )))
            .await
        {
            Ok(plan) => plan,
            Err(e) => return Some(Err(PgWireError::ApiError(Box::new(e)))),
        };
        Some(self.execute(ctx, plan, client).await)
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        _ctx: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        (!allowed(statement)).then(|| Err(read_only_error()))
    }

    async fn handle_extended_query(
        &self,
        statement: &Statement,
        plan: &LogicalPlan,
        params: &ParamValues,
        ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        if let Err(answer) = screen(statement) {
            return answer;
        }
        let plan = match plan.clone().replace_params_with_values(params) {
            Ok(plan) => plan,
            Err(e) => return Some(Err(PgWireError::ApiError(Box::new(e)))),
        };
        Some(self.execute(ctx, plan, client).await)
    }
}

/// Handlers of one connection.
struct Connection {
    service: Arc<DfSessionService>,
    startup: Arc<Startup>,
}

/// SCRAM authentication, after the check that the connection is encrypted when TLS is
/// required: a plain-text client is refused before it sends a password.
struct Startup {
    scram: SASLAuthStartupHandler<DefaultServerParameterProvider>,
    require_tls: bool,
}

#[async_trait]
impl StartupHandler for Startup {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: datafusion_postgres::pgwire::messages::PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo
            + futures::Sink<datafusion_postgres::pgwire::messages::PgWireBackendMessage>
            + Unpin
            + Send
            + Sync,
        C::Error: std::fmt::Debug,
        PgWireError: From<
            <C as futures::Sink<datafusion_postgres::pgwire::messages::PgWireBackendMessage>>::Error,
        >,
    {
        if self.require_tls && !client.is_secure() {
            return Err(PgWireError::UserError(Box::new(ErrorInfo::new(
                "FATAL".into(),
                "28000".into(),
                "this server requires TLS: connect with sslmode=require".into(),
            ))));
        }
        self.scram.on_startup(client, message).await
    }
}

impl PgWireServerHandlers for Connection {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        Arc::clone(&self.service)
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        Arc::clone(&self.service)
    }

    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        Arc::clone(&self.startup)
    }
}

/// How to serve.
pub struct Options {
    /// Address to listen on.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Users allowed to connect; at least one.
    pub users: Vec<User>,
    /// TLS, already checked.
    pub tls: Option<datafusion_postgres::pgwire::tokio::TlsAcceptor>,
    /// Refuse clients that do not use TLS, before they authenticate.
    pub require_tls: bool,
    /// Longest a statement may run.
    pub statement_timeout: Duration,
}

/// Serves `ctx` until `shutdown` completes.
pub async fn serve(
    ctx: Arc<SessionContext>,
    options: Options,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    if options.users.is_empty() {
        return Err(Error::Config(
            "no users: add at least one to serve.users (`ansinh serve --hash-password NAME`)"
                .into(),
        ));
    }
    datafusion_postgres::datafusion_pg_catalog::setup_pg_catalog(
        &ctx,
        "datafusion",
        datafusion_postgres::datafusion_pg_catalog::pg_catalog::context::EmptyContextProvider,
    )
    .map_err(|e| Error::Config(format!("pg_catalog: {e}")))?;
    let users = Arc::new(Users(
        options
            .users
            .iter()
            .map(|u| (u.name.clone(), u.clone()))
            .collect(),
    ));
    let hooks: Vec<Arc<dyn QueryHook>> = vec![
        Arc::new(ReadOnly {
            timeout: options.statement_timeout,
        }),
        Arc::new(SetShowHook),
        Arc::new(TransactionStatementHook),
    ];
    let service = Arc::new(DfSessionService::new_with_hooks(Arc::clone(&ctx), hooks));
    let address = format!("{}:{}", options.host, options.port);
    let listener = tokio::net::TcpListener::bind(&address)
        .await
        .map_err(|source| Error::Bind {
            address: address.clone(),
            source,
        })?;
    tracing::info!(
        address = %address,
        tls = options.tls.is_some(),
        "serving the warehouse over the Postgres protocol"
    );
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let (socket, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::warn!("accept: {e}");
                        continue;
                    }
                };
                let mut scram = ScramAuth::new(Arc::clone(&users) as Arc<dyn AuthSource>);
                scram.set_iterations(ITERATIONS);
                let startup = SASLAuthStartupHandler::new(Arc::new(
                    DefaultServerParameterProvider::default(),
                ))
                .with_scram(scram);
                let connection = Connection {
                    service: Arc::clone(&service),
                    startup: Arc::new(Startup {
                        scram: startup,
                        require_tls: options.require_tls,
                    }),
                };
                let tls = options.tls.clone();
                tokio::spawn(async move {
                    if let Err(e) = process_socket(socket, tls, connection).await {
                        tracing::debug!(peer = %peer, "connection ended: {e}");
                    }
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn settings_are_judged_from_the_parsed_statement_not_its_text() {
        use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
        use datafusion::sql::sqlparser::parser::Parser;
        let judged = |sql: &str| {
            let statement = Parser::parse_sql(&PostgreSqlDialect {}, sql)
                .unwrap()
                .remove(0);
            (setting(&statement), allowed(&statement))
        };
        for engine in [
            "SET datafusion.execution.batch_size = 1",
            "SET \"datafusion\".\"catalog\".\"default_schema\" = 'nowhere'",
            "SET \"runtime\".\"memory_limit\" = '1K'",
            "SET \"runtime\".\"temp_directory\" = '/tmp/x'",
            "RESET \"datafusion\".\"catalog\".\"default_schema\"",
        ] {
            assert_eq!(judged(engine), (Some(Setting::Engine), false), "{engine}");
        }
        for session in [
            "SET search_path = public",
            "SET \"DateStyle\" = 'ISO'",
            "SET statement_timeout = 1000",
            "SET TIME ZONE 'UTC'",
        ] {
            assert_eq!(judged(session), (Some(Setting::Session), true), "{session}");
        }
        assert_eq!(
            judged("SET client_min_messages = warning"),
            (Some(Setting::Ignored("SET")), true)
        );
        assert_eq!(judged("RESET ALL"), (Some(Setting::Ignored("RESET")), true));
        assert_eq!(judged("SELECT 1").0, None);
    }

    use super::*;

    #[test]
    fn user_lines_round_trip_and_refuse_users_without_a_hash() {
        let line = user_line("analyst", "s3cret", &[7u8; 16]);
        assert!(line.starts_with("analyst:scram-sha-256$4096$"));
        assert!(!line.contains("s3cret"));
        let user = User::parse(&line).unwrap();
        assert_eq!(user.name, "analyst");
        assert!(User::parse("analyst").is_err());
        assert!(User::parse("analyst:").is_err());
        assert!(User::parse("analyst:plaintext").is_err());
        assert!(User::parse("bad name:scram-sha-256$4096$00$00").is_err());
    }
}
