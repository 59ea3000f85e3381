"""Seeded vocabulary for the task templates: file names, short texts, to-do items."""

from __future__ import annotations

import random

STEMS = ("notes", "plan", "report", "draft", "ideas", "budget", "summary", "letter", "recipe", "agenda",
         "journal", "memo", "list", "todo", "readme", "story", "poem", "minutes", "outline", "invoice")  # fmt: skip
FOLDERS = ("projects", "archive", "photos", "music", "work", "school", "travel", "backup", "recipes", "taxes")
PHRASES = ("call Alice at 5", "meeting moved to Friday", "buy bread and milk", "the deadline is Monday",
           "water the plants", "book the train tickets", "send the invoice", "pick up the parcel",
           "review the slides", "pay the electricity bill", "return library books", "fix the bike light",
           "plan the birthday party", "renew the passport", "clean the garage", "backup the laptop")  # fmt: skip
ITEMS = ("water plants", "pay rent", "call mom", "buy eggs", "walk the dog", "read a chapter", "send email",
         "clean desk", "order pizza", "fix sink", "book dentist", "wash car", "print tickets", "charge phone",
         "buy stamps", "update resume", "feed the cat", "take vitamins")  # fmt: skip
GROCERIES = ("apples", "bread", "cheese", "eggs", "flour", "honey", "lemons", "milk", "oats", "pasta", "rice",
             "salt", "tea", "tomatoes", "yogurt", "butter", "coffee", "beans")  # fmt: skip


def filenames(rng: random.Random, k: int, ext: str = ".txt") -> list[str]:
    return [s + ext for s in rng.sample(STEMS, k)]
