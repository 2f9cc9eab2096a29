"""From fitted models to words: effects per readable unit, findings that survive, and the story of a run.

``wording`` holds the one set of wording rules; ``effects`` the coefficient tables;
``findings`` the sentences per term; ``separation`` the separating rule and why the
estimator was chosen; ``story`` the question, verdict and advice every document prints;
``summary`` the manager's page (its chart and plain words); ``course`` the course's
questions, listed once, with their answers.
"""
