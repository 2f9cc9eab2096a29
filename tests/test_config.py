"""Column names, categories and defaults (``config.py``): consistent with each other, and
importable without any I/O (checked in a fresh interpreter with an audit hook)."""

from __future__ import annotations

import json
import subprocess
import sys

from tiktok_claims import config
from tiktok_claims.data.schema import SPEC_BY_NAME

NO_IO_ON_IMPORT = r"""
import json, sys
opened = []
sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" else None)
import tiktok_claims.config
print(json.dumps(opened))
"""


def test_columns_are_unique_and_the_groups_are_made_of_them():
    assert len(set(config.COLUMNS)) == len(config.COLUMNS)
    assert config.CONTINUOUS_COLUMNS == (config.DURATION, *config.COUNT_COLUMNS)
    assert set(config.CONTINUOUS_COLUMNS) | set(config.CATEGORIES) | {config.ID_COLUMN, config.VIDEO_ID, config.TRANSCRIPT} == set(
        config.COLUMNS
    )
    assert not set(config.CONTINUOUS_COLUMNS) & set(config.CATEGORIES)
    assert set(config.COLUMN_ALIASES.values()) <= set(config.COLUMNS)


def test_each_binary_outcome_names_a_positive_level_of_its_own():
    for target, positive in config.POSITIVE_CLASS.items():
        assert len(config.CATEGORIES[target]) == 2
        assert positive in config.CATEGORIES[target]
    assert config.DEFAULT_TARGET in config.POSITIVE_CLASS


def test_every_default_is_one_of_its_choices():
    assert config.DEFAULT_BALANCE in config.BALANCE_OPTIONS
    assert config.DEFAULT_THRESHOLD_RULE in config.THRESHOLD_RULES
    assert "none" in config.TRANSFORMS
    assert 0 < config.TEST_SIZE < 1 and 0 < config.DEFAULT_TARGET_RECALL <= 1
    assert config.CV_FOLDS >= 2 and config.CV_REPEATS >= 1 and config.BOOTSTRAP_RESAMPLES >= 100
    assert config.SYNTHETIC_DEFAULT_ROWS >= 1 and config.MAX_REPORTED_LINES >= 1


def test_the_thresholds_are_ordered_as_their_rules_need():
    assert config.CORRELATION_REPORT_LIMIT < config.LEAKAGE_RANK_CORRELATION < 1
    assert config.VIF_LIMIT > 1 and config.IQR_MULTIPLIER > 0


def test_the_reference_level_of_every_category_is_its_first():
    for column, levels in config.CATEGORIES.items():
        assert SPEC_BY_NAME[column].categories[0] == levels[0]
        assert len(set(levels)) == len(levels)


def test_importing_config_reads_no_file_but_python_bytecode_or_source():
    result = subprocess.run([sys.executable, "-c", NO_IO_ON_IMPORT], capture_output=True, text=True, check=True)

    opened = json.loads(result.stdout)
    assert [path for path in opened if not path.endswith((".py", ".pyc"))] == []
