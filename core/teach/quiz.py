"""The quiz: a random test page of the current dataset, the student's guess, then the model's.

Pure functions over the dataset index; the page keeps the running score in its session.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class Question:
    path: str
    true_class: str


def pick_question(index: pd.DataFrame, *, seed: int, round_number: int, exclude: set[str] = frozenset()) -> Question:
    """A random page of the test split (other splits when there is no test split), never one of
    ``exclude`` while others remain; the same seed and round give the same page."""
    pool = index[index["split"] == "test"] if "split" in index and (index["split"] == "test").any() else index
    fresh = pool[~pool["path"].isin(exclude)]
    pool = fresh if len(fresh) else pool
    if pool.empty:
        raise ValueError("the dataset has no pages to quiz on")
    row = pool.iloc[int(np.random.default_rng([seed, round_number]).integers(len(pool)))]
    return Question(str(row["path"]), str(row["class"]))


@dataclass
class Score:
    played: int = 0
    student_right: int = 0
    model_right: int = 0

    def add(self, guess: str, model_answer: str, truth: str) -> "Score":
        return Score(self.played + 1, self.student_right + (guess == truth),
                     self.model_right + (model_answer == truth))
