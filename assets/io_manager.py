"""An IO manager that keeps one pickle per asset partition, so one run may read and write many partitions.

Dagster's filesystem IO manager refuses an output that covers several partitions; a single-run backfill makes
exactly such outputs. Here every asset value is a mapping partition key → value: written as one file per
partition (so a later single-partition run reads it back), read back as a mapping of the partitions the step
asked for, lazily (`StoredPartitionValues`: a step over a month's 514 cities holds one city's value of each input
at a time, not all of them). Files live under the Dagster instance's storage folder, which every executor process
of one deployment shares (Celery workers on other machines need it on shared storage, as with fs_io_manager).

A value with a `light()` method (an ingest result: `IngestResult.light`) is also kept light, in a second file
beside it; an input declared with `light_input` reads that one, through the same store bound as the input manager
`light_values` (the steps after staging need where rows came from, not the delivered values, and read each raw
partition three times). A light copy is sealed with its value's own id (`sealed_id`: the full blob's fresh nonce)
in its context, so it opens only beside the very value it was made from: a copy left by a failed write, or by
another run writing the same partition at the same time, does not open, and the full value is read instead. The
light file is also removed before the full value is replaced, so a failed write leaves none.

Values hold what ingestion delivered (personal data included), so each file is encrypted at rest with the raw
zone's key (`kotacerdas.encryption`, KOTACERDAS_STORAGE_KEY); a value stored in clear is never read back. Its
errors pass `scrubbed_failures`, as the assets' do (Dagster stores them in the event log).
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO

import dagster as dg

from assets.failures import scrubbed_failures
from kotacerdas.encryption import HEADER_BYTES, SealedDataError, StorageKeys, seal, sealed_id, storage_keys, unseal
from kotacerdas.storage_errors import storage_failure

LIGHT_VALUES = "light_values"  # the input manager that reads light copies (pipelines/definitions.py binds it)


def light_input(asset: str) -> dg.AssetIn:
    """An input that reads the light copy of `asset`'s values (see the module's docstring)."""
    return dg.AssetIn(asset, input_manager_key=LIGHT_VALUES)


class PartitionedPickleIOManager(dg.IOManager):
    def __init__(self, base_dir: Path, light: bool = False):
        self.base_dir = base_dir
        self.light = light  # as an input manager: read light copies where there are

    def _path(self, asset_key: dg.AssetKey, partition_key: str | None, light: bool = False) -> Path:
        folder = self.base_dir.joinpath(*asset_key.path)
        suffix = ".light.pickle" if light else ".pickle"
        if partition_key is None:
            return folder / f"value{suffix}"
        # "19.71|2026-01" → 19.71/2026-01.pickle: one folder per city, readable in a shell
        return folder.joinpath(*partition_key.split("|")).with_suffix(suffix)

    def _context(self, asset_key: dg.AssetKey, partition_key: str | None, light_of: str | None = None) -> str:
        """What the encryption authenticates with a value: a file moved to another asset or partition fails; a
        light copy names the sealed value it was made from (`light_of`, its `sealed_id`)."""
        light = f" light of {light_of}" if light_of is not None else ""
        return f"value {asset_key.to_user_string()} {partition_key or '-'}{light}"

    def _keys(self, context: dg.InputContext | dg.OutputContext) -> list[str | None]:
        return list(context.asset_partition_keys) if context.has_asset_partitions else [None]

    @scrubbed_failures
    def handle_output(self, context: dg.OutputContext, obj: Mapping) -> None:
        keys = self._keys(context)
        if not isinstance(obj, Mapping) or set(obj) != set(keys):
            raise TypeError(
                f"{context.asset_key.to_user_string()} must return a mapping of its partition keys "
                f"{keys} to values; got {type(obj).__name__}"
                f"{' with keys ' + str(sorted(obj)) if isinstance(obj, Mapping) else ''}"
            )
        for key in keys:
            value = obj[key]
            light = value.light() if callable(getattr(value, "light", None)) else None
            path = self._path(context.asset_key, key)
            try:
                if light is not None:  # a failed write leaves no light copy (see the module's docstring)
                    self._path(context.asset_key, key, light=True).unlink(missing_ok=True)
                blob = self._sealed(value, context.asset_key, key)
                self._write(path, blob)
                if light is not None:
                    path = self._path(context.asset_key, key, light=True)
                    self._write(path, self._sealed(light, context.asset_key, key, light_of=sealed_id(blob)))
            except OSError as exc:
                failure = storage_failure(exc, f"Dagster's value store at {self.base_dir}", path)
                if failure is not None:
                    raise failure from exc
                raise

    def _sealed(self, value: object, asset_key: dg.AssetKey, key: str | None, light_of: str | None = None) -> bytes:
        return seal(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), self._context(asset_key, key, light_of))

    @staticmethod
    def _write(path: Path, blob: bytes) -> None:
        # A unique temporary file, then an atomic rename: a crash mid-write never leaves a truncated value, and
        # two runs writing the same partition at once (a sensor run and a backfill) never share a file.
        def temporary() -> IO[bytes]:
            return tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp", delete=False)

        try:
            temp = temporary()
        except FileNotFoundError:  # the folder is made when missing, not checked before every write (#15)
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = temporary()
        with temp as fh:
            try:
                fh.write(blob)
            except OSError:
                Path(fh.name).unlink(missing_ok=True)  # no half-written temporary file left on a full disk
                raise
        os.replace(fh.name, path)

    @scrubbed_failures
    def load_input(self, context: dg.InputContext) -> StoredPartitionValues:
        paths = {key: self._path(context.asset_key, key) for key in self._keys(context)}
        for key, path in paths.items():  # a missing partition fails the step before it starts, as it always did
            if not path.exists():
                raise FileNotFoundError(
                    f"no stored value of {context.asset_key.to_user_string()} for partition {key} ({path}): "
                    "materialize that partition of the upstream asset first"
                )
        keys = storage_keys()  # without the key the step fails here, before it starts
        asset = context.asset_key
        if self.light:
            return StoredPartitionValues(list(paths), lambda key: self._read_light(asset, key, paths[key], keys))
        return StoredPartitionValues(list(paths), lambda key: self._read(asset, key, paths[key], keys))

    def _read_light(self, asset_key: dg.AssetKey, key: str | None, path: Path, keys: StorageKeys) -> object:
        """The light copy made from the value stored now; else the full value (one stored before light copies, of
        a type without them, or whose light copy is another value's)."""
        with open(path, "rb") as fh:
            head = fh.read(HEADER_BYTES)
        try:
            light_path = self._path(asset_key, key, light=True)
            return self._read(asset_key, key, light_path, keys, light_of=sealed_id(head))
        except (FileNotFoundError, SealedDataError):
            return self._read(asset_key, key, path, keys)

    def _read(
        self, asset_key: dg.AssetKey, key: str | None, path: Path, keys: StorageKeys, light_of: str | None = None
    ) -> object:
        try:
            data = unseal(path.read_bytes(), self._context(asset_key, key, light_of), keys)
        except SealedDataError as exc:
            raise SealedDataError(f"{exc}; re-materialize that partition of {asset_key.to_user_string()}") from None
        return pickle.loads(data)  # only bytes this deployment's key sealed reach pickle


class StoredPartitionValues(Mapping):
    """Partition key → value, each read from its file when asked for. Only the last value read is kept, so a step
    that walks its partitions one by one holds one partition of each input in memory (a month's range held all
    514 cities' frames of every input at once); asking for the same partition twice in a row reads it once.

    Assets annotate such inputs as a bare `Mapping`: Dagster type-checks `dict[...]` by isinstance and by reading
    every value, which would load them all. A value is read (and decrypted) when the step gets to its partition: a
    file damaged since the step started fails the step there, after the groups it has published (each of them
    whole, as when a partition fails its gate)."""

    def __init__(self, keys: list[str | None], read: Callable[[str | None], object]):
        self._keys = keys
        self._known = set(keys)
        self._read = read
        self._last: tuple[str | None, object] | None = None

    def __getitem__(self, key: str | None) -> object:
        if key not in self._known:
            raise KeyError(key)
        last = self._last  # one read of the attribute: another thread may replace it meanwhile
        if last is None or last[0] != key:
            self._last = None  # the previous value goes before the next one is read
            last = self._last = (key, self._read(key))
        return last[1]

    def __contains__(self, key: object) -> bool:  # Mapping's would read the value
        return key in self._known

    def __iter__(self) -> Iterator[str | None]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


class PartitionedPickleIOManagerFactory(dg.ConfigurableIOManagerFactory):
    """`base_dir` defaults to `<instance storage>/values`."""

    base_dir: str | None = None
    light: bool = False  # bound as `light_values`: loads light copies (see the module's docstring)

    def create_io_manager(self, context: dg.InitResourceContext) -> PartitionedPickleIOManager:
        base = Path(self.base_dir) if self.base_dir else Path(context.instance.storage_directory()) / "values"
        return PartitionedPickleIOManager(base, light=self.light)
