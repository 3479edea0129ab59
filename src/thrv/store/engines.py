"""One store interface, several engines: a DuckDB file, a folder of Parquet, a Spark session.

Analysis never asks which engine holds the data. It asks an open store for an Ibis
connection (:meth:`ibis`), reads the tables it needs through it, and lets Ibis compile the
expressions to the engine's SQL. A store for reading is any object with:

* ``engine``: ``"duckdb"``, ``"parquet"``, ``"spark"`` or ``"ibis"``;
* ``ibis()``: an Ibis backend whose tables are the store's tables (``crimes``, ``ref_lsoa``, ...);
* ``tables()``: their names;
* ``close()`` (and use as a context manager).

:class:`~thrv.store.database.Store` (the embedded DuckDB file, the only engine that is
written to: ingest is transactional there) is one; this module adds the others and
:func:`connect`, which picks one from a ``--db`` value, a path, a URI, a ``SparkSession``
or an Ibis connection. The interface is modelled on Splink's ``DatabaseAPI``: a few
methods, one implementation per engine, every dialect quirk kept here.

URIs (see docs/scale.md)::

    force.duckdb  |  duckdb:///abs/force.duckdb     the DuckDB file (the default engine)
    parquet:///abs/dir                               a folder written by ``thrv export``,
                                                     read by DuckDB in memory
    spark://local[2]?path=/abs/dir                   Spark (local, 2 cores) over that folder
    spark://host:7077?path=/abs/dir                  a standalone cluster's master
    spark://yarn?path=hdfs:///thrv                   any master Spark knows (yarn, k8s://...)
    spark://?database=thrv                           the session's catalogue (Delta, Iceberg
                                                     or Hive tables registered there)

Extra ``spark.*`` query parameters are Spark settings, e.g. ``&spark.executor.memory=4g``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import unquote

if TYPE_CHECKING:
    from thrv.store.database import Store

#: the manifest ``thrv export`` writes at the top of a Parquet store
MANIFEST = "_thrv.json"

ENGINES = ("duckdb", "parquet", "spark")


@runtime_checkable
class ReadStore(Protocol):
    """What analysis needs from a store, whatever engine holds it."""

    engine: str

    def ibis(self) -> Any: ...

    def tables(self) -> list[str]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Any: ...

    def __exit__(self, *exc: object) -> None: ...


class EngineError(Exception):
    """A ``--db`` value names no usable store (bad URI, missing folder, missing engine)."""


@dataclass(frozen=True)
class Target:
    """A parsed ``--db`` value."""

    engine: str  # duckdb, parquet, spark
    path: str = ""  # the DuckDB file, the Parquet folder, or Spark's table location
    master: str = ""  # Spark's master URL ("" = whatever the session or spark-submit says)
    database: str = ""  # Spark: read tables from this catalogue database
    conf: Mapping[str, str] = field(default_factory=dict)  # Spark settings

    def describe(self) -> str:
        if self.engine == "spark":
            where = f"path={self.path}" if self.path else f"database={self.database or 'current'}"
            return f"spark://{self.master_text()}?{where}"
        return f"{self.engine}:{self.path}" if self.engine != "duckdb" else self.path

    def master_text(self) -> str:
        return self.master.removeprefix("spark://")


_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*)://(.*)$", re.IGNORECASE)


def parse_target(text: str | os.PathLike[str]) -> Target:
    """Read a ``--db`` value: a path (a DuckDB file) or one of the URIs in the module docstring.

    Parsed by hand rather than with ``urllib``: a Spark master such as ``local[2]`` is not a
    valid URL host. Percent-encoding is decoded (``%20`` a space, ``%26`` an ``&`` inside a
    ``path=``).
    """
    raw = os.fspath(text)
    match = _SCHEME.match(raw)
    if not match:
        if raw.lower().startswith(("parquet:", "spark:", "duckdb:")):
            raise EngineError(f"{raw}: write the URI with '//' after the scheme, e.g. parquet:///data/thrv")
        return Target("duckdb", raw)
    scheme, rest = match.group(1).lower(), match.group(2)
    if scheme in {"duckdb", "parquet"}:
        if "?" in rest:
            raise EngineError(f"{raw}: {scheme}: URIs take no options")
        path = unquote(rest)
        if not path:
            raise EngineError(f"{raw}: no path; e.g. {scheme}:///data/thrv{'.duckdb' if scheme == 'duckdb' else ''}")
        return Target(scheme, path)
    if scheme == "spark":
        master, _, query = rest.partition("?")
        # split by hand, not parse_qsl: a '+' in a path is a plus, not a space
        options = {unquote(k): unquote(v) for k, _, v in (p.partition("=") for p in query.split("&") if p)}
        conf = {k: v for k, v in options.items() if k.startswith("spark.")}
        unknown = sorted(set(options) - set(conf) - {"path", "database"})
        if unknown:
            raise EngineError(f"{raw}: unknown option(s) {', '.join(unknown)}; use path=, database= or spark.* settings")
        path, database = options.get("path", ""), options.get("database", "")
        if path and database:
            raise EngineError(f"{raw}: give path= (a folder of Parquet tables) or database= (the catalogue), not both")
        master = unquote(master.rstrip("/"))
        if master and not master.startswith(("local", "yarn", "k8s://", "mesos://")):
            master = "spark://" + master  # a standalone cluster: host:port
        return Target("spark", path, master, database, conf)
    raise EngineError(f"{raw}: unknown engine {scheme!r}; use a DuckDB file path, duckdb://, parquet:// or spark://")


def connect(target: Any, read_only: bool = True, **spark_options: Any) -> Any:
    """An open store for ``target``: a ``--db`` value (path or URI), a ``SparkSession``, an
    Ibis connection, or a store already open (returned as it is).

    ``read_only=False`` opens a DuckDB file for writing (ingest); the other engines are
    read-only and refuse it. ``spark_options`` (``path=``, ``database=``) apply when
    ``target`` is a ``SparkSession``.
    """
    if isinstance(target, ReadStore):
        return target
    if _is_spark_session(target):
        return SparkStore(session=target, **spark_options)
    if _is_ibis_backend(target):
        return IbisStore(target)
    if not isinstance(target, str | os.PathLike):
        raise EngineError(f"cannot read a store from {type(target).__name__}; give a path, a URI, a SparkSession or an Ibis connection")
    parsed = parse_target(target)
    if parsed.engine == "duckdb":
        from thrv.store.database import Store

        if read_only and not Path(parsed.path).exists():
            raise EngineError(f"{parsed.path}: no such store; run `thrv ingest PATH --db {parsed.path}` first")
        return Store(parsed.path, read_only=read_only)
    if not read_only:
        raise EngineError(
            f"{parsed.describe()}: {parsed.engine} stores are read-only; ingest into a DuckDB file "
            "and copy it with `thrv export --to parquet:///DIR`"
        )
    if parsed.engine == "parquet":
        return ParquetStore(parsed.path)
    return SparkStore(path=parsed.path or None, master=parsed.master or None,
                      database=parsed.database or None, conf=dict(parsed.conf))


def _is_spark_session(obj: Any) -> bool:
    return type(obj).__name__ == "SparkSession" and type(obj).__module__.startswith("pyspark")


def _is_ibis_backend(obj: Any) -> bool:
    try:
        from ibis.backends import BaseBackend
    except ImportError:  # pragma: no cover - ibis is a core dependency
        return False
    return isinstance(obj, BaseBackend)


def parquet_tables(root: Path) -> dict[str, Path]:
    """Table name -> folder: every folder under ``root`` holding Parquet files."""
    if not root.is_dir():
        raise EngineError(f"{root}: no such folder (write one with `thrv export --db FILE --to parquet://{root}`)")
    tables = {}
    for child in sorted(root.iterdir()):
        if child.is_dir() and not child.name.startswith(("_", ".")) and next(child.rglob("*.parquet"), None):
            tables[child.name] = child
    if not tables:
        raise EngineError(f"{root}: no Parquet tables in this folder (write them with `thrv export`)")
    return tables


class _Reader:
    """Context-manager plumbing shared by the read-only engines."""

    engine = ""

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class ParquetStore(_Reader):
    """A folder of Parquet tables (``thrv export``'s layout), read by DuckDB in memory.

    Each table is a view over every Parquet file under its folder. The partition columns
    (force, and month if the export made month folders) are also inside the files, so the
    views read typed values from the files themselves (no partition-name parsing), and
    DuckDB skips the files and row groups whose statistics rule them out of a month or
    force filter (``thrv export`` writes rows in month order, so row groups hold runs of
    months).
    """

    engine = "parquet"

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        import duckdb

        self.path = str(path)
        self._tables = parquet_tables(Path(path))
        self.con = duckdb.connect(":memory:")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        for name, folder in self._tables.items():
            glob = str(folder / "**" / "*.parquet").replace("'", "''")
            self.con.execute(
                f'CREATE VIEW "{name}" AS SELECT * FROM read_parquet(\'{glob}\', hive_partitioning = false, union_by_name = true)'
            )

    def ibis(self) -> Any:
        """An Ibis backend on a fresh cursor (a cursor per thread, as for the DuckDB file)."""
        import ibis

        return ibis.duckdb.from_connection(self.con.cursor())

    def tables(self) -> list[str]:
        return list(self._tables)

    def close(self) -> None:
        self.con.close()


#: Spark settings thrv uses unless told otherwise: quiet, UTC, Arrow for results, and (on a
#: local master only) few shuffle partitions: thrv's results are small, and Spark's default
#: of 200 makes a local job spend most of its time scheduling empty tasks
SPARK_SQL_DEFAULTS = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
SPARK_DEFAULTS = {**SPARK_SQL_DEFAULTS, "spark.ui.showConsoleProgress": "false"}
SPARK_LOCAL_DEFAULTS = {"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "4"}


class SparkStore(_Reader):
    """Tables read by Spark: from a folder of Parquet tables (``path``), or from the
    session's catalogue (``database``, or the current database when neither is given).

    With ``path``, the tables are temporary views in a session of their own
    (``SparkSession.newSession()``: same cluster, separate views), so two stores in one
    process never see each other's tables. Partition discovery gives Spark the force and
    month folders, so a filter on them reads only the folders it needs.

    The Spark session is stopped on :meth:`close` only when this store started it.
    """

    engine = "spark"

    def __init__(
        self,
        session: Any | None = None,
        path: str | Path | None = None,
        master: str | None = None,
        database: str | None = None,
        conf: Mapping[str, str] | None = None,
    ) -> None:
        try:
            from pyspark import SparkContext
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise EngineError("the Spark engine needs pyspark and Java: pip install 'thrv[spark]' (see docs/scale.md)") from exc
        self.path = str(path) if path else ""
        self.database = database or ""
        self._owns = False
        if session is None:
            self._owns = SparkContext._active_spark_context is None
            builder = SparkSession.builder.appName("thrv")
            local = master is None or master.startswith("local")
            settings = {**SPARK_DEFAULTS, **(SPARK_LOCAL_DEFAULTS if local else {}), **(conf or {})}
            if master:
                builder = builder.master(master)
            for key, value in settings.items():
                builder = builder.config(key, value)
            try:
                session = builder.getOrCreate()
            except Exception as exc:  # no Java, a master that does not answer, ...
                raise EngineError(f"cannot start Spark ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from exc
            if self._owns:
                session.sparkContext.setLogLevel("ERROR")
        self._root = session
        if self.path:
            local_path = not re.match(r"^[a-z][a-z0-9+.-]*:", self.path)
            folders = (
                {n: str(p) for n, p in parquet_tables(Path(self.path)).items()} if local_path
                else {n: f"{self.path.rstrip('/')}/{n}" for n in self._remote_tables(session)}
            )
            self.session = session.newSession()
            for key, value in SPARK_SQL_DEFAULTS.items():
                self.session.conf.set(key, value)
            for name, folder in folders.items():
                self.session.read.parquet(folder).createOrReplaceTempView(name)
            self._tables = sorted(folders)
        else:
            self.session = session
            if self.database:
                self.session.catalog.setCurrentDatabase(self.database)
            self._tables = []
        import ibis

        self._backend = ibis.pyspark.connect(self.session)

    def _remote_tables(self, session: Any) -> list[str]:
        """Table folders under a path Spark reads but this machine cannot list (hdfs://, s3a://)."""
        jvm = session.sparkContext._jvm
        hadoop_path = jvm.org.apache.hadoop.fs.Path(self.path)
        fs = hadoop_path.getFileSystem(session.sparkContext._jsc.hadoopConfiguration())
        names = [s.getPath().getName() for s in fs.listStatus(hadoop_path) if s.isDirectory()]
        return sorted(n for n in names if not n.startswith(("_", ".")))

    def ibis(self) -> Any:
        return self._backend

    def tables(self) -> list[str]:
        return list(self._tables) if self._tables else sorted(self._backend.list_tables())

    def close(self) -> None:
        if self.path:
            for name in self._tables:
                self.session.catalog.dropTempView(name)
        if self._owns:
            self._root.stop()
            self._owns = False


class IbisStore(_Reader):
    """An Ibis connection the caller opened (any backend whose tables are thrv's)."""

    engine = "ibis"

    def __init__(self, backend: Any) -> None:
        self._backend = backend

    def ibis(self) -> Any:
        return self._backend

    def tables(self) -> list[str]:
        return sorted(self._backend.list_tables())

    def close(self) -> None:
        """The caller opened the connection; the caller closes it."""


def engine_of(store: Store | ReadStore) -> str:
    return str(getattr(store, "engine", "duckdb"))
