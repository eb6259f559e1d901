"""Real non-ECG images from what installed packages ship, and renders by standard libraries.

Shipped images: ``skimage.data`` files inside the scikit-image wheel (no download), scikit-learn's
two sample photos, matplotlib's ``mpl-data/sample_data`` (a photo, an MRI slice, EEG, stock prices,
terrain) and toolbar icons. Renders: matplotlib charts with grids (pink and graph-paper styles),
candlestick charts, audio and seismic waveforms, EEG, spectrograms, scribbled handwriting, text
documents, web pages screenshotted by headless Chromium, blank and flat images, noise, blank
millimetre graph paper (flat and photographed) and single-trace heart-monitor strips (an ECG lead,
but no 12-lead page). ``non_ecg_sources()`` lists them as (name, kind, source, loader).
"""
from __future__ import annotations

import gzip
import io
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

Loader = Callable[[], Image.Image]
Source = tuple[str, str, str, Loader]

# skimage.data files shipped in the wheel, by kind (the rest of skimage.data needs a download).
_SKIMAGE = {
    "photo": ("astronaut.png", "camera.png", "chelsea.png", "coffee.png", "coins.png", "moon.png",
              "motorcycle_left.png", "motorcycle_right.png", "rocket.jpg", "clock_motion.png",
              "hubble_deep_field.jpg"),
    "texture": ("brick.png", "grass.png", "gravel.png", "chessboard_GRAY.png", "chessboard_RGB.png", "color.png"),
    "medical": ("cell.png", "ihc.png", "microaneurysms.png", "retina.jpg", "phantom.png"),
    "document": ("page.png", "text.png"),
    "drawing": ("horse.png", "logo.png"),
}
_MPL_ICONS = ("home.png", "zoom_to_rect_large.png", "matplotlib_large.png")
_PINK, _GRAPH = "#fdeef0", "#f4fbf4"


def _open(path: Path) -> Loader:
    def load() -> Image.Image:
        with Image.open(path) as img:
            img.load()
            return img.copy()
    return load


def _figure(draw: Callable, size: tuple[float, float] = (11, 7.8), dpi: int = 100, style: str = "default",
            facecolor: str = "white") -> Loader:
    """A loader that renders ``draw(fig)`` with matplotlib (Agg) to a PIL image."""
    def load() -> Image.Image:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        with plt.style.context(style):
            fig = plt.figure(figsize=size, dpi=dpi, facecolor=facecolor)
            draw(fig)
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", facecolor=fig.get_facecolor())
            plt.close(fig)
        return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    return load


def _shipped() -> list[Source]:
    import matplotlib
    import skimage.data

    out = []
    folder = Path(skimage.data.__file__).parent
    for kind, names in _SKIMAGE.items():
        out += [(f"skimage-{n.split('.')[0]}", kind, f"scikit-image skimage/data/{n}", _open(folder / n))
                for n in names if (folder / n).exists()]

    def sklearn_photo(i: int) -> Loader:
        def load() -> Image.Image:
            from sklearn.datasets import load_sample_images
            return Image.fromarray(load_sample_images().images[i])
        return load
    out += [(f"sklearn-{n}", "photo", f"sklearn.datasets.load_sample_images {n}.jpg", sklearn_photo(i))
            for i, n in enumerate(("china", "flower"))]
    mpl = Path(matplotlib.get_data_path())
    out += [("mpl-grace_hopper", "photo", "matplotlib sample_data/grace_hopper.jpg",
             _open(mpl / "sample_data" / "grace_hopper.jpg")),
            ("mpl-logo2", "drawing", "matplotlib sample_data/logo2.png", _open(mpl / "sample_data" / "logo2.png")),
            ("mpl-present", "drawing", "matplotlib sample_data/Minduka_Present_Blue_Pack.png",
             _open(mpl / "sample_data" / "Minduka_Present_Blue_Pack.png")),
            ("mpl-mri", "medical", "matplotlib sample_data/s1045.ima.gz (MRI slice)", _mri(mpl))]
    out += [(f"mpl-icon-{n.split('.')[0]}", "icon", f"matplotlib mpl-data/images/{n}", _open(mpl / "images" / n))
            for n in _MPL_ICONS if (mpl / "images" / n).exists()]
    for name in ("topobathy", "jacksboro_fault_dem"):
        out.append((f"mpl-{name}", "terrain", f"matplotlib sample_data/{name}.npz shaded", _terrain(mpl, name)))
    return out


def _mri(mpl: Path) -> Loader:
    def load() -> Image.Image:
        raw = np.frombuffer(gzip.decompress((mpl / "sample_data" / "s1045.ima.gz").read_bytes()), np.uint16)
        image = raw.reshape(256, 256).astype(float)
        return Image.fromarray((255 * image / image.max()).astype(np.uint8)).resize((768, 768))
    return load


def _terrain(mpl: Path, name: str) -> Loader:
    def draw(fig) -> None:
        from matplotlib.colors import LightSource

        with np.load(mpl / "sample_data" / f"{name}.npz") as data:
            z = data["elevation"] if "elevation" in data else data[data.files[0]]
        ax = fig.add_axes((0, 0, 1, 1))
        ax.imshow(LightSource(315, 45).shade(np.asarray(z, float), cmap=__import__("matplotlib").colormaps["gist_earth"]))
        ax.axis("off")
    return _figure(draw, (8, 6))


def _charts() -> list[Source]:
    import matplotlib

    mpl = Path(matplotlib.get_data_path()) / "sample_data"
    out = []
    styles = (("default", "white"), ("ggplot", "white"), ("seaborn-v0_8-whitegrid", "white"), ("bmh", "white"),
              ("default", _PINK), ("default", _GRAPH))

    def paper_grid(ax, colour: str) -> None:
        ax.set_facecolor(colour)
        ax.minorticks_on()
        ax.grid(True, which="major", color="#e08090", linewidth=0.9)
        ax.grid(True, which="minor", color="#f2b8c2", linewidth=0.4)

    for i, (style, face) in enumerate(styles):
        rng = np.random.default_rng(i)

        def line(fig, rng=rng, face=face) -> None:
            ax = fig.add_subplot()
            x = np.linspace(0, 10, 400)
            for k in range(3):
                ax.plot(x, np.cumsum(rng.normal(0, 1, 400)) + 10 * k, linewidth=1.5)
            if face == "white":
                ax.grid(True)
            else:
                paper_grid(ax, face)

        def bars(fig, rng=rng, face=face) -> None:
            ax = fig.add_subplot()
            ax.bar(range(12), rng.uniform(2, 10, 12))
            ax.grid(True, axis="y") if face == "white" else paper_grid(ax, face)

        def scatter(fig, rng=rng, face=face) -> None:
            ax = fig.add_subplot()
            ax.scatter(rng.normal(size=200), rng.normal(size=200), s=12)
            ax.grid(True) if face == "white" else paper_grid(ax, face)
        tag = f"{style}-{'pink' if face == _PINK else 'graph' if face == _GRAPH else 'white'}"
        out += [(f"chart-line-{tag}", "chart_grid", f"matplotlib plot, style {tag}", _figure(line, style=style)),
                (f"chart-bar-{tag}", "chart_grid", f"matplotlib bar, style {tag}", _figure(bars, style=style)),
                (f"chart-scatter-{tag}", "chart_grid", f"matplotlib scatter, style {tag}", _figure(scatter, style=style))]

    def stocks(fig) -> None:
        data = np.genfromtxt(mpl / "Stocks.csv", delimiter=",", skip_header=2)[:, 1:]
        ax = fig.add_subplot()
        ax.semilogy(data, linewidth=1)
        ax.grid(True)
    out.append(("chart-stocks", "chart_grid", "matplotlib sample_data/Stocks.csv line chart", _figure(stocks)))
    return out + _candlesticks(mpl)


def _candlesticks(mpl: Path) -> list[Source]:
    out = []
    for i, (start, n, face) in enumerate(((0, 60, "white"), (200, 120, "white"), (500, 40, _PINK),
                                          (1000, 90, "#111111"), (1500, 200, "white"), (2000, 75, _GRAPH))):
        def draw(fig, start=start, n=n, face=face) -> None:
            with np.load(mpl / "goog.npz") as data:
                price = data["price_data"][start:start + n]
            ax = fig.add_subplot(facecolor=face)
            up = price["close"] >= price["open"]
            x = np.arange(len(price))
            ax.vlines(x, price["low"], price["high"], color="grey", linewidth=1)
            ax.bar(x, price["close"] - price["open"], bottom=price["open"], color=np.where(up, "g", "r"), width=0.7)
            ax.grid(True, color="#888888" if face == "#111111" else "#cccccc")
        out.append((f"candlestick-{i}", "candlestick", f"matplotlib candlestick of sample_data/goog.npz [{start}:{start + n}]",
                    _figure(draw)))
    return out


def _waveforms() -> list[Source]:
    import matplotlib

    mpl = Path(matplotlib.get_data_path()) / "sample_data"
    out = []

    def audio(seed: int, tracks: int) -> Callable:
        def draw(fig) -> None:
            rng = np.random.default_rng(seed)
            t = np.linspace(0, 3, 44100 * 3 // 20)
            for k in range(tracks):
                ax = fig.add_subplot(tracks, 1, k + 1)
                envelope = np.convolve(rng.random(len(t)) > 0.995, np.hanning(600), "same")
                ax.plot(t, envelope * np.sin(2 * np.pi * (200 + 50 * k) * t * (1 + t)) + rng.normal(0, 0.02, len(t)),
                        linewidth=0.6, color="#1f5fa0")
                ax.set_xlim(0, 3)
                ax.grid(seed % 2 == 0)
        return draw

    def seismic(seed: int, stations: int) -> Callable:
        def draw(fig) -> None:
            rng = np.random.default_rng(seed)
            t = np.linspace(0, 120, 6000)
            ax = fig.add_subplot()
            for k in range(stations):
                p, s = 20 + 4 * k + rng.uniform(0, 3), 35 + 7 * k + rng.uniform(0, 5)
                wave = rng.normal(0, 0.03, len(t))
                for arrival, size, freq in ((p, 0.5, 3.0), (s, 1.0, 1.2)):
                    after = np.clip(t - arrival, 0, None)
                    wave += size * (t > arrival) * np.exp(-after / 12) * np.sin(2 * np.pi * freq * after)
                ax.plot(t, wave + 2.5 * k, color="black", linewidth=0.6)
            ax.set_xlabel("time (s)")
            ax.grid(seed % 2 == 1)
        return draw

    def eeg(start: int, channels: int, face: str) -> Callable:
        def draw(fig) -> None:
            data = np.fromfile(mpl / "eeg.dat", dtype=float).reshape(-1, 4)[start:start + 400]
            ax = fig.add_subplot(facecolor=face)
            for k in range(channels):
                trace = data[:, k % 4] * (1 + 0.3 * (k // 4))
                ax.plot(trace / np.ptp(trace) + k, color="black", linewidth=0.6)
            ax.set_yticks(range(channels), [f"ch{k}" for k in range(channels)])
            ax.grid(True)
        return draw

    def membrane(fig) -> None:
        data = np.fromfile(mpl / "membrane.dat", dtype=np.float32)
        ax = fig.add_subplot()
        ax.plot(data[:2000], color="black", linewidth=0.7)
        ax.grid(True)
    out += [(f"audio-{i}", "waveform_audio", f"matplotlib render of a synthetic {n}-track audio waveform",
             _figure(audio(i, n))) for i, n in enumerate((1, 2, 1, 4, 3, 6))]
    out += [(f"seismic-{i}", "waveform_seismic", f"matplotlib render of a synthetic {n}-station seismogram",
             _figure(seismic(i, n))) for i, n in enumerate((1, 3, 6, 12, 4, 5, 3, 8))]
    out += [(f"eeg-{i}", "waveform_eeg", f"matplotlib sample_data/eeg.dat, {n} channels from sample {start}",
             _figure(eeg(start, n, face))) for i, (start, n, face) in enumerate(
                 ((0, 4, "white"), (0, 3, _PINK), (400, 6, "white"), (200, 8, _GRAPH), (600, 4, _PINK), (100, 12, "white")))]
    out += [("membrane", "waveform_eeg", "matplotlib sample_data/membrane.dat trace", _figure(membrane))]
    return out + _spectrograms()


def _spectrograms() -> list[Source]:
    out = []
    for i, cmap in enumerate(("viridis", "magma", "Greys", "jet", "inferno", "gray_r", "plasma", "cividis")):
        def draw(fig, i=i, cmap=cmap) -> None:
            from scipy.signal import chirp, spectrogram

            t = np.linspace(0, 4, 32000)
            x = chirp(t, 100, 4, 3000 + 1000 * i) + np.random.default_rng(i).normal(0, 0.3, len(t))
            f, tt, s = spectrogram(x, 8000, nperseg=256)
            ax = fig.add_subplot()
            ax.pcolormesh(tt, f, 10 * np.log10(s + 1e-12), cmap=cmap, shading="auto")
            ax.set_xlabel("time (s)")
            ax.set_ylabel("frequency (Hz)")
        out.append((f"spectrogram-{cmap}", "spectrogram", f"scipy.signal.spectrogram of a chirp, matplotlib {cmap}",
                    _figure(draw)))
    return out


def _handwriting() -> list[Source]:
    out = []
    for i in range(6):
        def load(i=i) -> Image.Image:
            rng = np.random.default_rng(100 + i)
            lined = i % 2 == 0
            img = Image.new("RGB", (1400, 1000), (252, 252, 246))
            draw = ImageDraw.Draw(img)
            if lined:
                for y in range(80, 1000, 60):
                    draw.line((0, y, 1400, y), fill=(170, 200, 235), width=2)
            for y in range(120 if lined else 100, 950, 60 if lined else 90):
                x = 60 + rng.uniform(0, 40)
                while x < 1300 - 60:
                    n = int(rng.integers(20, 60))             # one "word": a cursive loop train
                    s = np.linspace(0, rng.uniform(2, 6) * np.pi, n)
                    xs = x + np.linspace(0, rng.uniform(60, 160), n) + 8 * np.cos(s * 1.3)
                    ys = y - 14 * np.abs(np.sin(s)) * rng.uniform(0.6, 1.4) + rng.normal(0, 1.2, n)
                    draw.line(list(zip(xs.tolist(), ys.tolist())), fill=(20, 30, 90), width=3, joint="curve")
                    x = xs[-1] + rng.uniform(20, 45)
            return img
        out.append((f"handwriting-{i}", "handwriting", "PIL-drawn cursive scribbles"
                    + (" on lined paper" if i % 2 == 0 else ""), load))
    return out


def _documents() -> list[Source]:
    out = []
    words = ("patient total report data value system annual review table amount invoice order summary results "
             "method sample figure analysis quarterly revenue project status meeting notes account").split()
    for i in range(8):
        def load(i=i) -> Image.Image:
            from core.synth.layout import load_font

            rng = np.random.default_rng(200 + i)
            img = Image.new("RGB", (1240, 1754) if i % 2 == 0 else (1754, 1240), "white")
            draw = ImageDraw.Draw(img)
            font = load_font(("serif", "sans", "mono", "sans")[i % 4], 22 + 2 * i)
            draw.text((100, 80), "Quarterly report" if i % 4 != 2 else "INVOICE 2026-0042", fill="black",
                      font=load_font("sans", 48))
            y = 180
            while y < img.height - 120:
                if i % 4 == 2 and y % 3 == 0:                      # a table's rules
                    draw.line((100, y - 6, img.width - 100, y - 6), fill=(120, 120, 120), width=2)
                line = " ".join(rng.choice(words, int(rng.integers(6, 14))))
                draw.text((100, y), line.capitalize() + ".", fill=(20, 20, 20), font=font)
                y += 40 + (40 if rng.random() < 0.1 else 0)
            return img
        out.append((f"document-{i}", "document", "PIL-rendered text page (DejaVu/Liberation fonts)", load))
    return out


_HTML = {
    "article": "<h1>Release notes</h1>" + ("<p>" + "The quick brown fox jumps over the lazy dog. " * 40 + "</p>") * 6,
    "table": "<h2>Orders</h2><table border=1 cellpadding=6>" + "".join(
        f"<tr><td>{i}</td><td>Item {i}</td><td>{i * 3.5:.2f}</td><td>shipped</td></tr>" for i in range(30)) + "</table>",
    "dashboard": "<h2>Server load</h2>" + "".join(
        "<svg width=560 height=220 style='background:#fff0f3;margin:6px'>"
        + "".join(f"<line x1={x} y1=0 x2={x} y2=220 stroke='#f0b0bc'/>" for x in range(0, 560, 20))
        + "".join(f"<line x1=0 y1={y} x2=560 y2={y} stroke='#f0b0bc'/>" for y in range(0, 220, 20))
        + "<polyline fill=none stroke=black stroke-width=2 points='"
        + " ".join(f"{x},{110 + 60 * np.sin(x / (15 + 7 * k)):.0f}" for x in range(0, 560, 4)) + "'/></svg>"
        for k in range(4)),
    "form": "<h1>Sign in</h1><form>" + "".join(
        f"<p><label>{f}</label><br><input size=40></p>" for f in ("Name", "E-mail", "Password", "Code")) + "</form>",
}


def _screenshots() -> list[Source]:
    def load_all() -> dict[str, Image.Image]:
        from playwright.sync_api import sync_playwright

        shots = {}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium" if os.path.exists("/usr/bin/chromium")
                                        else None)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            for name, body in _HTML.items():
                page.set_content(f"<html><body style='font-family:sans-serif;margin:30px'>{body}</body></html>")
                shots[name] = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
            browser.close()
        return shots

    cache: dict[str, Image.Image] = {}

    def shot(name: str) -> Loader:
        def load() -> Image.Image:
            if not cache:
                cache.update(load_all())
            return cache[name]
        return load
    return [(f"screenshot-{n}", "screenshot", f"headless Chromium screenshot of a generated {n} web page", shot(n))
            for n in _HTML]


def _flat() -> list[Source]:
    def flat(colour, size=(1106, 786), mode="RGB", fmt=None) -> Loader:
        def load() -> Image.Image:
            img = Image.new(mode, size, colour)
            if fmt is None:
                return img
            buffer = io.BytesIO()
            img.save(buffer, format=fmt, quality=90)
            return Image.open(io.BytesIO(buffer.getvalue()))
        return load

    def noise(seed: int, pink: bool) -> Loader:
        def load() -> Image.Image:
            rng = np.random.default_rng(seed)
            base = np.array((250, 225, 230) if pink else (128, 128, 128), float)
            return Image.fromarray(np.clip(base + rng.normal(0, 40, (786, 1106, 3)), 0, 255).astype(np.uint8))
        return load

    def gradient() -> Image.Image:
        ramp = np.linspace(40, 230, 1106)[None, :, None] * np.ones((786, 1, 3))
        return Image.fromarray(ramp.astype(np.uint8))
    return [("flat-white", "blank_flat", "PIL flat white 1106x786", flat("white")),
            ("flat-pink", "blank_flat", "PIL flat pink paper colour", flat((253, 232, 236))),
            ("flat-grey", "blank_flat", "PIL flat grey", flat((128, 128, 128))),
            ("flat-black", "blank_flat", "PIL flat black", flat("black")),
            ("flat-pink-jpeg", "blank_flat", "PIL flat pink 1106x786 JPEG", flat((250, 218, 221), fmt="JPEG")),
            ("flat-cmyk-jpeg", "blank_flat", "PIL flat CMYK JPEG", flat((0, 30, 20, 0), mode="CMYK", fmt="JPEG")),
            ("flat-gradient", "blank_flat", "numpy grey ramp", gradient),
            ("flat-tiny", "blank_flat", "PIL 32x32 white", flat("white", (32, 32))),
            ("noise-grey", "noise", "numpy Gaussian noise on grey", noise(1, False)),
            ("noise-pink", "noise", "numpy Gaussian noise on pink", noise(2, True)),
            ("noise-uniform", "noise", "numpy Gaussian noise, another seed", noise(3, False))]


def _paper(palette: str, size: tuple[int, int], trace: Callable[[np.ndarray, float], None] | None = None,
           photo_seed: int | None = None) -> Loader:
    """Millimetre graph paper, optionally with a drawn trace, optionally photographed (core.synth.realism)."""
    def load() -> Image.Image:
        from core.synth.layout import GRID_COLOURS, paint_grid
        from core.synth.realism import apply_effect, start_shot

        w, h = size
        paper = np.empty((h, w, 3), np.uint8)
        paper[:] = GRID_COLOURS[palette][0]
        mm = w / 280
        paint_grid(paper, (int(8 * mm), int(8 * mm), w - int(8 * mm), h - int(8 * mm)), mm, palette)
        if trace is not None:
            trace(paper, mm)
        if photo_seed is None:
            return Image.fromarray(paper)
        shot = apply_effect(start_shot(paper, np.zeros((h, w), np.float32), np.zeros((h, w), np.uint8)), "photo",
                            np.random.default_rng(photo_seed))
        return Image.fromarray(shot.image)
    return load


def _strip(dark: bool, rows: int = 1) -> Callable[[np.ndarray, float], None]:
    """Draw a single-lead ECG (NeuroKit2) across the paper: a heart-rate monitor strip."""
    def trace(paper: np.ndarray, mm: float) -> None:
        import cv2
        import neurokit2 as nk

        h, w = paper.shape[:2]
        n_mm = (w - 20 * mm) / mm
        signal = nk.ecg_simulate(duration=int(n_mm / 25) + 1, sampling_rate=250, heart_rate=72, random_state=3)
        xs = 10 * mm + np.arange(len(signal)) / 250 * 25 * mm
        keep = xs < w - 10 * mm
        for r in range(rows):
            ys = h * (r + 1) / (rows + 1) - signal[keep] * 10 * mm
            pts = np.stack([xs[keep], ys], 1).round().astype(np.int32)
            cv2.polylines(paper, [pts], False, (80, 255, 120) if dark else (20, 20, 20), max(1, int(mm / 3)),
                          cv2.LINE_AA)
    return trace


def _papers() -> list[Source]:
    def curve(paper: np.ndarray, mm: float) -> None:
        import cv2
        h, w = paper.shape[:2]
        x = np.arange(int(20 * mm), w - int(20 * mm))
        y = h / 2 - 40 * mm * np.sin(x / (30 * mm)) * np.exp(-x / w)
        cv2.polylines(paper, [np.stack([x, y], 1).astype(np.int32)], False, (30, 30, 160), 3, cv2.LINE_AA)

    def screen(rows: int) -> Loader:
        def load() -> Image.Image:
            paper = np.zeros((600, 1280, 3), np.uint8)
            paper[::25, :] = paper[:, ::25] = (0, 60, 0)
            _strip(True, rows)(paper, 1280 / 280)
            return Image.fromarray(paper)
        return load
    return [("graph-paper-pink", "graph_paper", "core.synth.layout.paint_grid, blank", _paper("pink", (2213, 1572))),
            ("graph-paper-green", "graph_paper", "paint_grid green, blank", _paper("green", (1754, 1240))),
            ("graph-paper-photo", "graph_paper", "paint_grid pink, blank, photographed (core.synth.realism photo)",
             _paper("pink", (2213, 1572), photo_seed=11)),
            ("graph-paper-blue-photo", "graph_paper", "paint_grid blue, blank, photographed",
             _paper("blue", (1754, 1240), photo_seed=12)),
            ("graph-paper-curve", "graph_paper", "paint_grid red with a smooth plotted curve",
             _paper("red", (1754, 1240), curve)),
            ("strip-paper", "monitor_strip", "NeuroKit2 single-lead ECG on pink mm paper (one trace)",
             _paper("pink", (2213, 700), _strip(False))),
            ("strip-paper-photo", "monitor_strip", "single-lead ECG strip on pink paper, photographed",
             _paper("pink", (2213, 700), _strip(False), photo_seed=13)),
            ("strip-screen", "monitor_strip", "single green ECG trace on a dark monitor grid", screen(1)),
            ("strip-paper-2", "monitor_strip", "two single-lead strips on grey mm paper",
             _paper("grey", (2213, 1000), _strip(False, 2)))]


def non_ecg_sources() -> list[Source]:
    """Every non-ECG image of the corpus as (name, kind, source, loader)."""
    return _shipped() + _charts() + _waveforms() + _handwriting() + _documents() + _screenshots() + _flat() + _papers()
