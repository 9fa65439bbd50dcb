"""The few SQL expressions that SQLite and PostgreSQL spell differently.

Everything else the stores say is written once, in SQL both engines read the same way
(``is distinct from``, ``on conflict``, ``returning``, ``filter (where ...)``, ``true``). Each
database names its dialect (``database.dialect``); a statement asks it for these pieces.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Dialect:
    name: str

    def json_text(self, column: str, key: str) -> str:
        """A top-level field of a JSON column, as text (null when it is missing)."""
        if self.name == "postgresql":
            return f"({column} ->> '{key}')"
        return f"json_extract({column}, '$.{key}')"

    def with_json_text(self, column: str, key: str, value: str) -> str:
        """The JSON column with a top-level field set to the text ``value`` (an expression)."""
        if self.name == "postgresql":
            return f"jsonb_set({column}, '{{{key}}}', to_jsonb(cast({value} as text)))"
        return f"json_set({column}, '$.{key}', {value})"

    def seconds(self, later: str, earlier: str) -> str:
        """Seconds from the time ``earlier`` to ``later`` (either an expression or a column)."""
        if self.name == "postgresql":
            return f"extract(epoch from ({later}) - ({earlier}))"
        return f"(julianday({later}) - julianday({earlier})) * 86400"

    def json_array_of(self, value: str, where: str) -> str:
        """An aggregate: the rows' ``value`` where ``where`` holds, as a JSON array (``[]``
        when there are none)."""
        if self.name == "postgresql":
            return f"coalesce(json_agg({value}) filter (where {where}), '[]')"
        return f"json_group_array({value}) filter (where {where})"

    def shifted_date(self, column: str, seconds: int) -> str:
        """The date (``YYYY-MM-DD``) of a UTC time moved by ``seconds``: a local date."""
        if self.name == "postgresql":
            return f"cast(cast({column} + interval '{seconds:+d} seconds' as date) as text)"
        return f"date({column}, '{seconds:+d} seconds')"

    def monday(self, day: str) -> str:
        """The Monday of the ISO week of a ``YYYY-MM-DD`` date."""
        if self.name == "postgresql":
            return f"cast(cast(date_trunc('week', cast({day} as date)) as date) as text)"
        return f"date({day}, 'weekday 0', '-6 days')"

    def each_text(self, parameter: str) -> str:
        """A query of the elements of a JSON array of strings given as one parameter: any
        number of ids with a single placeholder."""
        if self.name == "postgresql":
            return f"select jsonb_array_elements_text(cast({parameter} as jsonb))"
        return f"select value from json_each({parameter})"

    @property
    def defer_foreign_keys(self) -> str:
        """The statement that lets this transaction write rows before those they refer to."""
        if self.name == "postgresql":
            return "set constraints all deferred"
        return "pragma defer_foreign_keys = on"

    @property
    def catch_up_ids(self) -> str | None:
        """After rows were written with explicit ids into ``{table}``: the statement that
        moves its id generator past them (SQLite's needs none)."""
        if self.name == "postgresql":
            return (
                "select setval(pg_get_serial_sequence('{table}', 'id'), "
                "(select coalesce(max(id), 0) + 1 from {table}), false)"
            )
        return None


SQLITE = Dialect("sqlite")
POSTGRES = Dialect("postgresql")
