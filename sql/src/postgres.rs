//! The PostgreSQL backend: a connection owned by a thread of its own (a current-thread tokio
//! runtime), driven from synchronous code by messages; LISTEN on a second connection.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{AsyncMessage, Client, Statement};

use crate::leader::LeaderLock;
use crate::value::dollar_params;
use crate::{PgTarget, Row, SqlError, ToValue, Value, WRITE_LOCK};

/// How long a connection attempt may take.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A statement the server has not answered in this long is given up, and its connection
/// dropped (the server's own `statement_timeout` is 30 s; this covers a dead network).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(40);
/// Server settings for every connection: no statement or lock wait runs forever, and a
/// session left in a transaction by a vanished client is ended.
const SESSION_OPTIONS: &str = "-c statement_timeout=30000 -c lock_timeout=10000 \
     -c idle_in_transaction_session_timeout=60000";

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(n) => match *ty {
                Type::INT8 => n.to_sql(ty, out),
                Type::INT4 => i32::try_from(*n)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*n)?.to_sql(ty, out),
                Type::BOOL => (*n != 0).to_sql(ty, out),
                _ if is_text(ty) => n.to_string().as_str().to_sql(&Type::TEXT, out),
                _ => Err(format!("an integer cannot be bound to a {ty} parameter").into()),
            },
            Value::Text(s) => match *ty {
                _ if is_text(ty) => s.as_str().to_sql(&Type::TEXT, out),
                Type::INT8 => s.parse::<i64>()?.to_sql(ty, out),
                _ => Err(format!("a text cannot be bound to a {ty} parameter").into()),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn is_text(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN
    )
}

fn row_of(r: &tokio_postgres::Row) -> Result<Row, SqlError> {
    let mut out = Vec::with_capacity(r.len());
    for (i, col) in r.columns().iter().enumerate() {
        let bad = |e: tokio_postgres::Error| SqlError::Type {
            column: i,
            message: e.to_string(),
        };
        let ty = col.type_();
        let v = match *ty {
            Type::INT8 => r.try_get::<_, Option<i64>>(i).map_err(bad)?.map(Value::Int),
            Type::INT4 => r
                .try_get::<_, Option<i32>>(i)
                .map_err(bad)?
                .map(|n| Value::Int(n.into())),
            Type::INT2 => r
                .try_get::<_, Option<i16>>(i)
                .map_err(bad)?
                .map(|n| Value::Int(n.into())),
            Type::BOOL => r
                .try_get::<_, Option<bool>>(i)
                .map_err(bad)?
                .map(|b| Value::Int(b.into())),
            Type::OID => r
                .try_get::<_, Option<u32>>(i)
                .map_err(bad)?
                .map(|n| Value::Int(n.into())),
            _ if is_text(ty) => r
                .try_get::<_, Option<String>>(i)
                .map_err(bad)?
                .map(Value::Text),
            _ => {
                return Err(SqlError::Type {
                    column: i,
                    message: format!("type {ty} is not one of this schema's"),
                });
            }
        };
        out.push(v.unwrap_or(Value::Null));
    }
    Ok(Row(out))
}

/// A driver error as ours: the server's SQLSTATE and message, or the connection's trouble.
fn pg_error(target: &PgTarget, e: &tokio_postgres::Error) -> SqlError {
    if let Some(db) = e.as_db_error() {
        let mut message = format!("{}: {}", db.code().code(), db.message());
        if let Some(d) = db.detail() {
            message.push_str(&format!(" ({d})"));
        }
        return SqlError::Postgres {
            message,
            code: Some(db.code().code().to_string()),
        };
    }
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(&format!(": {s}"));
        source = s.source();
    }
    if e.is_closed() || message.contains("connection") || message.contains("timed out") {
        SqlError::Unavailable {
            target: target.to_string(),
            message,
        }
    } else {
        SqlError::Postgres {
            message,
            code: None,
        }
    }
}

/// Connect, and drive the connection in a task of the current runtime; NOTIFYs it receives
/// bump `notes`. The task ends when the connection does.
pub(crate) async fn connect(
    target: &PgTarget,
    notes: Option<Arc<AtomicU64>>,
) -> Result<(Client, JoinHandle<()>), SqlError> {
    let unavailable = |message: String| SqlError::Unavailable {
        target: target.to_string(),
        message,
    };
    let mut config = target.config.clone();
    config
        .connect_timeout(CONNECT_TIMEOUT)
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(5))
        .options(SESSION_OPTIONS);
    let attempt = async {
        match &target.tls {
            None => {
                let (client, conn) = config.connect(tokio_postgres::NoTls).await?;
                Ok::<_, tokio_postgres::Error>((client, tokio::spawn(drive(conn, notes))))
            }
            Some(tls) => {
                let tls = tokio_postgres_rustls::MakeRustlsConnect::new((**tls).clone());
                let (client, conn) = config.connect(tls).await?;
                Ok((client, tokio::spawn(drive(conn, notes))))
            }
        }
    };
    match tokio::time::timeout(CONNECT_TIMEOUT + Duration::from_secs(1), attempt).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(match pg_error(target, &e) {
            SqlError::Postgres { message, .. } => unavailable(message),
            other => other,
        }),
        Err(_) => Err(unavailable("no answer to the connection attempt".into())),
    }
}

async fn drive<S, T>(mut conn: tokio_postgres::Connection<S, T>, notes: Option<Arc<AtomicU64>>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        match std::future::poll_fn(|cx| conn.poll_message(cx)).await {
            Some(Ok(AsyncMessage::Notification(_))) => {
                if let Some(n) = &notes {
                    n.fetch_add(1, Ordering::AcqRel);
                }
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                tracing::debug!(error = %e, "PostgreSQL connection ended");
                return;
            }
            None => return,
        }
    }
}

pub(crate) enum Op {
    /// Connect if need be and check the server answers.
    Ping,
    Begin {
        write: bool,
    },
    Execute,
    Query,
    Batch,
}

pub(crate) enum Reply {
    Count(u64),
    Rows(Vec<Row>),
    Epoch(u64),
}

pub(crate) struct Job {
    op: Op,
    sql: String,
    params: Vec<Value>,
    /// The connection the transaction began on (0: none yet).
    epoch: u64,
    reply: Option<SyncSender<Result<Reply, SqlError>>>,
}

struct Worker {
    target: PgTarget,
    client: Option<Client>,
    /// Bumped at every new connection: a transaction's statements must all run on one.
    epoch: u64,
    statements: HashMap<String, Statement>,
}

impl Worker {
    async fn run(mut self, mut jobs: UnboundedReceiver<Job>) {
        while let Some(job) = jobs.recv().await {
            let answer = match tokio::time::timeout(ANSWER_TIMEOUT, self.handle(&job)).await {
                Ok(a) => a,
                Err(_) => {
                    self.client = None;
                    Err(SqlError::Unavailable {
                        target: self.target.to_string(),
                        message: format!("no answer in {ANSWER_TIMEOUT:?}"),
                    })
                }
            };
            if let Err(e) = &answer {
                if e.is_unavailable() || self.client.as_ref().is_some_and(Client::is_closed) {
                    self.client = None;
                }
            }
            if let Some(reply) = job.reply {
                let _ = reply.send(answer);
            }
        }
    }

    async fn connected(&mut self) -> Result<&Client, SqlError> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            let (client, _driver) = connect(&self.target, None).await?;
            self.client = Some(client);
            self.epoch += 1;
            self.statements.clear();
        }
        self.client.as_ref().ok_or_else(|| SqlError::Unavailable {
            target: self.target.to_string(),
            message: "not connected".into(),
        })
    }

    async fn handle(&mut self, job: &Job) -> Result<Reply, SqlError> {
        let target = self.target.clone();
        let err = |e: tokio_postgres::Error| pg_error(&target, &e);
        match job.op {
            Op::Ping => {
                let c = self.connected().await?;
                c.simple_query("SELECT 1").await.map_err(err)?;
                Ok(Reply::Count(0))
            }
            Op::Begin { write } => {
                let c = self.connected().await?;
                let sql = if write {
                    format!(
                        "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock({WRITE_LOCK})"
                    )
                } else {
                    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY".to_string()
                };
                if let Err(e) = c.batch_execute(&sql).await {
                    // A lock wait that timed out leaves the transaction aborted: end it here,
                    // since no session will.
                    let _ = c.batch_execute("ROLLBACK").await;
                    return Err(err(e));
                }
                Ok(Reply::Epoch(self.epoch))
            }
            Op::Execute | Op::Query | Op::Batch => {
                if job.epoch != self.epoch || self.client.as_ref().is_none_or(Client::is_closed) {
                    return Err(SqlError::Unavailable {
                        target: target.to_string(),
                        message: "the connection was lost during the transaction".into(),
                    });
                }
                let Some(client) = self.client.as_ref() else {
                    return Err(SqlError::Unavailable {
                        target: target.to_string(),
                        message: "not connected".into(),
                    });
                };
                if let Op::Batch = job.op {
                    client.batch_execute(&job.sql).await.map_err(err)?;
                    return Ok(Reply::Count(0));
                }
                let stmt = match self.statements.get(&job.sql) {
                    Some(s) => s.clone(),
                    None => {
                        let s = client
                            .prepare(&dollar_params(&job.sql))
                            .await
                            .map_err(err)?;
                        self.statements.insert(job.sql.clone(), s.clone());
                        s
                    }
                };
                let params: Vec<&(dyn ToSql + Sync)> = job
                    .params
                    .iter()
                    .map(|v| v as &(dyn ToSql + Sync))
                    .collect();
                if let Op::Execute = job.op {
                    Ok(Reply::Count(
                        client.execute(&stmt, &params).await.map_err(err)?,
                    ))
                } else {
                    let rows = client.query(&stmt, &params).await.map_err(err)?;
                    Ok(Reply::Rows(
                        rows.iter().map(row_of).collect::<Result<_, _>>()?,
                    ))
                }
            }
        }
    }
}

/// A PostgreSQL store connection (see the crate docs).
pub(crate) struct Pg {
    jobs: UnboundedSender<Job>,
    runtime: tokio::runtime::Handle,
    target: PgTarget,
    /// One transaction at a time on the connection.
    session: Mutex<()>,
}

impl Pg {
    pub(crate) fn connect(target: &PgTarget) -> Result<Pg, SqlError> {
        let unavailable = |message: String| SqlError::Unavailable {
            target: target.to_string(),
            message,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| unavailable(format!("cannot start its runtime: {e}")))?;
        let handle = runtime.handle().clone();
        let (jobs, rx) = unbounded_channel();
        let worker = Worker {
            target: target.clone(),
            client: None,
            epoch: 0,
            statements: HashMap::new(),
        };
        std::thread::Builder::new()
            .name("pg-store".into())
            .spawn(move || runtime.block_on(worker.run(rx)))
            .map_err(|e| unavailable(format!("cannot start its thread: {e}")))?;
        let pg = Pg {
            jobs,
            runtime: handle,
            target: target.clone(),
            session: Mutex::new(()),
        };
        pg.call(Op::Ping, "", &[], 0)?;
        Ok(pg)
    }

    pub(crate) fn target(&self) -> &PgTarget {
        &self.target
    }

    fn call(
        &self,
        op: Op,
        sql: &str,
        params: &[&dyn ToValue],
        epoch: u64,
    ) -> Result<Reply, SqlError> {
        let (reply, answer) = sync_channel(1);
        let job = Job {
            op,
            sql: sql.to_string(),
            params: params.iter().map(|p| p.to_value()).collect(),
            epoch,
            reply: Some(reply),
        };
        let gone = || SqlError::Unavailable {
            target: self.target.to_string(),
            message: "its connection thread stopped".into(),
        };
        self.jobs.send(job).map_err(|_| gone())?;
        answer.recv().map_err(|_| gone())?
    }

    pub(crate) fn begin(&self, write: bool) -> Result<Session<'_>, SqlError> {
        let guard = self.session.lock().unwrap_or_else(|p| p.into_inner());
        match self.call(Op::Begin { write }, "", &[], 0)? {
            Reply::Epoch(epoch) => Ok(Session {
                pg: self,
                _guard: guard,
                epoch,
                open: true,
            }),
            _ => Err(SqlError::Unavailable {
                target: self.target.to_string(),
                message: "unexpected answer to BEGIN".into(),
            }),
        }
    }

    pub(crate) fn listen(&self, channel: &str) -> Listener {
        let count = Arc::new(AtomicU64::new(0));
        let connected = Arc::new(AtomicBool::new(false));
        let task = self.runtime.spawn(listen_loop(
            self.target.clone(),
            channel.to_string(),
            count.clone(),
            connected.clone(),
        ));
        Listener {
            count,
            seen: 0,
            connected,
            task,
            _keep: self.jobs.clone(),
        }
    }

    pub(crate) fn leader_lock(&self, key: i64) -> LeaderLock {
        LeaderLock::start(&self.runtime, self.target.clone(), key, self.jobs.clone())
    }
}

/// An open transaction on a [`Pg`] connection; rolled back when dropped uncommitted.
pub(crate) struct Session<'a> {
    pg: &'a Pg,
    _guard: MutexGuard<'a, ()>,
    epoch: u64,
    open: bool,
}

impl Session<'_> {
    pub(crate) fn execute(&self, sql: &str, params: &[&dyn ToValue]) -> Result<u64, SqlError> {
        match self.pg.call(Op::Execute, sql, params, self.epoch)? {
            Reply::Count(n) => Ok(n),
            _ => Ok(0),
        }
    }

    pub(crate) fn query(&self, sql: &str, params: &[&dyn ToValue]) -> Result<Vec<Row>, SqlError> {
        match self.pg.call(Op::Query, sql, params, self.epoch)? {
            Reply::Rows(r) => Ok(r),
            _ => Ok(Vec::new()),
        }
    }

    pub(crate) fn batch(&self, sql: &str) -> Result<(), SqlError> {
        self.pg.call(Op::Batch, sql, &[], self.epoch).map(drop)
    }

    pub(crate) fn commit(mut self) -> Result<(), SqlError> {
        self.open = false;
        self.batch("COMMIT")
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        if self.open {
            // Queued before any later transaction's BEGIN; its answer is not waited for.
            let _ = self.pg.jobs.send(Job {
                op: Op::Batch,
                sql: "ROLLBACK".into(),
                params: Vec::new(),
                epoch: self.epoch,
                reply: None,
            });
        }
    }
}

/// Sees `NOTIFY` on a channel from any connection to the store (LISTEN on a connection of its
/// own, made anew when it breaks: a reconnection also counts as a change, since notifications
/// may have been missed meanwhile).
pub struct Listener {
    count: Arc<AtomicU64>,
    seen: u64,
    connected: Arc<AtomicBool>,
    task: JoinHandle<()>,
    /// Keeps the connection thread running while this lives.
    _keep: UnboundedSender<Job>,
}

impl Listener {
    /// Whether a notification came (or the listening connection was made anew) since the last
    /// call.
    pub fn changed(&mut self) -> bool {
        let now = self.count.load(Ordering::Acquire);
        let changed = now != self.seen;
        self.seen = now;
        changed
    }

    /// Whether the listening connection is up now.
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `channel` as a quoted identifier.
fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

async fn listen_loop(
    target: PgTarget,
    channel: String,
    count: Arc<AtomicU64>,
    connected: Arc<AtomicBool>,
) {
    let mut failing = false;
    loop {
        match connect(&target, Some(count.clone())).await {
            Ok((client, driver)) => {
                match client
                    .batch_execute(&format!("LISTEN {}", quote_ident(&channel)))
                    .await
                {
                    Ok(()) => {
                        failing = false;
                        connected.store(true, Ordering::Release);
                        count.fetch_add(1, Ordering::AcqRel);
                        let _ = driver.await;
                        drop(client);
                        connected.store(false, Ordering::Release);
                        count.fetch_add(1, Ordering::AcqRel);
                        tracing::warn!(%channel, "lost the PostgreSQL LISTEN connection; reconnecting");
                    }
                    Err(e) => {
                        tracing::warn!(%channel, error = %pg_error(&target, &e), "cannot LISTEN")
                    }
                }
            }
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(%channel, error = %e, "cannot connect to LISTEN");
            }
            Err(_) => {}
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Run `sql` (statements separated by `;`) outside any transaction, on a connection made for
/// it (`CREATE DATABASE`, `DROP DATABASE`, `pg_terminate_backend`: what a transaction cannot
/// hold). Callable from any thread, async or not.
pub fn run_once(target: &PgTarget, sql: &str) -> Result<(), SqlError> {
    let (target, sql) = (target.clone(), sql.to_string());
    let work = move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| SqlError::Unavailable {
                target: target.to_string(),
                message: format!("cannot start a runtime: {e}"),
            })?;
        runtime.block_on(async {
            let (client, _driver) = connect(&target, None).await?;
            client
                .batch_execute(&sql)
                .await
                .map_err(|e| pg_error(&target, &e))
        })
    };
    std::thread::spawn(work).join().unwrap_or_else(|_| {
        Err(SqlError::Config(
            "the PostgreSQL helper thread panicked".into(),
        ))
    })
}
