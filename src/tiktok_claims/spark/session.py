"""Spark sessions and the files Spark reads and writes (``pip install .[spark]``, Java 17+).

Files that Spark's executors read or write go to a *scratch* directory (see
:func:`spark_scratch`). In local mode any directory will do; on a cluster it must be
storage that every executor and the driver reach: a shared mount (the same path on
every node) or a Hadoop file system URL (``hdfs://...``, ``s3a://...``). Local paths
are handed to Spark as ``file://`` URLs, so a cluster whose default file system is
HDFS does not look for them there.

This module is imported only when Spark is used: it imports PySpark at its top.
"""
from __future__ import annotations

import os
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path

from pyspark.sql import SparkSession

from ..errors import DataError


def spark_session(master: str = "local[*]"):
    """A quiet Spark session (no UI); ``master`` as for ``spark-submit --master``.

    Other settings (memory, executors) come from ``spark-defaults.conf`` or
    ``PYSPARK_SUBMIT_ARGS``, as for any PySpark program.
    """
    builder = SparkSession.builder.master(master).appName("tiktok-claims").config("spark.ui.enabled", "false")
    if master.startswith("local"):
        # Few cores: a few shuffle partitions. A cluster keeps its own setting (200 by default,
        # which adaptive query execution coalesces).
        builder = builder.config("spark.sql.shuffle.partitions", "4")
        # Local Python workers (the scorer's mapInArrow) must run this interpreter, which has
        # this package; PySpark's default is whatever "python3" is first on the PATH.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def spark_url(location: str | Path) -> str:
    """``location`` as a URL for Spark.

    A Hadoop URL as given (without a trailing ``/``); a local path as ``file://`` and its absolute path.
    """
    text = str(location)
    if "://" in text:
        return text.rstrip("/")
    # Not Path.as_uri(): Hadoop's Path(String) quotes characters itself, so percent escapes would be doubled.
    return "file://" + str(Path(text).resolve())


@contextmanager
def spark_scratch(spark, location: str | Path):
    """A new, empty directory under ``location`` for Spark's files; yields its URL and removes it afterwards.

    Parameters
    ----------
    spark : SparkSession
    location : str or Path
        An existing local directory (on a cluster: a shared mount, at the same path on
        every node) or a Hadoop file system URL (``hdfs://NAMENODE/tmp``, ``s3a://BUCKET/tmp``).

    Raises
    ------
    DataError
        If the local directory does not exist, or the file system refuses to create the directory.
    """
    if "://" not in str(location) and not Path(location).is_dir():
        raise DataError(f"{location}: no such directory for Spark's temporary files; create it or choose another.")
    url = f"{spark_url(location)}/.tiktok-claims-spark-{uuid.uuid4().hex}"
    fs, path = _hadoop_path(spark, url)
    refused = f"{location}: cannot create a directory for Spark's temporary files there"
    try:
        created = fs.mkdirs(path)
    except Exception as exc:  # py4j wraps the Java I/O error
        raise DataError(f"{refused} ({_java_message(exc)}).") from None
    if not created:
        raise DataError(f"{refused}.")
    try:
        yield url
    finally:
        fs.delete(path, True)


def upload(spark, local: Path, url: str) -> None:
    """Copy the local file ``local`` to ``url`` (any Hadoop file system)."""
    fs, target = _hadoop_path(spark, url)
    fs.copyFromLocalFile(False, True, spark._jvm.org.apache.hadoop.fs.Path(spark_url(local)), target)


def download(spark, url: str, local: Path) -> None:
    """Move the file at ``url`` (any Hadoop file system) to the local path ``local``, without a checksum file."""
    fs, source = _hadoop_path(spark, url)
    fs.copyToLocalFile(True, source, spark._jvm.org.apache.hadoop.fs.Path(spark_url(local)), True)


def list_files(spark, url: str, pattern: str) -> list[str]:
    """URLs of the files in the directory ``url`` whose names match the glob ``pattern``, sorted."""
    fs, path = _hadoop_path(spark, f"{url}/{pattern}")
    found = fs.globStatus(path) or []
    return sorted(status.getPath().toString() for status in found)


def _hadoop_path(spark, url: str):
    path = spark._jvm.org.apache.hadoop.fs.Path(url)
    return path.getFileSystem(spark._jsc.hadoopConfiguration()), path


def _java_message(exc: Exception) -> str:
    java = getattr(exc, "java_exception", None)
    return str(java.getMessage()) if java is not None else str(exc)
