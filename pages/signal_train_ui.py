"""Train-page pieces for the signal CNN: what happens before it learns (the page reader), and its
settings. The job itself is ``core.learn.SignalTrainingJob``; this module only draws.
"""
from __future__ import annotations

import streamlit as st

from core.classes import NON_ECG
from core.learn import READ_SECONDS_PER_PAGE, SignalRecipe, cached_pages, signal_pages
from pages.common import classroom_mode

RECIPE = SignalRecipe(synthetic_per_epoch=0)   # 30 epochs on the dataset's own pages only


def reading_note(data) -> None:
    """One sentence on the page reader, and how long this dataset's reading will take."""
    pages = signal_pages(data.index)
    hashes = pages["sha1"] if "sha1" in pages else pages["path"]
    total, done = hashes.nunique(), cached_pages(hashes)
    st.info("This model reads no pixels: the page reader first digitises every page into twelve leads in mV, "
            "and the network learns from those signals. The first run on a dataset reads its pages, which "
            "takes a while; later runs take them from the cache.", icon=":material/timeline:")
    waiting = (total - done) * READ_SECONDS_PER_PAGE
    st.caption(f"{done} of {total} distinct ECG pages read already"
               + (f"; reading the others takes about {waiting / 60:.0f} min." if waiting >= 60 else
                  f"; about {waiting:.0f} s of reading left." if waiting else ".")
               + (f" {NON_ECG} images are left out: whether a picture is an ECG is the ECG check's job."
                  if (data.index["class"] == NON_ECG).any() else ""))


def signal_settings() -> SignalRecipe:
    """The signal CNN's settings form; returns the recipe the Train button would run."""
    with st.expander("Settings", expanded=not classroom_mode()):
        c1, c2, c3, c4 = st.columns(4)
        epochs = c1.number_input("Epochs", 1, 200, RECIPE.epochs, key="train_epochs_signal")
        batch = c2.number_input("Batch size", 1, 256, RECIPE.batch_size, key="train_batch_signal")
        lr = c3.number_input("Learning rate", 1e-5, 1.0, RECIPE.learning_rate, format="%.4f", key="train_lr_signal")
        seed = c4.number_input("Seed", 0, 10_000, RECIPE.seed, key="train_seed_signal")
        augment = st.slider("Augmentation strength", 0.0, 2.0, RECIPE.augment, 0.25, key="train_aug_signal",
                            help="Gain per page and per lead, noise, baseline wander, a time shift of up to "
                                 "0.2 s and short unread gaps: what another cart, patient or reading changes.")
    return SignalRecipe(epochs=int(epochs), batch_size=int(batch), learning_rate=float(lr), augment=float(augment),
                        seed=int(seed), synthetic_per_epoch=RECIPE.synthetic_per_epoch)
