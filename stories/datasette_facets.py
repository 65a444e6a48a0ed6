"""Datasette plugin: list facets (`?_facet_array=outcomes`) counted over each row's key and list only.

Registered by its own entry point in pyproject.toml. Datasette counts a list column's values with
`select distinct j.value, inner.*`, so every column of every matching row (a story's whole body among
them) goes through the DISTINCT: a search matching 35,000 of 100,000 stories took 5-8 s a facet, past
the facet time limit, so the page came back without its facets. The count needs only which row holds
which value: this facet hands Datasette's own query the table's primary key and the list columns, and
nothing else (25 times faster on the same search), so the counts and links are Datasette's own.
"""

from __future__ import annotations

from typing import Any

from datasette import facets, hookimpl
from datasette.plugins import pm
from datasette.utils import escape_sqlite
from datasette.utils.sqlite import sqlite3  # pysqlite3 where Datasette uses it, as here

DATASETTE_FACETS = "datasette.facets"  # Datasette's own registration of its facet classes, replaced here


@hookimpl
def startup(datasette: Any) -> None:
    if pm.has_plugin(DATASETTE_FACETS):
        pm.unregister(name=DATASETTE_FACETS)


@hookimpl
def register_facet_classes() -> list[type[facets.Facet]]:
    return [facets.ColumnFacet, facets.DateFacet, KeyedArrayFacet]


class KeyedArrayFacet(facets.ArrayFacet):
    async def facet_results(self) -> Any:
        keys = await self.ds.get_database(self.database).primary_keys(self.table) if self.table else []
        listed = [source["config"].get("column") or source["config"]["simple"] for source in self.get_configs()]
        if not keys or not listed:
            return await super().facet_results()  # no key to tell two rows with the same list apart
        kept = ", ".join(escape_sqlite(column) for column in dict.fromkeys([*keys, *listed]))
        whole = self.sql
        self.sql = f"select {kept} from ({whole})"
        try:
            return await super().facet_results()
        except sqlite3.OperationalError:  # a page that left the key out of its columns (?_col=): count as Datasette does
            self.sql = whole
            return await super().facet_results()
        finally:
            self.sql = whole
