"""``bench``: measure the lab's speed on this machine (see :mod:`core.bench.suite`) and print a table."""
from __future__ import annotations

import sys
from pathlib import Path

from core.commands import print_json


def _n(value: float | None) -> str:
    """Three significant digits, without scientific notation for the sizes seen here; "—" for no value."""
    if value is None or value != value:
        return "—"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def _ratio(value: float) -> str:
    return f"{_n(value)}×"


def _load(section: dict) -> str:
    before, after = section["load_avg"]
    return f"{before:g} → {after:g} ({section['section_s']:.0f} s)"


def _pipeline_rows(p: dict) -> list[tuple[str, str, str, str]]:
    base = _n(p["baseline_images_per_s"])
    stages = p["stage_ms"]
    return [
        (f"images/s, {p['images']} full-size JPEGs → {p['spec']}, cold ({p['workers']} threads)",
         _n(p["project_cold_images_per_s"]), base, _ratio(p["ratio_cold"])),
        ("images/s, cold, 1 thread", _n(p["project_cold_1_thread_images_per_s"]), base,
         _ratio(p["ratio_cold_1_thread"])),
        ("images/s, disk cache warm", _n(p["project_warm_images_per_s"]), base, _ratio(p["ratio_warm"])),
        ("best cold ratio possible: threads × baseline ms ÷ ⅛-scale draft decode ms (per file)", "", "",
         _ratio(p["cold_ceiling"])),
        ("ms/image: decode (coarsest JPEG scale that covers the input) · grid crop · ink + resize",
         " · ".join(_n(stages[k]) for k in ("decode", "grid_crop", "ink_resize")), "", ""),
        ("ms/image: full decode (baseline's floor) · ⅛-scale draft decode (anyone's floor)",
         f"{_n(stages['decode_full'])} · {_n(stages['decode_eighth'])}", _n(stages["baseline"]), ""),
    ]


def _training_rows(t: dict) -> list[tuple[str, str, str, str]]:
    rows = []
    for arch in ("compact", "seed_cnn"):
        m = t[arch]
        rows += [
            (f"{arch} ({m['input']}, batch {m['batch_size']}): s/epoch",
             _n(m["project"]["epoch_s"]), _n(m["baseline"]["epoch_s"]), _ratio(m["pipeline_ratio"])),
            (f"{arch}: training images/s", _n(m["project"]["images_per_s"]), _n(m["baseline"]["images_per_s"]), ""),
            (f"{arch}: forward GFLOPs/image · achieved GFLOP/s (share of conv limit)",
             (f"{m['project']['flops_per_image'] / 1e9:.3g} · {_n(m['project']['gflop_per_s'])} "
              f"({m['fraction_of_conv_limit']:.0%})"), "", ""),
            (f"{arch}: test accuracy", f"{m['project']['test_accuracy']:.3f}", "", ""),
        ]
    images = t["compact"]["project"]["images"]
    return rows + [
        (f"conv limit: 3×3 conv {t['conv_limit']['shape']}, GFLOP/s: mean (before · after the runs)",
         (f"{_n(t['conv_limit']['gflop_per_s'])} ({_n(t['conv_limit']['gflop_per_s_before'])} · "
          f"{_n(t['conv_limit']['gflop_per_s_after'])})"), "", ""),
        ("seed_cnn + baseline epoch ÷ compact + project epoch", "", "", _ratio(t["compact_vs_seed_baseline"])),
        ("seed_cnn ÷ compact epoch, both with the project pipeline", "", "", _ratio(t["compact_vs_seed_project"])),
        ("images train · val · test", f"{images['train']} · {images['val']} · {images['test']}", "", ""),
    ]


def _live_demo_rows(d: dict) -> list[tuple[str, str, str, str]]:
    return [
        (f"Live-demo preset, {d['per_class']}/class, {d['epochs']} epochs: data ready → bundle saved, s",
         _n(d["wall_s"]), "", ""),
        ("of which scan + duplicate split · train() (decode once, epochs, calibration) · epochs alone, s",
         f"{_n(d['scan_s'])} · {_n(d['train_s'])} · {_n(d['epochs_s'])}", "", ""),
        ("synthetic data generation (separate), s", _n(d["generation_s"]), "", ""),
        (f"test accuracy ({d['test_images']} images)", f"{d['test_accuracy']:.3f}", "", ""),
    ]


def _predict_rows(p: dict) -> list[tuple[str, str, str, str]]:
    return [
        (f"model {p['model']}: warm prediction + {p['method']}, median · p95 of {p['runs']}, s",
         f"{_n(p['warm_median_s'])} · {_n(p['warm_p95_s'])}", "", ""),
        ("of which prediction · Grad-CAM (medians), s",
         f"{_n(p['predict_median_s'])} · {_n(p['gradcam_median_s'])}", "", ""),
        ("cold: load_bundle + first prediction + Grad-CAM, s", _n(p["cold_s"]), "", ""),
    ]


def _app_rows(a: dict) -> list[tuple[str, str, str, str]]:
    yes_no = {True: "yes", False: "no"}
    return [
        ("`streamlit run` → health OK, s", _n(a["server_up_s"]), "", ""),
        ("health OK → first page rendered in Chromium (baseline: a one-line Streamlit app), s",
         _n(a["first_page_s"]), _n(a["bare_first_page_s"]), _ratio(a["first_page_ratio"])),
        ("Home · Explore import TensorFlow",
         f"{yes_no[a['home_imports_tensorflow']]} · {yes_no[a['explore_imports_tensorflow']]}", "", ""),
    ]


def _first_minutes_rows(f: dict) -> list[tuple[str, str, str, str]]:
    return [
        ("`streamlit run` on an empty cache → health OK, s", _n(f["server_up_s"]), "", ""),
        (f"→ Explore's first gallery image in Chromium, s ({5 * f['per_class']} full-size pages being drawn)",
         _n(f["explore_first_image_s"]), "", ""),
        ("Live demo pressed at once: click → first epoch on screen · → bundle saved, s",
         f"{_n(f['live_demo_first_epoch_s'])} · {_n(f['live_demo_click_to_saved_s'])}", "", ""),
        (f"Live demo test accuracy ({f['live_demo_test_images']} images)", f"{f['live_demo_test_accuracy']:.3f}",
         "", ""),
    ]


def _frozen_rows(f: dict) -> list[tuple[str, str, str, str]]:
    return [(f"MobileNetV2 frozen base ({f['input']}): s/epoch, cached features vs base run every epoch",
             _n(f["cached_epoch_s"]), _n(f["uncached_epoch_s"]), _ratio(f["ratio"]))]


def _digitize_rows(d: dict) -> list[tuple[str, str, str, str]]:
    truth, real, speed = d["truth"], d["real"], d["speed"]
    rows = [
        (f"page reader on {truth['pages']} held-out truth pages: median lead SNR clean · scanned/photographed, dB",
         f"{_n(truth['median_snr_clean_db'])} · {_n(truth['median_snr_captured_db'])}", "", ""),
        ("right layout found (share of truth pages)", _n(truth["layout_right"]), "", ""),
    ]
    rows += [(f"  {effect}: median SNR dB · r · leads found · pages", f"{_n(v['median_snr_db'])} · "
              f"{_n(v['median_pearson_r'])} · {_n(v['leads_found'])} · {v['pages']}", "", "")
             for effect, v in truth["by_effect"].items()]
    rows += [(f"  layout {layout}: median SNR dB · right layout", f"{_n(v['median_snr_db'])} · {_n(v['layout_right'])}",
              "", "") for layout, v in truth["by_layout"].items()]
    if real.get("pages"):
        rows += [(f"{real['pages']} distinct Mendeley pages: readable · median Einthoven · every lead's rate within 5 bpm",
                  f"{_n(real['readable'])} · {_n(real['median_einthoven_ratio'])} · "
                  f"{_n(real['hr_all_leads_within_5_bpm'])}", "", "")]
    if d["other_sources"]["images"]:
        other = d["other_sources"]
        rows.append((f"{other['images']} ECGs from other sources (ecg-other-dev): readable", _n(other["readable"]), "", ""))
    rows.append((f"one {speed['page_size'][0]}×{speed['page_size'][1]} page: read (baseline: decode the file), s",
                 _n(speed["read_median_s"]), _n(speed["decode_median_s"]), _ratio(speed["ratio_to_decode"])))
    return rows


def _diagnosis_rows(d: dict) -> list[tuple[str, str, str, str]]:
    rows = [(f"{d['pages']} truth pages through Predict ({Path(d['bundle']).name}): accepted as ECGs · in the "
             "model's domain · class right", f"{_n(d['accepted'])} · {_n(d['in_domain'])} · {_n(d['accuracy'])}", "", "")]
    rows += [(f"  layout {layout}: accepted · in domain · class right (all · in domain) · pages",
              f"{_n(v['accepted'])} · {_n(v['in_domain'])} · {_n(v['accuracy'])} · {_n(v['accuracy_in_domain'])} · "
              f"{v['pages']}", "", "") for layout, v in d["by_layout"].items()]
    return rows


def _soak_rows(s: dict) -> list[tuple[str, str, str, str]]:
    judged = s["cycles"] - s["warm_up"]
    return [
        (f"server RSS growth over {judged} train → save → load → predict cycles (after {s['warm_up']} of "
         "warm-up), MB/cycle", _n(s["growth_mb_per_cycle"]), "", ""),
        ("RSS after each cycle, MB", " · ".join(f"{r:.0f}" for r in s["rss_mb"]), "", ""),
        ("seconds per cycle", _n(s["cycle_s"]), "", ""),
    ]


def _classroom_rows(c: dict) -> list[tuple[str, str, str, str]]:
    labels = {"first": "first student on a fresh server", "alone": "one student alone",
              "class": f"{c['students']} students at once", "alone_training": "one student alone, a training running",
              "class_training": f"{c['students']} students at once, a training running"}
    rows = []
    for name, label in labels.items():
        p = c["phases"][name]
        rows.append((f"{label}: results shown · median · slowest s · server CPU s/result · browser CPU "
                     "s/student · server RSS MB",
                     f"{p['shown']}/{p['students']} · {_n(p['median_s'])} · {_n(p['slowest_s'])} · "
                     f"{_n(p['server_cpu_s_per_result'])} · {_n(p['browser_cpu_s_per_student'])} · "
                     f"{_n(p['server_rss_mb'])}", "", ""))
    rows.append((f"with a training running, {c['students']} students ÷ one alone: median · slowest", "", "",
                 f"{_ratio(c['median_ratio_to_alone'])} · {_ratio(c['slowest_ratio_to_alone'])}"))
    rows.append(("training still running when the last student had a result; server peak RSS MB",
                 f"{c['phases']['class_training'].get('training_status_after')} · "
                 f"{_n(c['phases']['class_training']['server_peak_rss_mb'])}", "", ""))
    return rows


SECTIONS = (("pipeline", _pipeline_rows), ("training", _training_rows), ("live_demo", _live_demo_rows),
            ("predict", _predict_rows), ("app_start", _app_rows), ("first_minutes", _first_minutes_rows),
            ("frozen_transfer", _frozen_rows), ("digitize", _digitize_rows), ("diagnosis", _diagnosis_rows),
            ("soak", _soak_rows),
            ("classroom", _classroom_rows))


def _machine_line(results: dict) -> str:
    m, pages = results["machine"], results.get("pages")
    generated = (f", {pages['pages']} pages of {pages['page_size'][0]}×{pages['page_size'][1]} generated in "
                 f"{_n(pages['generation_s'])} s" if pages else "")
    return (f"{results['plan']} run of {', '.join(results['sections'])} on {m['cpu']}, {m['cores']} cores, "
            f"{m['memory_gib']:g} GiB; Python {m['python']}, TensorFlow {m['tensorflow']}, Keras {m['keras']}, "
            f"Pillow {m['pillow']}, NumPy {m['numpy']}; load average {m['load_avg_start']:g} → "
            f"{m['load_avg_end']:g}; {m['seconds'] / 60:.1f} min in all{generated}.")


def format_report(results: dict) -> str:
    """The results as two Markdown tables (figures, then targets) under a line naming the machine."""
    lines = [
        _machine_line(results),
        "",
        "| section | figure | project | baseline | ratio | load avg |",
        "|---|---|---|---|---|---|",
    ]
    for name, rows in SECTIONS:
        if name not in results:
            continue
        for i, (figure, value, baseline, ratio) in enumerate(rows(results[name])):
            load = _load(results[name]) if i == 0 else ""
            lines.append(f"| {name if i == 0 else ''} | {figure} | {value} | {baseline} | {ratio} | {load} |")
    lines += ["", "| target | measured | need | result |", "|---|---|---|---|"]
    for t in results["targets"]:
        lines.append(f"| {t['name']} | {_n(t['value'])}{t['unit']} | {t['need']} | "
                     f"{'pass' if t['passed'] else 'MISS'} |")
    return "\n".join(lines)


def _cmd_bench(args) -> int:
    from core.bench.suite import FULL, QUICK, chosen_sections, run

    def progress(message: str) -> None:
        print(f"bench: {message}", file=sys.stderr, flush=True)

    results = run(QUICK if args.quick else FULL, progress, chosen_sections(args.only))
    if args.json:
        print(format_report(results), file=sys.stderr)
        print_json(results)
    else:
        print(format_report(results))
    return 0


def register(sub) -> None:
    p = sub.add_parser("bench", help="measure pipeline, training, live demo, predict and app speed")
    p.add_argument("--quick", action="store_true", help="a small smoke run (a few minutes)")
    p.add_argument("--only", metavar="SECTION[,SECTION]",
                   help="run just these sections: pipeline, training, live_demo, predict, frozen_transfer, "
                        "app_start, first_minutes, digitize, diagnosis, soak, classroom (the figures they need are "
                        "measured too)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object with every figure (the table goes to stderr)")
    p.set_defaults(func=_cmd_bench)
