"""The model card: what the artifact is for, what it reads, how it was trained and how well it did.

Rendered from the artifact's payload alone (``model_card.json`` and ``model_card.md``
beside ``model.json``), so the card always describes exactly the artifact.
"""

from __future__ import annotations

from ..data.schema import SPEC_BY_NAME
from ..escaping import escape_markdown
from .model import LoadedModel
from .schema import FORMAT, format_version

# The card of an artifact written before the verdict was recorded in it.
UNSTATED_USE = (
    "Not recorded in this artifact (written by an earlier version): read the run's executive summary for the "
    "verdict before using the scores for anything."
)


def card(model: LoadedModel) -> dict:
    """The model card's content, from the payload (what ``model_card.json`` holds)."""
    p = model.payload
    inputs = []
    for column in p["inputs"]:
        spec = SPEC_BY_NAME[column["name"]]
        entry = {"name": spec.name, "kind": spec.kind, "expected": spec.expected}
        if spec.kind == "identifier":
            entry["role"] = "identifier (copied to the scored output, not a predictor)"
        elif spec.kind == "category":
            entry["categories"] = column["categories"]
            entry["role"] = f"predictor, dummy-coded against the reference {column['categories'][0]!r}"
        elif "formula" in p:
            entry["role"] = "predictor, entering the design as the formula says"
        elif column.get("transform") == "log1p":
            entry["transform"] = "log1p"
            entry["role"] = (
                f"predictor, entered as log(1 + {spec.name}) and standardized with mean {column['mean']:.6g} "
                f"and scale {column['scale']:.6g} of log(1 + {spec.name})"
            )
        else:
            entry["role"] = f"predictor, standardized with mean {column['mean']:.6g} and scale {column['scale']:.6g}"
        inputs.append(entry)
    return {
        "model": {
            "format": FORMAT,
            "format_version": format_version(p),
            "payload_sha256": model.payload_sha256,
        },
        "tool": {"name": "tiktok-claims", "version": p["tool_version"], "created": p["created"]},
        "target": {"column": p["target"], "positive_class": p["positive_class"], "negative_class": p["negative_class"]},
        "model_family": p["model_family"],
        "balance": p["balance"],
        "intended_use": p["use"]["intended_use"] if "use" in p else UNSTATED_USE,
        "verdict": p["use"]["verdict_headline"] if "use" in p else None,
        "limitations": p["use"]["limitations"] if "use" in p else [],
        "output": p.get("output", {"name": "probability", "description": "not recorded in this artifact"}),
        "inputs": inputs,
        "coefficients": [
            {"feature": name, "coefficient": coef}
            for name, coef in zip(["intercept", *p["features"]], [p["intercept"], *p["coef"]])
        ],
        **({"formula": _formula(p["formula"])} if "formula" in p else {}),
        "threshold": p["threshold"],
        "training_data": p["training_data"],
        "metrics": p["metrics"],
        "versions": p["versions"],
    }


def card_markdown(card: dict) -> str:
    """The model card as Markdown, from :func:`card`'s content."""
    target, data, metrics = card["target"], card["training_data"], card["metrics"]
    lines = [
        f"# Model card: {escape_markdown(target['column'])}",
        "",
        f"- **Model**: {escape_markdown(card['model_family'])} (class balance: {escape_markdown(card['balance'])}) of "
        f"{escape_markdown(target['column'])}: a higher output means '{escape_markdown(target['positive_class'])}' is "
        f"more likely; the other class is '{escape_markdown(target['negative_class'])}'.",
        f"- **Created**: {escape_markdown(card['tool']['created'])} by tiktok-claims {escape_markdown(card['tool']['version'])}; "
        f"artifact format {card['model']['format_version']}, payload SHA-256 `{card['model']['payload_sha256']}`.",
        f"- **Intended use**: {escape_markdown(card['intended_use'])}",
        *([f"- **Verdict**: {escape_markdown(card['verdict'])}"] if card["verdict"] else []),
        f"- **Output** (column `{card['output']['name']}` of `tiktok-claims score`): "
        f"{escape_markdown(card['output']['description'])}.",
        *(f"- **Limitation**: {escape_markdown(item)}" for item in card["limitations"]),
        "",
        "## Inputs",
        "",
        "| column | expected | role |",
        "|---|---|---|",
        *(f"| {escape_markdown(c['name'])} | {escape_markdown(c['expected'])} | {escape_markdown(c['role'])} |" for c in card["inputs"]),
        "",
        "Rows that break these rules are rejected with their reason by `tiktok-claims score`.",
        "",
        "## Training data",
        "",
        f"- source: {escape_markdown(data['source'])}{' (SYNTHETIC)' if data['synthetic'] else ''}",
        f"- SHA-256: `{data['sha256']}`",
        f"- rows read {data['rows_read']:,}; used {data['rows_used']:,}; training part {data['train_rows']:,}; "
        f"test part {data['test_rows']:,} (seed {data['seed']})",
        *(f"- set aside: {escape_markdown(reason)}: {n:,}" for reason, n in data["rows_set_aside"].items()),
        "",
        "## Test metrics (95% bootstrap confidence intervals)",
        "",
        "| metric | estimate | CI low | CI high |",
        "|---|---|---|---|",
        *(
            f"| {escape_markdown(name)} | {_fmt(ci['estimate'])} | {_fmt(ci['ci_low'])} | {_fmt(ci['ci_high'])} |"
            for name, ci in metrics["test_ci"].items()
        ),
        "",
        f"Threshold: **{_fmt(card['threshold']['value'])}** ({escape_markdown(card['threshold']['rule'])} rule, chosen on "
        f"{escape_markdown(card['threshold']['chosen_on'])}): {escape_markdown(card['threshold']['description'])}.",
        "",
        *_formula_markdown(card.get("formula")),
        "## Coefficients (standardized continuous predictors)",
        "",
        *(
            [
                "Inputs whose role reads log(1 + …) enter as the logarithm of one plus the count, then standardized; "
                "their coefficients are per standard deviation of that logarithm.",
                "",
            ]
            if any(c.get("transform") == "log1p" for c in card["inputs"])
            else []
        ),
        "| feature | coefficient |",
        "|---|---|",
        *(f"| {escape_markdown(c['feature'])} | {_fmt(c['coefficient'])} |" for c in card["coefficients"]),
        "",
        "## Library versions",
        "",
        *(f"- {escape_markdown(name)}: {escape_markdown(version)}" for name, version in card["versions"].items()),
        "",
    ]
    return "\n".join(lines)


def _formula(section: dict) -> dict:
    """The formula as the card states it: its text, and each design column with its statsmodels name and scaling."""
    return {
        "text": section["text"],
        "design": [
            {
                "feature": item["name"],
                "statsmodels_name": item["statsmodels_name"],
                "standardized": f"mean {item['mean']:.6g}, scale {item['scale']:.6g}" if "mean" in item else "no (0/1)",
            }
            for item in section["design"]
        ],
    }


def _formula_markdown(formula: dict | None) -> list[str]:
    if formula is None:
        return []
    return [
        "## Formula",
        "",
        f"The model was fitted from the formula {escape_markdown(formula['text'])}; its design columns, in the "
        "coefficients' order:",
        "",
        "| feature | statsmodels name | standardized |",
        "|---|---|---|",
        *(
            f"| {escape_markdown(c['feature'])} | {escape_markdown(c['statsmodels_name'])} | {c['standardized']} |"
            for c in formula["design"]
        ),
        "",
    ]


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.4f}"
