"""The Train page's "Search hyper-parameters" expander: budget, run, ranked table, chart, and a button
that copies the best configuration into the Train settings.

The Train page owns its settings widgets; this module only writes their session-state keys, from a
button callback (callbacks run before the page's widgets exist, the one moment Streamlit allows it).
"""
from __future__ import annotations

from dataclasses import replace

import streamlit as st

from core.charts import tuning_chart
from core.errors import USER_ERRORS
from core.learn import SearchSpace, TrainConfig, TuningResult, tune
from pages.common import escape

RESULT_KEY = "tune_result"
WIDTH_KEY = "tune_width"         # {"arch": ..., "width": ...}: the searched width the form has no widget for


def _size_label(size: tuple[int, int]) -> str:
    return f"{size[0]}×{size[1]}"


def _space(config: TrainConfig) -> SearchSpace | None:
    """The search space for the form's model; ``None`` when the user picked no size."""
    if config.arch != "compact":
        # Other architectures have fixed-size inputs in practice (224×224 bases): search the rest.
        return SearchSpace(sizes=((config.preprocessing.height, config.preprocessing.width),))
    current = (config.preprocessing.height, config.preprocessing.width)
    options = sorted({*SearchSpace().sizes, current} if current[0] % 64 == 0 == current[1] % 64
                     else set(SearchSpace().sizes))
    chosen = st.multiselect("Image sizes to try", options, default=options, format_func=_size_label,
                            key="tune_sizes")
    return SearchSpace(sizes=tuple(chosen)) if chosen else None


def _apply_best(best: TrainConfig) -> None:
    """Copy the best configuration into the Train settings form (a button callback)."""
    arch = best.arch
    st.session_state["train_preset"] = "custom"
    st.session_state["train_arch_custom"] = arch
    st.session_state["train_lr_custom"] = float(best.learning_rate)
    st.session_state[f"train_h_custom_{arch}"] = int(best.preprocessing.height)
    st.session_state[f"train_w_custom_{arch}"] = int(best.preprocessing.width)
    st.session_state["train_aug_custom"] = float(best.augment)
    st.session_state[WIDTH_KEY] = {"arch": arch, "width": float(best.width)}
    st.session_state["tune_flash"] = "The best configuration is now in the Train settings (preset Custom)."


def _run(data, config: TrainConfig, space: SearchSpace, budget: int, folds: int, epochs: int) -> None:
    progress = st.progress(0.0, text="Searching…")
    live = st.empty()
    rows: list[dict] = []

    def listener(event: dict) -> None:
        if event["event"] == "trial":
            rows.append(event)
            live.caption(f"{len(rows)} trials so far · best macro-F1 "
                         f"{max((r['macro_f1'] for r in rows if r['state'] == 'complete'), default=float('nan')):.3f}")
        progress.progress(min(1.0, sum(r["seconds"] for r in rows) / budget),
                          text=f"Trial {event['trial'] + 1} · fold {event.get('fold', folds)}/{folds}")

    try:
        st.session_state[RESULT_KEY] = tune(data.index, config, budget_seconds=budget, folds=folds,
                                            epochs=epochs, space=space, seed=config.seed, listener=listener)
    except USER_ERRORS as exc:
        st.error(f"The search could not run: {escape(exc)}")
    finally:
        progress.empty()
        live.empty()


def _show(result: TuningResult) -> None:
    for note in result.notes:
        st.warning(escape(note))
    st.caption(f"{len(result.table)} trials in {result.seconds:.0f} s (budget {result.budget:.0f} s), "
               f"{result.folds}-fold duplicate-safe cross-validation on the train and validation pages; "
               "the test pages were never used. Click a column header to sort.")
    st.dataframe(result.table, hide_index=True, width="stretch", key="tune_table",
                 column_config={"learning_rate": st.column_config.NumberColumn(format="%.2e"),
                                "macro_f1": st.column_config.NumberColumn("macro-F1", format="%.3f"),
                                "accuracy": st.column_config.NumberColumn(format="%.3f")})
    st.altair_chart(tuning_chart(result.table), width="stretch")
    if result.best is not None:
        best = result.best
        st.markdown(f"**Best:** learning rate {best.learning_rate:.2e}, images "
                    f"{_size_label((best.preprocessing.height, best.preprocessing.width))}, augmentation "
                    f"{best.augment:g}, model width {best.width:g}.")
        st.button("Use the best configuration", key="tune_use_best", type="primary",
                  on_click=_apply_best, args=(best,), icon=":material/tune:")


def search_expander(data, config: TrainConfig, *, disabled: bool = False) -> TrainConfig:
    """Draw the search expander; return ``config`` with the searched model width when it applies."""
    with st.expander("Search hyper-parameters"):
        if flash := st.session_state.pop("tune_flash", None):
            st.success(flash)
        st.markdown("Tries learning rates, image sizes, augmentation strengths and model widths around "
                    "the settings above, scoring each by cross-validation with duplicates kept together. "
                    "It uses the CPU like a training run.")
        c1, c2, c3 = st.columns(3)
        budget = c1.number_input("Time budget (seconds)", 10, 3600, 120, step=10, key="tune_budget")
        folds = c2.radio("Folds", [2, 3], horizontal=True, key="tune_folds")
        epochs = c3.number_input("Epochs per fold", 1, 20, 3, key="tune_epochs")
        space = _space(config)
        if st.button("Search", key="tune_run", icon=":material/search:", disabled=disabled or space is None):
            _run(data, config, space, int(budget), int(folds), int(epochs))
        result = st.session_state.get(RESULT_KEY)
        if result is not None:
            _show(result)
    tuned = st.session_state.get(WIDTH_KEY)
    if tuned and tuned["arch"] == config.arch and st.session_state.get("train_preset") == "custom":
        st.caption(f"Model width {tuned['width']:g} from the search.")
        return replace(config, width=tuned["width"])
    return config
