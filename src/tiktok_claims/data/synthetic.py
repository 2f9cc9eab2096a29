"""Synthetic claims data with the real dataset's schema and structure.

The generator is the built-in default that ``run`` analyses when no file is given,
and the source of large files for scale benchmarks. It is calibrated on the real
TikTok claims data (19,382 rows, 19,084 complete):

* ``claim_status``: 50.35% claims; about 1.5% of rows (298 of 19,382) have no
  claim status, no transcript and no counts, like the real file's incomplete rows.
* ``verified_status`` depends on the claim status only (2.2% of claim videos and
  10.5% of opinion videos come from verified accounts: an odds ratio of about 5),
  so within a class it is unrelated to engagement, as in the real data.
* ``author_ban_status`` depends on claim and verified status (claims: 68% active).
* ``video_duration_sec`` is uniform on 5..60 seconds, independent of everything.
* Counts follow the real data's multiplicative structure: views are uniform
  (claims 1,000..999,999, opinions 20..9,999); likes are views times a uniform
  fraction; shares and downloads are likes times uniform fractions; comments are
  downloads times a uniform fraction. This reproduces the pooled correlations
  (views-likes 0.80, likes-shares 0.83, downloads-comments 0.83) and the variance
  inflation pattern (likes about 7, and below 5 for every column once likes is
  dropped) that the multicollinearity rule relies on.
* Transcripts are a prefix ("someone shared with me that", "i think that", ...)
  followed by a fact. The facts were written for this generator; none is taken
  from the real data.

Rows are generated in fixed blocks of :data:`BLOCK_ROWS`, block ``k`` seeded by
``numpy.random.SeedSequence(seed, spawn_key=(k,))``, so the rows for a given
``(rows, seed)`` are the same whether they are built in memory or written in
chunks of any size. ``video_id`` is a keyed bijection of the row position, so
identifiers are unique in a file of any size.
"""

from __future__ import annotations

import gzip
import operator
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .. import config
from ..errors import DataError
from ..folders import written_whole

BLOCK_ROWS = 100_000
SUFFIXES: tuple[str, ...] = (".csv", ".csv.gz", ".parquet")

# Kinds of row, as indices into the per-kind parameter arrays below. Incomplete rows
# draw counts and transcripts like claims, which are then blanked.
CLAIM_GROUP, OPINION_GROUP, INCOMPLETE_GROUP = 0, 1, 2

INCOMPLETE_SHARE = 298 / 19_382
OPINION_SHARE = 9_476 / 19_084
VERIFIED_PROBABILITY = np.array([0.0218, 0.1046, 40 / 298])
# P(active, under review, banned | kind of row, verified), in the order of
# config.CATEGORIES[config.BAN]; the inner pairs are not verified, verified.
# Verified claim authors are banned less often, as in the real data.
BAN_PROBABILITY = np.array(
    [
        [[0.682, 0.168, 0.150], [0.761, 0.134, 0.105]],
        [[0.930, 0.049, 0.021], [0.930, 0.049, 0.021]],
        [[0.940, 0.047, 0.013], [0.940, 0.047, 0.013]],
    ]
)
BAN_THRESHOLDS = np.cumsum(BAN_PROBABILITY, axis=2)[:, :, :-1]
DURATION_RANGE = (5, 60)
VIEW_MIN = np.array([1_000, 20, 1_000])
VIEW_MAX = np.array([999_999, 9_999, 999_999])
LIKES_PER_VIEW_MAX = np.array([2 / 3, 4 / 9, 2 / 3])
SHARES_PER_LIKE_MAX = 0.4
DOWNLOADS_PER_LIKE_MAX = 0.025
COMMENTS_PER_DOWNLOAD_MAX = np.array([2 / 3, 0.4, 2 / 3])

CLAIM_PREFIXES: tuple[str, ...] = (
    "someone shared with me that",
    "i read in the media that",
    "a friend read online that",
    "the news reported that",
    "a colleague learned from a podcast that",
    "someone discovered on a forum that",
    "i saw in a documentary that",
    "a friend told me that",
)
OPINION_PREFIXES: tuple[str, ...] = (
    "i think that",
    "in my opinion",
    "i believe that",
    "my family's view is that",
    "our thinking is that",
    "my colleagues' thinking is that",
    "i feel that",
    "my friends suspect that",
)
FACTS: tuple[str, ...] = (
    "honey sealed in ancient egyptian tombs was still edible when archaeologists opened them",
    "the tongue of a chameleon can be twice as long as its body",
    "a day on venus lasts longer than a whole year on venus",
    "the platypus glows blue-green under ultraviolet light",
    "the hashtag symbol is officially called an octothorpe",
    "sharks were swimming in the oceans long before the first trees grew on land",
    "the shortest war in recorded history lasted under forty minutes",
    "a group of flamingos is called a flamboyance",
    "wombats leave droppings shaped like little cubes",
    "there are more possible games of chess than atoms in the observable universe",
    "cleopatra lived closer in time to the moon landing than to the building of the great pyramid",
    "sea otters hold hands while they sleep so that they do not drift apart",
    "one man had the hiccups without a break for sixty-eight years",
    "a bolt of lightning is about five times hotter than the surface of the sun",
    "the great wall of china cannot be seen from the moon with the naked eye",
    "some freshwater turtles can take in oxygen through their rear ends during winter",
    "some jellyfish can turn back into their young form again and again",
    "the first alarm clock could only ring at four in the morning",
    "the ashes of the inventor of the frisbee were pressed into a frisbee",
    "a single fluffy cloud can weigh more than a million pounds",
    "the small dot over the letters i and j is called a tittle",
    "the scots language has more than four hundred words for snow",
    "the very first oranges were green rather than orange",
    "the soil of mars looks red because it is full of rust",
    "a cockroach can survive for about a week without its head",
    "the longest recorded flight of a chicken lasted thirteen seconds",
    "under some conditions hot water freezes faster than cold water",
    "the heart of a blue whale is about as big as a small car",
    "a single strand of spider silk is stronger than steel of the same thickness",
    "a jiffy is a real unit of time equal to one hundredth of a second",
    "the oldest known living tree is more than four thousand years old",
    "the national anthem of greece has one hundred and fifty-eight verses",
    "the first computer bug was an actual moth stuck inside a relay",
    "the first product scanned with a barcode was a pack of chewing gum",
    "the unicorn is the national animal of scotland",
    "an adult human body holds enough iron to make a small nail",
    "the first webcam watched a coffee pot in a university kitchen",
    "the tallest sandcastle ever built stood more than fifty feet high",
    "a teaspoon of neutron star material would weigh about a billion tons",
    "the average cumulus cloud floats more than a mile above the ground",
)
# Every transcript, claims first; a row's transcript is an index into this list.
TRANSCRIPTS: tuple[str, ...] = tuple(
    f"{prefix} {fact}" for prefix in (*CLAIM_PREFIXES, *OPINION_PREFIXES) for fact in FACTS
)
PREFIX_COUNT = np.array([len(CLAIM_PREFIXES), len(OPINION_PREFIXES), 1])
TRANSCRIPT_OFFSET = np.array([0, len(CLAIM_PREFIXES) * len(FACTS), 0])

# video_id = VIDEO_ID_MIN + a keyed permutation of 0..ID_HIGH_RADIX*ID_LOW_RADIX-1
# (a Feistel network on the digit pair (position // ID_LOW_RADIX, position % ID_LOW_RADIX)).
VIDEO_ID_MIN = 1_000_000_000
ID_HIGH_RADIX = 90_000
ID_LOW_RADIX = 100_000
ID_ROUNDS = 4

_DICTIONARIES = {
    config.CLAIM: pa.array(config.CATEGORIES[config.CLAIM]),
    config.TRANSCRIPT: pa.array(TRANSCRIPTS),
    config.VERIFIED: pa.array(config.CATEGORIES[config.VERIFIED]),
    config.BAN: pa.array(config.CATEGORIES[config.BAN]),
}
SCHEMA = pa.schema(
    [
        pa.field(name, pa.dictionary(pa.int16(), pa.string()))
        if name in _DICTIONARIES
        else pa.field(name, pa.int64(), nullable=name in config.COUNT_COLUMNS)
        for name in config.COLUMNS
    ]
)


def make_synthetic(
    rows: int = config.SYNTHETIC_DEFAULT_ROWS, seed: int = config.DEFAULT_SEED
) -> pd.DataFrame:
    """Generate a synthetic claims table with the real dataset's schema.

    Parameters
    ----------
    rows : int
        Number of rows, at least 1.
    seed : int
        Non-negative random seed; the same ``(rows, seed)`` always gives the same rows.

    Returns
    -------
    DataFrame
        The columns of :data:`tiktok_claims.config.COLUMNS` in order. Text and
        category columns are strings, counts are nullable integers (``Int64``),
        missing values are ``NaN``/``<NA>``. The rows equal those that
        :func:`write_synthetic` writes for the same ``rows`` and ``seed``.

    Raises
    ------
    DataError
        If ``rows`` is below 1 or ``seed`` is negative.

    Examples
    --------
    >>> frame = make_synthetic(rows=1_000, seed=7)
    >>> frame.shape
    (1000, 12)
    >>> int(frame["#"].iloc[-1])
    1000
    """
    table = pa.concat_tables(_blocks(*_checked(rows, seed)))
    columns = {}
    for name in config.COLUMNS:
        column = table.column(name)
        if name in _DICTIONARIES:
            columns[name] = column.cast(pa.string()).to_pandas()
        elif name in config.COUNT_COLUMNS:
            columns[name] = column.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
        else:
            columns[name] = column.to_pandas()
    return pd.DataFrame(columns)


def write_synthetic(
    path: str | Path,
    rows: int = config.SYNTHETIC_DEFAULT_ROWS,
    seed: int = config.DEFAULT_SEED,
    chunk_rows: int = 1_000_000,
) -> Path:
    """Write a synthetic claims file, generating it chunk by chunk.

    Parameters
    ----------
    path : str or Path
        Output file; its suffix chooses the format: ``.csv``, ``.csv.gz`` or
        ``.parquet``. Missing parent directories are created.
    rows : int
        Number of rows, at least 1.
    seed : int
        Non-negative random seed.
    chunk_rows : int
        Rows generated and written at a time (a Parquet row group), at least 1.
        It bounds memory use and does not change the rows written.

    Returns
    -------
    Path
        ``path``. The file holds the rows of ``make_synthetic(rows, seed)``; CSV
        files have no index column, write missing values as empty fields and
        counts as whole numbers.

    Raises
    ------
    DataError
        If the suffix is not one of :data:`SUFFIXES`, ``rows`` or ``chunk_rows``
        is below 1, or ``seed`` is negative.

    Examples
    --------
    >>> write_synthetic("sample.parquet", rows=10_000)  # doctest: +SKIP
    PosixPath('sample.parquet')
    """
    path = Path(path)
    rows, seed = _checked(rows, seed)
    chunk_rows = operator.index(chunk_rows)
    if chunk_rows < 1:
        raise DataError(f"chunk_rows must be at least 1; got {chunk_rows}.")
    name = path.name.lower()
    if not name.endswith(SUFFIXES):
        raise DataError(
            f"{path}: cannot write this file type; expected a name ending in "
            f"{', '.join(SUFFIXES)}."
        )
    chunks = _chunks(rows, seed, chunk_rows)
    # Written in a private folder beside the target and moved onto it at the end: an
    # interrupted run never leaves a truncated file under the requested name, and no
    # other file (e.g. the user's own "<name>.partial") is ever written or removed.
    with written_whole(path) as partial:
        if name.endswith(".parquet"):
            with pq.ParquetWriter(partial, SCHEMA) as writer:
                for chunk in chunks:
                    writer.write_table(chunk, row_group_size=chunk_rows)
        else:
            # Fast gzip (level 1): these files are generated for tests and benchmarks, and
            # pyarrow's gzip stream (no level setting) took 2.6 times as long on 1M rows.
            sink = (
                gzip.open(partial, "wb", compresslevel=1)
                if name.endswith(".gz")
                else pa.OSFile(str(partial), "wb")
            )
            # Our text never holds commas, quotes or line ends, so no field needs quoting.
            options = pacsv.WriteOptions(quoting_style="none", quoting_header="none")
            with sink, pacsv.CSVWriter(sink, SCHEMA, write_options=options) as writer:
                for chunk in chunks:
                    writer.write_table(chunk)
    return path


def _checked(rows: int, seed: int) -> tuple[int, int]:
    rows, seed = operator.index(rows), operator.index(seed)
    if rows < 1:
        raise DataError(f"rows must be at least 1; got {rows}.")
    if seed < 0:
        raise DataError(f"seed must be a non-negative whole number; got {seed}.")
    return rows, seed


def _chunks(rows: int, seed: int, chunk_rows: int) -> Iterator[pa.Table]:
    """Tables of ``chunk_rows`` consecutive rows (the last may be shorter)."""
    pending = pa.Table.from_batches([], schema=SCHEMA)
    for block in _blocks(rows, seed):
        pending = pa.concat_tables([pending, block])
        while pending.num_rows >= chunk_rows:
            yield pending.slice(0, chunk_rows)
            pending = pending.slice(chunk_rows)
    if pending.num_rows:
        yield pending


def _blocks(rows: int, seed: int) -> Iterator[pa.Table]:
    id_keys = np.random.SeedSequence(seed).generate_state(ID_ROUNDS, dtype=np.uint64)
    for index, start in enumerate(range(0, rows, BLOCK_ROWS)):
        yield _block(seed, index, start, min(BLOCK_ROWS, rows - start), id_keys)


def _block(seed: int, index: int, start: int, size: int, id_keys: np.ndarray) -> pa.Table:
    """Rows ``start .. start + size - 1``, from the random stream of block ``index``."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))
    # An exact share of incomplete rows per block: the default table has 298, like the real one.
    incomplete = np.zeros(size, dtype=bool)
    incomplete[rng.choice(size, round(size * INCOMPLETE_SHARE), replace=False)] = True
    opinion = rng.random(size) < OPINION_SHARE
    group = np.where(incomplete, INCOMPLETE_GROUP, np.where(opinion, OPINION_GROUP, CLAIM_GROUP))
    verified = rng.random(size) < VERIFIED_PROBABILITY[group]
    thresholds = BAN_THRESHOLDS[group, verified.astype(np.int64)]
    ban_draw = rng.random(size)
    ban = (ban_draw >= thresholds[:, 0]).astype(np.int16) + (ban_draw >= thresholds[:, 1])
    duration = rng.integers(DURATION_RANGE[0], DURATION_RANGE[1] + 1, size)

    views = rng.integers(VIEW_MIN[group], VIEW_MAX[group] + 1)
    likes = np.rint(views * rng.uniform(0.0, LIKES_PER_VIEW_MAX[group]))
    shares = np.rint(likes * rng.uniform(0.0, SHARES_PER_LIKE_MAX, size))
    downloads = np.rint(likes * rng.uniform(0.0, DOWNLOADS_PER_LIKE_MAX, size))
    comments = np.rint(downloads * rng.uniform(0.0, COMMENTS_PER_DOWNLOAD_MAX[group]))

    prefix = rng.integers(0, PREFIX_COUNT[group])
    fact = rng.integers(0, len(FACTS), size)
    transcript = TRANSCRIPT_OFFSET[group] + prefix * len(FACTS) + fact

    # Category codes index config.CATEGORIES: claim/opinion and not verified/verified.
    codes = {
        config.CLAIM: (opinion, incomplete),
        config.TRANSCRIPT: (transcript, incomplete),
        config.VERIFIED: (verified, None),
        config.BAN: (ban, None),
    }
    numbers = {
        config.ID_COLUMN: np.arange(start + 1, start + size + 1, dtype=np.int64),
        config.VIDEO_ID: _video_ids(np.arange(start, start + size, dtype=np.uint64), id_keys),
        config.DURATION: duration,
        **dict(zip(config.COUNT_COLUMNS, (views, likes, shares, downloads, comments))),
    }
    arrays = []
    for field in SCHEMA:
        if field.name in codes:
            values, mask = codes[field.name]
            indices = pa.array(values.astype(np.int16), type=pa.int16(), mask=mask)
            arrays.append(pa.DictionaryArray.from_arrays(indices, _DICTIONARIES[field.name]))
        else:
            mask = incomplete if field.name in config.COUNT_COLUMNS else None
            arrays.append(pa.array(numbers[field.name].astype(np.int64), type=pa.int64(), mask=mask))
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def _video_ids(positions: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Ten-digit identifiers: a keyed permutation of the row positions (unsigned ints)."""
    high, low = np.divmod(positions, np.uint64(ID_LOW_RADIX))
    for round_index, key in enumerate(keys):
        if round_index % 2 == 0:
            high = (high + _mix(low ^ key) % np.uint64(ID_HIGH_RADIX)) % np.uint64(ID_HIGH_RADIX)
        else:
            low = (low + _mix(high ^ key) % np.uint64(ID_LOW_RADIX)) % np.uint64(ID_LOW_RADIX)
    return (high * np.uint64(ID_LOW_RADIX) + low).astype(np.int64) + VIDEO_ID_MIN


def _mix(values: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser: a fast, well-spread hash of unsigned 64-bit integers."""
    values = (values ^ (values >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    values = (values ^ (values >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))
