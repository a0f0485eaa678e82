"""Reading the log's events by position, for catch-up and for rendering audit records.

Equal to `select_notifications` followed by `Mapper.to_domain_event` (same classes, same
attributes, same cipher, compressor, transcoder, id conversion and upcasting), only cheaper:
on SQLite the rows are selected as plain tuples, and the event class, the id convertor and each
originator id are resolved once per reader instead of once per event. Catch-up reads every event
of the log, so this is most of what a replay costs.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from eventsourcing.persistence import (
    ApplicationRecorder, Mapper, MapperDeserialisationError, find_id_convertor,
    pass_through_convertor,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import resolve_topic

Row = tuple[int, Any, int, str, bytes]  # position, originator id, version, topic, state
_MAX_IDS = 100_000  # originator ids remembered


class LogReader:
    def __init__(self, recorder: ApplicationRecorder, mapper: Mapper) -> None:
        self.recorder, self.mapper = recorder, mapper
        self._sqlite = isinstance(recorder, SQLiteApplicationRecorder)
        self._classes: dict[str, tuple[type, int, str | None]] = {}
        self._convertors: dict[tuple[type, type], Callable[[Any], Any]] = {}
        self._ids: dict[Any, Any] = {}

    # ---- reading --------------------------------------------------------------------------
    def after(self, start: int, limit: int, stop: int | None = None,
              topics: Sequence[str] = ()) -> list[tuple[int, str, Any]]:
        """Up to `limit` events after position `start` (to `stop` inclusive), as
        (position, topic, event), in log order."""
        return [(row[0], row[3], event)
                for row, event in self._decode_all(self._rows_after(start, limit, stop, topics))]

    def at(self, positions: Iterable[int]) -> dict[int, Any]:
        """The events at the given positions (missing ones are left out)."""
        wanted = sorted(set(positions))
        if not wanted:
            return {}
        return {row[0]: event for row, event in self._decode_all(self._rows_at(wanted))}

    # ---- rows -----------------------------------------------------------------------------
    def _rows_after(self, start: int, limit: int, stop: int | None,
                    topics: Sequence[str]) -> list[Row]:
        if not self._sqlite:
            notes = self.recorder.select_notifications(start, limit, stop=stop, topics=topics,
                                                       inclusive_of_start=False)
            return [(n.id, n.originator_id, n.originator_version, n.topic, n.state)
                    for n in notes]
        sql = self._select + "WHERE rowid > ? "
        params: list[Any] = [start]
        if stop is not None:
            sql += "AND rowid <= ? "
            params.append(stop)
        if topics:
            sql += f"AND topic IN ({','.join('?' * len(topics))}) "
            params += topics
        return self._sqlite_rows(sql + "ORDER BY rowid LIMIT ?", [*params, limit])

    def _rows_at(self, positions: list[int]) -> list[Row]:
        if not self._sqlite:
            rows: list[Row] = []
            for position in positions:
                notes = self.recorder.select_notifications(position, 1, stop=position)
                rows += [(n.id, n.originator_id, n.originator_version, n.topic, n.state)
                         for n in notes]
            return rows
        rows = []
        for i in range(0, len(positions), 500):
            chunk = positions[i:i + 500]
            rows += self._sqlite_rows(self._select + f"WHERE rowid IN "
                                      f"({','.join('?' * len(chunk))}) ORDER BY rowid", chunk)
        return rows

    @property
    def _select(self) -> str:
        table = getattr(self.recorder, "events_table_name")
        return f"SELECT rowid, originator_id, originator_version, topic, state FROM {table} "

    def _sqlite_rows(self, sql: str, params: Sequence[Any]) -> list[Row]:
        datastore = getattr(self.recorder, "datastore")
        with datastore.transaction(commit=False) as cursor:
            raw = cursor.sqlite_cursor
            raw.row_factory = None  # plain tuples: no per-column lookups by name
            raw.execute(sql, params)
            return raw.fetchall()

    # ---- decoding, as Mapper.to_domain_event does ------------------------------------------
    def _decode_all(self, rows: list[Row]) -> list[tuple[Row, Any]]:
        if len(self._ids) > _MAX_IDS:
            self._ids.clear()
        mapper = self.mapper
        if mapper.cipher or mapper.compressor:
            return [(row, self._decode(row)) for row in rows]
        decode, classes, ids = mapper.transcoder.decode, self._classes, self._ids
        decoded = []
        for row in rows:
            position, stored_id, version, topic, state = row
            found = classes.get(topic)
            if found is None or found[2] is not None:
                decoded.append((row, self._decode(row)))
                continue
            try:
                event_state = decode(state)
            except Exception as error:
                raise self._undecodable(row, error) from error
            originator_id = ids.get(stored_id)
            if originator_id is None:
                originator_id = self._originator_id(found[0], stored_id)
            event_state["originator_id"] = originator_id
            event_state["originator_version"] = version
            if "class_version" in event_state:
                decoded.append((row, self._decode(row)))
                continue
            event: Any = object.__new__(found[0])
            object.__setattr__(event, "__dict__", event_state)
            decoded.append((row, event))
        return decoded

    def _decode(self, row: Row) -> Any:
        """One event, every step of the mapper (the general path)."""
        position, stored_id, version, topic, state = row
        cls, class_version, _ = self._class(topic)
        mapper = self.mapper
        try:
            if mapper.cipher:
                state = mapper.cipher.decrypt(state)
            if mapper.compressor:
                state = mapper.compressor.decompress(state)
            event_state: dict[str, Any] = mapper.transcoder.decode(state)
        except Exception as error:
            raise self._undecodable(row, error) from error
        event_state["originator_id"] = self._originator_id(cls, stored_id)
        event_state["originator_version"] = version
        from_version = event_state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(event_state)
            from_version += 1
        event: Any = object.__new__(cls)
        object.__setattr__(event, "__dict__", event_state)
        return event

    def _class(self, topic: str) -> tuple[type, int, str | None]:
        """(class, its class_version, why the fast path cannot take it or None)."""
        found = self._classes.get(topic)
        if found is None:
            cls = resolve_topic(topic)
            class_version = getattr(cls, "class_version", 1)
            slow = "upcasts" if class_version > 1 else None
            found = self._classes[topic] = (cls, class_version, slow)
        return found

    def _originator_id(self, cls: type, stored: Any) -> Any:
        """The stored id as the recorder and then the mapper convert it. A UUID passes every
        event class's convertor unchanged, so it is remembered for any class."""
        value = stored
        if self._sqlite and isinstance(stored, str):
            value = getattr(self.recorder, "convert_originator_id")(stored)
        kind = (cls, type(value))
        convertor = self._convertors.get(kind)
        if convertor is None:
            found = find_id_convertor(cls, type(value))  # type: ignore[arg-type]
            convertor = self._convertors[kind] = found
        if type(value) is not str:
            assert convertor is pass_through_convertor
            self._ids[stored] = value
            return value
        return convertor(value)

    @staticmethod
    def _undecodable(row: Row, error: Exception) -> MapperDeserialisationError:
        return MapperDeserialisationError(
            f"Failed to deserialise state of stored event with topic '{row[3]}', "
            f"originator_id '{row[1]}' and originator_version {row[2]}: {error}")
