"""The downloadable prediction report: one self-contained HTML file (images embedded as base64 PNG).

Everything a reader needs travels in the file: the image and the saliency overlay, the class
probabilities, the status, the guidance with its citations, the model's name and version, the date
and the disclaimer. Every piece of user or model data (file name, class names, model name) is
HTML-escaped.
"""
from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pandas as pd
from PIL import Image

from core.use.diagnosis import Diagnosis
from core.use.explain import png_bytes
from core.use.guidance import RISK_COLORS, Guidance

REPORT_IMAGE_SIDE = 1200     # px; keeps a report of a full-size scan around 1-2 MB


@dataclass
class ReportInput:
    """What goes into a report (images are PIL images; ``overlay`` may be missing)."""

    file_name: str
    diagnosis: Diagnosis
    guidance: Guidance
    image: Image.Image
    overlay: Image.Image | None = None
    method: str = ""
    territory: str = ""
    leads: pd.DataFrame | None = None
    model_name: str = ""
    model_details: dict = field(default_factory=dict)
    created: datetime | None = None


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _img(image: Image.Image, alt: str) -> str:
    small = image.copy()
    small.thumbnail((REPORT_IMAGE_SIDE, REPORT_IMAGE_SIDE))
    data = base64.b64encode(png_bytes(small.convert("RGB"))).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _advice_list(items, sources) -> str:
    rows = []
    for advice in items:
        refs = "".join(f' <a class="ref" href="#src-{_e(k)}">[{_e(sources[k])}]</a>' for k in advice.sources if k in sources)
        rows.append(f"<li>{_e(advice.text)}{refs}</li>")
    return "<ul>" + "".join(rows) + "</ul>"


_STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem auto;max-width:980px;color:#1f2d3d;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{font-size:1.2rem;margin-top:1.6rem;border-bottom:1px solid #ddd}
.meta{color:#566;font-size:.9rem} .badge{display:inline-block;padding:.15rem .6rem;border-radius:1rem;color:#fff;font-weight:600}
.disclaimer{background:#fff4e5;border-left:4px solid #f57c00;padding:.6rem .9rem;margin:1rem 0}
.emergency{background:#fdecea;border-left:4px solid #d32f2f;padding:.6rem .9rem}
.images{display:flex;gap:1rem;flex-wrap:wrap} .images figure{flex:1 1 440px;margin:0} .images img{width:100%;border:1px solid #ccc}
table{border-collapse:collapse} td,th{padding:.2rem .7rem;border-bottom:1px solid #eee;text-align:left}
.bar{background:#4c78a8;height:.8rem;display:inline-block;vertical-align:middle} a.ref{font-size:.8rem;color:#4c78a8}
"""


def report_html(data: ReportInput) -> str:
    """The report as one HTML string."""
    d, g = data.diagnosis, data.guidance
    created = (data.created or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M %Z").strip()
    table = {s.key: s.short for s in g.sources}
    details = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in data.model_details.items() if v not in (None, ""))
    risk = g.risk or "none"
    colour = RISK_COLORS.get(g.risk or "", "#757575")
    probs = "".join(
        f'<tr><td>{_e(c)}</td><td><span class="bar" style="width:{max(p * 240, 1):.0f}px"></span> {p:.1%}</td></tr>'
        for c, p in sorted(d.probabilities.items(), key=lambda kv: -kv[1]))
    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>ECG Image Lab report: {_e(data.file_name)}</title><style>{_STYLE}</style></head><body>",
        "<h1>ECG Image Lab — prediction report</h1>",
        f'<p class="meta">File: <b>{_e(data.file_name)}</b> · Model: <b>{_e(data.model_name)}</b> · Created: {_e(created)}</p>',
        f'<div class="disclaimer"><b>{_e(g.disclaimer)}</b></div>',
        "<h2>Result</h2>",
        f"<p>Predicted class: <b>{_e(d.predicted)}</b> · calibrated confidence <b>{d.confidence:.1%}</b> · "
        f'status <span class="badge" style="background:#455a64">{_e(d.status)}</span> · '
        f'risk <span class="badge" style="background:{colour}">{_e(risk)}</span></p>',
    ]
    if g.risk_note:
        parts.append(f"<p>{_e(g.risk_note)}</p>")
    if d.reasons:
        parts.append("<p>Why: " + "; ".join(_e(r) for r in d.reasons) + ".</p>")
    parts.append(f"<table><tr><th>class</th><th>probability</th></tr>{probs}</table>")
    parts.append('<h2>Image</h2><div class="images">')
    parts.append(f"<figure>{_img(data.image, 'uploaded image')}<figcaption>Uploaded image</figcaption></figure>")
    if data.overlay is not None:
        caption = f"{_e(data.method)} overlay: red/yellow = regions that raised the score of {_e(d.predicted)}"
        parts.append(f"<figure>{_img(data.overlay, 'saliency overlay')}<figcaption>{caption}</figcaption></figure>")
    parts.append("</div>")
    if data.territory:
        parts.append(f"<p>{_e(data.territory)}</p>")
    if data.leads is not None and not data.leads.empty:
        rows = "".join(f"<tr><td>{_e(r.lead)}</td><td>{r.share:.1%}</td></tr>" for r in data.leads.head(6).itertuples())
        parts.append(f"<table><tr><th>lead</th><th>share of saliency (per unit area)</th></tr>{rows}</table>")
    parts.append(f"<h2>{_e(g.title)}</h2><p>{_e(g.interpretation)}</p>")
    for note in g.notes:
        parts.append(f"<p>{_e(note)}</p>")
    if g.clinical:
        if g.emergency is not None:
            parts.append(f'<div class="emergency"><b>What to do now:</b> {_advice_list([g.emergency], table)}</div>')
        for title, items in g.sections():
            parts.append(f"<h2>{_e(title)}</h2>{_advice_list(items, table)}")
        if g.sources:
            refs = "".join(
                f'<li id="src-{_e(s.key)}">{_e(s.citation)}'
                + (f' <a href="{_e(s.url)}">{_e("doi:" + s.doi if s.doi else s.url)}</a>' if s.url else "")
                + "</li>" for s in g.sources)
            parts.append(f"<h2>Sources</h2><ol>{refs}</ol>")
    else:
        parts.append("<p>No clinical advice is given for this image.</p>")
    if details:
        parts.append(f"<h2>Model</h2><table>{details}</table>")
    parts.append(f'<div class="disclaimer">{_e(g.disclaimer)}</div></body></html>')
    return "\n".join(parts)


def model_details(bundle) -> dict:
    """Name, version and provenance of a loaded bundle, for the report."""
    m = bundle.metadata
    metrics = m.metrics or {}
    return {
        "name": m.name or bundle.path.name,
        "architecture": m.architecture,
        "classes": ", ".join(m.classes),
        "trained": m.created,
        "app version": (m.versions or {}).get("app", ""),
        "Keras": (m.versions or {}).get("keras", ""),
        "dataset": (m.dataset or {}).get("name", ""),
        "test accuracy": f"{metrics['test_accuracy']:.3f}" if isinstance(metrics.get("test_accuracy"), (int, float)) else "",
        "calibration temperature": f"{(m.calibration or {}).get('temperature', 1.0):.2f}",
    }
