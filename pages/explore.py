"""Explore: what is in the dataset, what each class looks like, and which copies would leak."""
from pathlib import Path

import pandas as pd
import streamlit as st

from core.charts import class_counts_chart
from core.data import outline_grid_box, page_count, sample_page, thumbnail
from core.ecg import Preprocessing, crop_page
from core.errors import USER_ERRORS
from core.imageio import load_image
from core.teach import explain_class
from pages.choosers import dataset_picker, drawing_text, generating_builtin, load_current
from pages.common import EXPLORE_TAB_KEY, escape, require_app_navigation
from pages.signals_ui import show_signals

require_app_navigation()

PER_PAGE = 8


@st.cache_data(max_entries=512, show_spinner=False)
def _thumb(path: str):
    return thumbnail(path)


def show_overview(data) -> None:
    index, report = data.index, data.report
    cols = st.columns(5)
    cols[0].metric("Images", len(index))
    cols[1].metric("Classes", len(data.classes))
    cols[2].metric("Distinct pages", index["dup_group"].nunique(),
                   help="Images left after merging exact and near duplicates into one.")
    cols[3].metric("Duplicate groups", len(report.near_groups),
                   help="Groups of files that show the same page (byte-identical or near-identical).")
    cols[4].metric("Skipped files", len(data.skipped))
    st.altair_chart(class_counts_chart(data.split_counts()), width="stretch")
    st.caption(
        "The split is **duplicate-safe**: every copy of a page lands on the same side, so the test "
        "set only holds pages the model has never seen. A random split of raw files would leak copies "
        "into the test set and inflate the score."
    )


def show_gallery(data) -> None:
    cls = st.selectbox("Class", data.classes, key="explore_class")
    guide = explain_class(cls)
    st.markdown(f"**What it looks like.** {guide['looks_like']}  \n**Where to look.** {guide['where_to_look']}")
    rows_of_class = int((data.index["class"] == cls).sum())
    pages = page_count(rows_of_class, PER_PAGE)
    left, mid, right = st.columns([2, 1, 4])
    page = left.number_input(f"Page (of {pages})", 1, pages, 1, key="explore_page") - 1
    if mid.button("Shuffle", icon=":material/shuffle:", key="explore_shuffle"):
        st.session_state["explore_seed"] = st.session_state.get("explore_seed", 0) + 1
    right.caption(f"{rows_of_class} images of {escape(cls)}")
    shown = sample_page(data.index, cls, page=page, per_page=PER_PAGE,
                        seed=st.session_state.get("explore_seed", 0))
    columns = st.columns(4)
    for i, row in enumerate(shown.itertuples()):
        with columns[i % 4]:
            try:
                st.image(_thumb(row.path), caption=f"{row.relpath} · {row.split}", width="stretch")
            except USER_ERRORS as exc:
                st.error(escape(exc))


def show_first_pages(run) -> None:
    """While the built-in set is being drawn: the count so far and each class's first pages, refreshed
    every second. The overview and the other views need the whole set (its split and duplicates)."""
    from core.classes import CANONICAL_CLASSES

    cls = st.selectbox("Class", CANONICAL_CLASSES, key="explore_class")
    guide = explain_class(cls)
    st.markdown(f"**What it looks like.** {guide['looks_like']}  \n**Where to look.** {guide['where_to_look']}")

    @st.fragment(run_every=1.0)
    def gallery() -> None:
        if run.finished:
            st.rerun()            # the whole page: overview, split and every view
        if run.failed:
            st.error(f"The built-in pages could not be drawn ({escape(run.error)}). Reload the page to "
                     "try again, or choose another dataset.")
            return
        done, total = run.progress()
        st.progress(done / total, text=drawing_text(run, "The first ones are below; the class counts, the split "
                                                         "and the other views open when all are drawn."))
        pages = run.pages(cls)
        st.caption(f"{len(pages)} of {total // len(CANONICAL_CLASSES)} images of {escape(cls)} drawn so far")
        columns = st.columns(4)
        for i, path in enumerate(pages[:PER_PAGE]):
            with columns[i % 4]:
                try:
                    st.image(_thumb(str(path)), caption=path.name, width="stretch")
                except USER_ERRORS:
                    st.caption("(moved into the finished set)")  # the run ended between two looks
    gallery()


def choose_page(data, key: str) -> tuple[str, str]:
    """A page of the dataset picked by its relative path: ``(relpath, path)``."""
    choice = st.selectbox("Page", data.index["relpath"].tolist(), key=key)
    return choice, data.index.loc[data.index["relpath"] == choice, "path"].iloc[0]


def show_crop(data) -> None:
    st.markdown(
        "Report pages print a **patient ID, date, time and heart rate** around the ECG grid. A model "
        "can learn to read those instead of the waveforms, so the lab crops every page to its grid "
        "first. The blue box is what the model is shown."
    )
    choice, path = choose_page(data, "explore_crop_page")
    try:
        page = load_image(path, max_side=1400)
    except USER_ERRORS as exc:
        st.error(escape(exc))
        return
    before, after = st.columns(2)
    before.image(outline_grid_box(page), caption="Before: the whole page, grid outlined", width="stretch")
    after.image(crop_page(page, Preprocessing()), caption="After: only the ECG grid", width="stretch")


def show_reading(data) -> None:
    st.markdown(
        "A network that looks at pixels learns whatever separates the classes — a printer's fonts as "
        "happily as the ST segment. The lab also **reads** the page as a cardiologist does: it finds the "
        "sheet and its millimetre grid, follows each trace and turns it into a signal in millivolts. "
        "Those signals are the same on any printer, scan or photo."
    )
    choice, path = choose_page(data, "explore_signals_page")
    try:
        image = Path(path).read_bytes()
    except OSError as exc:
        st.error(escape(exc))
        return
    show_signals(choice, image, key="explore_signals")


def show_duplicates(data) -> None:
    report, index = data.report, data.index
    near = {frozenset(g) for g in report.groups_with_near_copies}
    groups = [("near" if frozenset(g) in near else "exact", g) for g in report.near_groups]
    n_near = sum(kind == "near" for kind, _ in groups)
    st.markdown(
        f"**{len(groups)}** pages are present more than once: **{len(groups) - n_near}** as byte-identical "
        f"copies only, **{n_near}** with near-identical copies (re-saved, resized or re-scanned). "
        f"That is **{report.n_duplicate_files}** redundant files. Each group is kept on one side of the split."
    )
    if not groups:
        st.success("No duplicates found.")
    else:
        table = pd.DataFrame({
            "kind": [kind for kind, _ in groups],
            "copies": [len(g) for _, g in groups],
            "class": [index.loc[index["path"] == g[0], "class"].iloc[0] for _, g in groups],
            "split": [index.loc[index["path"] == g[0], "split"].iloc[0] for _, g in groups],
            "first file": [index.loc[index["path"] == g[0], "relpath"].iloc[0] for _, g in groups],
        })
        st.dataframe(table, hide_index=True, width="stretch", height=220)
        which = st.number_input(f"Show group (1–{len(groups)})", 1, len(groups), 1, key="explore_group")
        kind, group = groups[which - 1]
        columns = st.columns(min(4, len(group)))
        for i, path in enumerate(group[:4]):
            columns[i].image(_thumb(path), caption=f"{kind} copy {i + 1}", width="stretch")
    if len(report.conflicts):
        st.error("Some duplicate groups carry **different class labels** — the same page filed "
                 "under two diagnoses:")
        st.dataframe(report.conflicts, hide_index=True, width="stretch")
    if len(report.leakage):
        st.warning("The dataset's own train/test folders **share copies** of these pages — its test "
                   "score would be inflated:")
        st.dataframe(report.leakage, hide_index=True, width="stretch")


def show_files(data) -> None:
    index = data.index
    sizes = (index.assign(size=index["width"].astype(str) + "×" + index["height"].astype(str))
             .groupby(["size", "format", "mode"]).size().rename("images").reset_index()
             .sort_values("images", ascending=False))
    st.dataframe(sizes, hide_index=True, width="stretch")
    if len(data.skipped):
        st.markdown("**Skipped files** and why:")
        st.dataframe(data.skipped[["path", "reason"]], hide_index=True, width="stretch")


st.title("Explore the data")
st.markdown("Look at the pages before training on them: how many of each class, what they look "
            "like, and which are copies of each other.")
dataset_picker("explore")
if (run := generating_builtin()) is not None:
    show_first_pages(run)
    st.stop()
data = load_current()
if data is None:
    st.stop()

show_overview(data)
# Stateful tabs (key + on_change="rerun") run lazily: only the open view computes, so reading a page's
# signals or grouping duplicates costs nothing until a student opens that tab.
VIEWS = {"Gallery": show_gallery, "Signals": show_reading, "Header crop": show_crop,
         "Duplicates & leakage": show_duplicates, "Sizes & files": show_files}
for tab, show in zip(st.tabs(list(VIEWS), key=EXPLORE_TAB_KEY, on_change="rerun"), VIEWS.values()):
    if tab.open:
        with tab:
            show(data)
