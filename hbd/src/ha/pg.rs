//! The PostgreSQL side of an HA pair: takes and renews the lease (one statement, the
//! database's clock deciding expiry), claims each message before it is sent with a
//! write fenced by the lease's epoch, and reads what the pair last told when this daemon
//! takes over; it writes what a daemon told on its own while coordination was down back
//! into that record, and gives the leader the rows the other daemon wrote so; and it
//! keeps the pair's shared queues: commands (`hbd_jobs`), so a command queued on
//! either daemon is sent by whichever leads, and acknowledgements (`hbd_acks`), so one
//! made on either holds on both. Every statement has a time limit; a lost connection is reconnected with
//! backoff, and nothing here ever blocks the engine (it talks to it through bounded
//! queues).

use std::time::Duration;

use tokio_postgres::{Client, NoTls};

use crate::alerting::Level;

/// One of the pair's shared queues: its table and the column holding each item.
#[derive(Debug)]
pub struct Queue {
    /// The table (one of the schema's; never from input).
    pub table: &'static str,
    /// The column with the item as JSON.
    pub body: &'static str,
}

/// Commands queued on either daemon.
pub const JOBS: Queue = Queue {
    table: "hbd_jobs",
    body: "job",
};

/// Acknowledgements made or taken back on either daemon.
pub const ACKS: Queue = Queue {
    table: "hbd_acks",
    body: "change",
};

/// The schema, created if missing (both daemons may race to create it: harmless).
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS hbd_lease (
    name text PRIMARY KEY,
    holder text NOT NULL,
    epoch bigint NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE SEQUENCE IF NOT EXISTS hbd_told_written;
CREATE TABLE IF NOT EXISTS hbd_told (
    shard text NOT NULL,
    host text NOT NULL,
    path text NOT NULL,
    level text NOT NULL,
    epoch bigint NOT NULL,
    holder text NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (shard, host, path)
);
ALTER TABLE hbd_told ADD COLUMN IF NOT EXISTS
    written bigint NOT NULL DEFAULT nextval('hbd_told_written');
CREATE INDEX IF NOT EXISTS hbd_told_by_written ON hbd_told (shard, written);
CREATE TABLE IF NOT EXISTS hbd_jobs (
    seq bigserial PRIMARY KEY,
    shard text NOT NULL,
    id text NOT NULL,
    job text NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (shard, id)
);
CREATE INDEX IF NOT EXISTS hbd_jobs_at ON hbd_jobs (shard, at);
CREATE TABLE IF NOT EXISTS hbd_acks (
    seq bigserial PRIMARY KEY,
    shard text NOT NULL,
    id text NOT NULL,
    change text NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (shard, id)
);
CREATE INDEX IF NOT EXISTS hbd_acks_at ON hbd_acks (shard, at);
CREATE TABLE IF NOT EXISTS hbd_sent (
    id bigserial PRIMARY KEY,
    shard text NOT NULL,
    holder text NOT NULL,
    epoch bigint NOT NULL,
    what text NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
";

/// Takes the lease if free or expired, renews it if ours; returns the epoch if we hold
/// it (a new holder gets the old epoch + 1).
const ACQUIRE: &str = "
INSERT INTO hbd_lease AS l (name, holder, epoch, expires_at)
VALUES ($1, $2, 1, now() + make_interval(secs => $3))
ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder,
    epoch = CASE WHEN l.holder = EXCLUDED.holder AND l.expires_at >= now()
                 THEN l.epoch ELSE l.epoch + 1 END,
    expires_at = EXCLUDED.expires_at
WHERE l.holder = EXCLUDED.holder OR l.expires_at < now()
RETURNING epoch";

/// Who holds the lease now.
const HOLDER: &str = "SELECT holder FROM hbd_lease WHERE name = $1";

/// Records what is about to be told, only while (holder, epoch) own an unexpired lease:
/// the fence. Returns one row per state recorded plus one for the log entry.
const CLAIM: &str = "
WITH lease AS (
    SELECT 1 FROM hbd_lease
    WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > now()
), told AS (
    INSERT INTO hbd_told AS t (shard, host, path, level, epoch, holder)
    SELECT $4, h, p, l, $3, $2 FROM unnest($5::text[], $6::text[], $7::text[]) AS x(h, p, l)
    WHERE EXISTS (SELECT 1 FROM lease)
    ON CONFLICT (shard, host, path) DO UPDATE
        SET level = EXCLUDED.level, epoch = EXCLUDED.epoch, holder = EXCLUDED.holder,
            at = now(), written = nextval('hbd_told_written')
    RETURNING 1
)
INSERT INTO hbd_sent (shard, holder, epoch, what)
SELECT $4, $2, $3, $8 WHERE EXISTS (SELECT 1 FROM lease)
RETURNING (SELECT count(*) FROM told)";

/// Writes what a daemon told on its own while coordination was down (epoch 0), each
/// state only over an older one: a telling replaces a row only if it is newer than
/// what the row holds (by the time told; the nodes' clocks and the database's are
/// assumed to agree within a second or so, as NTP keeps them).
const RECONCILE: &str = "
INSERT INTO hbd_told AS t (shard, host, path, level, epoch, holder, at)
SELECT $1, h, p, l, 0, $2, to_timestamp(ms / 1000.0)
FROM unnest($3::text[], $4::text[], $5::text[], $6::float8[]) AS x(h, p, l, ms)
ON CONFLICT (shard, host, path) DO UPDATE
    SET level = EXCLUDED.level, epoch = 0, holder = EXCLUDED.holder, at = EXCLUDED.at,
        written = nextval('hbd_told_written')
    WHERE t.at < EXCLUDED.at";

/// Gives the lease up (a clean stop): the standby takes over at its next renewal.
const RELEASE: &str =
    "UPDATE hbd_lease SET expires_at = now() WHERE name = $1 AND holder = $2 AND epoch = $3";

/// Rows of the pair's record: `(host, path or "", level)`, and the highest `written`
/// of the record seen with them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Told {
    /// The rows.
    pub rows: Vec<(String, String, Level)>,
    /// How far the record was written.
    pub written: i64,
}

/// Why a statement did not do its work.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// PostgreSQL refused or the connection broke.
    #[error("postgres: {0}")]
    Db(#[from] tokio_postgres::Error),
    /// No answer within the time limit.
    #[error("postgres did not answer within {0:?}")]
    Timeout(Duration),
}

/// One connection to the coordinator.
pub struct Db {
    client: Client,
    limit: Duration,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("limit", &self.limit).finish()
    }
}

async fn within<T>(
    limit: Duration,
    work: impl Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, PgError> {
    tokio::time::timeout(limit, work)
        .await
        .map_err(|_| PgError::Timeout(limit))?
        .map_err(PgError::Db)
}

impl Db {
    /// Connects with `conninfo` (libpq's `key=value` form or a `postgres://` URL) and
    /// makes the schema; every statement then gets `limit`.
    pub async fn connect(conninfo: &str, limit: Duration) -> Result<Db, PgError> {
        let (client, connection) = within(limit, tokio_postgres::connect(conninfo, NoTls)).await?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::warn!(%error, "coordination connection ended");
            }
        });
        // Two daemons creating the tables at once may collide once; the next statement
        // finds them made.
        if let Err(error) = within(limit, client.batch_execute(SCHEMA)).await {
            tracing::debug!(%error, "schema");
        }
        Ok(Db { client, limit })
    }

    /// Takes or renews lease `name` for `node` for `ttl`: `Some(epoch)` when ours,
    /// else `None`.
    pub async fn acquire(
        &self,
        name: &str,
        node: &str,
        ttl: Duration,
    ) -> Result<Option<i64>, PgError> {
        let rows = within(
            self.limit,
            self.client
                .query(ACQUIRE, &[&name, &node, &ttl.as_secs_f64()]),
        )
        .await?;
        Ok(rows.first().map(|r| r.get(0)))
    }

    /// The lease's holder.
    pub async fn holder(&self, name: &str) -> Result<Option<String>, PgError> {
        let row = within(self.limit, self.client.query_opt(HOLDER, &[&name])).await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Records `told` (host, path or "", level) and a log line `what`, fenced by the
    /// lease: `true` if this daemon still leads with `epoch`.
    pub async fn claim(
        &self,
        lease: &str,
        node: &str,
        epoch: i64,
        shard: &str,
        told: &[(String, String, Level)],
        what: &str,
    ) -> Result<bool, PgError> {
        let hosts: Vec<&str> = told.iter().map(|t| t.0.as_str()).collect();
        let paths: Vec<&str> = told.iter().map(|t| t.1.as_str()).collect();
        let levels: Vec<&str> = told.iter().map(|t| t.2.as_str()).collect();
        let rows = within(
            self.limit,
            self.client.query(
                CLAIM,
                &[
                    &lease, &node, &epoch, &shard, &hosts, &paths, &levels, &what,
                ],
            ),
        )
        .await?;
        Ok(!rows.is_empty())
    }

    /// What the pair last told, for shard `shard`, and how far the record has been
    /// written (see [`Db::told_since`]).
    pub async fn told(&self, shard: &str) -> Result<Told, PgError> {
        self.told_since(shard, "", 0).await
    }

    /// The rows of shard `shard`'s record written after `written` by a daemon other
    /// than `node` (`""`: every row), and how far the record has been written then.
    pub async fn told_since(&self, shard: &str, node: &str, written: i64) -> Result<Told, PgError> {
        let rows = within(
            self.limit,
            self.client.query(
                "SELECT host, path, level, written FROM hbd_told
                 WHERE shard = $1 AND written > $2 AND holder <> $3",
                &[&shard, &written, &node],
            ),
        )
        .await?;
        let mut told = Told {
            rows: Vec::with_capacity(rows.len()),
            written,
        };
        for r in &rows {
            told.written = told.written.max(r.get(3));
            if let Some(level) = Level::parse(r.get::<_, &str>(2)) {
                told.rows.push((r.get(0), r.get(1), level));
            }
        }
        Ok(told)
    }

    /// Writes into the record what this daemon told on its own while coordination was
    /// down: `(host, path or "", level, when in Unix ms)`, each only over an older row.
    pub async fn reconcile(
        &self,
        shard: &str,
        node: &str,
        told: &[(String, String, Level, f64)],
    ) -> Result<(), PgError> {
        let hosts: Vec<&str> = told.iter().map(|t| t.0.as_str()).collect();
        let paths: Vec<&str> = told.iter().map(|t| t.1.as_str()).collect();
        let levels: Vec<&str> = told.iter().map(|t| t.2.as_str()).collect();
        let at: Vec<f64> = told.iter().map(|t| t.3).collect();
        within(
            self.limit,
            self.client
                .execute(RECONCILE, &[&shard, &node, &hosts, &paths, &levels, &at]),
        )
        .await?;
        Ok(())
    }

    /// Adds items taken on this daemon to one of the pair's shared queues (one already
    /// there is left as it is): `(id, the item as JSON)`.
    pub async fn share(
        &self,
        queue: &Queue,
        shard: &str,
        items: &[(String, String)],
    ) -> Result<(), PgError> {
        let ids: Vec<&str> = items.iter().map(|j| j.0.as_str()).collect();
        let bodies: Vec<&str> = items.iter().map(|j| j.1.as_str()).collect();
        let statement = format!(
            "INSERT INTO {table} (shard, id, {body})
             SELECT $1, i, j FROM unnest($2::text[], $3::text[]) AS x(i, j)
             ON CONFLICT (shard, id) DO NOTHING",
            table = queue.table,
            body = queue.body
        );
        within(
            self.limit,
            self.client.execute(&statement, &[&shard, &ids, &bodies]),
        )
        .await?;
        Ok(())
    }

    /// A shared queue's items after position `seq`, oldest first, at most `limit`:
    /// `(position, the item as JSON)`.
    pub async fn after(
        &self,
        queue: &Queue,
        shard: &str,
        seq: i64,
        limit: i64,
    ) -> Result<Vec<(i64, String)>, PgError> {
        let statement = format!(
            "SELECT seq, {body} FROM {table} WHERE shard = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            table = queue.table,
            body = queue.body
        );
        let rows = within(
            self.limit,
            self.client.query(&statement, &[&shard, &seq, &limit]),
        )
        .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Removes a shared queue's items older than `age`, which can no longer matter;
    /// returns how many.
    pub async fn prune(&self, queue: &Queue, shard: &str, age: Duration) -> Result<u64, PgError> {
        let statement = format!(
            "DELETE FROM {table} WHERE shard = $1 AND at < now() - make_interval(secs => $2)",
            table = queue.table
        );
        within(
            self.limit,
            self.client
                .execute(&statement, &[&shard, &age.as_secs_f64()]),
        )
        .await
    }

    /// Gives the lease up.
    pub async fn release(&self, name: &str, node: &str, epoch: i64) -> Result<(), PgError> {
        within(
            self.limit,
            self.client.execute(RELEASE, &[&name, &node, &epoch]),
        )
        .await?;
        Ok(())
    }
}
