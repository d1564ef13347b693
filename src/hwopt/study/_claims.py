"""Claims: several workers on one study never evaluate the same config twice.

Any number of ``hwopt search`` / ``hwopt resume`` processes (on one machine or many, sharing a
database URL) may run the same study. Before evaluating a config, a worker *claims* its hash: one
row per (study, config hash) in the table ``hwopt_claims`` beside Optuna's tables. The INSERT is
the atomic step — the database's primary key lets exactly one worker win. A claim is a lease:
each worker renews its claims from a background thread every ``LEASE_S / 3`` seconds, so the
claims of a killed worker lapse within ``LEASE_S`` and its unfinished configs can be claimed
again (by compare-and-set on the old expiry, so again by exactly one worker). Once a config's
trial is written its claim never lapses (``done``), so a worker that has not yet read that trial
cannot claim the config either.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid

from hwopt.errors import StudyError

#: seconds a claim stays valid without renewal
LEASE_S = 60.0
#: the expiry of a claim whose config is finished: never
DONE = 1e18


def worker_id() -> str:
    """This process, recognisably: host, pid and a random suffix (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Claims:
    """The claims of one worker on one study (see module docstring)."""

    def __init__(self, url: str, study_name: str, lease_s: float = LEASE_S):
        import sqlalchemy as sa

        self.study_name, self.lease_s, self.owner = study_name, lease_s, worker_id()
        kwargs = {}
        if url.startswith("sqlite:///"):  # the study's own fast, crash-safe SQLite settings
            from hwopt.study._study import _connect_sqlite

            path = url[len("sqlite:///"):]
            kwargs = {"creator": lambda: _connect_sqlite(path)}
        try:
            self._engine = sa.create_engine(url, **kwargs)
            meta = sa.MetaData()
            self._table = sa.Table(
                "hwopt_claims", meta,
                sa.Column("study", sa.String(512), primary_key=True),
                sa.Column("config_hash", sa.String(64), primary_key=True),
                sa.Column("owner", sa.String(256), nullable=False),
                sa.Column("expires", sa.Float, nullable=False),
            )
            try:
                meta.create_all(self._engine, checkfirst=True)
            except sa.exc.DatabaseError:  # another worker created it between check and create
                if not sa.inspect(self._engine).has_table("hwopt_claims"):
                    raise
        except Exception as exc:  # noqa: BLE001 - the storage is the user's
            raise StudyError(f"cannot keep claims in {url}: {str(exc).splitlines()[0]}") from None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def claim(self, config_hash: str) -> bool:
        """True when this worker may evaluate the config: it won the claim, or already held it."""
        import sqlalchemy as sa

        t = self._table
        now = time.time()
        key = (t.c.study == self.study_name) & (t.c.config_hash == config_hash)
        try:
            with self._engine.begin() as con:
                con.execute(t.insert().values(study=self.study_name, config_hash=config_hash, owner=self.owner,
                                              expires=now + self.lease_s))
            self._renew_in_background()
            return True
        except sa.exc.IntegrityError:
            pass
        with self._engine.begin() as con:
            row = con.execute(sa.select(t.c.owner, t.c.expires).where(key)).first()
            if row is None:  # released between the two statements: try once more
                return self.claim(config_hash)
            if row.owner == self.owner:
                return True
            if row.expires >= now:
                return False
            taken = con.execute(t.update().where(key & (t.c.expires == row.expires))
                                .values(owner=self.owner, expires=now + self.lease_s))
            return taken.rowcount == 1

    def done(self, config_hash: str) -> None:
        """The config's trial is in the study: its claim holds for good."""
        t = self._table
        with self._engine.begin() as con:
            con.execute(t.update().where((t.c.study == self.study_name) & (t.c.config_hash == config_hash)
                                         & (t.c.owner == self.owner)).values(expires=DONE))

    def finished_by_others(self) -> int:
        """How many configs other workers have finished (one cheap count: the study's trials
        need reading again only when it grows)."""
        import sqlalchemy as sa

        t = self._table
        with self._engine.connect() as con:
            return int(con.execute(sa.select(sa.func.count()).where(
                (t.c.study == self.study_name) & (t.c.owner != self.owner) & (t.c.expires >= DONE))).scalar())

    def _mine_open(self):
        t = self._table
        return (t.c.study == self.study_name) & (t.c.owner == self.owner) & (t.c.expires < DONE)

    def _renew(self) -> None:
        with self._engine.begin() as con:
            con.execute(self._table.update().where(self._mine_open()).values(expires=time.time() + self.lease_s))

    def _renew_in_background(self) -> None:
        if self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.wait(self.lease_s / 3):
                try:
                    self._renew()
                except Exception:  # noqa: BLE001 - a busy database: the next renewal will do
                    pass

        self._thread = threading.Thread(target=loop, name="hwopt-claims", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop renewing and release the claims of configs this worker did not finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        try:
            with self._engine.begin() as con:
                con.execute(self._table.delete().where(self._mine_open()))
        except Exception:  # noqa: BLE001 - unreleased claims lapse on their own
            pass
        self._engine.dispose()
