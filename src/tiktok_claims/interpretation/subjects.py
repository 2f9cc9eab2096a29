"""How the documents speak of each outcome: the question asked of it, a title, what a decision is about."""

from __future__ import annotations

from dataclasses import dataclass

from .. import config


@dataclass(frozen=True)
class Subject:
    """How the documents speak of one outcome."""

    question: str
    title: str
    positive_clause: str  # "come from a verified account"
    decisions: str  # what a decision would be about: "individual accounts"
    purpose: str


SUBJECTS = {
    config.VERIFIED: Subject(
        question="How do video characteristics relate to whether the poster is verified?",
        title="Which videos come from verified accounts?",
        positive_clause="come from a verified account",
        decisions="individual accounts",
        purpose="Operations asked how a video's characteristics relate to whether its poster is verified.",
    ),
    config.CLAIM: Subject(
        question="Can video characteristics tell claims from opinions, so that reported videos can be prioritized?",
        title="Which reported videos make claims?",
        positive_clause="are claims",
        decisions="individual videos",
        purpose=(
            "Moderators cannot keep up with user reports; the data team needs to tell claims from opinions so that "
            "reports can be prioritized."
        ),
    ),
    config.BAN: Subject(
        question="How do video characteristics relate to the author's ban status (active, under review, banned)?",
        title="Which videos come from authors under review or banned?",
        positive_clause="come from a banned author",
        decisions="individual authors",
        purpose="We asked how a video's characteristics relate to the ban status of its author.",
    ),
    config.DURATION: Subject(
        question="How do video characteristics relate to a video's duration?",
        title="What goes with longer videos?",
        positive_clause="",
        decisions="individual videos",
        purpose="We asked how a video's other characteristics relate to its duration.",
    ),
}


def subject(target: str, positive: str = "") -> Subject:
    """The wording for ``target`` (a generic one for outcomes without their own)."""
    if target in SUBJECTS:
        return SUBJECTS[target]
    name = target.replace("video_", "").replace("_", " ")
    return Subject(
        question=f"How do video characteristics relate to a video's {name}?",
        title=f"What goes with a higher {name}?" if target in config.COUNT_COLUMNS else f"What goes with {name} '{positive}'?",
        positive_clause=f"have {name} '{positive}'",
        decisions="individual videos",
        purpose=f"We asked how a video's characteristics relate to its {name}.",
    )
