"""Fit and evaluate the same logistic regression on Apache Spark (``pip install .[spark]``).

The engine mirrors the in-process pipeline step for step, so the two can be compared:
the same training and test rows (the split is made once, in-process, and travels as a
column), continuous predictors standardized with the training part's mean and
population SD, categories dummy-coded against the same reference levels, balanced
class weights for the classifier, and unweighted maximum likelihood for inference.

Estimators: inference from ``GeneralizedLinearRegression(family="binomial")``, whose
training summary gives standard errors, z values and p-values (Wald, IRLS); the
classifier is ``LogisticRegression`` with a weight column for the class weights.
Data reach Spark as a Parquet file, as they would on a cluster.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import config
from .features import FeatureSpec

PART = "__part"
LABEL = "__label"
WEIGHT = "__weight"


@dataclass(frozen=True)
class SparkFit:
    """What Spark estimated: inference table, classifier coefficients and test metrics."""

    coefficients: pd.DataFrame
    classifier_coef: np.ndarray
    classifier_intercept: float
    test_roc_auc: float
    test_scores: np.ndarray
    master: str


def spark_session(master: str = "local[*]"):
    """A quiet Spark session (no UI); ``master`` as for ``spark-submit --master``."""
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master(master)
        .appName("tiktok-claims")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _design(frame, spec: FeatureSpec, means: dict, scales: dict):
    """Standardized continuous columns and dummies, named as the in-process design."""
    from pyspark.sql import functions as F

    columns = [((F.col(c) - F.lit(means[c])) / F.lit(scales[c])).alias(c) for c in spec.continuous]
    for column in spec.categorical:
        levels = config.CATEGORIES[column]
        columns += [
            F.when(F.col(column) == level, 1.0).otherwise(0.0).alias(f"{column}_{level}") for level in levels[1:]
        ]
    return frame.select(*columns, LABEL, PART)


def fit_spark(
    frame: pd.DataFrame,
    train_index: pd.Index,
    target: str,
    positive_class: str,
    spec: FeatureSpec,
    *,
    master: str = "local[*]",
) -> SparkFit:
    """Fit the inference model and the class-weighted classifier on Spark; score the test part."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.evaluation import BinaryClassificationEvaluator
    from pyspark.ml.feature import VectorAssembler
    from pyspark.ml.functions import vector_to_array
    from pyspark.ml.regression import GeneralizedLinearRegression
    from pyspark.sql import functions as F

    spark = spark_session(master)
    table = pa.table(
        {
            **{c: frame[c].to_numpy(dtype=float) for c in spec.continuous},
            **{c: frame[c].astype(str).to_numpy() for c in spec.categorical},
            LABEL: (frame[target] == positive_class).to_numpy(dtype=float),
            PART: np.where(frame.index.isin(train_index), "train", "test"),
        }
    )
    with tempfile.TemporaryDirectory() as scratch:
        path = str(Path(scratch) / "rows.parquet")
        pq.write_table(table, path)
        rows = spark.read.parquet(path).cache()
        train = rows.filter(F.col(PART) == "train")
        stats = train.agg(
            *[F.avg(c).alias(f"mean_{c}") for c in spec.continuous],
            *[F.stddev_pop(c).alias(f"sd_{c}") for c in spec.continuous],
            F.count(F.lit(1)).alias("n"),
            F.sum(LABEL).alias("positives"),
        ).first()
        means = {c: stats[f"mean_{c}"] for c in spec.continuous}
        scales = {c: stats[f"sd_{c}"] for c in spec.continuous}
        design = _design(rows, spec, means, scales)
        names = [c for c in design.columns if c not in (LABEL, PART)]
        assembled = VectorAssembler(inputCols=names, outputCol="features").transform(design)
        n, positives = stats["n"], stats["positives"]
        weighted = assembled.withColumn(
            WEIGHT,
            F.when(F.col(LABEL) == 1.0, n / (2.0 * positives)).otherwise(n / (2.0 * (n - positives))),
        )
        fit_rows = weighted.filter(F.col(PART) == "train").cache()
        glm = GeneralizedLinearRegression(
            family="binomial", link="logit", labelCol=LABEL, maxIter=100, tol=1e-10, regParam=0.0
        ).fit(fit_rows)
        summary = glm.summary
        classifier = LogisticRegression(
            labelCol=LABEL, weightCol=WEIGHT, regParam=0.0, standardization=False, maxIter=200, tol=1e-10
        ).fit(fit_rows)
        test = classifier.transform(weighted.filter(F.col(PART) == "test"))
        auc = BinaryClassificationEvaluator(
            labelCol=LABEL, rawPredictionCol="rawPrediction", metricName="areaUnderROC", numBins=0
        ).evaluate(test)
        scores = np.array(
            [r[0] for r in test.select(vector_to_array("probability")[1]).collect()], dtype=float
        )
        terms = [*names, "const"]  # Spark lists the intercept last
        coefficients = pd.DataFrame(
            {
                "name": terms,
                "coef_per_sd": [*glm.coefficients.toArray(), glm.intercept],
                "se": summary.coefficientStandardErrors,
                "z": summary.tValues,
                "p_value": summary.pValues,
            }
        )
        rows.unpersist()
        fit_rows.unpersist()
    return SparkFit(
        coefficients=coefficients,
        classifier_coef=classifier.coefficients.toArray(),
        classifier_intercept=float(classifier.intercept),
        test_roc_auc=float(auc),
        test_scores=scores,
        master=master,
    )
